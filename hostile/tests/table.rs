//! The hostile-input table (docs/fuzzing.md, "The hostile-input table"): one test per
//! row. Each feeds the input end to end — bytes through the stream parser, stanzas
//! through the simulated home server and the service — and asserts what the service did, which error, and
//! that the room is unchanged (or changed exactly as intended). None may panic.

use server::jids::BareJid;
use server::muc::Room;
use server::ns;
use server::xml::{parse_stanza, Element, Limits, StanzaLimit, StreamEvent, StreamParser, XmlError};
use sim::{ConnId, Event, World, WorldConfig};

const ROOM: &str = "room@conference.localhost";

/// A world where Romeo owns a configured room and Juliet is in it.
fn world() -> (World, ConnId, ConnId) {
    let mut w = World::new(WorldConfig::new(3));
    let romeo = w.connect("romeo", "romeo@localhost/pda", None).unwrap();
    let juliet = w.connect("juliet", "juliet@localhost/phone", None).unwrap();
    send(
        &mut w,
        romeo,
        &format!("<presence to='{ROOM}/Romeo'><x xmlns='{}'/></presence>", ns::MUC),
    );
    send(
        &mut w,
        romeo,
        &format!(
            "<iq to='{ROOM}' type='set' id='create'><query xmlns='{}'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
            ns::MUC_OWNER
        ),
    );
    send(
        &mut w,
        juliet,
        &format!("<presence to='{ROOM}/Juliet'><x xmlns='{}'/></presence>", ns::MUC),
    );
    drain(&mut w, romeo);
    drain(&mut w, juliet);
    (w, romeo, juliet)
}

fn send(w: &mut World, c: ConnId, xml: &str) {
    let el = parse_stanza(xml.as_bytes(), ns::CLIENT, &Limits::default()).expect("test stanza parses");
    w.send(c, el).expect("connected");
    w.run_until_quiet();
}

fn drain(w: &mut World, c: ConnId) -> Vec<Element> {
    let mut v = Vec::new();
    while let Some(e) = w.take_received(c) {
        v.push(e);
    }
    v
}

fn room(w: &World) -> Room {
    w.service()
        .room(&BareJid::new(ROOM).unwrap())
        .expect("room exists")
        .clone()
}

/// The defined condition of the one error stanza in `got`.
fn error_condition(got: &[Element]) -> String {
    let errs: Vec<&Element> = got.iter().filter(|e| e.attr("type") == Some("error")).collect();
    assert_eq!(errs.len(), 1, "one error: {got:?}");
    let err = errs[0].child("error", ns::CLIENT).expect("<error/>");
    err.elements()
        .find(|c| c.ns == ns::STANZAS && c.name != "text")
        .map(|c| c.name.to_string())
        .expect("a defined condition")
}

/// Sends `xml` from Juliet; asserts exactly one error with `condition` comes back and
/// the room is unchanged.
fn refused(xml: &str, condition: &str) {
    let (mut w, _, juliet) = world();
    let before = room(&w);
    send(&mut w, juliet, xml);
    let got = drain(&mut w, juliet);
    assert_eq!(error_condition(&got), condition, "{xml}");
    assert_eq!(room(&w), before, "the room changed: {xml}");
    assert!(w.violation().is_none());
}

fn stream(body: &[u8]) -> Vec<u8> {
    [
        &b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>"[..],
        body,
    ]
    .concat()
}

/// Feeds bytes to a fresh stream parser, in 64 KiB reads; the first error.
fn stream_error(bytes: &[u8]) -> XmlError {
    let mut p = StreamParser::new(Limits::default());
    let mut out = Vec::new();
    for chunk in bytes.chunks(64 * 1024) {
        if let Err(e) = p.feed_into(chunk, &mut out) {
            assert!(p.pending_bytes() == 0, "the buffer is released after an error");
            return e;
        }
    }
    panic!("no error; events: {out:?}")
}

