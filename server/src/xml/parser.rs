//! A resumable parser for XMPP streams and single stanzas, built on quick-xml's
//! tokenizer. quick-xml finds the tokens; this module owns namespaces, limits,
//! entity policy (RFC 6120 §11.1: no DTDs, PIs, comments or non-predefined entities)
//! and tree building, so that every refusal is one typed [`XmlError`].

use super::{intern, Attr, Element, Name, Node, NS_XML};
use quick_xml::errors::{IllFormedError, SyntaxError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;

pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";

/// Hard bounds on what one stanza may cost. Every one is checked before the
/// allocation it guards grows past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one top-level stanza (and of any unparsed input waiting for a `>`).
    pub max_stanza_bytes: usize,
    /// Element nesting depth inside a stanza (the stanza itself is depth 1).
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attrs: usize,
    /// Child elements of one element.
    pub max_children: usize,
    /// Text bytes directly inside one element.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 256 KiB is Prosody's default c2s stanza size limit.
        Limits {
            max_stanza_bytes: 256 * 1024,
            max_depth: 32,
            max_attrs: 64,
            max_children: 4096,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// Why input was refused. Parsing stops at the first one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmlError {
    StanzaTooLarge {
        limit: usize,
    },
    TooDeep {
        limit: usize,
    },
    TooManyAttributes {
        limit: usize,
    },
    TooManyChildren {
        limit: usize,
    },
    TextTooLong {
        limit: usize,
    },
    /// `<!DOCTYPE …>`: DTDs (and with them entity bombs) are not XMPP.
    Doctype,
    ProcessingInstruction,
    Comment,
    /// `&name;` for a name other than the five predefined entities.
    UnknownEntity(String),
    BadCharRef(String),
    /// A character XML 1.0 does not allow (C0 controls other than tab, LF, CR).
    IllegalChar(u32),
    InvalidUtf8,
    UnboundPrefix(String),
    /// An element or attribute name that is not an XML name (empty, bad characters,
    /// more than one colon).
    InvalidName(String),
    BadNamespaceDeclaration(String),
    DuplicateAttribute(String),
    MismatchedEnd {
        expected: String,
        found: String,
    },
    UnexpectedEnd(String),
    /// A second top-level element where one stanza was expected.
    SecondRoot,
    /// Non-whitespace text outside any element.
    TextOutsideElement,
    /// The stream's first element is not `<stream:stream>`.
    NotAStream,
    /// Content after `</stream:stream>`, or an XML declaration after content.
    MisplacedContent,
    /// Input ended inside an element (only when the caller says the input is whole).
    Truncated,
    /// Any other well-formedness error reported by the tokenizer.
    Syntax(String),
}

impl XmlError {
    /// The RFC 6120 §4.9.3 stream error condition this refusal maps to.
    pub fn stream_condition(&self) -> &'static str {
        match self {
            XmlError::StanzaTooLarge { .. }
            | XmlError::TooDeep { .. }
            | XmlError::TooManyAttributes { .. }
            | XmlError::TooManyChildren { .. }
            | XmlError::TextTooLong { .. } => "policy-violation",
            XmlError::Doctype
            | XmlError::ProcessingInstruction
            | XmlError::Comment
            | XmlError::UnknownEntity(_) => "restricted-xml",
            XmlError::InvalidUtf8 => "unsupported-encoding",
            XmlError::NotAStream => "invalid-namespace",
            XmlError::BadCharRef(_)
            | XmlError::IllegalChar(_)
            | XmlError::UnboundPrefix(_)
            | XmlError::InvalidName(_)
            | XmlError::BadNamespaceDeclaration(_)
            | XmlError::DuplicateAttribute(_)
            | XmlError::MismatchedEnd { .. }
            | XmlError::UnexpectedEnd(_)
            | XmlError::SecondRoot
            | XmlError::TextOutsideElement
            | XmlError::MisplacedContent
            | XmlError::Truncated
            | XmlError::Syntax(_) => "not-well-formed",
        }
    }
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::StanzaTooLarge { limit } => write!(f, "stanza larger than {limit} bytes"),
            XmlError::TooDeep { limit } => write!(f, "elements nested deeper than {limit}"),
            XmlError::TooManyAttributes { limit } => write!(f, "more than {limit} attributes"),
            XmlError::TooManyChildren { limit } => write!(f, "more than {limit} child elements"),
            XmlError::TextTooLong { limit } => write!(f, "text longer than {limit} bytes"),
            XmlError::Doctype => f.write_str("DOCTYPE/DTD is not allowed"),
            XmlError::ProcessingInstruction => f.write_str("processing instructions are not allowed"),
            XmlError::Comment => f.write_str("comments are not allowed"),
            XmlError::UnknownEntity(n) => write!(f, "unknown entity &{n};"),
            XmlError::BadCharRef(r) => write!(f, "bad character reference &{r};"),
            XmlError::IllegalChar(c) => write!(f, "character U+{c:04X} is not allowed in XML"),
            XmlError::InvalidUtf8 => f.write_str("input is not valid UTF-8"),
            XmlError::UnboundPrefix(p) => write!(f, "namespace prefix '{p}' is not bound"),
            XmlError::InvalidName(n) => write!(f, "'{n}' is not an XML name"),
            XmlError::BadNamespaceDeclaration(d) => write!(f, "bad namespace declaration {d}"),
            XmlError::DuplicateAttribute(a) => write!(f, "duplicate attribute {a}"),
            XmlError::MismatchedEnd { expected, found } => {
                write!(f, "end tag </{found}> does not match <{expected}>")
            }
            XmlError::UnexpectedEnd(n) => write!(f, "end tag </{n}> with no open element"),
            XmlError::SecondRoot => f.write_str("a second top-level element"),
            XmlError::TextOutsideElement => f.write_str("text outside any element"),
            XmlError::NotAStream => f.write_str("the first element is not <stream:stream>"),
            XmlError::MisplacedContent => f.write_str("content after the end of the stream or document"),
            XmlError::Truncated => f.write_str("input ended inside an element"),
            XmlError::Syntax(s) => write!(f, "not well-formed: {s}"),
        }
    }
}

