//! The properties, named as sentences: one `always` per service invariant (the
//! service's own `check_invariants`), the client-side ones, and the `sometimes`
//! states that show the interesting cases are reachable.

use crate::actor::ClientState;
use crate::actor::{ServerState, State};
use crate::{room_view, Model, MucActor};
use oracle::judge::Property;
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
/// The oracle's judge, one property each ([`oracle::judge::Property`]); the server
/// actor records the judge's verdict on every request as the service receives it
/// (`actor::Judged`), and these read it.
pub const NO_FORBIDDEN_SUCCEEDS: &str = "always: no request the XEP forbids succeeds (affiliation, role, config, subject, invitation, destroy, admission; judged against the room when the service received it)";
pub const ALLOWED_NOT_REFUSED: &str =
    "always: a request the XEP allows, in a room that permits it, is not refused with forbidden or not-allowed";
pub const REAL_JID_BY_WHOIS: &str =
    "always: a real JID reaches an occupant only when the room's whois setting lets that occupant see it";
pub const PASSWORD_EVERY_JOIN: &str = "always: nobody is admitted to a password-protected room without the password in that join, whichever session asks";
pub const OUTCAST_BY_ALLOWED_CHANGE: &str =
    "always: an outcast stops being an outcast only by an allowed affiliation change";

/// The property name of each of the judge's properties.
pub fn judged_property(p: Property) -> &'static str {
    match p {
        Property::NoForbiddenSucceeds => NO_FORBIDDEN_SUCCEEDS,
        Property::AllowedNotRefused => ALLOWED_NOT_REFUSED,
        Property::RealJidOnlyByWhois => REAL_JID_BY_WHOIS,
        Property::PasswordEveryJoin => PASSWORD_EVERY_JOIN,
        Property::OutcastOnlyByAllowedChange => OUTCAST_BY_ALLOWED_CHANGE,
    }
}

fn judged_holds<const P: usize>(_: &Model, s: &S) -> bool {
    server(s).judged.of(Property::ALL[P]).is_none()
}

pub const SOMETIMES_CRASH_KEEPS_ROOM: &str = "sometimes: the service crashes and restarts with a kept room";
pub const SOMETIMES_REVOKED_PRESENT: &str = "sometimes: a member is revoked while present";
pub const SOMETIMES_JOIN_AFTER_MEMBERS_ONLY: &str =
    "sometimes: a join arrives after the room became members-only (registration-required)";
pub const SOMETIMES_TWO_SESSIONS_REVOKED: &str =
    "sometimes: both sessions of one user are removed when its membership is revoked";

fn invariant_holds<const I: usize>(_: &Model, s: &S) -> bool {
    !server(s).violates(Invariant::ALL[I])
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
    const JUDGED: [fn(&Model, &S) -> bool; Property::ALL.len()] = [
        judged_holds::<0>,
        judged_holds::<1>,
        judged_holds::<2>,
        judged_holds::<3>,
        judged_holds::<4>,
    ];
    for (i, p) in Property::ALL.iter().enumerate() {
        model = model.property(Expectation::Always, judged_property(*p), JUDGED[i]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged_properties_are_the_oracles_sentences() {
        for p in Property::ALL {
            assert_eq!(judged_property(p), format!("always: {}", p.sentence()));
        }
    }
}
