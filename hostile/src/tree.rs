//! The `stanza` target: arbitrary element trees into the typed stanza layer, then into
//! the service. Names, namespaces and attribute values come mostly from the XMPP/MUC
//! vocabulary (so the tree reaches the MUC handlers), sometimes from the input.
//!
//! Asserts: every refusal is a typed error whose reply is itself a valid error stanza;
//! the service answers an iq get/set exactly once, never answers an error with an
//! error, keeps its invariants, and every stanza it sends round-trips through the
//! serializer and is a valid error stanza when it is one.

use arbitrary::{Arbitrary, Unstructured};
use server::jids::FullJid;
use server::stanza::{Stanza, StanzaError};
use server::xml::{Element, Node};
use server::{ns, Millis, MucService, ServiceConfig};

const NAMES: &[&str] = &[
    "presence", "message", "iq", "x", "item", "query", "body", "subject", "status", "password", "destroy",
    "reason", "invite", "decline", "field", "value", "error", "history", "actor", "continue",
];
const NAMESPACES: &[&str] = &[
    ns::CLIENT,
    ns::MUC,
    ns::MUC_USER,
    ns::MUC_ADMIN,
    ns::MUC_OWNER,
    ns::DATA,
    ns::STANZAS,
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "urn:example:other",
];
const ATTRS: &[&str] = &[
    "to",
    "from",
    "type",
    "id",
    "nick",
    "jid",
    "affiliation",
    "role",
    "var",
    "code",
    "maxstanzas",
];
const VALUES: &[&str] = &[
    "room@conference.localhost",
    "room@conference.localhost/Juliet",
    "room@conference.localhost/Romeo",
    "conference.localhost",
    "juliet@localhost",
    "romeo@localhost/pda",
    "get",
    "set",
    "result",
    "error",
    "unavailable",
    "groupchat",
    "chat",
    "member",
    "none",
    "owner",
    "admin",
    "outcast",
    "moderator",
    "participant",
    "visitor",
    "submit",
    "muc#roomconfig_membersonly",
    "muc#roomconfig_persistentroom",
    "1",
    "0",
    "Juliet",
    "",
    // The room owner's bare JID and nick: without them no muc#admin or muc#owner
    // item could name the owner (an item's `jid` must be bare, XEP-0045 §9), so the
    // owner's own affiliation changes (§10.6, the last owner) were out of reach.
    "romeo@localhost",
    "Romeo",
];

/// Only characters XML 1.0 allows (a parsed stanza can hold no others).
fn xml_text(u: &mut Unstructured) -> arbitrary::Result<String> {
    let s: String = u.arbitrary()?;
    Ok(s.chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .take(64)
        .collect())
}

/// An XML name: from the vocabulary, or a short ASCII identifier.
fn name(u: &mut Unstructured, vocab: &[&str]) -> arbitrary::Result<String> {
    if u.ratio(7, 8)? {
        return Ok(u.choose(vocab)?.to_string());
    }
    let len = u.int_in_range(1..=6)?;
    let mut s = String::new();
    for i in 0..len {
        let alphabet: &[u8] = if i == 0 { b"abcxyz_" } else { b"abcxyz_-.019" };
        s.push(*u.choose(alphabet)? as char);
    }
    Ok(s)
}

fn value(u: &mut Unstructured) -> arbitrary::Result<String> {
    if u.ratio(3, 4)? {
        Ok(u.choose(VALUES)?.to_string())
    } else {
        xml_text(u)
    }
}

fn element(u: &mut Unstructured, depth: usize) -> arbitrary::Result<Element> {
    let mut e = Element::new(name(u, NAMES)?, u.choose(NAMESPACES)?.to_string());
    let attrs = u.int_in_range(0..=4)?;
    for _ in 0..attrs {
        let n = name(u, ATTRS)?;
        if e.attr(&n).is_none() && n != "xmlns" {
            e.set_attr(&n, value(u)?);
        }
    }
    if depth < 5 {
        let children = u.int_in_range(0..=3)?;
        for _ in 0..children {
            if u.ratio(1, 4)? {
                let t = xml_text(u)?;
                // Adjacent text nodes would merge when parsed back.
                if !t.is_empty() && !matches!(e.children.last(), Some(Node::Text(_))) {
                    e.children.push(Node::Text(t));
                }
            } else {
                e.push(element(u, depth + 1)?);
            }
        }
    }
    Ok(e)
}

