//! The model as stateright's Explorer shows it: actions and actors in MUC terms
//! ("Romeo sets Juliet's affiliation to none in room", "the service delivers presence
//! to Juliet's phone") instead of stateright's `Debug` of the actor model
//! (`Id(1) select random 0`, `Op { op: 0, nick: Nick(0) }`), and property names
//! without the `always:`/`sometimes:` prefix the Explorer already shows as the
//! expectation ("Always always: …").
//!
//! [`Explorable`] wraps the checked [`Model`] and delegates everything but the
//! formatting, so the Explorer walks exactly the states `mucsim check` explores.

use crate::actor::{Cast, Msg, MucActor};
use crate::notice::Notice;
use crate::ops::{room_jid, Op};
use crate::Model;
use stateright::actor::{Actor as _, ActorModelAction, Command, Id, Out};
use stateright::{Model as _, Property};
use std::borrow::Cow;
use std::sync::Arc;

type State = <Model as stateright::Model>::State;
type Action = <Model as stateright::Model>::Action;

/// The checked model with actions, actors and properties named for people.
pub struct Explorable {
    inner: Model,
    cast: Arc<Cast>,
    /// The inner model's properties; [`Explorable::properties`] calls their conditions.
    props: Vec<Property<Model>>,
    /// Their names without the expectation prefix (leaked once: the Explorer wants
    /// `&'static str` and runs until the process ends).
    names: Vec<&'static str>,
}

/// Conditions calling the inner model's property `I` (a `Property` holds a plain
/// `fn`, which cannot capture the index).
fn condition<const I: usize>(m: &Explorable, s: &State) -> bool {
    (m.props[I].condition)(&m.inner, s)
}

const CONDITIONS: [fn(&Explorable, &State) -> bool; 40] = [
    condition::<0>,
    condition::<1>,
    condition::<2>,
    condition::<3>,
    condition::<4>,
    condition::<5>,
    condition::<6>,
    condition::<7>,
    condition::<8>,
    condition::<9>,
    condition::<10>,
    condition::<11>,
    condition::<12>,
    condition::<13>,
    condition::<14>,
    condition::<15>,
    condition::<16>,
    condition::<17>,
    condition::<18>,
    condition::<19>,
    condition::<20>,
    condition::<21>,
    condition::<22>,
    condition::<23>,
    condition::<24>,
    condition::<25>,
    condition::<26>,
    condition::<27>,
    condition::<28>,
    condition::<29>,
    condition::<30>,
    condition::<31>,
    condition::<32>,
    condition::<33>,
    condition::<34>,
    condition::<35>,
    condition::<36>,
    condition::<37>,
    condition::<38>,
    condition::<39>,
];

/// A property's name without its `always: ` / `sometimes: ` prefix.
pub fn bare_property_name(name: &str) -> &str {
    name.strip_prefix("always: ")
        .or_else(|| name.strip_prefix("sometimes: "))
        .or_else(|| name.strip_prefix("eventually: "))
        .unwrap_or(name)
}

impl Explorable {
    /// Wraps `model`. Errors when it has more properties than this wrapper has
    /// conditions for (40; the default set's scenarios have at most 27).
    pub fn new(model: Model) -> Result<Explorable, String> {
        let cast = match model.actors.first() {
            Some(MucActor::Server(cast)) => cast.clone(),
            Some(MucActor::Client { cast, .. }) => cast.clone(),
            None => return Err("the model has no actors".into()),
        };
        let props = model.properties();
        if props.len() > CONDITIONS.len() {
            return Err(format!(
                "{} properties: the Explorer wrapper takes at most {}",
                props.len(),
                CONDITIONS.len()
            ));
        }
        let names = props
            .iter()
            .map(|p| &*Box::leak(bare_property_name(p.name).to_string().into_boxed_str()))
            .collect();
        Ok(Explorable {
            inner: model,
            cast,
            props,
            names,
        })
    }