impl std::error::Error for XmlError {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The `<stream:stream>` header: its attributes, no children.
    Open(Element),
    /// A complete top-level element.
    Stanza(Element),
    /// `</stream:stream>`.
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Stream mode, before `<stream:stream>`.
    BeforeHeader,
    /// Stream mode, inside the stream.
    InStream,
    /// Fragment mode (one stanza), before its root.
    BeforeRoot,
    /// Fragment mode, root complete.
    AfterRoot,
    /// Stream closed, or an error was returned (the parser is then poisoned).
    Done,
}

struct Frame {
    el: Element,
    /// The prefixed name as written, for matching the end tag; `None` when unprefixed
    /// (then it is `el.name`).
    qname: Option<String>,
    text_bytes: usize,
    child_elements: usize,
}

/// A resumable parser. Feed it bytes as they arrive, in any chunking.
pub struct StreamParser {
    limits: Limits,
    state: State,
    buf: Vec<u8>,
    stack: Vec<Frame>,
    /// Namespace bindings (prefix, URI) of every open element, innermost last (the stream
    /// header's first in stream mode); `scope_starts` marks where each element's begin.
    bindings: Vec<(Name, Name)>,
    scope_starts: Vec<usize>,
    header_qname: String,
    base_default_ns: Name,
    /// Bytes of the current stanza already consumed from `buf`.
    stanza_bytes: usize,
    seen_content: bool,
    /// Some input has been consumed (a U+FEFF is a byte order mark only before that).
    consumed_any: bool,
    error: Option<XmlError>,
    /// Text of the innermost open element not yet added to it (see `flush_text`).
    text: String,
    /// Scratch for [`scan_plain_attrs`], kept to reuse its allocation.
    attr_spans: Vec<[usize; 4]>,
}

impl StreamParser {
    /// A parser for an XMPP stream: `<stream:stream>`, stanzas, `</stream:stream>`.
    pub fn new(limits: Limits) -> Self {
        Self::with_state(limits, State::BeforeHeader, "")
    }

