//! Hostile input. The bodies of the fuzz targets live here, so that `cargo fuzz`
//! (in `fuzz/`) and the stable test suite (which replays every corpus and regression
//! input) run the same code. Each target asserts properties; a panic is a finding.
//!
//! - [`xml_stream`]: bytes, chunked any way, into the stream parser;
//! - [`stanza`]: arbitrary element trees into the typed stanza layer and the service;
//! - [`service_ops`]: arbitrary operation sequences through the simulator;
//! - [`scansion_parse`]: arbitrary text into the scansion parser (and runner).

pub mod ops;
pub mod tree;

use server::ns;
use server::xml::{
    parse_stanza, Element, Limits, Node, RefusedStanza, StanzaLimit, StreamEvent, StreamParser, XmlError,
};
use server::{MucService, ServiceConfig};

/// Small limits, so that inputs a fuzzer can build (`-max_len=2048`) reach every one
/// of them.
pub const FUZZ_LIMITS: Limits = Limits {
    max_stanza_bytes: 1024,
    max_depth: 8,
    max_attrs: 8,
    max_children: 32,
    max_text_bytes: 256,
    // Under the fuzzer's input size, so that skipping and the budget are both reached.
    stream_budget_bytes: 1536,
};

/// The header `xml_stream` puts in front of the input unless the mode byte says not to.
pub const STREAM_HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

/// Everything a parse produced: the events in order, then the error that stopped it.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseRun {
    pub events: Vec<StreamEvent>,
    pub error: Option<XmlError>,
}

/// Parses `input` fed in chunks whose sizes cycle through `sizes` (all input at
/// once when `sizes` is empty).
pub fn parse_chunked(input: &[u8], sizes: &[usize], limits: Limits) -> ParseRun {
    let mut p = StreamParser::new(limits);
    let mut events = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = if sizes.is_empty() {
            rest.len()
        } else {
            sizes[i % sizes.len()].clamp(1, rest.len())
        };
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        if let Err(e) = p.feed_into(chunk, &mut events) {
            return ParseRun {
                events,
                error: Some(e),
            };
        }
    }
    ParseRun { events, error: None }
}

/// Depth of an element tree (the element itself is 1).
fn depth(e: &Element) -> usize {
    1 + e.elements().map(depth).max().unwrap_or(0)
}

/// Asserts every limit holds everywhere in `e`.
pub fn assert_within(e: &Element, limits: &Limits) {
    assert!(depth(e) <= limits.max_depth, "depth over the limit");
    fn walk(e: &Element, limits: &Limits) {
        assert!(e.attrs.len() <= limits.max_attrs, "attributes over the limit");
        assert!(
            e.elements().count() <= limits.max_children,
            "children over the limit"
        );
        let text: usize = e
            .children
            .iter()
            .map(|c| match c {
                Node::Text(t) => t.len(),
                Node::Element(_) => 0,
            })
            .sum();
        assert!(text <= limits.max_text_bytes, "text over the limit");
        e.elements().for_each(|c| walk(c, limits));
    }
    walk(e, limits);
}

/// Asserts a refusal reports a limit `limits` sets, with its value.
pub fn assert_refusal_names_a_limit(limit: StanzaLimit, limits: &Limits) {
    let configured = match limit {
        StanzaLimit::Bytes(n) => n == limits.max_stanza_bytes,
        StanzaLimit::Depth(n) => n == limits.max_depth,
        StanzaLimit::Attributes(n) => n == limits.max_attrs,
        StanzaLimit::Children(n) => n == limits.max_children,
        StanzaLimit::Text(n) => n == limits.max_text_bytes,
    };
    assert!(configured, "refusal for a limit not configured: {limit:?}");
}