    /// Actor `id` by name: "the service", "Romeo", "Juliet's phone" (a user's
    /// resource is named only when the user has more than one session).
    pub fn actor_name(&self, id: Id) -> String {
        match usize::from(id) {
            0 => "the service".into(),
            i => client_name(&self.cast, i - 1),
        }
    }

    /// The action in MUC terms.
    pub fn describe(&self, action: &Action) -> String {
        let cast = &self.cast;
        match action {
            ActorModelAction::SelectRandom { actor, random, .. } => match usize::from(*actor) {
                0 => "the service crashes and restarts from its disk".into(),
                i => format!("{} {}", client_name(cast, i - 1), op_phrase(cast, i - 1, *random)),
            },
            ActorModelAction::Deliver { src, dst, msg } => match msg {
                Msg::Op { op, .. } => {
                    let i = usize::from(*src) - 1;
                    format!(
                        "the service receives {}'s stanza: {}",
                        client_name(cast, i),
                        op_phrase(cast, i, usize::from(*op))
                    )
                }
                Msg::Disconnect { .. } => format!(
                    "the service receives unavailable presence for {} from its home server (disconnected)",
                    self.actor_name(*src)
                ),
                Msg::Notices(batch) => {
                    let to = self.actor_name(*dst);
                    let i = usize::from(*dst).saturating_sub(1);
                    let what: Vec<String> = batch.iter().map(|n| notice_phrase(cast, i, n)).collect();
                    format!("the service delivers to {to}: {}", what.join("; "))
                }
            },
            ActorModelAction::Drop(env) => format!(
                "the network drops a message from {} to {}",
                self.actor_name(env.src),
                self.actor_name(env.dst)
            ),
            ActorModelAction::Timeout(id, ()) => format!("{}'s timer fires", self.actor_name(*id)),
            ActorModelAction::Crash(id) => format!("{} crashes", self.actor_name(*id)),
            ActorModelAction::Recover(id) => format!("{} recovers", self.actor_name(*id)),
        }
    }
}

/// Client `i` by name.
fn client_name(cast: &Cast, i: usize) -> String {
    cast.client_name(i)
}

/// The room's local part ("room", "room2").
fn room_name(room: u8) -> &'static str {
    let jid = room_jid(room);
    jid.split('@').next().unwrap_or(jid)
}

/// What client `i`'s operation `op` does, as a verb phrase ("sets Juliet's
/// affiliation to none in room").
fn op_phrase(cast: &Cast, i: usize, op: usize) -> String {
    let Some(step) = cast.clients.get(i).and_then(|c| c.ops.get(op)) else {
        return format!("performs an unknown operation {op}");
    };
    let room = room_name(step.room);
    let target = |t: usize| cast.targets.get(t).map_or("?", |(_, nick)| nick.as_str());
    match &step.op {
        Op::Join => format!("joins {room}"),
        Op::JoinWithPassword => format!("joins {room} with the password"),
        Op::Leave => format!("leaves {room}"),
        Op::ChangeNick => format!("changes nick in {room}"),
        Op::Groupchat => format!("sends a groupchat message to {room}"),
        Op::MembersOnly(true) => format!("makes {room} members-only"),
        Op::MembersOnly(false) => format!("makes {room} open to non-members"),
        Op::Affiliate {
            target: t,
            affiliation,
        } => format!("sets {}'s affiliation to {affiliation} in {room}", target(*t)),
        Op::Kick { target: t } => format!("kicks {} from {room}", target(*t)),
        Op::AffiliateDomain { domain, affiliation } => {
            format!("sets the domain {domain}'s affiliation to {affiliation} in {room}")
        }
        Op::SetRole { target: t, role } => format!("sets {}'s role to {role} in {room}", target(*t)),
        Op::Configure { field, on } => {
            format!("switches {field:?} {} in {room}", if *on { "on" } else { "off" })
        }
        Op::Subject => format!("changes the subject of {room}"),
        Op::Invite { target: t } => format!("invites {} to {room}", target(*t)),
        Op::Destroy => format!("destroys {room}"),
        Op::Disconnect => "disconnects".into(),
    }
}

