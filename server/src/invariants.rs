//! The service's invariants, named, in one checker every harness uses (the model,
//! the simulator, fuzzing, and debug builds after every `handle`).

use crate::muc::room::Room;
use crate::muc::{Affiliation, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    MembersOnlyHoldsOnlyMembers,
    NoOutcastOccupies,
    EveryRoomHasAnOwner,
    OneBareJidPerNick,
    NoOccupantWithRoleNone,
    SessionIndexAgrees,
    LockedRoomHoldsOnlyCreator,
    NonPersistentRoomNotEmpty,
    ReservationsAreOwned,
    LockedRoomNotEmpty,
    DomainCountAgrees,
}

impl Invariant {
    pub const ALL: [Invariant; 11] = [
        Invariant::MembersOnlyHoldsOnlyMembers,
        Invariant::NoOutcastOccupies,
        Invariant::EveryRoomHasAnOwner,
        Invariant::OneBareJidPerNick,
        Invariant::NoOccupantWithRoleNone,
        Invariant::SessionIndexAgrees,
        Invariant::LockedRoomHoldsOnlyCreator,
        Invariant::NonPersistentRoomNotEmpty,
        Invariant::ReservationsAreOwned,
        Invariant::LockedRoomNotEmpty,
        Invariant::DomainCountAgrees,
    ];

    /// The invariant as a sentence (the model checker's property name).
    pub fn sentence(self) -> &'static str {
        match self {
            Invariant::MembersOnlyHoldsOnlyMembers => "no non-member occupies a members-only room",
            Invariant::NoOutcastOccupies => "no outcast occupies a room",
            Invariant::EveryRoomHasAnOwner => "every room has at least one owner",
            Invariant::OneBareJidPerNick => "nicks are unique and each belongs to one bare JID",
            Invariant::NoOccupantWithRoleNone => "no occupant has role none",
            Invariant::SessionIndexAgrees => "the real-JID index agrees with the occupant table",
            Invariant::LockedRoomHoldsOnlyCreator => "a locked room holds only its creator",
            Invariant::NonPersistentRoomNotEmpty => "a non-persistent room is never empty",
            Invariant::ReservationsAreOwned => "each reserved nickname belongs to one affiliated user",
            Invariant::LockedRoomNotEmpty => "a locked room is not empty",
            Invariant::DomainCountAgrees => {
                "the count of domain-wide affiliations agrees with the affiliations"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: Invariant,
    pub room: String,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} — violated in {}: {}",
            self.invariant.sentence(),
            self.room,
            self.detail
        )
    }
}

impl std::error::Error for Violation {}

/// The first violation in one room, if any.
pub fn check_room(room: &Room) -> Result<(), Violation> {
    match room_violations(room).into_iter().next() {
        Some(v) => Err(v),
        None => Ok(()),
    }
}