/// A stanza-shaped tree: the root is presence/message/iq in `jabber:client` most of
/// the time.
pub fn arbitrary_stanza(u: &mut Unstructured) -> arbitrary::Result<Element> {
    let mut e = element(u, 0)?;
    if u.ratio(7, 8)? {
        e.name = (*u.choose(&["presence", "message", "iq"])?).into();
        e.ns = ns::CLIENT.into();
    }
    Ok(e)
}

/// Asserts `e` is an RFC 6120 §8.3 error stanza: type `error`, one `<error/>` with a
/// valid type and exactly one defined condition.
pub fn assert_valid_error(e: &Element) {
    assert_eq!(e.attr("type"), Some("error"), "{e}");
    let errs: Vec<&Element> = e.elements().filter(|c| c.is("error", ns::CLIENT)).collect();
    assert_eq!(errs.len(), 1, "one <error/>: {e}");
    let ty = errs[0].attr("type").unwrap_or("");
    assert!(
        ["auth", "cancel", "continue", "modify", "wait"].contains(&ty),
        "error type '{ty}': {e}"
    );
    let conditions = errs[0]
        .elements()
        .filter(|c| c.ns == ns::STANZAS && c.name != "text")
        .count();
    assert_eq!(conditions, 1, "one defined condition: {e}");
}

/// The world every input is sent into: a service whose room Romeo created and
/// configured (an instant room, XEP-0045 §10.1.2), Romeo, and Juliet (a stranger).
fn world() -> &'static (MucService, FullJid, FullJid) {
    static WORLD: std::sync::OnceLock<(MucService, FullJid, FullJid)> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let mut svc = MucService::new(ServiceConfig {
            assert_invariants: false,
            // The planted bug `scripts/fuzz.sh` checks the target finds.
            #[cfg(feature = "planted-mutant")]
            mutant: Some(server::Mutant::LastOwnerMayLeave),
            ..ServiceConfig::new("conference.localhost", 1)
        })
        .expect("valid configuration");
        let romeo = FullJid::new("romeo@localhost/pda").expect("valid");
        let create = Element::new("presence", ns::CLIENT)
            .with_attr("to", "room@conference.localhost/Romeo")
            .with_child(Element::new("x", ns::MUC));
        let _ = svc.handle(Millis(0), romeo.clone(), create);
        let instant = Element::new("iq", ns::CLIENT)
            .with_attr("to", "room@conference.localhost")
            .with_attr("type", "set")
            .with_attr("id", "create")
            .with_child(
                Element::new("query", ns::MUC_OWNER)
                    .with_child(Element::new("x", ns::DATA).with_attr("type", "submit")),
            );
        let _ = svc.handle(Millis(0), romeo.clone(), instant);
        let juliet = FullJid::new("juliet@localhost/phone").expect("valid");
        (svc, romeo, juliet)
    })
}

pub fn check(data: &[u8]) {
    let Some((el, from_romeo)) = decode(data) else {
        return;
    };
    check_tree(el, from_romeo);
}

/// The assertions of [`check`] on one tree, sent by the room's owner Romeo (an
/// occupant) when `from_romeo`, else by Juliet (a stranger). Panics on a finding.
pub fn check_tree(el: Element, from_romeo: bool) {
    let is_error_in = el.attr("type") == Some("error");
    match Stanza::parse(el.clone()) {
        Ok(st) => assert_eq!(st.el, el, "the typed view keeps the element"),
        Err((back, StanzaError::NotAStanza)) => assert_eq!(back, el),
        Err((back, StanzaError::Refused(r))) => {
            let reply = r.reply_to(
                &back,
                "room@conference.localhost",
                Some("room@conference.localhost"),
            );
            assert_valid_error(&reply);
            crate::assert_round_trip(&reply);
        }
    }
    // Into a service with a room, from an occupant and from a stranger. The room is
    // set up once per process and copied for each input (setting it up again each
    // time cost more than the rest of the exec).
    let (mut svc, romeo, juliet) = world().clone();
    let from = if from_romeo { romeo } else { juliet };
    let iq_request = el.name == "iq"
        && el.ns == ns::CLIENT
        && matches!(el.attr("type"), Some("get") | Some("set"))
        && el.attr("id").is_some();
    let id = el.attr("id").map(str::to_string);
    let out = svc.handle(Millis(1), from.clone(), el);
    if let Err(v) = svc.check_invariants() {
        panic!("invariant broken: {v}");
    }
    let mut answers = 0;
    // An iq to an occupant is forwarded to its real JID instead of answered.
    let mut forwarded = 0;
    for o in out.iter() {
        let full = o.element();
        crate::assert_round_trip(&full);
        if full.attr("type") == Some("error") {
            assert_valid_error(&full);
            assert!(
                !is_error_in || o.to.as_str() != from.as_str(),
                "an error answered an error: {full}"
            );
        }
        if full.name == "iq" && o.to.as_str() == from.as_str() && full.attr("id").map(str::to_string) == id {
            answers += 1;
        } else if full.name == "iq" && o.to.as_str() != from.as_str() {
            forwarded += 1;
        }
    }
    if iq_request {
        assert_eq!(
            answers + forwarded,
            1,
            "an iq get/set is answered (or forwarded) exactly once"
        );
    }
}