    fn with_state(limits: Limits, state: State, default_ns: &str) -> Self {
        StreamParser {
            limits,
            state,
            buf: Vec::new(),
            stack: Vec::new(),
            bindings: Vec::new(),
            scope_starts: Vec::new(),
            header_qname: String::new(),
            base_default_ns: intern::name(default_ns),
            stanza_bytes: 0,
            seen_content: false,
            consumed_any: false,
            error: None,
            text: String::new(),
            attr_spans: Vec::new(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes received but not yet part of a complete token.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes; returns the events they complete. After an error every later call
    /// returns the same error. On an error, events this call completed before it are
    /// dropped; a server that must act on them uses [`StreamParser::feed_into`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, XmlError> {
        let mut out = Vec::new();
        self.feed_inner(bytes, false, &mut out)?;
        Ok(out)
    }

    /// Feeds bytes and appends the events they complete to `out` — also those
    /// completed before an error, so that how the bytes were chunked never decides
    /// which stanzas arrive before a stream error.
    pub fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        self.feed_inner(bytes, false, out)
    }

    fn feed_inner(&mut self, bytes: &[u8], at_eof: bool, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        // Parse straight from the caller's bytes when nothing is pending; only an
        // incomplete tail is copied.
        let r = if self.buf.is_empty() {
            self.run(bytes, at_eof, out).map(|consumed| {
                self.buf.extend_from_slice(&bytes[consumed..]);
            })
        } else {
            self.buf.extend_from_slice(bytes);
            let mut data = std::mem::take(&mut self.buf);
            self.run(&data, at_eof, out).map(|consumed| {
                data.drain(..consumed);
                self.buf = data;
            })
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
            self.state = State::Done;
            self.buf = Vec::new();
            self.stack.clear();
            self.text = String::new();
        }
        r
    }

    /// Parses what `data` completes; returns how many of its bytes were consumed
    /// (the rest is an incomplete token, kept for the next read).
    fn run(&mut self, data: &[u8], at_eof: bool, out: &mut Vec<StreamEvent>) -> Result<usize, XmlError> {
        // Tokenize only whole UTF-8: a chunk may end inside a multi-byte character.
        // Before invalid UTF-8, the valid prefix is still parsed, so the stanzas it
        // completes come out whatever the chunking.
        let (text, bad_utf8) = match std::str::from_utf8(data) {
            Ok(s) => (s, false),
            Err(e) => {
                let prefix = std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid prefix");
                (prefix, e.error_len().is_some() || at_eof)
            }
        };
        let mut consumed = 0usize;
        // quick-xml strips a leading U+FEFF from every buffer it is given, without
        // counting it in its positions. Only at the very start of the input is it a
        // byte order mark (dropped); anywhere else it is a character of text, which
        // the chunking may have put at the start of this buffer.
        while text[consumed..].starts_with('\u{FEFF}') {
            if self.consumed_any || consumed > 0 {
                self.text("\u{FEFF}")?;
            }
            consumed += '\u{FEFF}'.len_utf8();
        }
        let base = consumed;
        {
            let mut reader = Reader::from_str(&text[base..]);
            let cfg = reader.config_mut();
            cfg.check_end_names = false;
            cfg.allow_unmatched_ends = true;
            cfg.expand_empty_elements = false;
            cfg.trim_text(false);
            loop {
                let ev = reader.read_event();
                let end = base + reader.buffer_position() as usize;
                // The limit on pending bytes (below) applies to complete tokens too:
                // bytes past it are refused as too large before anything in them is
                // looked at, so the chunking never decides which error comes first.
                match ev {
                    Err(e) => {
                        if !at_eof && is_incomplete(&e) {
                            break;
                        }
                        let upto = (base + reader.error_position() as usize).min(text.len());
                        self.within_limit(upto - consumed)?;
                        return Err(map_error(e, at_eof));
                    }
                    Ok(Event::Eof) => break,
                    // Text at the end may continue in the next read, unless a bad byte
                    // follows: then it ends here and is looked at like any other.
                    Ok(Event::Text(_)) if end == text.len() && !at_eof && !bad_utf8 => break,
                    Ok(ev) => {
                        self.within_limit(end - consumed)?;
                        self.event(ev, out)?;
                        if self.stack.is_empty() {
                            self.stanza_bytes = 0;
                        } else {
                            self.stanza_bytes += end - consumed;
                        }
                        consumed = end;
                    }
                }
            }
        }
        if bad_utf8 {
            // What precedes the bad byte is held to the pending-bytes limit first, as
            // it would be had the bad byte arrived in a later read.
            self.within_limit(text.len() - consumed)?;
            return Err(XmlError::InvalidUtf8);
        }
        self.consumed_any |= consumed > 0;
        self.within_limit(data.len() - consumed)?;
        Ok(consumed)
    }

    /// The one size rule: the current stanza's bytes so far plus `pending` bytes not
    /// yet part of it (a token, or an incomplete one) must fit the stanza limit.
    fn within_limit(&self, pending: usize) -> Result<(), XmlError> {
        if self.stanza_bytes + pending > self.limits.max_stanza_bytes {
            return Err(XmlError::StanzaTooLarge {
                limit: self.limits.max_stanza_bytes,
            });
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        match ev {
            Event::Decl(_) => {
                if self.seen_content {
                    return Err(XmlError::MisplacedContent);
                }
                self.seen_content = true;
            }
            Event::Start(e) => {
                self.seen_content = true;
                self.start(&e, false, out)?;
            }
            Event::Empty(e) => {
                self.seen_content = true;
                self.start(&e, true, out)?;
            }
            Event::End(e) => {
                let name = e.name();
                self.end(name.as_ref(), out)?;
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                self.text(&text)?;
            }
            Event::CData(t) => {
                let text = t.xml10_content();
                self.text(&text)?;
            }
            Event::GeneralRef(r) => {
                let resolved: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(XmlError::BadCharRef(r.to_string())),
                    }
                } else {
                    match &*r {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(XmlError::UnknownEntity(other.to_string())),
                    }
                };
                self.text_unchecked_ws(&resolved)?;
            }
            Event::Comment(_) => return Err(XmlError::Comment),
            Event::PI(_) => return Err(XmlError::ProcessingInstruction),
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Eof => {}
        }
        Ok(())
    }

