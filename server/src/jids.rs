//! JIDs: the `jid` crate's types (which do the stringprep), re-exported, and the
//! one nickname validator. Rooms are `BareJid`s, real sessions `FullJid`s, and
//! occupant addresses are built from a room and a nick where a stanza is written
//! (`Room::occupant_jid_str`); no newtypes over them (ARCHITECTURE.md says why).

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

/// The nickname `nick` as the occupant JID `room/nick` holds it: resourceprep
/// (RFC 7622 §3.4, through the `jid` crate), or `None` when `nick` is not a valid
/// resourcepart. The one nickname validator; see [`is_strict_nick`].
pub fn prep_nick(room: &BareJid, nick: &str) -> Option<String> {
    room.with_resource_str(nick)
        .ok()
        .map(|full| full.resource().as_str().to_string())
}

/// Prosody's strict validation of a nickname (joins, registration): it is valid and
/// already in its prepared form.
pub fn is_strict_nick(room: &BareJid, nick: &str) -> bool {
    prep_nick(room, nick).as_deref() == Some(nick)
}
