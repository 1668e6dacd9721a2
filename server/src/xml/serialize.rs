//! Deterministic serialization: attributes in stored order, `'` quotes, a namespace
//! declaration only where an element's namespace differs from its parent's, and
//! escapes chosen so that parsing the output gives back the same tree (XML 1.0
//! normalises raw tabs/newlines in attribute values and CR in text; we escape them).

use super::{Element, Node, NS_XML};
use std::fmt::Write;

pub fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

pub fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Writes `e` with `parent_ns` as the default namespace in scope.
pub fn write_element(out: &mut String, e: &Element, parent_ns: &str) {
    out.push('<');
    out.push_str(&e.name);
    if e.ns != parent_ns {
        out.push_str(" xmlns='");
        escape_attr(out, &e.ns);
        out.push('\'');
    }
    // Prefixes for attributes in namespaces other than xml:, numbered per element.
    let mut prefixes: Vec<&str> = Vec::new();
    for a in &e.attrs {
        out.push(' ');
        if a.ns.is_empty() {
        } else if a.ns == NS_XML {
            out.push_str("xml:");
        } else {
            let idx = match prefixes.iter().position(|p| *p == a.ns) {
                Some(i) => i,
                None => {
                    prefixes.push(&a.ns);
                    let i = prefixes.len() - 1;
                    let _ = write!(out, "xmlns:ns{i}='");
                    escape_attr(out, &a.ns);
                    out.push_str("' ");
                    i
                }
            };
            let _ = write!(out, "ns{idx}:");
        }
        out.push_str(&a.name);
        out.push_str("='");
        escape_attr(out, &a.value);
        out.push('\'');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => write_element(out, c, &e.ns),
            Node::Text(t) => escape_text(out, t),
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn declares_namespace_only_where_it_changes() {
        let e = Element::new("presence", "jabber:client")
            .with_attr("to", "a@b/c")
            .with_child(
                Element::new("x", "http://jabber.org/protocol/muc#user").with_child(
                    Element::new("item", "http://jabber.org/protocol/muc#user").with_attr("role", "none"),
                ),
            );
        assert_eq!(
            e.to_xml_in("jabber:client"),
            "<presence to='a@b/c'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>"
        );
    }

    #[test]
    fn escapes_round_trip() {
        let mut e = Element::new("body", "jabber:client").with_text("a < b && c > d\r\n'\"");
        e.set_attr("v", "x'y\"z\t\n\r<&>");
        e.set_attr_ns(NS_XML, "lang", "en");
        e.set_attr_ns("urn:other", "foo", "bar");
        let s = e.to_xml();
        let back = parse_stanza(s.as_bytes(), "", &Limits::default()).unwrap();
        assert_eq!(back, e, "{s}");
    }
}