    fn lookup(&self, prefix: &str) -> Option<&Name> {
        static XML: Name = Name::Borrowed(NS_XML);
        if prefix == "xml" {
            return Some(&XML);
        }
        let prefix_bytes = prefix.as_bytes();
        if let Some((_, uri)) = self
            .bindings
            .iter()
            .rev()
            .find(|(p, _)| p.len() == prefix_bytes.len() && p.as_bytes() == prefix_bytes)
        {
            return Some(uri);
        }
        if prefix.is_empty() {
            return Some(&self.base_default_ns);
        }
        None
    }

    /// Declares `prefix` on the element being opened; declaring it twice there is a
    /// duplicate attribute.
    fn bind(&mut self, prefix: &str, uri: &str) -> Result<(), XmlError> {
        let start = self.scope_starts.last().copied().unwrap_or(0);
        if self.bindings[start..].iter().any(|(p, _)| p == prefix) {
            let attr = if prefix.is_empty() {
                "xmlns".to_owned()
            } else {
                format!("xmlns:{prefix}")
            };
            return Err(XmlError::DuplicateAttribute(attr));
        }
        self.bindings.push((intern::name(prefix), intern::name(uri)));
        Ok(())
    }

    fn pop_scope(&mut self) {
        if let Some(start) = self.scope_starts.pop() {
            self.bindings.truncate(start);
        }
    }

    /// The checks on an attribute of the element being opened that come before its
    /// value is looked at: the attribute limit, and that its name is a name.
    fn check_attr_key(&self, el: &Element, key: &str) -> Result<(), XmlError> {
        let scope_len = self.bindings.len() - self.scope_starts.last().copied().unwrap_or(0);
        if scope_len + el.attrs.len() >= self.limits.max_attrs {
            return Err(XmlError::TooManyAttributes {
                limit: self.limits.max_attrs,
            });
        }
        check_qname(key)
    }