/// `Arbitrary` for callers that want a tree without the checks.
pub struct ArbitraryStanza(pub Element);

impl<'a> Arbitrary<'a> for ArbitraryStanza {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        arbitrary_stanza(u).map(ArbitraryStanza)
    }
}

fn index(vocab: &[&str], s: &str) -> Option<u8> {
    vocab
        .iter()
        .position(|v| *v == s)
        .and_then(|i| u8::try_from(i).ok())
}

/// Appends the bytes [`element`] decodes into `e` reduced to what the vocabulary
/// can say, and returns that reduced element; `None` when `e`'s own name or
/// namespace is not in the vocabulary.
fn encode_element(e: &Element, depth: usize, out: &mut Vec<u8>) -> Option<Element> {
    let (name, ns) = (index(NAMES, &e.name)?, index(NAMESPACES, &e.ns)?);
    // ratio(7, 8) true (byte 0: 1 + 0 % 8 <= 7), then the index.
    out.extend_from_slice(&[0, name, ns]);
    let mut got = Element::new(e.name.clone(), e.ns.clone());
    let attrs: Vec<(u8, u8)> = e
        .attrs
        .iter()
        .filter(|a| a.ns.is_empty())
        .filter_map(|a| Some((index(ATTRS, &a.name)?, index(VALUES, &a.value)?)))
        .take(4)
        .collect();
    out.push(attrs.len() as u8);
    for (n, v) in attrs {
        // Name: ratio(7, 8) true, index; value: ratio(3, 4) true, index.
        out.extend_from_slice(&[0, n, 0, v]);
        got.set_attr(ATTRS[usize::from(n)], VALUES[usize::from(v)].to_string());
    }
    if depth < 5 {
        let at = out.len();
        out.push(0);
        let mut n = 0u8;
        for c in e.elements() {
            if n == 3 {
                break;
            }
            let mut bytes = vec![1]; // ratio(1, 4) false (1 + 1 % 4 > 1): an element
            if let Some(child) = encode_element(c, depth + 1, &mut bytes) {
                out.extend_from_slice(&bytes);
                got.push(child);
                n += 1;
            }
        }
        out[at] = n;
    }
    Some(got)
}

/// The inverse of [`check`]'s decoding, for seed corpora: bytes that [`check`]
/// decodes into `el` reduced to what the target's vocabulary can say (attributes,
/// children and text it cannot say dropped; at most 4 attributes and 3 children per
/// element, depth 6), sent by Romeo when `from_romeo`. Returns the bytes and the
/// tree they decode to; `None` when the root's name or namespace is not in the
/// vocabulary. Follows `arbitrary` 1.x's `int_in_range` (one byte, modulo the range).
pub fn encode(el: &Element, from_romeo: bool) -> Option<(Vec<u8>, Element)> {
    let mut out = Vec::new();
    let got = encode_element(el, 0, &mut out)?;
    // ratio(7, 8) false (byte 7: 1 + 7 % 8 > 7): the root keeps its own name; then
    // the sender.
    out.extend_from_slice(&[7, u8::from(from_romeo)]);
    Some((out, got))
}

/// What [`check`] decodes `data` into: the tree and whether Romeo sends it.
pub fn decode(data: &[u8]) -> Option<(Element, bool)> {
    let mut u = Unstructured::new(data);
    let el = arbitrary_stanza(&mut u).ok()?;
    Some((el, u.arbitrary::<bool>().unwrap_or(false)))
}
