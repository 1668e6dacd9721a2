use super::*;

const STREAM: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>\
<presence to='room@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence> \n\
<message type='groupchat' xml:lang='en'><body>a &amp; b &#x263A; &lt;c&gt;</body><p:x xmlns:p='urn:p' p:a='1'/></message>\
</stream:stream>";

fn stanza(s: &str) -> Result<Element, XmlError> {
    parse_stanza(s.as_bytes(), "jabber:client", &Limits::default())
}

fn events_whole(input: &[u8]) -> Vec<StreamEvent> {
    StreamParser::new(Limits::default()).feed(input).unwrap()
}

#[test]
fn parses_a_stream_with_namespaces() {
    let ev = events_whole(STREAM.as_bytes());
    assert_eq!(ev.len(), 4, "{ev:?}");
    let StreamEvent::Open(h) = &ev[0] else { panic!() };
    assert_eq!(h.attr("to"), Some("localhost"));
    let StreamEvent::Stanza(p) = &ev[1] else { panic!() };
    assert!(p.is("presence", "jabber:client"));
    assert!(p.child("x", "http://jabber.org/protocol/muc").is_some());
    let StreamEvent::Stanza(m) = &ev[2] else { panic!() };
    assert_eq!(m.attr_ns(NS_XML, "lang"), Some("en"));
    assert_eq!(
        m.child_text("body", "jabber:client").unwrap(),
        "a & b \u{263A} <c>"
    );
    let x = m.child("x", "urn:p").unwrap();
    assert_eq!(x.attr_ns("urn:p", "a"), Some("1"));
    assert_eq!(ev[3], StreamEvent::Close);
}

#[test]
fn any_chunking_gives_the_same_events() {
    let whole = events_whole(STREAM.as_bytes());
    for size in 1..40 {
        let mut p = StreamParser::new(Limits::default());
        let mut got = Vec::new();
        for chunk in STREAM.as_bytes().chunks(size) {
            got.extend(p.feed(chunk).unwrap());
        }
        assert_eq!(got, whole, "chunk size {size}");
    }
}

#[test]
fn utf8_split_across_chunks() {
    let s = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>héllo ☺</body></message>";
    let mut p = StreamParser::new(Limits::default());
    let mut got = Vec::new();
    for b in s.as_bytes() {
        got.extend(p.feed(std::slice::from_ref(b)).unwrap());
    }
    let StreamEvent::Stanza(m) = &got[1] else {
        panic!("{got:?}")
    };
    assert_eq!(m.child_text("body", "jabber:client").unwrap(), "héllo ☺");
}

#[test]
fn round_trip_parse_serialize_parse() {
    for ev in events_whole(STREAM.as_bytes()) {
        if let StreamEvent::Stanza(e) = ev {
            let s = e.to_xml_in("jabber:client");
            assert_eq!(stanza(&s).unwrap(), e, "{s}");
        }
    }
}

#[test]
fn prefixes_resolve_to_the_same_tree() {
    let a = stanza("<iq xmlns:q='jabber:iq:roster'><q:query/></iq>").unwrap();
    let b = stanza("<iq><query xmlns='jabber:iq:roster'/></iq>").unwrap();
    assert_eq!(a, b);
}

#[test]
fn entity_bomb_is_refused() {
    let bomb = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]><message><body>&lol2;</body></message>";
    assert_eq!(stanza(bomb), Err(XmlError::Doctype));
    let stream = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='{}'>{}",
        parser::NS_STREAMS,
        &bomb[21..]
    );
    assert_eq!(
        StreamParser::new(Limits::default()).feed(stream.as_bytes()),
        Err(XmlError::Doctype)
    );
}

#[test]
fn unknown_entity_is_refused() {
    assert_eq!(stanza("<a>&lol;</a>"), Err(XmlError::UnknownEntity("lol".into())));
    assert_eq!(
        stanza("<a b='&lol;'/>"),
        Err(XmlError::UnknownEntity("lol".into()))
    );
}

#[test]
fn pi_and_comment_are_refused() {
    assert_eq!(stanza("<a><?pi x?></a>"), Err(XmlError::ProcessingInstruction));
    assert_eq!(stanza("<a><!-- c --></a>"), Err(XmlError::Comment));
}