    /// One attribute of the element being opened, its value normalized and checked: a
    /// namespace declaration is bound, anything else is added to `el` with its prefix
    /// still in the name.
    fn attribute(
        &mut self,
        el: &mut Element,
        key: &str,
        value: Cow<'_, str>,
        prefixed_attrs: &mut bool,
    ) -> Result<(), XmlError> {
        if key == "xmlns" {
            self.bind("", &value)?;
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            let bad = value.is_empty()
                || p == "xmlns"
                || (p == "xml") != (value == NS_XML)
                || value == "http://www.w3.org/2000/xmlns/";
            if bad {
                return Err(XmlError::BadNamespaceDeclaration(format!("{key}='{value}'")));
            }
            self.bind(p, &value)?;
        } else {
            *prefixed_attrs |= key.contains(':');
            el.attrs.push(Attr {
                ns: Name::Borrowed(""),
                name: intern::name(key),
                value: value.into_owned(),
            });
        }
        Ok(())
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        match self.state {
            State::Done | State::AfterRoot => {
                return Err(if self.state == State::AfterRoot {
                    XmlError::SecondRoot
                } else {
                    XmlError::MisplacedContent
                })
            }
            _ => {}
        }
        let in_stanza_depth = self.stack.len() + 1;
        // A deliberate bug, only with the `planted-panic` feature: shows that the
        // xml_stream fuzz target reaches the parser's depths.
        #[cfg(feature = "planted-panic")]
        if in_stanza_depth == 3 && e.name().as_ref() == "boom" {
            panic!("planted panic: <boom/> at depth 3");
        }
        if self.state != State::BeforeHeader && in_stanza_depth > self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        // Namespace declarations go straight onto the flat binding stack; other attributes
        // go onto the element with their prefix still in the name, resolved below once
        // every declaration on this element is known.
        self.scope_starts.push(self.bindings.len());
        let mut el = Element::new("", "");
        let mut prefixed_attrs = false;
        // Attributes of the plain form (`name='value'`, values needing no normalization
        // or character checks) are taken straight from the tag; anything else goes
        // through quick-xml's attribute iterator. Both feed `attribute` in document
        // order, so the two paths refuse the same input with the same error.
        let raw = e.attributes_raw();
        let mut spans = std::mem::take(&mut self.attr_spans);
        spans.clear();
        if scan_plain_attrs(raw, self.limits.max_attrs, &mut spans) {
            for &[ks, ke, vs, ve] in &spans {
                let key = &raw[ks..ke];
                self.check_attr_key(&el, key)?;
                self.attribute(&mut el, key, Cow::Borrowed(&raw[vs..ve]), &mut prefixed_attrs)?;
            }
        } else {
            // quick-xml's duplicate check compares raw names; ours below compares
            // resolved (namespace, name) pairs, which is what XML Namespaces requires.
            for a in e.attributes().with_checks(false) {
                let a = a.map_err(|err| XmlError::Syntax(err.to_string()))?;
                self.check_attr_key(&el, a.key.0)?;
                let value = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(map_value_error)?;
                check_chars(&value)?;
                self.attribute(&mut el, a.key.0, value, &mut prefixed_attrs)?;
            }
        }
        self.attr_spans = spans;
        let qname = e.name();
        let qname = qname.as_ref();
        check_qname(qname)?;
        let (prefix, local) = split_qname(qname);
        el.ns = self
            .lookup(prefix)
            .ok_or_else(|| XmlError::UnboundPrefix(prefix.to_string()))?
            .clone();
        el.name = intern::name(local);
        if prefixed_attrs {
            for i in 0..el.attrs.len() {
                let (p, l) = split_qname(&el.attrs[i].name);
                if p.is_empty() {
                    continue;
                }
                let ns = self
                    .lookup(p)
                    .ok_or_else(|| XmlError::UnboundPrefix(p.to_string()))?
                    .clone();
                let l = intern::name(l);
                el.attrs[i].ns = ns;
                el.attrs[i].name = l;
            }
        }
        for i in 1..el.attrs.len() {
            let (head, tail) = el.attrs.split_at(i);
            let a = &tail[0];
            if head.iter().any(|x| x.ns == a.ns && x.name == a.name) {
                return Err(XmlError::DuplicateAttribute(a.name.to_string()));
            }
        }

        match self.state {
            State::BeforeHeader => {
                if !(el.name == "stream" && el.ns == NS_STREAMS) {
                    return Err(XmlError::NotAStream);
                }
                self.header_qname = qname.to_owned();
                out.push(StreamEvent::Open(el));
                self.state = State::InStream;
                if empty {
                    self.pop_scope();
                    out.push(StreamEvent::Close);
                    self.state = State::Done;
                }
                return Ok(());
            }
            State::BeforeRoot | State::InStream => {}
            State::AfterRoot | State::Done => unreachable!("checked above"),
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.child_elements += 1;
            if parent.child_elements > self.limits.max_children {
                return Err(XmlError::TooManyChildren {
                    limit: self.limits.max_children,
                });
            }
        }
        let qname = if prefix.is_empty() {
            None
        } else {
            Some(qname.to_owned())
        };
        if !self.stack.is_empty() {
            self.flush_text();
        }
        self.stack.push(Frame {
            el,
            qname,
            text_bytes: 0,
            child_elements: 0,
        });
        if empty {
            self.close_top(out);
        }
        Ok(())
    }

