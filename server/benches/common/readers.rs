//! The parser bench's input and readers, shared by `benches/parser.rs` (which times
//! them) and `examples/parse_profile.rs` (which runs them under callgrind), so that a
//! profile and the bench run the same code over the same bytes.

use server::xml::{Limits, StreamParser};
use std::hint::black_box;

/// A client stream of 4 000 stanzas (~800 KB): a stream header, then 2 000 times a
/// groupchat message with a body (two references) and a chat state, and a presence
/// with show, status and entity capabilities; then the stream's end tag.
pub fn stream_bytes() -> Vec<u8> {
    let mut s = String::from(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
    );
    for i in 0..2000 {
        s.push_str(&format!(
            "<message to='room@conference.localhost' type='groupchat' id='msg{i}'><body>Message number {i} &amp; some text &lt;here&gt;</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>\
             <presence to='room@conference.localhost/nick{i}' id='p{i}'><show>away</show><status>Out for lunch</status>\
             <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org' ver='abcdefghij='/></presence>"
        ));
    }
    s.push_str("</stream:stream>");
    s.into_bytes()
}

/// Our stream parser over `bytes` in 4 KiB reads, as a server gets them; the number of
/// stream events.
pub fn mucsim_parse(bytes: &[u8]) -> usize {
    let mut p = StreamParser::new(Limits::default());
    let mut n = 0;
    for chunk in bytes.chunks(4096) {
        n += p.feed(chunk).unwrap().len();
    }
    n
}

/// quick-xml's raw event reader over the same bytes; the number of events.
pub fn raw_read(bytes: &[u8]) -> usize {
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            e => {
                black_box(e);
                n += 1;
            }
        }
    }
    n
}

/// quick-xml's namespace-aware reader, doing the work a tree builder cannot skip
/// short of building the tree: every element name and every attribute name
/// resolved to its namespace, every attribute value normalised and unescaped, every
/// text node read and every reference resolved; the number of events. The fair ceiling for a tree builder.
pub fn ns_read(bytes: &[u8]) -> usize {
    use quick_xml::events::Event;
    use quick_xml::XmlVersion;
    let mut r = quick_xml::NsReader::from_reader(bytes);
    let mut n = 0;
    loop {
        match r.read_resolved_event().unwrap() {
            (_, Event::Eof) => break,
            (ns, Event::Start(e)) | (ns, Event::Empty(e)) => {
                black_box(ns);
                for a in e.attributes() {
                    let a = a.unwrap();
                    black_box(r.resolver().resolve_attribute(a.key));
                    black_box(a.normalized_value(XmlVersion::Implicit1_0).unwrap());
                }
                n += 1;
            }
            (_, Event::Text(t)) => {
                black_box(t.xml_content(XmlVersion::Implicit1_0));
                n += 1;
            }
            (_, Event::GeneralRef(r)) => {
                black_box(r.resolve_char_ref().unwrap());
                n += 1;
            }
            (_, e) => {
                black_box(e);
                n += 1;
            }
        }
    }
    n
}

/// roxmltree's tree of the whole stream as one document; the number of nodes.
pub fn roxmltree_tree(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    roxmltree::Document::parse(text).unwrap().descendants().count()
}

/// minidom's tree of the whole stream as one element; the number of stanzas.
pub fn minidom_tree(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    let root: minidom::Element = text.parse().unwrap();
    root.children().count()
}