#[test]
fn deep_nesting_is_refused() {
    let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    assert_eq!(stanza(&deep), Err(XmlError::TooDeep { limit: 32 }));
}

#[test]
fn ten_megabyte_attribute_is_refused_without_buffering_it_all() {
    let big = format!("<message to='{}'/>", "a".repeat(10 * 1024 * 1024));
    assert_eq!(stanza(&big), Err(XmlError::StanzaTooLarge { limit: 256 * 1024 }));
    let mut p = StreamParser::new(Limits::default());
    p.feed(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message to='",
    )
    .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut refused = None;
    for i in 0..160 {
        if let Err(e) = p.feed(&chunk) {
            refused = Some((i, e));
            break;
        }
    }
    let (i, e) = refused.expect("refused");
    // Past the stanza limit it is skipped, up to the stream budget, which ends the stream.
    assert_eq!(e, XmlError::OverStreamBudget { limit: 1024 * 1024 });
    assert!(i <= 16, "refused only after {i} chunks");
    assert!(p.pending_bytes() == 0, "buffer released after error");
}

#[test]
fn ten_megabyte_text_is_refused() {
    let big = format!("<message><body>{}</body></message>", "a".repeat(10 * 1024 * 1024));
    assert!(matches!(stanza(&big), Err(XmlError::StanzaTooLarge { .. })));
    let lim = Limits {
        max_stanza_bytes: 1 << 30,
        ..Limits::default()
    };
    assert_eq!(
        parse_stanza(big.as_bytes(), "jabber:client", &lim),
        Err(XmlError::TextTooLong { limit: 64 * 1024 })
    );
}

#[test]
fn invalid_utf8_is_refused() {
    let r = parse_stanza(
        b"<message><body>\xff\xfe</body></message>",
        "jabber:client",
        &Limits::default(),
    );
    assert_eq!(r, Err(XmlError::InvalidUtf8));
}

#[test]
fn unbound_prefix_is_refused() {
    assert_eq!(stanza("<p:a/>"), Err(XmlError::UnboundPrefix("p".into())));
    assert_eq!(stanza("<a p:b='1'/>"), Err(XmlError::UnboundPrefix("p".into())));
}

#[test]
fn second_root_and_stray_text_are_refused() {
    assert_eq!(stanza("<a/><b/>"), Err(XmlError::SecondRoot));
    assert_eq!(stanza("<a/>text"), Err(XmlError::TextOutsideElement));
    assert_eq!(stanza("<a/>  \n"), Ok(Element::new("a", "jabber:client")));
}

#[test]
fn names_the_table_knows_take_the_same_checks() {
    // Known attribute names, duplicated: caught whether they differ in length, in the
    // first byte, or only later.
    for dup in [
        "<a to='1' id='2' to='3'/>",
        "<a type='1' to='2' type='3'/>",
        "<a id='1' jid='2' id='3'/>",
    ] {
        assert!(
            matches!(stanza(dup), Err(XmlError::DuplicateAttribute(_))),
            "{dup}"
        );
    }
    assert_eq!(stanza("<a to='1' id='2' jid='3'/>").map(|e| e.attrs.len()), Ok(3));
    // An entry of the table that is a prefixed name (a namespace URI such as
    // `jabber:client`) still has its prefix resolved, as element and as attribute.
    let el = stanza("<jabber:client xmlns:jabber='urn:x' jabber:client='v'/>").unwrap();
    assert!(el.is("client", "urn:x"), "{el:?}");
    assert_eq!(el.attr_ns("urn:x", "client"), Some("v"));
    assert_eq!(
        stanza("<jabber:client/>"),
        Err(XmlError::UnboundPrefix("jabber".into()))
    );
}

#[test]
fn malformed_input_is_refused() {
    assert!(matches!(stanza("<a></b>"), Err(XmlError::MismatchedEnd { .. })));
    assert_eq!(stanza("<a>"), Err(XmlError::Truncated));
    assert_eq!(stanza("<a b='1"), Err(XmlError::Truncated));
    assert!(matches!(
        stanza("<a b='1' b='2'/>"),
        Err(XmlError::DuplicateAttribute(_))
    ));
    assert!(matches!(
        stanza("<a xmlns:p='urn:x' xmlns:q='urn:x' p:b='1' q:b='2'/>"),
        Err(XmlError::DuplicateAttribute(_))
    ));
    assert_eq!(stanza("<a>&#0;</a>"), Err(XmlError::BadCharRef("#0".into())));
    assert_eq!(stanza("<a>\u{1}</a>"), Err(XmlError::IllegalChar(1)));
    assert!(matches!(
        stanza("<a xmlns:p=''/>"),
        Err(XmlError::BadNamespaceDeclaration(_))
    ));
}