    fn end(&mut self, qname: &str, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        match self.stack.last() {
            Some(top) => {
                let expected = top.qname.as_deref().unwrap_or(&top.el.name);
                if expected != qname {
                    return Err(XmlError::MismatchedEnd {
                        expected: expected.to_string(),
                        found: qname.to_string(),
                    });
                }
                self.close_top(out);
                Ok(())
            }
            None if self.state == State::InStream => {
                if qname != self.header_qname {
                    return Err(XmlError::MismatchedEnd {
                        expected: self.header_qname.clone(),
                        found: qname.to_string(),
                    });
                }
                self.pop_scope();
                self.state = State::Done;
                out.push(StreamEvent::Close);
                Ok(())
            }
            None => Err(XmlError::UnexpectedEnd(qname.to_string())),
        }
    }

    fn close_top(&mut self, out: &mut Vec<StreamEvent>) {
        self.flush_text();
        let frame = self.stack.pop().expect("close_top with an open element");
        self.pop_scope();
        match self.stack.last_mut() {
            Some(parent) => parent.el.children.push(Node::Element(frame.el)),
            None => {
                out.push(StreamEvent::Stanza(frame.el));
                if self.state == State::BeforeRoot {
                    self.state = State::AfterRoot;
                }
            }
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            if text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
                return Ok(());
            }
            return Err(if self.state == State::Done {
                XmlError::MisplacedContent
            } else {
                XmlError::TextOutsideElement
            });
        }
        check_chars(text)?;
        self.append_text(text)
    }

    fn text_unchecked_ws(&mut self, text: &str) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            return Err(XmlError::TextOutsideElement);
        }
        check_chars(text)?;
        self.append_text(text)
    }

    fn append_text(&mut self, text: &str) -> Result<(), XmlError> {
        let limit = self.limits.max_text_bytes;
        let top = self.stack.last_mut().expect("text inside an element");
        top.text_bytes += text.len();
        if top.text_bytes > limit {
            return Err(XmlError::TextTooLong { limit });
        }
        self.text.push_str(text);
        Ok(())
    }

    /// Adds the text gathered since the innermost open element's last child (or its
    /// start) to it as one text node. Text arrives in pieces (quick-xml splits it at
    /// every reference), so it is gathered in one reused buffer and copied once.
    fn flush_text(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = if self.text.capacity() > 1024 {
            std::mem::take(&mut self.text)
        } else {
            let t = self.text.as_str().to_owned();
            self.text.clear();
            t
        };
        let top = self.stack.last_mut().expect("text inside an element");
        top.el.children.push(Node::Text(text));
    }
}

