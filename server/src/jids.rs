//! The three JIDs MUC code keeps confusing, as distinct types over the `jid` crate's
//! (which does the stringprep): the room (bare), the occupant (`room@service/nick`)
//! and the real user (a full JID, one per session).

pub use jid::{BareJid, FullJid, Jid};

/// Stringprep's table B.1 ("commonly mapped to nothing": soft hyphen, zero-width
/// joiners, variation selectors, ...), which lenient resourceprep removes; used to
/// name a nick that strict validation refuses the way a lenient server spells it.
pub fn map_to_nothing(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !matches!(*c as u32,
                0x00AD | 0x034F | 0x1806 | 0x180B..=0x180D | 0x200B..=0x200D | 0x2060 | 0xFE00..=0xFE0F | 0xFEFF)
        })
        .collect()
}

/// A room's address: `room@service`, always bare.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomJid(pub BareJid);

/// An occupant's in-room address: `room@service/nick`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccupantJid(pub FullJid);

/// A real user's session: `user@host/resource`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealJid(pub FullJid);

impl RoomJid {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The occupant address for `nick`, or `None` when the nick fails resourceprep.
    pub fn occupant(&self, nick: &str) -> Option<OccupantJid> {
        self.0.with_resource_str(nick).ok().map(OccupantJid)
    }
}

impl OccupantJid {
    pub fn room(&self) -> RoomJid {
        RoomJid(self.0.to_bare())
    }

    pub fn nick(&self) -> &str {
        self.0.resource().as_str()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl RealJid {
    pub fn bare(&self) -> BareJid {
        self.0.to_bare()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Display for RoomJid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for OccupantJid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for RealJid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