#[test]
fn too_many_attributes_and_children() {
    let lim = Limits {
        max_attrs: 3,
        max_children: 2,
        ..Limits::default()
    };
    assert_eq!(
        parse_stanza(b"<a a='1' b='2' c='3' d='4'/>", "", &lim),
        Err(XmlError::TooManyAttributes { limit: 3 })
    );
    assert_eq!(
        parse_stanza(b"<a><b/><b/><b/></a>", "", &lim),
        Err(XmlError::TooManyChildren { limit: 2 })
    );
}

#[test]
fn stream_must_start_with_stream_header() {
    assert_eq!(
        StreamParser::new(Limits::default()).feed(b"<presence/>"),
        Err(XmlError::NotAStream)
    );
}

#[test]
fn errors_are_sticky() {
    let mut p = StreamParser::new(Limits::default());
    assert!(p
        .feed(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><a></b>")
        .is_err());
    assert!(p.feed(b"<a/>").is_err());
}

#[test]
fn feed_into_keeps_stanzas_completed_before_an_error() {
    // Found by the xml_stream fuzz target: in one read, a whole stanza then a NUL.
    let input = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/><a>\0</a>";
    let mut out = Vec::new();
    let err = StreamParser::new(Limits::default()).feed_into(input, &mut out);
    assert_eq!(err, Err(XmlError::IllegalChar(0)));
    assert_eq!(out.len(), 2, "the header and the presence: {out:?}");
    // Byte by byte gives the same events and the same error.
    let mut p = StreamParser::new(Limits::default());
    let mut slow = Vec::new();
    let mut last = Ok(());
    for b in input {
        last = p.feed_into(std::slice::from_ref(b), &mut slow);
        if last.is_err() {
            break;
        }
    }
    assert_eq!((slow, last), (out, err));
}

#[test]
fn names_must_be_xml_names() {
    // Found by the xml_stream fuzz target: quick-xml takes anything before whitespace
    // as the name, NUL bytes included.
    for bad in [
        &b"<a\0b/>"[..],
        b"<:a/>",
        b"<a:b:c/>",
        b"<1a/>",
        b"<a x\0='1'/>",
        b"<a -x='1'/>",
    ] {
        let r = parse_stanza(bad, "jabber:client", &Limits::default());
        assert!(
            matches!(r, Err(XmlError::InvalidName(_))),
            "{:?}: {r:?}",
            String::from_utf8_lossy(bad)
        );
    }
    for good in [
        &b"<a-b.c_1/>"[..],
        b"<\xc3\xa9l\xc3\xa9ment/>",
        b"<a xmlns:p='urn:x' p:b-c='1'/>",
    ] {
        assert!(parse_stanza(good, "jabber:client", &Limits::default()).is_ok());
    }
}

#[test]
fn a_feff_inside_text_survives_any_chunking_and_a_leading_bom_is_dropped() {
    // Found by the xml_stream fuzz target: quick-xml drops a U+FEFF at the start of
    // each buffer without counting it, which corrupted text split at that point.
    let stream = "\u{FEFF}<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>a\u{FEFF}b</body></message>";
    let whole = events_whole(stream.as_bytes());
    let body = |evs: &[StreamEvent]| match &evs[1] {
        StreamEvent::Stanza(m) => m.child_text("body", "jabber:client"),
        other => panic!("{other:?}"),
    };
    assert_eq!(body(&whole).as_deref(), Some("a\u{FEFF}b"));
    let split = stream.find("\u{FEFF}b").unwrap();
    let (got, err) = feed_split(stream.as_bytes(), split, Limits::default());
    assert_eq!(err, None);
    assert_eq!(got, whole);
}

/// Feeds `input` split at `split`; the events and the error (if any) that result.
fn feed_split(input: &[u8], split: usize, limits: Limits) -> (Vec<StreamEvent>, Option<XmlError>) {
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    let r = p
        .feed_into(&input[..split], &mut out)
        .and_then(|()| p.feed_into(&input[split..], &mut out));
    (out, r.err())
}

#[test]
fn a_feff_at_the_start_of_a_read_is_text_like_any_other() {
    // Found by the xml_stream fuzz target: a U+FEFF that a read boundary put first in
    // a buffer was looked at at once, while the same text inside a buffer waited to
    // see whether it continued; and its bytes were not counted toward the stanza limit.
    let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    // Text between stanzas that may still continue: no error yet, however it is split.
    let pending = format!("{header}\u{FEFF}");
    for split in [header.len(), pending.len()] {
        let (events, err) = feed_split(pending.as_bytes(), split, Limits::default());
        assert_eq!((events.len(), err), (1, None), "split at {split}");
    }
    // Once it is followed by markup it is stray text, at either split.
    let stray = format!("{header}\u{FEFF}\u{5}<message/>");
    for split in [header.len(), stray.len()] {
        let (_, err) = feed_split(stray.as_bytes(), split, Limits::default());
        assert_eq!(err, Some(XmlError::TextOutsideElement), "split at {split}");
    }
    // Its three bytes count toward the stanza limit wherever the read boundary falls
    // (the stanza is longer than the header, which the limit also bounds).
    let stanza = format!("<message><body>\u{FEFF}{}</body></message>", "a".repeat(100));
    let limits = Limits {
        max_stanza_bytes: stanza.len() - 1,
        ..Limits::default()
    };
    let input = format!("{header}{stanza}");
    let at_feff = header.len() + stanza.find('\u{FEFF}').unwrap();
    for split in [input.len(), at_feff] {
        let (events, err) = feed_split(input.as_bytes(), split, limits);
        assert_eq!(err, None, "split at {split}");
        assert!(
            matches!(
                events.last(),
                Some(StreamEvent::Refused(r)) if r.limit == StanzaLimit::Bytes(limits.max_stanza_bytes)
            ),
            "split at {split}: {events:?}"
        );
    }
}

// Per-stanza limits: a stanza over one is refused alone, the stream goes on.

const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
const GOOD_1: &str =
    "<message from='a@x/r' to='room@muc.x' type='groupchat' id='g1'><body>one</body></message>";
const GOOD_2: &str =
    "<presence from='b@x/r' to='room@muc.x/B'><x xmlns='http://jabber.org/protocol/muc'/></presence>";

fn small_limits() -> Limits {
    Limits {
        max_stanza_bytes: 300,
        max_depth: 4,
        max_attrs: 6,
        max_children: 3,
        max_text_bytes: 20,
        stream_budget_bytes: 1000,
    }
}

/// Parses `input` whole, one byte at a time, and split in two at every position;
/// asserts all agree and returns the events and the error.
fn every_chunking(input: &str, limits: Limits) -> (Vec<StreamEvent>, Option<XmlError>) {
    let bytes = input.as_bytes();
    let whole = feed_split(bytes, bytes.len(), limits);
    for split in 0..bytes.len() {
        assert_eq!(feed_split(bytes, split, limits), whole, "split at {split}");
    }
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    let mut err = None;
    for b in bytes.chunks(1) {
        if let Err(e) = p.feed_into(b, &mut out) {
            err = Some(e);
            break;
        }
    }
    assert_eq!((out, err), whole, "one byte at a time");
    whole
}

/// Asserts `bad` between two good stanzas yields good, refusal, good; returns the refusal.
fn refused_between_good(bad: &str, limits: Limits) -> RefusedStanza {
    let input = format!("{HEADER}{GOOD_1}{bad}{GOOD_2}");
    let (events, err) = every_chunking(&input, limits);
    assert_eq!(err, None, "the stream stays up");
    match &events[..] {
        [StreamEvent::Open(_), StreamEvent::Stanza(a), StreamEvent::Refused(r), StreamEvent::Stanza(b)] => {
            assert_eq!(a.attr("id"), Some("g1"));
            assert!(b.is("presence", "jabber:client"));
            (**r).clone()
        }
        other => panic!("expected good, refusal, good: {other:?}"),
    }
}

/// The limit `bad` (between two good stanzas, under [`small_limits`]) is refused for.
fn limit_of(bad: &str) -> StanzaLimit {
    refused_between_good(bad, small_limits()).limit
}

#[test]
fn a_too_deep_stanza_is_refused_alone() {
    let bad = format!(
        "<message from='u@x/r' to='room@muc.x' id='d1' type='chat'>{}{}</message>",
        "<a xmlns='urn:x'>".repeat(10),
        "</a>".repeat(10)
    );
    let r = refused_between_good(&bad, small_limits());
    assert_eq!(
        r,
        RefusedStanza {
            name: "message".into(),
            ns: "jabber:client".into(),
            from: Some("u@x/r".into()),
            to: Some("room@muc.x".into()),
            id: Some("d1".into()),
            stanza_type: Some("chat".into()),
            limit: StanzaLimit::Depth(4),
        }
    );
    assert_eq!(r.limit.to_string(), "elements nested deeper than 4");
}

#[test]
fn too_many_attributes_on_the_stanza_or_inside_is_refused_alone() {
    let attrs: String = (0..10).map(|i| format!(" a{i}='{i}'")).collect();
    let on_top = format!("<iq from='u@x/r' to='muc.x' id='q1' type='get'{attrs}/>");
    let r = refused_between_good(&on_top, small_limits());
    assert_eq!(r.limit, StanzaLimit::Attributes(6));
    assert_eq!(
        (r.name.as_ref(), r.id.as_deref(), r.stanza_type.as_deref()),
        ("iq", Some("q1"), Some("get")),
        "the head is read whole even when the limit falls in it"
    );
    let inside = format!("<message from='u@x/r' to='room@muc.x' id='m2'><x xmlns='urn:x'{attrs}/></message>");
    let r = refused_between_good(&inside, small_limits());
    assert_eq!(
        (r.limit, r.id.as_deref()),
        (StanzaLimit::Attributes(6), Some("m2"))
    );
}

#[test]
fn too_many_children_is_refused_alone() {
    let bad = format!(
        "<message from='u@x/r' to='room@muc.x'>{}</message>",
        "<a/>".repeat(5)
    );
    assert_eq!(limit_of(&bad), StanzaLimit::Children(3));
}

#[test]
fn too_much_text_is_refused_alone() {
    let t = "t".repeat(15);
    let bad = format!("<message from='u@x/r' to='room@muc.x'><body>{t}&amp;{t}</body></message>");
    assert_eq!(limit_of(&bad), StanzaLimit::Text(20));
}

#[test]
fn too_large_a_stanza_is_refused_alone() {
    // Small pieces, so that no other limit is reached first.
    let bad = format!(
        "<message from='u@x/r' to='room@muc.x' type='error'><body>{}</body><b>{}</b></message>",
        "x".repeat(19),
        "y".repeat(19)
    );
    let limits = Limits {
        max_stanza_bytes: 100,
        ..small_limits()
    };
    let r = refused_between_good(
        &bad,
        Limits {
            max_stanza_bytes: GOOD_2.len().max(GOOD_1.len()),
            ..limits
        },
    );
    assert_eq!(r.limit, StanzaLimit::Bytes(GOOD_2.len().max(GOOD_1.len())));
    assert_eq!(
        r.stanza_type.as_deref(),
        Some("error"),
        "an error is refused too (answered by no one)"
    );
    // A top-level start tag that is itself over the limit.
    let long_tag = format!("<message from='u@x/r' to='room@muc.x' id='{}'/>", "i".repeat(300));
    let r = refused_between_good(&long_tag, small_limits());
    assert_eq!(r.limit, StanzaLimit::Bytes(300));
    assert_eq!(r.id.map(|i| i.len()), Some(300));
}

#[test]
fn a_skipped_stanza_must_still_be_well_formed() {
    let deep = "<a><a><a><a><a>";
    for (bad, want) in [
        (
            format!("<message>{deep}</b></a></a></a></a></message>"),
            XmlError::MismatchedEnd {
                expected: "a".into(),
                found: "b".into(),
            },
        ),
        (
            format!("<message>{deep}<p:c/></a></a></a></a></a></message>"),
            XmlError::UnboundPrefix("p".into()),
        ),
        (
            format!("<message>{deep}\u{1}</a></a></a></a></a></message>"),
            XmlError::IllegalChar(1),
        ),
        (
            format!("<message>{deep}<c x='1' x='2'/></a></a></a></a></a></message>"),
            XmlError::DuplicateAttribute("x".into()),
        ),
        (
            format!("<message>{deep}&bogus;</a></a></a></a></a></message>"),
            XmlError::UnknownEntity("bogus".into()),
        ),
    ] {
        let input = format!("{HEADER}{GOOD_1}{bad}{GOOD_2}");
        let (events, err) = every_chunking(&input, small_limits());
        assert_eq!(err, Some(want), "{bad}");
        assert_eq!(events.len(), 2, "only what came before: {events:?}");
    }
}

#[test]
fn many_duplicate_attributes_or_declarations_in_a_skipped_element_are_found() {
    let many: String = (0..100).map(|i| format!(" a{i}='1'")).collect();
    let dup_attr = format!("{HEADER}<message{many} a7='2'/>");
    let (_, err) = every_chunking(&dup_attr, small_limits());
    assert_eq!(err, Some(XmlError::DuplicateAttribute("a7".into())));
    let decls: String = (0..100).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
    let dup_decl = format!("{HEADER}<message{decls} xmlns:p7='urn:x'/>");
    let roomy = Limits {
        stream_budget_bytes: 4000,
        ..small_limits()
    };
    let (_, err) = every_chunking(&dup_decl, roomy);
    assert_eq!(err, Some(XmlError::DuplicateAttribute("xmlns:p7".into())));
}

#[test]
fn a_stanza_over_the_stream_budget_ends_the_stream() {
    let bad = format!("<message><body>{}</body></message>", "x ".repeat(600));
    let input = format!("{HEADER}{GOOD_1}{bad}{GOOD_2}");
    let limits = Limits {
        max_text_bytes: 10_000,
        ..small_limits()
    };
    let (events, err) = every_chunking(&input, limits);
    assert_eq!(err, Some(XmlError::OverStreamBudget { limit: 1000 }));
    assert_eq!(err.unwrap().stream_condition().as_str(), "policy-violation");
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn parse_stanza_still_returns_the_limit_as_an_error() {
    let lim = small_limits();
    let deep = "<a><a><a><a><a/></a></a></a></a>";
    assert_eq!(
        parse_stanza(deep.as_bytes(), "", &lim),
        Err(XmlError::TooDeep { limit: 4 })
    );
    assert_eq!(
        parse_stanza(b"<a><a><a><a><a></a></a></a></a>", "", &lim),
        Err(XmlError::Truncated)
    );
}

#[test]
fn namespaces_resolve_alike_with_many_declarations_in_scope() {
    // Past 32 bindings the parser looks prefixes up in an index; it must give the
    // innermost binding, and forget a scope's bindings when it closes.
    let many: String = (0..40).map(|i| format!(" xmlns:q{i}='urn:q{i}'")).collect();
    let xml = format!(
        "<message xmlns:p='urn:outer'><x xmlns:p='urn:inner'{many}><p:y q7:a='1'/></x><p:z/><q3:w xmlns:q3='urn:again'/></message>"
    );
    let lim = Limits {
        max_attrs: 100,
        ..Limits::default()
    };
    let m = parse_stanza(xml.as_bytes(), "jabber:client", &lim).unwrap();
    let x = m.elements().next().unwrap();
    let y = x.elements().next().unwrap();
    assert_eq!((&*y.ns, y.attr_ns("urn:q7", "a")), ("urn:inner", Some("1")));
    let rest: Vec<&str> = m.elements().skip(1).map(|e| &*e.ns).collect();
    assert_eq!(rest, ["urn:outer", "urn:again"]);
    // Out of scope, a prefix of the closed element is unbound again.
    let outer: String = (0..20).map(|i| format!(" xmlns:r{i}='urn:r{i}'")).collect();
    let gone = format!("<message{outer}><x{many}/><r1:y/><q1:y/></message>");
    assert_eq!(
        parse_stanza(gone.as_bytes(), "jabber:client", &lim),
        Err(XmlError::UnboundPrefix("q1".into()))
    );
}
