//! Bytes both ends of a stream write: headers, stream errors, namespace mapping.

use server::xml::{Element, Node};

fn escaped(f: fn(&mut String, &str), s: &str) -> String {
    let mut out = String::new();
    f(&mut out, s);
    out
}

pub use server::stream_error::{StreamCondition, NS_STREAM_ERRORS};
/// RFC 6120 §4.8.5: the stream namespace (defined once, by the parser that checks it).
pub use server::xml::NS_STREAMS;
/// XEP-0114 §3: the content namespace of a component stream.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// RFC 6120 §6.4: SASL negotiation (the c2s client's PLAIN login).
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// RFC 6120 §7: resource binding (the c2s client's bind).
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";

/// The opening `<stream:stream>` of an initiating entity, with `ns` as the content
/// namespace (`jabber:client` or `jabber:component:accept`). A client stream says
/// `version='1.0'` and `xml:lang='en'`; a component stream says neither, so that the
/// server does not stamp a language on stanzas the service did not give one.
pub fn stream_header(ns: &str, to: &str, client: bool) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='{}' xmlns:stream='{NS_STREAMS}' to='{}'{}>",
        escaped(server::xml::escape_attr, ns),
        escaped(server::xml::escape_attr, to),
        if client {
            " version='1.0' xml:lang='en'"
        } else {
            ""
        }
    )
}

/// RFC 6120 §4.9: a stream error with a defined condition, then the stream's end.
pub fn stream_error(condition: StreamCondition, text: Option<&str>) -> String {
    let text = text.map_or(String::new(), |t| {
        format!(
            "<text xmlns='{NS_STREAM_ERRORS}'>{}</text>",
            escaped(server::xml::escape_text, t)
        )
    });
    format!("<stream:error><{condition} xmlns='{NS_STREAM_ERRORS}'/>{text}</stream:error></stream:stream>")
}

/// The defined condition of a received `<stream:error>`, and its text if any.
pub fn stream_error_condition(el: &Element) -> String {
    let cond = el
        .elements()
        .find(|c| c.ns == NS_STREAM_ERRORS && c.name != "text")
        .map_or_else(
            || StreamCondition::UndefinedCondition.as_str().to_string(),
            |c| c.name.to_string(),
        );
    match el.child_text("text", NS_STREAM_ERRORS) {
        Some(t) if !t.is_empty() => format!("{cond} ({t})"),
        _ => cond,
    }
}

/// Renames namespace `from` to `to` on `el` and every descendant in `from` (the
/// stanza namespaces of a component stream and of a client stream differ only in name).
pub fn map_ns(el: &mut Element, from: &str, to: &str) {
    if el.ns == from {
        el.ns = server::xml::intern_name(to);
    }
    for c in &mut el.children {
        if let Node::Element(e) = c {
            map_ns(e, from, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_touches_only_the_named_namespace() {
        let mut el = Element::new("presence", NS_COMPONENT)
            .with_child(Element::new("x", "http://jabber.org/protocol/muc"))
            .with_child(Element::new("status", NS_COMPONENT));
        map_ns(&mut el, NS_COMPONENT, server::ns::CLIENT);
        assert_eq!(el.ns, server::ns::CLIENT);
        let kids: Vec<_> = el.elements().map(|e| e.ns.to_string()).collect();
        assert_eq!(kids, ["http://jabber.org/protocol/muc", server::ns::CLIENT]);
    }

    #[test]
    fn stream_errors_round_trip_their_condition() {
        let bytes = stream_error(StreamCondition::NotWellFormed, Some("bad <xml>"));
        let body = bytes.trim_end_matches("</stream:stream>");
        let wrapped = format!("<stream:stream xmlns:stream='{NS_STREAMS}'>{body}</stream:stream>");
        let mut p = server::xml::StreamParser::new(Default::default());
        let ev = p.feed(wrapped.as_bytes()).unwrap();
        let server::xml::StreamEvent::Stanza(e) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(stream_error_condition(e), "not-well-formed (bad <xml>)");
    }
}
