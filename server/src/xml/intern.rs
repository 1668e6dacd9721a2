//! The static table of names and namespace URIs the parser hands out without
//! allocating. Anything not in the table is owned; the table only saves work.

use super::lexical::check_qname;
use super::Name;
use std::borrow::Cow;

/// Names and namespaces common in XMPP client streams and in MUC traffic.
const TABLE: &[&str] = &[
    // stanzas and their attributes
    "presence",
    "message",
    "iq",
    "from",
    "to",
    "id",
    "type",
    "lang",
    "error",
    "show",
    "status",
    "priority",
    "body",
    "subject",
    "thread",
    "text",
    "query",
    "x",
    "item",
    "actor",
    "reason",
    "continue",
    "destroy",
    "password",
    "history",
    "affiliation",
    "role",
    "jid",
    "nick",
    "code",
    "by",
    "c",
    "hash",
    "node",
    "ver",
    "ext",
    "stamp",
    "delay",
    "occupant-id",
    "invite",
    "decline",
    "field",
    "value",
    "var",
    "label",
    "option",
    "required",
    "desc",
    "title",
    "instructions",
    "identity",
    "feature",
    "category",
    "name",
    "stream",
    "features",
    "handshake",
    "active",
    "composing",
    "paused",
    "inactive",
    "gone",
    "photo",
    "maxchars",
    "maxstanzas",
    "seconds",
    "since",
    "bind",
    "resource",
    "session",
    "mechanisms",
    "mechanism",
    "auth",
    "success",
    "failure",
    "challenge",
    "response",
    "starttls",
    "version",
    "received",
    "request",
    "markable",
    // namespaces
    "jabber:client",
    "jabber:server",
    "jabber:component:accept",
    "jabber:x:data",
    "jabber:x:delay",
    "jabber:iq:roster",
    "jabber:iq:version",
    "vcard-temp",
    "vcard-temp:x:update",
    "http://etherx.jabber.org/streams",
    "urn:ietf:params:xml:ns:xmpp-stanzas",
    "urn:ietf:params:xml:ns:xmpp-streams",
    "urn:ietf:params:xml:ns:xmpp-sasl",
    "urn:ietf:params:xml:ns:xmpp-bind",
    "urn:ietf:params:xml:ns:xmpp-session",
    "urn:ietf:params:xml:ns:xmpp-tls",
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/muc#user",
    "http://jabber.org/protocol/muc#admin",
    "http://jabber.org/protocol/muc#owner",
    "http://jabber.org/protocol/muc#roomconfig",
    "http://jabber.org/protocol/muc#roominfo",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/chatstates",
    "urn:xmpp:occupant-id:0",
    "urn:xmpp:delay",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
    "urn:xmpp:sid:0",
    "http://prosody.im/protocol/muc",
    "http://www.w3.org/XML/1998/namespace",
    "https://prosody.im/protocol/scansion",
];

/// `s` as a [`Name`], borrowed from the table when it is there.
pub fn name(s: &str) -> Name {
    if s.is_empty() {
        return Cow::Borrowed("");
    }
    match lookup(s) {
        Some((t, _)) => Cow::Borrowed(t),
        None => Cow::Owned(s.to_owned()),
    }
}

/// The table's copy of `s` when `s` is in the table and is an unprefixed qualified
/// name, an NCName (so the parser, having found it, need not check its characters
/// again nor look for a prefix in it).
pub(super) fn known_ncname(s: &str) -> Option<&'static str> {
    match lookup(s) {
        Some((t, true)) => Some(t),
        _ => None,
    }
}

const SLOTS: usize = 1024;

/// A hash of the length and the first and last eight bytes: constant time whatever the
/// length (namespace URIs are long), and distinct enough over the table to leave
/// few collisions.
fn hash(b: &[u8]) -> usize {
    let n = b.len();
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
    let (head, tail) = match n {
        0 => (0, 0),
        1..=3 => (
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
        ),
        4..=7 => (u32_at(0) | u32_at(n - 4) << 32, 0),
        _ => (u64_at(0), u64_at(n - 8)),
    };
    let h = (head ^ tail.rotate_left(29) ^ (n as u64).rotate_left(53)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 54) as usize
}

/// A table entry and whether it is an NCName (namespace URIs are not).
type Slot = Option<(&'static str, bool)>;

/// An open-addressed table over [`TABLE`], built on first use: one hash and usually
/// one comparison per lookup.
fn slots() -> &'static [Slot] {
    static SLOTS_TABLE: std::sync::OnceLock<Vec<Slot>> = std::sync::OnceLock::new();
    SLOTS_TABLE.get_or_init(|| {
        let mut v: Vec<Slot> = vec![None; SLOTS];
        for &t in TABLE {
            let mut i = hash(t.as_bytes()) % SLOTS;
            while let Some((existing, _)) = v[i] {
                if existing == t {
                    break;
                }
                i = (i + 1) % SLOTS;
            }
            v[i] = Some((t, check_qname(t).is_ok() && !t.contains(':')));
        }
        v
    })
}

fn lookup(s: &str) -> Option<(&'static str, bool)> {
    if s.len() > 48 {
        return None;
    }
    let slots = slots();
    let mut i = hash(s.as_bytes()) % SLOTS;
    while let Some((t, is_ncname)) = slots[i] {
        if t == s {
            return Some((t, is_ncname));
        }
        i = (i + 1) % SLOTS;
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_names_are_borrowed_and_others_owned() {
        assert!(matches!(super::name("presence"), std::borrow::Cow::Borrowed(_)));
        assert!(matches!(
            super::name("jabber:client"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(super::name("zzz"), std::borrow::Cow::Owned(_)));
        assert_eq!(super::name(""), "");
        for t in super::TABLE {
            assert_eq!(super::lookup(t).map(|(s, _)| s), Some(*t));
        }
        // Names are known as qualified names; URIs that are not names are not.
        assert_eq!(super::known_ncname("presence"), Some("presence"));
        assert_eq!(super::known_ncname("http://jabber.org/protocol/caps"), None);
        // A qualified name with a prefix is not an NCName: its prefix must be resolved.
        assert_eq!(super::known_ncname("jabber:client"), None);
        assert_eq!(super::known_ncname("zzz"), None);
    }

    #[test]
    fn the_hash_spreads_the_table() {
        // Each name is found within a few probes of its home slot; a hash that lumped
        // names together would still be correct, only slow.
        let slots = super::slots();
        let worst = super::TABLE
            .iter()
            .map(|t| {
                let home = super::hash(t.as_bytes()) % super::SLOTS;
                let at = (0..super::SLOTS)
                    .find(|k| slots[(home + k) % super::SLOTS].map(|(s, _)| s) == Some(*t))
                    .expect("every name is in the table");
                at + 1
            })
            .max()
            .unwrap();
        assert!(worst <= 3, "a name needs {worst} probes");
    }
}
