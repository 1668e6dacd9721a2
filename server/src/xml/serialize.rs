//! Deterministic serialization: attributes in stored order, `'` quotes, a namespace
//! declaration only where an element's namespace differs from its parent's, and
//! escapes chosen so that parsing the output gives back the same tree (XML 1.0
//! normalises raw tabs/newlines in attribute values and CR in text; we escape them).

use super::{Element, Node, NS_XML};
use std::fmt::Write;

/// Appends `s` with `&`, `<`, `>` and CR escaped (text content). Runs of plain
/// bytes are copied whole.
pub fn escape_text(out: &mut String, s: &str) {
    escape(out, s, |b| matches!(b, b'&' | b'<' | b'>' | b'\r'));
}

/// Appends `s` escaped for a `'`-quoted attribute value: `&`, `<`, `>`, both quotes,
/// and tab, LF and CR (which XML 1.0 would otherwise normalise to spaces).
pub fn escape_attr(out: &mut String, s: &str) {
    escape(out, s, |b| {
        matches!(b, b'&' | b'<' | b'>' | b'\'' | b'"' | b'\t' | b'\n' | b'\r')
    });
}

/// Copies `s` to `out`, replacing each byte `special` picks (all ASCII, so never
/// inside a multi-byte character) by its reference.
#[inline]
fn escape(out: &mut String, s: &str, special: impl Fn(u8) -> bool) {
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !special(b) {
            continue;
        }
        out.push_str(&s[from..i]);
        out.push_str(match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' => "&apos;",
            b'"' => "&quot;",
            b'\t' => "&#9;",
            b'\n' => "&#10;",
            _ => "&#13;",
        });
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// Writes `e` with `parent_ns` as the default namespace in scope.
pub fn write_element(out: &mut String, e: &Element, parent_ns: &str) {
    start_tag(out, e, parent_ns, None, None);
    close(out, e, None);
}

/// Writes a stanza as a server sends it: `e` with the unqualified attribute `to`
/// set to `to` (replaced in place if `e` has one, else last, as
/// [`Element::set_attr`] puts it) and, when `map` is `Some((from, to))`, every
/// element in namespace `from` written in namespace `to` (a component stream's
/// `jabber:component:accept` for the service's `jabber:client`, XEP-0114 §3). The
/// output equals `write_element` of the changed copy; nothing is copied.
pub fn write_addressed(out: &mut String, e: &Element, default_ns: &str, to: &str, map: Option<(&str, &str)>) {
    if has_to(e) {
        start_tag(out, e, default_ns, map, Some(to));
    } else {
        start_tag(out, e, default_ns, map, None);
        push_to(out, to);
    }
    close(out, e, map);
}

fn has_to(e: &Element) -> bool {
    e.attrs.iter().any(|a| a.ns.is_empty() && a.name == "to")
}

fn push_to(out: &mut String, to: &str) {
    out.push_str(" to='");
    escape_attr(out, to);
    out.push('\'');
}

/// A stanza body serialized once for many recipients (see [`write_addressed`]).
#[derive(Clone, Debug, Default)]
pub struct Addressable {
    /// Serialized body: start tag's name, namespace and attributes …
    head: String,
    /// … then everything after them (`/>` or `>…</name>`).
    tail: String,
}

impl Addressable {
    /// `e` serialized for [`Addressable::write_to`]; `None` when `e` already has an
    /// unqualified `to` (write it with [`write_addressed`] instead).
    pub fn new(e: &Element, default_ns: &str, map: Option<(&str, &str)>) -> Option<Addressable> {
        if has_to(e) {
            return None;
        }
        let mut head = String::new();
        start_tag(&mut head, e, default_ns, map, None);
        let mut tail = String::new();
        close(&mut tail, e, map);
        Some(Addressable { head, tail })
    }

    /// Appends the stanza addressed to `to`: equal to [`write_addressed`]'s output.
    pub fn write_to(&self, out: &mut String, to: &str) {
        out.reserve(self.head.len() + self.tail.len() + to.len() + 6);
        out.push_str(&self.head);
        push_to(out, to);
        out.push_str(&self.tail);
    }
}

fn mapped<'a>(ns: &'a str, map: Option<(&'a str, &'a str)>) -> &'a str {
    match map {
        Some((from, to)) if ns == from => to,
        _ => ns,
    }
}

/// The start tag without its closing `>`, elements in `map`'s first namespace
/// written in its second, and the value of an unqualified `to` replaced by
/// `new_to` when that is `Some`.
fn start_tag(
    out: &mut String,
    e: &Element,
    parent_ns: &str,
    map: Option<(&str, &str)>,
    new_to: Option<&str>,
) {
    let ns = mapped(&e.ns, map);
    out.push('<');
    out.push_str(&e.name);
    if ns != parent_ns {
        out.push_str(" xmlns='");
        escape_attr(out, ns);
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
        match new_to {
            Some(to) if a.ns.is_empty() && a.name == "to" => escape_attr(out, to),
            _ => escape_attr(out, &a.value),
        }
        out.push('\'');
    }
}

/// Finishes an element whose start tag (without `>`) is written: `/>`, or `>`, the
/// children and the end tag.
fn close(out: &mut String, e: &Element, map: Option<(&str, &str)>) {
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let ns = mapped(&e.ns, map);
    for child in &e.children {
        match child {
            Node::Element(c) => {
                start_tag(out, c, ns, map, None);
                close(out, c, map);
            }
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

    /// `write_addressed` and `Addressable` write what copying the element, setting
    /// `to` and renaming the namespace would, for roots with and without a `to`.
    #[test]
    fn addressed_equals_the_changed_copy() {
        let mut body = Element::new("message", "jabber:client")
            .with_attr("type", "groupchat")
            .with_child(Element::new("body", "jabber:client").with_text("a < b & 'c'"))
            .with_child(
                Element::new("x", "http://jabber.org/protocol/muc#user")
                    .with_child(Element::new("item", "http://jabber.org/protocol/muc#user")),
            );
        body.set_attr_ns(NS_XML, "lang", "en");
        body.set_attr_ns("urn:other", "foo", "bar");
        let mut with_to = body.clone();
        with_to.set_attr("to", "old@x/y");
        with_to.set_attr("id", "1");
        let empty = Element::new("presence", "jabber:client");
        let to = "juliet@capulet.lit/ba'lcony";
        for e in [&body, &with_to, &empty] {
            for map in [None, Some(("jabber:client", "jabber:component:accept"))] {
                for default_ns in ["jabber:client", "jabber:component:accept"] {
                    let mut copy = e.clone();
                    copy.set_attr("to", to);
                    if let Some((from, into)) = map {
                        fn rename(e: &mut Element, from: &str, into: &str) {
                            if e.ns == from {
                                e.ns = intern_name(into);
                            }
                            for c in &mut e.children {
                                if let Node::Element(c) = c {
                                    rename(c, from, into);
                                }
                            }
                        }
                        rename(&mut copy, from, into);
                    }
                    let want = copy.to_xml_in(default_ns);
                    let mut got = String::new();
                    write_addressed(&mut got, e, default_ns, to, map);
                    assert_eq!(got, want);
                    if let Some(a) = Addressable::new(e, default_ns, map) {
                        let mut twice = String::new();
                        a.write_to(&mut twice, to);
                        assert_eq!(twice, want);
                    } else {
                        assert!(e.attr("to").is_some());
                    }
                }
            }
        }
    }
}
