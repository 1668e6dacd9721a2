//! A path through the model, back as people read it.
//!
//! The model's network carries notices, not stanzas, so a path is replayed through a
//! fresh service built from the same cast: every delivery to the server is handed to
//! the service, and every notice delivered to a client is matched with the full stanza
//! the service sent. Stanzas no property reads (messages, the subject) are not
//! interleaved in the model; the transcript shows them received at once.
//!
//! [`scs`] writes the same interleaving as a scansion script: the stanzas in the order
//! they reached the service, played in the simulator (whose home server adds what a
//! real one adds), with every stanza the *real* service sends in answer as an
//! expectation. Run against a service with the bug, the script fails where the
//! service first differs, or where it breaks an invariant.

use crate::actor::{service_input, Cast, Msg, MucActor, State};
use crate::properties::S;
use crate::Model;
use mucsim_sim::disk::describe_effects;
use mucsim_sim::scansion::to_scs;
use mucsim_sim::SimDisk;
use mucsim_sim::{World, WorldConfig};
use server::xml::Element;
use server::{ns, Millis};
use stateright::actor::ActorModelAction;
use stateright::Path;
use std::collections::VecDeque;
use std::fmt::Write;

pub type Action = ActorModelAction<Msg, (), usize>;

/// What reached the service, in order: the client and its stanza, or its disconnect;
/// or the service crashed and restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    Stanza(usize, Element),
    Disconnect(usize),
    Crash,
}

pub(crate) fn cast_of(m: &Model) -> &Cast {
    match &m.actors[0] {
        MucActor::Server(cast) => cast,
        MucActor::Client { cast, .. } => cast,
    }
}

fn jid(cast: &Cast, actor: usize) -> String {
    match actor.checked_sub(1).and_then(|i| cast.clients.get(i)) {
        Some(c) => c.jid.to_string(),
        None => cast.cfg.domain.clone(),
    }
}

fn xml(el: &Element) -> String {
    el.to_xml_in(ns::CLIENT)
}

