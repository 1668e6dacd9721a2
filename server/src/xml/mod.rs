//! XML for XMPP: an element tree with resolved namespaces, a streaming parser with
//! hard limits, and a deterministic serializer.
//!
//! The tree stores namespaces as URIs, never as prefixes or `xmlns` attributes: two
//! documents that differ only in how they spell namespace declarations parse to equal
//! trees, and the serializer decides where declarations go.

mod error;
mod intern;
mod lexical;
mod parser;
mod serialize;

pub use error::XmlError;
pub use intern::name as intern_name;
pub use parser::{parse_stanza, Limits, RefusedStanza, StanzaLimit, StreamEvent, StreamParser, NS_STREAMS};
pub use serialize::{escape_attr, escape_text, write_addressed, write_element, Addressable};

/// The namespace of the `xml:` prefix (`xml:lang`), bound in every document.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// A name or namespace URI: borrowed from a static table for the names XMPP uses all
/// the time (the parser interns them, so parsing them allocates nothing), owned otherwise.
pub type Name = std::borrow::Cow<'static, str>;

/// One attribute. `ns` is empty for an unqualified attribute (the usual case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attr {
    pub ns: Name,
    pub name: Name,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Element {
    pub name: Name,
    pub ns: Name,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
}

impl Element {
    pub fn new(name: impl Into<Name>, ns: impl Into<Name>) -> Self {
        Element {
            name: name.into(),
            ns: ns.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder: sets an unqualified attribute.
    #[must_use]
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: sets an unqualified attribute only when a value is given.
    #[must_use]
    pub fn with_opt_attr(mut self, name: &str, value: Option<impl Into<String>>) -> Self {
        if let Some(v) = value {
            self.set_attr(name, v);
        }
        self
    }

    #[must_use]
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        // An empty text node would not survive a round trip through the parser.
        if !text.is_empty() {
            self.children.push(Node::Text(text));
        }
        self
    }

    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The value of an unqualified attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns("", name)
    }

    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name && a.ns == ns)
            .map(|a| a.value.as_str())
    }

    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        self.set_attr_ns("", name, value);
    }

    pub fn set_attr_ns(&mut self, ns: &str, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|a| a.name == name && a.ns == ns) {
            Some(a) => a.value = value,
            None => self.attrs.push(Attr {
                ns: intern::name(ns),
                name: intern::name(name),
                value,
            }),
        }
    }

    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.name == name && a.ns.is_empty())?;
        Some(self.attrs.remove(i).value)
    }

    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Child elements, in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name, ns))
    }

    pub fn child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.is(name, ns) => Some(e),
            _ => None,
        })
    }

    /// The concatenated text children (not descendants).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// Text of the first child `name` in `ns`.
    pub fn child_text(&self, name: &str, ns: &str) -> Option<String> {
        self.child(name, ns).map(Element::text)
    }

    /// Serializes with `default_ns` as the namespace in scope (e.g. `jabber:client`).
    pub fn to_xml_in(&self, default_ns: &str) -> String {
        let mut out = String::new();
        write_element(&mut out, self, default_ns);
        out
    }

    /// Serializes as a standalone document fragment: the root always declares its namespace.
    pub fn to_xml(&self) -> String {
        self.to_xml_in("")
    }

    /// Counts elements in the tree (self included); for limits and statistics.
    pub fn element_count(&self) -> usize {
        1 + self.elements().map(Element::element_count).sum::<usize>()
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_xml())
    }
}

#[cfg(test)]
mod tests;