/// XML 1.0 §2.3 NameStartChar, without the colon (namespaces split on it).
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 §2.3 NameChar, without the colon.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A qualified name (Namespaces in XML §4): an NCName, or two joined by one colon.
/// quick-xml takes whatever precedes whitespace or `>` as the name, so this is ours.
fn check_qname(q: &str) -> Result<(), XmlError> {
    // Fast path for the names XMPP uses: ASCII letters, digits, '-', '_', '.', at most
    // one colon, each part starting with a letter or '_'.
    let b = q.as_bytes();
    let start_ok = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    if !b.is_empty() && start_ok(b[0]) {
        let mut colon = None;
        let mut ascii_ok = true;
        for (i, &c) in b.iter().enumerate() {
            if c == b':' {
                if colon.is_some() {
                    ascii_ok = false;
                    break;
                }
                colon = Some(i);
            } else if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')) {
                ascii_ok = false;
                break;
            }
        }
        if ascii_ok {
            match colon {
                None => return Ok(()),
                Some(i) if b.get(i + 1).copied().is_some_and(start_ok) => return Ok(()),
                Some(_) => {}
            }
        }
    }
    let ncname = |s: &str| {
        let mut cs = s.chars();
        cs.next().is_some_and(is_name_start) && cs.all(is_name_char)
    };
    let ok = match q.split_once(':') {
        Some((p, l)) => ncname(p) && ncname(l),
        None => ncname(q),
    };
    if ok {
        Ok(())
    } else {
        Err(XmlError::InvalidName(q.to_string()))
    }
}

/// Splits `raw` (a start tag after its name) into `[key start, key end, value start,
/// value end]` spans when every attribute is plain: whitespace, a name, `=`, a quoted
/// value holding no `&`, `<`, control character or 0xEF byte (so it needs neither
/// normalization nor the character check's slow path). Returns false for anything
/// else, leaving the general path to parse (and refuse) it.
fn scan_plain_attrs(raw: &str, max: usize, out: &mut Vec<[usize; 4]>) -> bool {
    let b = raw.as_bytes();
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let mut i = 0;
    loop {
        let ws_start = i;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return true;
        }
        if i == ws_start || out.len() >= max {
            return false;
        }
        let ks = i;
        let Some(ke) = memchr::memchr(b'=', &b[ks..]).map(|n| ks + n) else {
            return false;
        };
        if ke == ks || b[ks..ke].iter().any(|&c| is_ws(c)) {
            return false;
        }
        let q = match b.get(ke + 1) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return false,
        };
        let vs = ke + 2;
        let Some(ve) = memchr::memchr(q, &b[vs..]).map(|n| vs + n) else {
            return false;
        };
        let special = b[vs..ve].iter().fold(false, |bad, &c| {
            bad | (c < 0x20) | (c == b'&') | (c == b'<') | (c == 0xEF)
        });
        if special {
            return false;
        }
        out.push([ks, ke, vs, ve]);
        i = ve + 1;
    }
}

fn split_qname(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

fn check_chars(s: &str) -> Result<(), XmlError> {
    // Bytes, not chars: C0 controls are single bytes, and U+FFFE/U+FFFF are the only
    // other characters XML 1.0 forbids that UTF-8 can carry (EF BF BE / EF BF BF).
    let b = s.as_bytes();
    // Fast path, written as a fold so that it vectorizes: nothing below 0x20, no 0xEF.
    if !b.iter().fold(false, |bad, &c| bad | (c < 0x20) | (c == 0xEF)) {
        return Ok(());
    }
    for (i, &c) in b.iter().enumerate() {
        if c < 0x20 {
            if !matches!(c, b'\t' | b'\n' | b'\r') {
                return Err(XmlError::IllegalChar(c as u32));
            }
        } else if c == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) {
            return Err(XmlError::IllegalChar(if b[i + 2] == 0xBE {
                0xFFFE
            } else {
                0xFFFF
            }));
        }
    }
    Ok(())
}

fn is_incomplete(e: &quick_xml::Error) -> bool {
    match e {
        quick_xml::Error::Syntax(s) => matches!(
            s,
            SyntaxError::InvalidBangMarkup
                | SyntaxError::UnclosedPI
                | SyntaxError::UnclosedXmlDecl
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedTag
                | SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue
        ),
        quick_xml::Error::IllFormed(IllFormedError::UnclosedReference) => true,
        _ => false,
    }
}