/// What client `i` reads of one stanza, in words.
fn notice_phrase(cast: &Cast, i: usize, n: &Notice) -> String {
    match n {
        Notice::Presence { room, presence: p } => {
            let (affiliation, role) = p.seat;
            let mut s = format!(
                "{}presence of {} in {} ({}, {})",
                if p.unavailable { "unavailable " } else { "" },
                cast.nicks.name(p.from),
                room_name(*room),
                affiliation.as_str(),
                role.as_str()
            );
            if p.codes != Default::default() {
                s.push_str(&format!(", status {}", p.codes));
            }
            if let Some(new) = p.new_nick {
                s.push_str(&format!(", now {}", cast.nicks.name(new)));
            }
            if p.destroyed {
                s.push_str(", the room is destroyed");
            }
            s
        }
        Notice::PresenceError {
            registration_required: true,
            ..
        } => "a presence error: registration-required".into(),
        Notice::PresenceError { .. } => "a presence error".into(),
        Notice::IqAnswer { op } => format!(
            "the answer to its iq (it {})",
            op_phrase(cast, i, usize::from(*op))
        ),
    }
}

impl stateright::Model for Explorable {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.inner.actions(state, actions)
    }

    fn next_state(&self, last_state: &State, action: Action) -> Option<State> {
        self.inner.next_state(last_state, action)
    }

    fn format_action(&self, action: &Action) -> String {
        self.describe(action)
    }

    /// The step in words (what the acting actor sends, what it may do next), then
    /// stateright's own account of it (the commands and both states, as `Debug`).
    fn format_step(&self, last_state: &State, action: Action) -> Option<String> {
        let (id, out) = match &action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let i = usize::from(*dst);
                let mut st = Cow::Borrowed(&**last_state.actor_states.get(i)?);
                let mut out = Out::new();
                self.inner.actors[i].on_msg(*dst, &mut st, *src, msg.clone(), &mut out);
                (*dst, out)
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                let i = usize::from(*actor);
                let mut st = Cow::Borrowed(&**last_state.actor_states.get(i)?);
                let mut out = Out::new();
                self.inner.actors[i].on_random(*actor, &mut st, random, &mut out);
                (*actor, out)
            }
            _ => return self.inner.format_step(last_state, action),
        };
        let mut text = format!("{}\n", self.describe(&action));
        for c in out.iter() {
            match c {
                Command::Send(to, msg) => {
                    let delivery = ActorModelAction::Deliver {
                        src: id,
                        dst: *to,
                        msg: msg.clone(),
                    };
                    text.push_str(&format!("  then, when delivered: {}\n", self.describe(&delivery)));
                }
                Command::ChooseRandom(_, choices) => {
                    let next: Vec<String> = match usize::from(id) {
                        0 => vec!["crash and restart from its disk".into()],
                        i => choices
                            .iter()
                            .map(|op| op_phrase(&self.cast, i - 1, *op))
                            .collect(),
                    };
                    text.push_str(&format!(
                        "  {} may next: {}\n",
                        self.actor_name(id),
                        next.join("; ")
                    ));
                }
                Command::CancelTimer(_) | Command::SetTimer(..) | Command::Save(_) => {}
            }
        }
        if let Some(raw) = self.inner.format_step(last_state, action) {
            text.push_str(
                "\nstateright's view (actor 0 is the service, 1.. the clients in the scenario's order):\n",
            );
            text.push_str(&raw);
        }
        Some(text)
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.props
            .iter()
            .zip(&self.names)
            .zip(CONDITIONS)
            .map(|((p, name), condition)| Property {
                expectation: p.expectation.clone(),
                name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &State) -> bool {
        stateright::Model::within_boundary(&self.inner, state)
    }
}
