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
//! real one adds) against the service that was checked, expecting only what the
//! violated property requires ([`Requires`]) — never what that service answered,
//! which for a bug in the code is the bug. Run against the buggy service the script
//! fails where the property does (or where the service breaks an invariant); run
//! against the fixed one it passes.

use crate::actor::{service_input, Cast, Msg, MucActor, State};
use crate::properties::S;
use crate::Model;
use mucsim_sim::disk::describe_effects;
use mucsim_sim::scansion::{to_judging_scs, Judgement};
use mucsim_sim::swarm::judge::Judge;
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

/// What a violated property requires at the end of a path, for its script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requires {
    /// A service invariant: the script runner checks it after every action.
    Invariant,
    /// Client `client` must receive a stanza matching `stanza` from arrival
    /// `arrival` (an index into the path's arrivals: the violating request) on.
    Receives {
        arrival: usize,
        client: usize,
        stanza: Element,
    },
    /// One of the oracle judge's properties: the replay is judged by the same
    /// oracle code on every input (`mucsim_sim::swarm::judge::Judge`, the world's
    /// tap), and the first finding of this property says which input violated it
    /// and what stanza it requires instead.
    Judged(oracle::judge::Property),
    /// No stanza states it; says what it requires, in words.
    Unstated(&'static str),
}

/// What the property `name` requires where the path violates it. The service
/// invariants are checked by the script runner; the client properties read an
/// absence or a whole history, which no expectation states.
pub fn requirement(name: &str) -> Requires {
    use crate::properties::{DURABLE_AFFILIATIONS, DURABLE_CONFIG, IQ_ONCE, REMOVAL_TOLD_ONCE, VIEWS_AGREE};
    if server::Invariant::ALL
        .iter()
        .any(|i| crate::properties::invariant_property(*i) == name)
    {
        return Requires::Invariant;
    }
    if let Some(p) = oracle::judge::Property::ALL
        .into_iter()
        .find(|p| crate::properties::judged_property(*p) == name)
    {
        return Requires::Judged(p);
    }
    match name {
        DURABLE_AFFILIATIONS | DURABLE_CONFIG => Requires::Unstated("a crash, which a script cannot cause"),
        IQ_ONCE => Requires::Unstated("that an iq is answered exactly once, over the whole path"),
        REMOVAL_TOLD_ONCE => Requires::Unstated(
            "that a removal without a cause, or a second one, does not come, which no expectation states",
        ),
        VIEWS_AGREE => {
            Requires::Unstated("that the presences a client received add up to the room, over the whole path")
        }
        _ => Requires::Unstated("nothing this writer knows how to state"),
    }
}

/// The arrivals as a scansion script that judges the service (issue 20): played in
/// the simulator against `service` — the service that was checked, possibly buggy;
/// the writer consults no other — every send is an action, what the service
/// answered is only a comment, and the script ends with what the violated
/// `property` requires there ([`Requires`], via
/// [`mucsim_sim::scansion::to_judging_scs`]). So it fails on the bug and passes
/// once it is fixed, whether the bug is a `--mutant` or in the code itself.
///
/// Errors: a path that crashes the service (a script cannot), or a client that
/// cannot connect.
pub fn scs(
    cast: &Cast,
    arrivals: &[Arrival],
    title: &str,
    service: server::ServiceConfig,
    property: &str,
    requires: &Requires,
) -> Result<String, String> {
    let mut wc = WorldConfig::new(0);
    wc.service = service;
    let mut w = World::new(wc);
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
    let mut at = None;
    let mut judged: Option<(String, Element, Option<Element>)> = None;
    if let Requires::Judged(_) = requires {
        w.set_tap(Box::new(Judge::default()));
    }
    for (k, a) in arrivals.iter().enumerate() {
        let before = w.transcript().len();
        if matches!(requires, Requires::Receives { arrival, .. } if *arrival == k) {
            at = Some(before);
        }
        match a {
            Arrival::Stanza(i, el) => w.send(conns[*i], el.clone()).map_err(|e| e.to_string())?,
            Arrival::Disconnect(i) => w.disconnect(conns[*i]).map_err(|e| e.to_string())?,
            Arrival::Crash => unreachable!("refused above"),
        }
        w.run_until_quiet();
        if let Requires::Judged(p) = requires {
            let found = w
                .tap()
                .and_then(|t| t.as_any().downcast_mut::<Judge>())
                .and_then(|j| j.found.iter().find(|f| f.violation.property() == *p).cloned());
            if let Some(f) = found {
                let to = match (f.expect, f.probe) {
                    (Some((full, el)), _) => cast
                        .clients
                        .iter()
                        .position(|c| c.jid.as_str() == full)
                        .map(|i| (label(cast, i), el, None)),
                    // A lifted outcast's join must be refused: asked from one of
                    // its sessions.
                    (None, Some((user, room))) => cast
                        .clients
                        .iter()
                        .position(|c| c.jid.to_bare().as_str() == user)
                        .map(|i| {
                            let (join, refused) = mucsim_sim::swarm::judge::probe_join(&room);
                            (label(cast, i), refused, Some(join))
                        }),
                    (None, None) => None,
                };
                if let Some(to) = to {
                    at = Some(before);
                    judged = Some(to);
                }
                break;
            }
        }
    }
    let end = w.transcript().len();
    let judgement = match requires {
        Requires::Invariant => Judgement {
            property: property.to_string(),
            requires: "the script runner checks the service's invariants after every action".into(),
            at: end,
            expect: Vec::new(),
            probes: Vec::new(),
        },
        Requires::Unstated(why) => Judgement {
            property: property.to_string(),
            requires: format!("{why}; this script states no expectation"),
            at: end,
            expect: Vec::new(),
            probes: Vec::new(),
        },
        Requires::Judged(_) => match judged {
            Some((client, el, probe)) => Judgement {
                property: property.to_string(),
                requires: format!("{client} receives the stanza below, answering the last input"),
                at: at.unwrap_or(end),
                probes: probe.into_iter().map(|p| (client.clone(), p)).collect(),
                expect: vec![(client, el)],
            },
            None => Judgement {
                property: property.to_string(),
                requires: "what the judge found, which no stanza states; this script states no expectation"
                    .into(),
                at: end,
                expect: Vec::new(),
                probes: Vec::new(),
            },
        },
        Requires::Receives { client, stanza, .. } => Judgement {
            property: property.to_string(),
            requires: format!("{} receives the stanza below", label(cast, *client)),
            at: at.unwrap_or(end),
            expect: vec![(label(cast, *client), stanza.clone())],
            probes: Vec::new(),
        },
    };
    Ok(to_judging_scs(title, w.transcript(), &judgement))
}
