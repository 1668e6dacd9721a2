//! JIDs: the `jid` crate's types (which do the stringprep), re-exported, and the
//! one nickname validator (resourceprep through the `jid` crate, then RFC 8266's
//! PRECIS Nickname profile through the `precis-profiles` crate). Rooms are `BareJid`s, real sessions `FullJid`s, and
//! occupant addresses are built from a room and a nick where a stanza is written
//! (`Room::occupant_jid_str`); no newtypes over them (ARCHITECTURE.md says why).

pub use jid::{BareJid, FullJid, Jid};

/// [`Jid::to_bare`] and [`FullJid::to_bare`] without formatting: the `jid` crate
/// writes `node@domain` anew through `format!`; this copies the normalized string
/// and cuts the resource off ([`Jid::into_bare`]). The same `BareJid` (JIDs compare
/// by their normalized string).
pub trait Bare {
    fn bare(&self) -> BareJid;
}

impl Bare for Jid {
    fn bare(&self) -> BareJid {
        self.clone().into_bare()
    }
}

impl Bare for FullJid {
    fn bare(&self) -> BareJid {
        self.clone().into_bare()
    }
}

/// The bare part of a full JID as it is written (`node@domain`), borrowed:
/// `full.to_bare().as_str()` without building a `BareJid`.
pub fn bare_str(full: &FullJid) -> &str {
    let s = full.as_str();
    &s[..s.len() - full.resource().as_str().len() - 1]
}

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

/// Why the PRECIS Nickname profile (RFC 8266 §2) refuses a nickname.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NickError {
    /// Nothing is left once the profile's rules are applied (RFC 8266 §2.3: e.g. a
    /// nickname made only of spaces, which the additional mapping rule trims away).
    Empty,
}

impl NickError {
    /// The error's text, for the `jid-malformed` a join with such a nick gets.
    pub fn reason(self) -> &'static str {
        match self {
            NickError::Empty => "Nickname is empty under the PRECIS Nickname profile (RFC 8266)",
        }
    }
}

/// The comparison form of `nick` under the PRECIS Nickname profile (RFC 8266 §2.4:
/// the additional mapping rule — non-ASCII spaces to ASCII, leading and trailing
/// spaces trimmed, runs of spaces collapsed —, case mapping and NFKC, applied until
/// stable, through the `precis-profiles` crate): two nicknames are one nickname, for
/// conflicts, exactly when their keys are equal (`Romeo`, `romeo`, `Romeo `, a
/// fullwidth `Ｒomeo`). Errors: `Empty` when nothing is left (RFC 8266 §2.3).
///
/// The profile's FreeformClass check (which code points may appear) is left to
/// resourceprep, which every nick passes first: the crate's tables are those of the
/// IANA PRECIS registry, Unicode 6.3, and would refuse every character assigned
/// since (the robot face U+1F916 is Unicode 8.0) where Prosody and resourceprep
/// accept it. XEP-0045 §7.2.9 points to RFC 8266; Prosody 0.12.3 compares nicknames
/// after resourceprep only (case-sensitive, spaces kept) and lets an all-space one in.
pub fn nick_key(nick: &str) -> Result<String, NickError> {
    use precis_core::profile::{stabilize, Rules};
    use precis_profiles::Nickname;
    let p = Nickname::new();
    let key = stabilize(nick, |s| {
        let s = p.additional_mapping_rule(s)?;
        let s = p.case_mapping_rule(s)?;
        p.normalization_rule(s)
    })
    .map_err(|_| NickError::Empty)?;
    if key.is_empty() {
        return Err(NickError::Empty);
    }
    Ok(key.into_owned())
}

/// Whether `a` and `b` are one nickname under the PRECIS Nickname profile's
/// comparison (see [`nick_key`]); a nickname the profile refuses equals only
/// itself.
pub fn same_nick(a: &str, b: &str) -> bool {
    a == b
        || match (nick_key(a), nick_key(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// The nickname `nick` as the occupant JID `room/nick` holds it: resourceprep
/// (RFC 7622 §3.4, through the `jid` crate), or `None` when `nick` is not a valid
/// resourcepart or the PRECIS Nickname profile refuses it ([`nick_key`]). The one
/// nickname validator; see [`is_strict_nick`].
pub fn prep_nick(room: &BareJid, nick: &str) -> Option<String> {
    room.with_resource_str(nick)
        .ok()
        .map(|full| full.resource().as_str().to_string())
        .filter(|n| nick_key(n).is_ok())
}

/// Prosody's strict validation of a nickname (joins, registration): it is valid and
/// already in its prepared form.
pub fn is_strict_nick(room: &BareJid, nick: &str) -> bool {
    prep_nick(room, nick).as_deref() == Some(nick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_is_to_bare_without_formatting() {
        for s in [
            "juliet@capulet.lit/balcony",
            "Juliet@Capulet.LIT/Balcony ",
            "capulet.lit/r",
            "romeo@montague.lit",
        ] {
            let jid = Jid::new(s).unwrap();
            assert_eq!(jid.bare(), jid.to_bare());
            assert_eq!(jid.bare().as_str(), jid.to_bare().as_str());
            if let Ok(full) = FullJid::new(s) {
                assert_eq!(full.bare(), full.to_bare());
                assert_eq!(bare_str(&full), full.to_bare().as_str());
            }
        }
    }

    #[test]
    fn the_precis_nickname_profile_keys_and_refusals() {
        assert_eq!(nick_key("Bob "), nick_key("bob"));
        assert_eq!(nick_key("\u{FF22}OB"), nick_key("bob"));
        assert_eq!(nick_key("Bob  Smith"), nick_key("bob smith"));
        assert_ne!(nick_key("Bob"), nick_key("Bobby"));
        assert_eq!(nick_key("   "), Err(NickError::Empty));
        assert_eq!(nick_key("\u{3000}\u{00A0} "), Err(NickError::Empty));
        assert_eq!(nick_key(""), Err(NickError::Empty));
        // A character assigned after Unicode 6.3 (the crate's tables) is a nickname.
        assert!(nick_key("\u{1F916}").is_ok());
        let room = BareJid::new("r@conference.localhost").unwrap();
        assert!(is_strict_nick(&room, "Bob Smith"));
        assert!(!is_strict_nick(&room, "  "));
        assert!(same_nick("Romeo", "romeo") && !same_nick("Romeo", "Juliet"));
    }
}
