//! The service's invariants, named, in one checker every harness uses (the model,
//! the simulator, fuzzing, and debug builds after every `handle`).

use crate::muc::room::Room;
use crate::muc::{Affiliation, Role};
use crate::service::MucService;

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
}

impl Invariant {
    pub const ALL: [Invariant; 8] = [
        Invariant::MembersOnlyHoldsOnlyMembers,
        Invariant::NoOutcastOccupies,
        Invariant::EveryRoomHasAnOwner,
        Invariant::OneBareJidPerNick,
        Invariant::NoOccupantWithRoleNone,
        Invariant::SessionIndexAgrees,
        Invariant::LockedRoomHoldsOnlyCreator,
        Invariant::NonPersistentRoomNotEmpty,
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
        write!(f, "{} — violated in {}: {}", self.invariant.sentence(), self.room, self.detail)
    }
}

impl std::error::Error for Violation {}

impl MucService {
    /// Checks every invariant of every room; the first violation found is returned.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        for room in self.rooms_map().values() {
            check_room(room)?;
        }
        Ok(())
    }

    /// Every violation, for reports that want them all.
    pub fn violations(&self) -> Vec<Violation> {
        self.rooms_map().values().flat_map(room_violations).collect()
    }
}

pub fn check_room(room: &Room) -> Result<(), Violation> {
    match room_violations(room).into_iter().next() {
        Some(v) => Err(v),
        None => Ok(()),
    }
}

fn room_violations(room: &Room) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut v = |invariant: Invariant, detail: String| {
        out.push(Violation { invariant, room: room.jid().to_string(), detail });
    };
    for occ in room.occupants.values() {
        let aff = room.affiliation(&occ.bare);
        if room.config.members_only && aff < Affiliation::Member && aff != Affiliation::Outcast {
            v(Invariant::MembersOnlyHoldsOnlyMembers, format!("{} ({}) is {}", occ.nick, occ.bare, aff.as_str()));
        }
        if aff == Affiliation::Outcast {
            v(Invariant::NoOutcastOccupies, format!("{} ({}) is an outcast", occ.nick, occ.bare));
        }
        if occ.role == Role::None {
            v(Invariant::NoOccupantWithRoleNone, format!("{} has role none", occ.nick));
        }
        if occ.sessions.is_empty() {
            v(Invariant::SessionIndexAgrees, format!("{} has no session", occ.nick));
        }
        for s in &occ.sessions {
            if s.jid.to_bare() != occ.bare {
                v(Invariant::OneBareJidPerNick, format!("{} holds sessions of {} and {}", occ.nick, occ.bare, s.jid.to_bare()));
            }
            if room.by_session.get(&s.jid) != Some(&occ.nick) {
                v(Invariant::SessionIndexAgrees, format!("session {} of {} is not indexed to it", s.jid, occ.nick));
            }
        }
    }
    for (jid, nick) in &room.by_session {
        let ok = room.occupants.get(nick).is_some_and(|o| o.sessions.iter().any(|s| &s.jid == jid));
        if !ok {
            v(Invariant::SessionIndexAgrees, format!("index maps {jid} to {nick}, which has no such session"));
        }
    }
    for (nick, occ) in &room.occupants {
        if nick != &occ.nick {
            v(Invariant::OneBareJidPerNick, format!("occupant {} stored under {nick}", occ.nick));
        }
    }
    if room.owners().next().is_none() {
        v(Invariant::EveryRoomHasAnOwner, "no owner".into());
    }
    if room.locked {
        let ok = room.occupants.len() <= 1
            && room.occupants.values().all(|o| room.affiliation(&o.bare) == Affiliation::Owner);
        if !ok {
            v(Invariant::LockedRoomHoldsOnlyCreator, format!("{} occupants", room.occupants.len()));
        }
    }
    if !room.config.persistent && room.occupants.is_empty() {
        v(Invariant::NonPersistentRoomNotEmpty, "empty".into());
    }
    out
}