/// The path as a numbered transcript of who sent and received what, and the stanzas
/// in the order they reached the service.
pub fn replay(m: &Model, path: Path<S, Action>) -> (String, Vec<Arrival>) {
    let cast = cast_of(m);
    let mut svc = cast.fresh_service();
    let mut disk = SimDisk::with_records(svc.records());
    // Per client, the batches in flight: the stanzas of one input each.
    let mut queues: Vec<VecDeque<Vec<Element>>> = vec![VecDeque::new(); cast.clients.len()];
    let mut out = String::new();
    let mut arrivals = Vec::new();
    let mut n = 0;
    let mut line = |out: &mut String, text: String| {
        n += 1;
        let _ = writeln!(out, "{n:>4}. {text}");
    };
    for (state, action) in path.into_vec() {
        let Some(action) = action else { continue };
        match action {
            ActorModelAction::SelectRandom { actor, .. } if usize::from(actor) == 0 => {
                match disk.crash_and_restart(cast.cfg.clone()) {
                    Ok((restarted, report)) => {
                        svc = restarted;
                        line(&mut out, format!("{} CRASHES: {report}", cast.cfg.domain));
                    }
                    Err(e) => line(&mut out, format!("{} cannot restart: {e}", cast.cfg.domain)),
                }
                arrivals.push(Arrival::Crash);
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                let a = usize::from(actor);
                let Some(State::Client(st)) = state.actor_states.get(a).map(|s| &**s) else {
                    continue;
                };
                let step = &cast.clients[a - 1].ops[random];
                if step.op == crate::ops::Op::Disconnect {
                    line(&mut out, format!("{} disconnects", jid(cast, a)));
                    continue;
                }
                let msg = Msg::Op {
                    op: random as u8,
                    nick: st.room(step.room).nick,
                };
                for el in service_input(cast, a - 1, &msg) {
                    line(&mut out, format!("{} sends: {}", jid(cast, a), xml(&el)));
                }
            }
            ActorModelAction::Deliver { src, dst, msg } => {
                let (src, dst) = (usize::from(src), usize::from(dst));
                if dst == 0 {
                    let inputs = service_input(cast, src - 1, &msg);
                    let who = jid(cast, src);
                    let mut sent = Vec::new();
                    for el in inputs {
                        if let Msg::Disconnect { .. } = msg {
                            line(
                                &mut out,
                                format!("{} gets, from {who}'s home server: {}", cast.cfg.domain, xml(&el)),
                            );
                        } else {
                            line(&mut out, format!("{} gets from {who}", cast.cfg.domain));
                            arrivals.push(Arrival::Stanza(src - 1, el.clone()));
                        }
                        let outbox = svc.handle(Millis(0), cast.clients[src - 1].jid.clone(), el);
                        if cast.crashes > 0 && !outbox.store_ops().is_empty() {
                            let (before, after) =
                                (outbox.store_position(), outbox.len() - outbox.store_position());
                            let what = describe_effects(outbox.store_ops(), before, after);
                            line(&mut out, format!("{} {what}", cast.cfg.domain));
                            disk.apply_all(outbox.store_ops());
                        }
                        sent.extend(outbox);
                    }
                    if let Msg::Disconnect { .. } = msg {
                        arrivals.push(Arrival::Disconnect(src - 1));
                    }
                    let mut batches: Vec<Vec<Element>> = vec![Vec::new(); cast.clients.len()];
                    for (to, item, notice) in cast.route(sent) {
                        if notice.is_some() {
                            batches[to].push(item.element());
                        } else {
                            line(
                                &mut out,
                                format!("{} receives: {}", jid(cast, to + 1), xml(&item.element())),
                            );
                        }
                    }
                    for (to, batch) in batches.into_iter().enumerate() {
                        if !batch.is_empty() {
                            queues[to].push_back(batch);
                        }
                    }
                } else if let Some(batch) = queues.get_mut(dst - 1).and_then(VecDeque::pop_front) {
                    let gone = match state.actor_states.get(dst).map(|s| &**s) {
                        Some(State::Client(c)) if !c.connected => " (after disconnecting: dropped)",
                        _ => "",
                    };
                    for el in batch {
                        line(
                            &mut out,
                            format!("{} receives: {}{gone}", jid(cast, dst), xml(&el)),
                        );
                    }
                }
            }
            other => line(&mut out, format!("{other:?}")),
        }
    }
    (out, arrivals)
}

/// The client name a script uses for client `i`: its nick, with the resource when
/// the user has several sessions.
fn label(cast: &Cast, i: usize) -> String {
    let c = &cast.clients[i];
    let shared = cast
        .clients
        .iter()
        .filter(|d| d.jid.to_bare() == c.jid.to_bare())
        .count()
        > 1;
    if shared {
        format!("{} {}", c.nick, c.jid.resource())
    } else {
        c.nick.clone()
    }
}

/// The arrivals as a scansion script, with the real service's answers (a service
/// built from `world`; pass [`WorldConfig::new`] for the real one).
pub fn scs(cast: &Cast, arrivals: &[Arrival], title: &str, world: WorldConfig) -> Result<String, String> {
    let mut w = World::new(world);
    let mut conns = Vec::new();
    for (i, c) in cast.clients.iter().enumerate() {
        let conn = w
            .connect(&label(cast, i), c.jid.as_str(), None)
            .map_err(|e| e.to_string())?;
        conns.push(conn);
    }
    for (from, el) in &cast.setup {
        let i = cast
            .client_index(from.as_str())
            .ok_or("setup from an unknown client")?;
        w.send(conns[i], el.clone()).map_err(|e| e.to_string())?;
        w.run_until_quiet();
    }
    if arrivals.contains(&Arrival::Crash) {
        return Err(
            "the path crashes the service, which a scansion script cannot express; \
                    the transcript shows the crash"
                .into(),
        );
    }
    for a in arrivals {
        match a {
            Arrival::Stanza(i, el) => w.send(conns[*i], el.clone()).map_err(|e| e.to_string())?,
            Arrival::Disconnect(i) => w.disconnect(conns[*i]).map_err(|e| e.to_string())?,
            Arrival::Crash => unreachable!("refused above"),
        }
        w.run_until_quiet();
    }
    Ok(to_scs(title, w.transcript()))
}