/// Hands a refused stanza to the service as every driver does: it is answered
/// with one `policy-violation` of type `modify` to its sender, unless it is an
/// error, an iq result or not a stanza; no room changes.
pub fn assert_refusal_is_answered(r: &RefusedStanza) {
    // Built once per process: refusing reads the service and changes nothing.
    static WORLD: std::sync::OnceLock<(MucService, server::jids::Jid)> = std::sync::OnceLock::new();
    let (service, sender) = WORLD.get_or_init(|| {
        (
            MucService::new(ServiceConfig::new("conference.localhost", 1)).expect("a valid domain"),
            "mallory@localhost/x".parse().expect("a JID"),
        )
    });
    let out = service.refuse_stanza(sender, r);
    let ty = r.stanza_type.as_deref();
    let answerable = matches!(&*r.name, "message" | "presence" | "iq")
        && ty != Some("error")
        && !(r.name == "iq" && ty == Some("result"));
    assert_eq!(out.len(), usize::from(answerable), "{r:?}: {out:?}");
    assert!(out.store_ops().is_empty());
    let first = out.iter().next().cloned();
    if let Some(o) = first {
        let el = o.element();
        let err = el.child("error", ns::CLIENT).expect("an error child");
        assert_eq!(
            (o.to.as_str(), el.attr("type"), err.attr("type")),
            ("mallory@localhost/x", Some("error"), Some("modify"))
        );
        assert!(err.child("policy-violation", ns::STANZAS).is_some());
        assert_eq!(el.attr("id"), r.id.as_deref());
    }
}

/// Serializes `e` and parses it back; the trees must be equal.
pub fn assert_round_trip(e: &Element) {
    let xml = e.to_xml_in(ns::CLIENT);
    let generous = Limits {
        max_stanza_bytes: usize::MAX,
        max_depth: usize::MAX,
        max_attrs: usize::MAX,
        max_children: usize::MAX,
        max_text_bytes: usize::MAX,
        stream_budget_bytes: usize::MAX,
    };
    let back = parse_stanza(xml.as_bytes(), ns::CLIENT, &generous)
        .unwrap_or_else(|err| panic!("serialized stanza does not parse ({err}): {xml}"));
    assert_eq!(&back, e, "round trip changed the tree: {xml}");
}

/// The read sizes `xml_stream` cycles through for a mode byte.
pub fn chunk_sizes(mode: u8) -> Vec<usize> {
    [1usize, 7, 64, 3, 1024, 2]
        .iter()
        .map(|s| s + usize::from(mode & 0x0f))
        .collect()
}

/// The `xml_stream` target. The first byte picks the mode: bit 7 set means the input
/// carries its own stream header; the rest pick chunk sizes. Asserts: limits hold in
/// every stanza; every stanza round-trips; chunked and whole parsing agree on the
/// events — refusals of stanzas over a per-stanza limit included, with their heads
/// and limits — and on whether (and why) parsing stopped; every refusal names one of
/// the configured limits.
pub fn xml_stream(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let input: Vec<u8> = if mode & 0x80 != 0 {
        body.to_vec()
    } else {
        [STREAM_HEADER, body].concat()
    };
    let whole = parse_chunked(&input, &[], FUZZ_LIMITS);
    let chunked = parse_chunked(&input, &chunk_sizes(mode), FUZZ_LIMITS);
    assert_eq!(whole, chunked, "chunked parsing differs from whole-input parsing");
    for ev in &whole.events {
        match ev {
            StreamEvent::Stanza(e) => {
                assert_within(e, &FUZZ_LIMITS);
                assert_round_trip(e);
            }
            StreamEvent::Refused(r) => {
                assert_refusal_names_a_limit(r.limit, &FUZZ_LIMITS);
                assert_refusal_is_answered(r);
            }
            StreamEvent::Open(_) | StreamEvent::Close => {}
        }
    }
}

/// The `stanza` target: see [`tree`].
pub fn stanza(data: &[u8]) {
    tree::check(data);
}

/// The `service_ops` target: see [`ops`].
pub fn service_ops(data: &[u8]) {
    ops::check(data);
}

/// The `scansion_parse` target: any text gives a script or a line-numbered error; a
/// short script that parses also runs in the simulator without panicking.
pub fn scansion_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match sim::scansion::parse(text) {
        Ok(script) => {
            if script.actions.len() <= 32 {
                let opts = sim::scansion::RunOptions {
                    timeout_ms: 50,
                    ..Default::default()
                };
                let _ = sim::scansion::run(&script, &opts);
            }
        }
        Err(e) => {
            assert!(e.line >= 1, "an error names its line");
            assert!(!e.reason.is_empty(), "an error says why");
        }
    }
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (for corpus replay).
pub const TARGETS: [(&str, Target); 4] = [
    ("xml_stream", xml_stream),
    ("stanza", stanza),
    ("service_ops", service_ops),
    ("scansion_parse", scansion_parse),
];
