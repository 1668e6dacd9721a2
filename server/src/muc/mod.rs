//! Rooms and what happens in them. Each submodule owns one kind of request; they
//! share the room state in [`room`] and the presence builder in [`presence`].

pub(crate) mod adhoc;
pub(crate) mod admin;
pub mod config;
pub(crate) mod disco;
pub mod form;
pub(crate) mod join;
pub(crate) mod message;
pub(crate) mod owner;
pub(crate) mod register;
pub mod room;
pub(crate) use room::presence;
pub(crate) mod room_iq;
pub(crate) mod voice;

pub use config::{AllowPm, RoomConfig, Whois};
pub use form::submitted_field;

pub use crate::status::StatusCode;
pub use room::{HistoryEntry, Occupant, Room, Session, StoredPresence, Subject};

/// What became of a room after a request: it stays (and vanishes only if
/// [`Room::vanishes`]), or it was destroyed (XEP-0045 §10.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoomFate {
    Keep,
    Destroyed,
}

/// XEP-0045 §5.2 affiliations, ordered by privilege (`Outcast < None < … < Owner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Affiliation {
    Outcast,
    None,
    Member,
    Admin,
    Owner,
}

impl Affiliation {
    pub const ALL: [Affiliation; 5] = [
        Affiliation::Owner,
        Affiliation::Admin,
        Affiliation::Member,
        Affiliation::None,
        Affiliation::Outcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::Outcast => "outcast",
            Affiliation::None => "none",
            Affiliation::Member => "member",
            Affiliation::Admin => "admin",
            Affiliation::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Affiliation> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// XEP-0045 §5.1 roles, ordered by privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    None,
    Visitor,
    Participant,
    Moderator,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Moderator, Role::Participant, Role::Visitor, Role::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Visitor => "visitor",
            Role::Participant => "participant",
            Role::Moderator => "moderator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Virtual time in milliseconds since the Unix epoch. The service never reads a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// XEP-0082 date-time, UTC, e.g. `2026-11-25T04:25:00Z`.
    pub fn to_xep0082(self) -> String {
        let secs = self.0 / 1000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        // Howard Hinnant's civil-from-days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if m <= 2 { y + 1 } else { y };
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xep0082_dates() {
        assert_eq!(Millis(0).to_xep0082(), "1970-01-01T00:00:00Z");
        assert_eq!(Millis(1_795_000_000_000).to_xep0082(), "2026-11-18T11:06:40Z");
        assert_eq!(Millis(951_782_400_000).to_xep0082(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn privilege_order() {
        assert!(Affiliation::Outcast < Affiliation::None && Affiliation::Admin < Affiliation::Owner);
        assert!(Role::Visitor < Role::Participant && Role::Participant < Role::Moderator);
    }
}