/// Every violation in one room, in the order of [`Invariant::ALL`]'s checks.
pub fn room_violations(room: &Room) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut v = |invariant: Invariant, detail: String| {
        out.push(Violation {
            invariant,
            room: room.jid().to_string(),
            detail,
        });
    };
    for occ in room.occupants() {
        let aff = room.affiliation(&occ.bare);
        if room.config().members_only && aff < Affiliation::Member && aff != Affiliation::Outcast {
            v(
                Invariant::MembersOnlyHoldsOnlyMembers,
                format!("{} ({}) is {}", occ.nick, occ.bare, aff.as_str()),
            );
        }
        if aff == Affiliation::Outcast {
            v(
                Invariant::NoOutcastOccupies,
                format!("{} ({}) is an outcast", occ.nick, occ.bare),
            );
        }
        if occ.role == Role::None {
            v(
                Invariant::NoOccupantWithRoleNone,
                format!("{} has role none", occ.nick),
            );
        }
        if occ.sessions.is_empty() {
            v(
                Invariant::SessionIndexAgrees,
                format!("{} has no session", occ.nick),
            );
        }
        for s in &occ.sessions {
            // The bare part of a full JID is what precedes its first '/' (a bare JID
            // holds none); compared as text, as `to_bare` would, without building one.
            let bare = s.jid.as_str().split('/').next().unwrap_or_default();
            if bare != occ.bare.as_str() {
                v(
                    Invariant::OneBareJidPerNick,
                    format!(
                        "{} holds sessions of {} and {}",
                        occ.nick,
                        occ.bare,
                        s.jid.to_bare()
                    ),
                );
            }
            if room.nick_of(&s.jid) != Some(&occ.nick) {
                v(
                    Invariant::SessionIndexAgrees,
                    format!("session {} of {} is not indexed to it", s.jid, occ.nick),
                );
            }
        }
    }
    for (jid, nick) in room.session_index() {
        let ok = room
            .occupant(nick)
            .is_some_and(|o| o.sessions.iter().any(|s| &s.jid == jid));
        if !ok {
            v(
                Invariant::SessionIndexAgrees,
                format!("index maps {jid} to {nick}, which has no such session"),
            );
        }
    }
    for (nick, occ) in room.occupant_table() {
        if nick != &occ.nick {
            v(
                Invariant::OneBareJidPerNick,
                format!("occupant {} stored under {nick}", occ.nick),
            );
        }
    }
    if room.owners().next().is_none() {
        v(Invariant::EveryRoomHasAnOwner, "no owner".into());
    }
    // Joins are refused while a room is locked, so only the creating session can be
    // inside. (Its affiliation may change: an owner may edit the lists meanwhile, as
    // in Prosody — `mucsim sim` found the earlier "occupant is an owner" too strict.)
    if room.is_locked() {
        let sessions: usize = room.occupants().map(|o| o.sessions.len()).sum();
        if sessions > 1 {
            v(
                Invariant::LockedRoomHoldsOnlyCreator,
                format!("{} occupants, {sessions} sessions", room.occupant_count()),
            );
        }
    }
    if !room.config().persistent && room.occupant_count() == 0 {
        v(Invariant::NonPersistentRoomNotEmpty, "empty".into());
    }
    // A locked room is never kept (`Room::is_kept`), so an empty one would refuse
    // every join and never be stored: `Room::vanishes` drops it first.
    if room.is_locked() && room.occupant_count() == 0 {
        v(Invariant::LockedRoomNotEmpty, "locked and empty".into());
    }
    let domains = room.affiliations().filter(|(j, _)| j.node().is_none()).count();
    if domains != room.domain_affiliations() {
        v(
            Invariant::DomainCountAgrees,
            format!(
                "{domains} domain-wide affiliations, counted {}",
                room.domain_affiliations()
            ),
        );
    }
    let mut seen = std::collections::BTreeMap::new();
    for (jid, nick) in room.reservations() {
        if room.affiliation(jid) == Affiliation::None {
            v(
                Invariant::ReservationsAreOwned,
                format!("{nick} is reserved for {jid}, who has no affiliation"),
            );
        }
        if let Some(other) = seen.insert(nick, jid) {
            v(
                Invariant::ReservationsAreOwned,
                format!("{nick} is reserved for both {other} and {jid}"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::muc::room::{Session, StoredPresence};
    use crate::xml::{parse_stanza, Limits};
    use crate::MucService;
    use crate::{Millis, ServiceConfig};
    use jid::{BareJid, FullJid};

    fn full(s: &str) -> FullJid {
        FullJid::new(s).unwrap()
    }

    /// A room `r` owned by owner@localhost (nick Owner), unlocked, with bob present.
    fn service() -> MucService {
        let mut cfg = ServiceConfig::new("conference.localhost", 1);
        cfg.assert_invariants = false;
        let mut svc = MucService::new(cfg).expect("valid configuration");
        let send = |svc: &mut MucService, from: &str, xml: &str| {
            let el = parse_stanza(xml.as_bytes(), "jabber:client", &Limits::default()).unwrap();
            let _ = svc.handle(Millis(0), full(from), el);
        };
        send(&mut svc, "owner@localhost/a", "<presence to='r@conference.localhost/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
        send(&mut svc, "owner@localhost/a", "<iq id='1' type='set' to='r@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
        send(&mut svc, "bob@localhost/b", "<presence to='r@conference.localhost/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
        svc.check_invariants().expect("a healthy room");
        svc
    }

    fn room(svc: &mut MucService) -> &mut Room {
        std::sync::Arc::make_mut(
            svc.rooms_mut()
                .get_mut(&BareJid::new("r@conference.localhost").unwrap())
                .unwrap(),
        )
    }

    #[track_caller]
    fn assert_names(svc: &MucService, inv: Invariant) {
        let found: Vec<Invariant> = svc.violations().into_iter().map(|v| v.invariant).collect();
        assert!(found.contains(&inv), "expected {inv:?}, got {found:?}");
        assert_eq!(svc.check_invariants().unwrap_err().invariant, found[0]);
    }

    #[test]
    fn members_only_with_a_non_member() {
        let mut svc = service();
        room(&mut svc).fields_mut().config.members_only = true;
        assert_names(&svc, Invariant::MembersOnlyHoldsOnlyMembers);
    }

    #[test]
    fn outcast_occupant() {
        let mut svc = service();
        room(&mut svc).set_affiliation(BareJid::new("bob@localhost").unwrap(), Affiliation::Outcast);
        assert_names(&svc, Invariant::NoOutcastOccupies);
    }

    #[test]
    fn ownerless_room() {
        let mut svc = service();
        room(&mut svc).set_affiliation(BareJid::new("owner@localhost").unwrap(), Affiliation::None);
        assert_names(&svc, Invariant::EveryRoomHasAnOwner);
    }

    #[test]
    fn nick_shared_by_two_users() {
        let mut svc = service();
        let r = room(&mut svc).fields_mut();
        let bob = r.occupants.get_mut("Bob").unwrap();
        bob.sessions.push(Session {
            jid: full("eve@localhost/e"),
            presence: StoredPresence::default(),
        });
        r.by_session.insert(full("eve@localhost/e"), "Bob".into());
        assert_names(&svc, Invariant::OneBareJidPerNick);
    }

    #[test]
    fn occupant_with_role_none() {
        let mut svc = service();
        room(&mut svc).fields_mut().occupants.get_mut("Bob").unwrap().role = Role::None;
        assert_names(&svc, Invariant::NoOccupantWithRoleNone);
    }

    #[test]
    fn index_disagrees() {
        let mut svc = service();
        room(&mut svc)
            .fields_mut()
            .by_session
            .remove(&full("bob@localhost/b"));
        assert_names(&svc, Invariant::SessionIndexAgrees);
        let mut svc = service();
        room(&mut svc)
            .fields_mut()
            .by_session
            .insert(full("ghost@localhost/g"), "Bob".into());
        assert_names(&svc, Invariant::SessionIndexAgrees);
    }

    #[test]
    fn locked_room_with_a_guest() {
        let mut svc = service();
        *room(&mut svc).fields_mut().locked = true;
        assert_names(&svc, Invariant::LockedRoomHoldsOnlyCreator);
    }

    /// Everyone gone, past `Room::vanishes`; `locked`/`persistent` as given.
    fn emptied(locked: bool, persistent: bool) -> MucService {
        let mut svc = service();
        let r = room(&mut svc).fields_mut();
        *r.locked = locked;
        r.config.persistent = persistent;
        r.occupants.clear();
        r.by_session.clear();
        svc
    }

    #[test]
    fn empty_non_persistent_room() {
        assert_names(&emptied(false, false), Invariant::NonPersistentRoomNotEmpty);
    }

    #[test]
    fn reservation_without_affiliation_or_shared() {
        let mut svc = service();
        room(&mut svc)
            .fields_mut()
            .reserved
            .insert(BareJid::new("carol@localhost").unwrap(), "Carol".into());
        assert_names(&svc, Invariant::ReservationsAreOwned);
        let mut svc = service();
        let r = room(&mut svc);
        for u in ["carol@localhost", "dave@localhost"] {
            r.set_affiliation(BareJid::new(u).unwrap(), Affiliation::Member);
            r.fields_mut()
                .reserved
                .insert(BareJid::new(u).unwrap(), "Twin".into());
        }
        assert_names(&svc, Invariant::ReservationsAreOwned);
    }

    #[test]
    fn empty_locked_room() {
        // Persistent, so only the new invariant can name it.
        let svc = emptied(true, true);
        assert_names(&svc, Invariant::LockedRoomNotEmpty);
        assert!(svc
            .violations()
            .iter()
            .all(|v| v.invariant != Invariant::NonPersistentRoomNotEmpty));
    }

    #[test]
    fn domain_count_disagrees() {
        let mut svc = service();
        // A domain-wide ban written past the counter: `affiliation` would not look
        // for it, so users at that domain could join.
        room(&mut svc)
            .fields_mut()
            .affiliations
            .insert(BareJid::new("evil.example").unwrap(), Affiliation::Outcast);
        assert_names(&svc, Invariant::DomainCountAgrees);
    }

    #[test]
    fn invariant_count_matches_the_tests_above() {
        // Kept in step with the tests above: adding an invariant without a test fails here.
        assert_eq!(Invariant::ALL.len(), 11);
    }
}