fn map_value_error(e: quick_xml::Error) -> XmlError {
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            XmlError::UnknownEntity(name)
        }
        quick_xml::Error::Escape(other) => XmlError::BadCharRef(other.to_string()),
        other => map_error(other, false),
    }
}

fn map_error(e: quick_xml::Error, at_eof: bool) -> XmlError {
    if at_eof && is_incomplete(&e) {
        return XmlError::Truncated;
    }
    match e {
        quick_xml::Error::Encoding(_) => XmlError::InvalidUtf8,
        quick_xml::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => XmlError::InvalidUtf8,
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            XmlError::UnknownEntity(name)
        }
        other => XmlError::Syntax(other.to_string()),
    }
}

/// Parses exactly one element from `input`, with `default_ns` as the namespace of
/// unprefixed names that declare none (e.g. `jabber:client`).
pub fn parse_stanza(input: &[u8], default_ns: &str, limits: &Limits) -> Result<Element, XmlError> {
    if input.len() > limits.max_stanza_bytes {
        return Err(XmlError::StanzaTooLarge {
            limit: limits.max_stanza_bytes,
        });
    }
    let mut p = StreamParser::with_state(*limits, State::BeforeRoot, default_ns);
    let mut out = Vec::new();
    p.feed_inner(input, true, &mut out)?;
    if !p.stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    match out.pop() {
        Some(StreamEvent::Stanza(e)) => Ok(e),
        _ => Err(XmlError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::scan_plain_attrs;
    use quick_xml::events::BytesStart;
    use quick_xml::XmlVersion;

    /// What quick-xml's attribute iterator (the general path) makes of `raw`, or None
    /// when it refuses it.
    fn general(raw: &str) -> Option<Vec<(String, String)>> {
        let tag = format!("e{raw}");
        let start = BytesStart::from_content(tag.as_str(), 1);
        start
            .attributes()
            .with_checks(false)
            .map(|a| {
                let a = a.ok()?;
                let v = a.normalized_value(XmlVersion::Implicit1_0).ok()?;
                Some((a.key.0.to_owned(), v.into_owned()))
            })
            .collect()
    }

    fn plain(raw: &str) -> Option<Vec<(String, String)>> {
        let mut spans = Vec::new();
        scan_plain_attrs(raw, 64, &mut spans).then(|| {
            spans
                .iter()
                .map(|&[ks, ke, vs, ve]| (raw[ks..ke].to_owned(), raw[vs..ve].to_owned()))
                .collect()
        })
    }

    #[test]
    fn plain_attributes_are_taken_as_quick_xml_takes_them() {
        for raw in [
            "",
            " a='1'",
            " a='1' b=\"2\"",
            "\n\ta='x y'\r\n",
            " p:a='1' xmlns:p='urn:p'",
            " a=\"it's\"",
        ] {
            assert!(plain(raw).is_some(), "{raw:?} is plain");
            assert_eq!(plain(raw), general(raw), "{raw:?}");
        }
        // Not plain: the general path decides these.
        for raw in [
            " a = '1'",
            " a='1'b='2'",
            " a=1",
            " a='&amp;'",
            " a='x\ty'",
            " a='<'",
            " a",
            " a='1",
            " a='it''s'",
        ] {
            assert_eq!(plain(raw), None, "{raw:?} is not plain");
        }
    }

    #[test]
    fn plain_scan_agrees_with_quick_xml_on_random_tags() {
        // Every string over a small, hostile alphabet: wherever the fast scan accepts,
        // it must find exactly what the general path finds.
        const ALPHABET: &[u8] = b"ab :='\"&;<\t";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut raw = String::new();
            for _ in 0..(state % 14) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                raw.push(ALPHABET[(state % ALPHABET.len() as u64) as usize] as char);
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if let Some(p) = plain(&raw) {
                accepted += 1;
                assert_eq!(Some(p), general(&raw), "{raw:?}");
            }
        }
        assert!(accepted > 1000, "the alphabet reaches the fast path ({accepted})");
    }
}
