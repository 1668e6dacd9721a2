//! The properties, named as sentences: one `always` per service invariant (the
//! service's own `check_invariants`), the client-side ones, and the `sometimes`
//! states that show the interesting cases are reachable.

use crate::actor::ClientState;
use crate::actor::{ServerState, State};
use crate::{room_view, Model, MucActor};
use oracle::Iqs;
use server::Invariant;
use stateright::actor::ActorModelState;
use stateright::Expectation;

pub type S = ActorModelState<MucActor, ()>;

pub(crate) fn server(s: &S) -> &ServerState {
    match &*s.actor_states[0] {
        State::Server(svc) => svc,
        State::Client(_) => unreachable!("actor 0 is the server"),
    }
}

fn clients(s: &S) -> impl Iterator<Item = &ClientState> {
    s.actor_states[1..].iter().filter_map(|a| match &**a {
        State::Client(c) => Some(c),
        State::Server(_) => None,
    })
}

fn quiescent(s: &S) -> bool {
    s.network.len() == 0
}

/// The sentence naming the `always` property for a service invariant.
pub fn invariant_property(inv: Invariant) -> String {
    format!("always: {}", inv.sentence())
}

pub const IQ_ONCE: &str = "always: every iq is answered at most once, and by quiescence exactly once";
pub const REMOVAL_TOLD_ONCE: &str =
    "always: a client removed from the room is told once, with 110 and a cause (301/307/321/322/332/333) unless it left";
pub const VIEWS_AGREE: &str = "always: at quiescence each client in the room sees the room's occupant list";
pub const DURABLE_AFFILIATIONS: &str = "always: after a crash and restart, every affiliation change the service answered is in force (a revoked member stays revoked)";
pub const DURABLE_CONFIG: &str =
    "always: after a crash and restart, a kept room's configuration is the last one the service answered for";
pub const DURABLE_TOMBSTONES: &str = "always: after a crash and restart, a destroyed kept room still answers gone (its tombstone is the one the service answered for)";
pub const SOMETIMES_CRASH_KEEPS_ROOM: &str = "sometimes: the service crashes and restarts with a kept room";
pub const SOMETIMES_REVOKED_PRESENT: &str = "sometimes: a member is revoked while present";
pub const SOMETIMES_JOIN_AFTER_MEMBERS_ONLY: &str =
    "sometimes: a join arrives after the room became members-only (registration-required)";
pub const SOMETIMES_TWO_SESSIONS_REVOKED: &str =
    "sometimes: both sessions of one user are removed when its membership is revoked";

fn invariant_holds<const I: usize>(_: &Model, s: &S) -> bool {
    let inv = Invariant::ALL[I];
    !server(s).svc.violations().iter().any(|v| v.invariant == inv)
}

/// The bare JID of client actor `i` (actor `i + 1`).
fn user_of(m: &Model, i: usize) -> Option<String> {
    match m.actors.get(i + 1) {
        Some(MucActor::Client { index, cast }) => Some(cast.clients[*index].jid.to_bare().to_string()),
        _ => None,
    }
}

/// Every kept room the service told of holds what it told, by `same` (vacuous until
/// a crash: without one the service's state is what it told).
fn kept_as_told(s: &S, same: impl Fn(&server::RoomRecord, &server::RoomRecord) -> bool) -> bool {
    let server = server(s);
    server
        .durability
        .storage
        .broken_promise(&server.svc, same)
        .is_none()
}

// ---- the order of a reply (issue 21, kind 6) --------------------------------

/// The order property: every reply the service sent on the path kept the order
/// rules of `oracle::order` that it keeps (the server actor judges each outbox as
/// one sequence, before it is split into per-client notices).
pub const REPLY_ORDER: &str = "always: where XEP-0045 fixes the order of a reply, the service keeps it";

fn reply_order(model: Model) -> Model {
    model.property(Expectation::Always, REPLY_ORDER, |_, s| {
        server(s).order_fault.is_none()
    })
}

// ------------------------------------------------------------------------------

pub fn properties(model: Model) -> Model {
    // One check per invariant; the length is `Invariant::ALL`'s, so an invariant
    // added without its check here fails to compile instead of panicking at run time.
    const CHECKS: [fn(&Model, &S) -> bool; Invariant::ALL.len()] = [
        invariant_holds::<0>,
        invariant_holds::<1>,
        invariant_holds::<2>,
        invariant_holds::<3>,
        invariant_holds::<4>,
        invariant_holds::<5>,
        invariant_holds::<6>,
        invariant_holds::<7>,
        invariant_holds::<8>,
        invariant_holds::<9>,
        invariant_holds::<10>,
    ];
    let mut model = model;
    for (i, inv) in Invariant::ALL.iter().enumerate() {
        let name: &'static str = Box::leak(invariant_property(*inv).into_boxed_str());
        model = model.property(Expectation::Always, name, CHECKS[i]);
    }
    let crashes = match &model.actors[0] {
        MucActor::Server(cast) => cast.crashes > 0,
        MucActor::Client { cast, .. } => cast.crashes > 0,
    };
    if crashes {
        model = model.property(Expectation::Sometimes, SOMETIMES_CRASH_KEEPS_ROOM, |_, s| {
            let server = server(s);
            server.durability.crashes > 0 && server.svc.rooms().next().is_some()
        });
    }
    let model = reply_order(model);
    model
        .property(Expectation::Always, DURABLE_AFFILIATIONS, |_, s| {
            kept_as_told(s, |a, b| a.affiliations == b.affiliations)
        })
        .property(Expectation::Always, DURABLE_CONFIG, |_, s| {
            kept_as_told(s, |a, b| a.config == b.config)
        })
        .property(Expectation::Always, DURABLE_TOMBSTONES, |_, s| {
            // Vacuous until a crash, as the two above.
            let server = server(s);
            server.durability.storage.broken_tombstone(&server.svc).is_none()
        })
        .property(Expectation::Always, IQ_ONCE, |_, s| {
            let q = quiescent(s);
            clients(s).all(|c| !c.connected || (!c.iqs.answered_twice() && (!q || c.iqs.all_answered())))
        })
        .property(Expectation::Always, REMOVAL_TOLD_ONCE, |_, s| {
            clients(s).all(|c| c.removal_fault.is_none())
        })
        .property(Expectation::Always, VIEWS_AGREE, |_, s| {
            let server = server(s);
            // After a crash, clients cannot know they were dropped until they ask
            // (XEP-0410 self-ping), which the model's clients do not: views are judged
            // on crash-free paths only.
            if !quiescent(s) || server.durability.crashes > 0 {
                return true;
            }
            (0..server.cast.rooms as u8).all(|r| {
                let room = room_view(&server.svc, r, &server.cast.nicks);
                clients(s).all(|c| !c.connected || !c.room(r).side.in_room || c.room(r).side.view == room)
            })
        })
        .property(Expectation::Sometimes, SOMETIMES_REVOKED_PRESENT, |_, s| {
            clients(s).any(|c| c.saw_revocation)
        })
        .property(
            Expectation::Sometimes,
            SOMETIMES_JOIN_AFTER_MEMBERS_ONLY,
            |_, s| clients(s).any(|c| c.saw_registration_required),
        )
        .property(Expectation::Sometimes, SOMETIMES_TWO_SESSIONS_REVOKED, |m, s| {
            let cs: Vec<&ClientState> = clients(s).collect();
            (0..cs.len()).any(|i| {
                (i + 1..cs.len())
                    .any(|j| cs[i].saw_revocation && cs[j].saw_revocation && user_of(m, i) == user_of(m, j))
            })
        })
}