// --- XML: refused by the parser before any stanza reaches the service. ---

#[test]
fn billion_laughs_and_any_dtd() {
    let bomb = b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]><lolz>&lol2;</lolz>";
    let e = stream_error(bomb);
    assert_eq!(
        (e.clone(), e.stream_condition().as_str()),
        (XmlError::Doctype, "restricted-xml")
    );
    let e = stream_error(&stream(b"<!DOCTYPE x>"));
    assert_eq!(e, XmlError::Doctype);
}

#[test]
fn ten_thousand_deep_nesting() {
    // Over the depth limit: the stanza is skipped alone and the stream goes on.
    let deep = format!(
        "<message from='u@localhost/r' to='{ROOM}' id='d'>{}{}</message><presence/>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let mut p = StreamParser::new(Limits::default());
    let events = p.feed(&stream(deep.as_bytes())).unwrap();
    match &events[..] {
        [StreamEvent::Open(_), StreamEvent::Refused(r), StreamEvent::Stanza(next)] => {
            assert_eq!(r.limit, StanzaLimit::Depth(32));
            assert_eq!(r.id.as_deref(), Some("d"));
            assert!(next.is("presence", ns::CLIENT));
        }
        other => panic!("{other:?}"),
    }
    // Unclosed, it is skipped up to the stream budget, which ends the stream.
    let endless = format!("<message>{}", "<a>".repeat(400_000));
    let e = stream_error(&stream(endless.as_bytes()));
    assert_eq!(
        (e.clone(), e.stream_condition().as_str()),
        (
            XmlError::OverStreamBudget { limit: 1024 * 1024 },
            "policy-violation"
        )
    );
}

#[test]
fn ten_megabyte_attribute_and_text() {
    let big = "x".repeat(10 * 1024 * 1024);
    let attr = format!("<message to='{ROOM}' id='{big}'/>");
    let e = stream_error(&stream(attr.as_bytes()));
    assert_eq!(e, XmlError::OverStreamBudget { limit: 1024 * 1024 });
    let text = format!("<message to='{ROOM}'><body>{big}</body></message>");
    let e = stream_error(&stream(text.as_bytes()));
    assert_eq!(e.stream_condition().as_str(), "policy-violation");
}

#[test]
fn invalid_utf8() {
    let e = stream_error(&stream(b"<message><body>\xff\xfe</body></message>"));
    assert_eq!(
        (e.clone(), e.stream_condition().as_str()),
        (XmlError::InvalidUtf8, "unsupported-encoding")
    );
}

#[test]
fn unbound_namespace_prefix() {
    let e = stream_error(&stream(b"<message><foo:bar/></message>"));
    assert_eq!(
        (e.clone(), e.stream_condition().as_str()),
        (XmlError::UnboundPrefix("foo".into()), "not-well-formed")
    );
}

#[test]
fn second_root_element() {
    let r = parse_stanza(b"<message/><message/>", ns::CLIENT, &Limits::default());
    assert_eq!(r, Err(XmlError::SecondRoot));
    let e = stream_error(&stream(b"</stream:stream><message/>"));
    assert_eq!(e, XmlError::MisplacedContent);
}

// --- Stanzas: through the home server and the service. ---

#[test]
fn from_the_connection_does_not_own() {
    let (mut w, _, juliet) = world();
    let before = room(&w);
    send(
        &mut w,
        juliet,
        &format!("<message from='romeo@localhost/pda' to='{ROOM}' type='groupchat'><body>I am Romeo</body></message>"),
    );
    let closed = w
        .transcript()
        .entries()
        .iter()
        .any(|e| e.client == "juliet" && e.event == Event::StreamError("invalid-from".into()));
    assert!(closed, "stream error invalid-from");
    assert!(!w.is_open(juliet));
    // Juliet's session ended, so she left; nothing else changed.
    let after = room(&w);
    assert!(after.occupant("Juliet").is_none());
    assert_eq!(after.occupant("Romeo"), before.occupant("Romeo"));
    assert_eq!(after.config(), before.config());
}

#[test]
fn ten_thousand_character_nickname() {
    let nick = "n".repeat(10_000);
    refused(
        &format!("<presence to='{ROOM}/{nick}'><x xmlns='{}'/></presence>", ns::MUC),
        "jid-malformed",
    );
}

#[test]
fn empty_nickname() {
    refused(
        &format!("<presence to='{ROOM}/'><x xmlns='{}'/></presence>", ns::MUC),
        "jid-malformed",
    );
}

#[test]
fn control_character_nickname() {
    // C0 controls other than tab/LF/CR cannot even be written in XML 1.0.
    let e = stream_error(&stream(b"<presence to='room@conference.localhost/Jul&#x7;iet'/>"));
    assert_eq!(e.stream_condition().as_str(), "not-well-formed");
    // Tab and C1 controls can; resourceprep prohibits them (RFC 3454 C.2.1, C.2.2).
    for nick in ["Jul&#9;iet", "Jul\u{85}iet"] {
        refused(
            &format!("<presence to='{ROOM}/{nick}'><x xmlns='{}'/></presence>", ns::MUC),
            "jid-malformed",
        );
    }
}

#[test]
fn nickname_equal_after_normalisation_is_the_same_nickname() {
    // "Rome\u{301}o" (e + combining acute) is "Roméo" after NFKC; a second user asking
    // for the other spelling of a taken nick gets conflict.
    let (mut w, romeo, juliet) = world();
    send(&mut w, romeo, &format!("<presence to='{ROOM}/Rom\u{e9}o'/>"));
    drain(&mut w, romeo);
    drain(&mut w, juliet);
    let before = room(&w);
    assert!(before.occupant("Rom\u{e9}o").is_some(), "Romeo renamed himself");
    send(&mut w, juliet, &format!("<presence to='{ROOM}/Rome\u{301}o'/>"));
    let got = drain(&mut w, juliet);
    assert_eq!(error_condition(&got), "conflict");
    assert_eq!(room(&w), before);
}

#[test]
fn nickname_differing_only_by_case_is_another_nickname() {
    // Resourceprep (what Prosody applies) maps no case: "JULIET" is a different nick.
    // Juliet's own change to it succeeds; nothing else changes.
    let (mut w, _, juliet) = world();
    let before = room(&w);
    send(&mut w, juliet, &format!("<presence to='{ROOM}/JULIET'/>"));
    let after = room(&w);
    assert!(after.occupant("JULIET").is_some() && after.occupant("Juliet").is_none());
    assert_eq!(after.occupant_count(), before.occupant_count());
    assert_eq!(after.affiliations().count(), before.affiliations().count());
}

#[test]
fn room_jid_with_a_resource_on_an_iq() {
    // An iq to room/nick goes to the occupant (XEP-0045 §7.1 iq forwarding); to a nick
    // nobody holds it is refused. Either way once, and the room is unchanged.
    refused(
        &format!("<iq to='{ROOM}/Nobody' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>"),
        "item-not-found",
    );
}

#[test]
fn affiliation_set_naming_an_invalid_jid() {
    let (mut w, romeo, _) = world();
    let before = room(&w);
    send(
        &mut w,
        romeo,
        &format!(
            "<iq to='{ROOM}' type='set' id='a1'><query xmlns='{}'><item affiliation='member' jid='@@bad@@/'/></query></iq>",
            ns::MUC_ADMIN
        ),
    );
    let got = drain(&mut w, romeo);
    assert_eq!(error_condition(&got), "jid-malformed");
    assert_eq!(room(&w), before);
}

#[test]
fn config_form_with_unknown_fields_or_wrong_types() {
    let (mut w, romeo, _) = world();
    let before = room(&w);
    let form = |fields: &str| {
        format!(
            "<iq to='{ROOM}' type='set' id='c1'><query xmlns='{}'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>{}</value></field>{fields}</x></query></iq>",
            ns::MUC_OWNER,
            ns::MUC_ROOMCONFIG
        )
    };
    // A wrong type: refused, nothing applied (not even the valid field beside it).
    send(
        &mut w,
        romeo,
        &form("<field var='muc#roomconfig_moderatedroom'><value>1</value></field><field var='muc#roomconfig_membersonly'><value>maybe</value></field>"),
    );
    let got = drain(&mut w, romeo);
    assert_eq!(error_condition(&got), "not-acceptable");
    assert_eq!(room(&w), before);
    // An unknown field is ignored (as Prosody does) and the rest applies.
    send(
        &mut w,
        romeo,
        &form("<field var='muc#roomconfig_no_such_thing'><value>x</value></field><field var='muc#roomconfig_moderatedroom'><value>1</value></field>"),
    );
    let got = drain(&mut w, romeo);
    assert!(
        got.iter()
            .any(|e| e.name == "iq" && e.attr("type") == Some("result")),
        "{got:?}"
    );
    assert!(room(&w).config().moderated);
}

#[test]
fn ten_thousand_items_in_one_admin_set() {
    let (mut w, romeo, _) = world();
    let before = room(&w);
    let mut q = Element::new("query", ns::MUC_ADMIN);
    for i in 0..10_000 {
        q.push(
            Element::new("item", ns::MUC_ADMIN)
                .with_attr("affiliation", "member")
                .with_attr("jid", format!("user{i}@localhost")),
        );
    }
    let iq = Element::new("iq", ns::CLIENT)
        .with_attr("to", ROOM)
        .with_attr("type", "set")
        .with_attr("id", "many")
        .with_child(q);
    w.send(romeo, iq).unwrap();
    w.run_until_quiet();
    let got = drain(&mut w, romeo);
    assert_eq!(error_condition(&got), "policy-violation");
    assert_eq!(room(&w), before);
}

#[test]
fn iq_with_no_id() {
    refused(
        &format!(
            "<iq to='{ROOM}' type='get'><query xmlns='{}'/></iq>",
            ns::MUC_ADMIN
        ),
        "bad-request",
    );
}

#[test]
fn a_stanza_over_a_limit_costs_its_sender_an_error_not_the_room() {
    let (mut w, romeo, juliet) = world();
    let before = room(&w);
    let deep = format!(
        "<message to='{ROOM}' type='groupchat' id='deep'><body>x</body>{}{}</message>",
        "<a xmlns='urn:x'>".repeat(40),
        "</a>".repeat(40)
    );
    w.send_xml(juliet, &deep).expect("well-formed");
    w.run_until_quiet();
    let got = drain(&mut w, juliet);
    assert_eq!(error_condition(&got), "policy-violation");
    assert_eq!(got[0].attr("id"), Some("deep"));
    assert_eq!(got[0].attr("from"), Some(ROOM));
    assert_eq!(room(&w), before, "the room is unchanged");
    assert!(drain(&mut w, romeo).is_empty(), "nothing of it reached the room");
    // An error that deep is not answered; the same stream then carries the room on.
    w.send_xml(juliet, &deep.replace("groupchat", "error"))
        .expect("well-formed");
    w.send_xml(
        juliet,
        &format!("<message to='{ROOM}' type='groupchat' id='after'><body>hi</body></message>"),
    )
    .expect("well-formed");
    w.run_until_quiet();
    let got = drain(&mut w, juliet);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].attr("id"), Some("after"));
    assert_eq!(drain(&mut w, romeo).len(), 1, "Romeo got the groupchat message");
    // To anyone else, the home server answers it itself, with the same error.
    w.send_xml(juliet, &deep.replace(ROOM, "romeo@localhost"))
        .expect("well-formed");
    w.run_until_quiet();
    assert_eq!(error_condition(&drain(&mut w, juliet)), "policy-violation");
    assert!(w.violation().is_none());
}
