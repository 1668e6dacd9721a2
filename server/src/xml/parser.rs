//! A resumable parser for XMPP streams and single stanzas, built on quick-xml's
//! tokenizer. quick-xml finds the tokens; this module owns namespaces, limits,
//! entity policy (RFC 6120 §11.1: no DTDs, PIs, comments or non-predefined entities)
//! and tree building, so that every refusal is one typed [`XmlError`].

use super::error::{is_incomplete, map_error, map_value_error};
use super::lexical::{check_chars, check_qname, is_xml_space, scan_plain_attrs, split_qname};
use super::{intern, Attr, Element, Name, Node, XmlError, NS_XML};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";

/// Hard bounds on what one stanza may cost. Every one is checked before the
/// allocation it guards grows past it.
///
/// Two kinds of bound. The first five are *per-stanza limits*: a top-level element
/// over one of them is refused alone — the parser stops building its tree, keeps
/// checking that it is well-formed, skips to its end tag and yields
/// [`StreamEvent::Refused`]; the stream goes on. `stream_budget_bytes` is the
/// *stream budget*: the bytes one top-level element may take, accepted or skipped
/// (and the bytes of an incomplete token waiting for its end); past it the stream
/// is refused ([`XmlError::OverStreamBudget`], `policy-violation`), since a stanza
/// that large cannot even be skipped at bounded cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one top-level stanza, its end tag included.
    pub max_stanza_bytes: usize,
    /// Element nesting depth inside a stanza (the stanza itself is depth 1).
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attrs: usize,
    /// Child elements of one element.
    pub max_children: usize,
    /// Text bytes directly inside one element.
    pub max_text_bytes: usize,
    /// The stream budget: bytes of one top-level element, refused or not, and of
    /// unparsed input waiting for the end of a token. Taken as at least
    /// `max_stanza_bytes`.
    pub stream_budget_bytes: usize,
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
            // Four stanzas' worth: a refused stanza is skipped up to this, so a
            // sender cannot make a stream hold or scan more for one stanza.
            stream_budget_bytes: 1024 * 1024,
        }
    }
}

/// A per-stanza limit a top-level element went over, with the limit's value
/// (bytes, levels, attributes, children or text bytes, as in [`Limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StanzaLimit {
    Bytes(usize),
    Depth(usize),
    Attributes(usize),
    Children(usize),
    Text(usize),
}

impl StanzaLimit {
    /// The same fault as an [`XmlError`] (what [`parse_stanza`] returns for it).
    pub fn error(self) -> XmlError {
        match self {
            StanzaLimit::Bytes(limit) => XmlError::StanzaTooLarge { limit },
            StanzaLimit::Depth(limit) => XmlError::TooDeep { limit },
            StanzaLimit::Attributes(limit) => XmlError::TooManyAttributes { limit },
            StanzaLimit::Children(limit) => XmlError::TooManyChildren { limit },
            StanzaLimit::Text(limit) => XmlError::TextTooLong { limit },
        }
    }
}

impl std::fmt::Display for StanzaLimit {
    /// As the matching [`XmlError`]: `elements nested deeper than 256`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error().fmt(f)
    }
}

/// A top-level element skipped for going over a per-stanza limit: what is needed
/// to answer its sender (RFC 6120 §8.3: from, to, id and type of the element
/// itself, its name and namespace) and which limit it went over. Attribute values
/// are as written (normalized), not checked as JIDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedStanza {
    /// Local name of the top-level element (`message`, `presence`, `iq`, …).
    pub name: Name,
    /// Its namespace URI (the stream's default namespace, usually).
    pub ns: Name,
    pub from: Option<String>,
    pub to: Option<String>,
    pub id: Option<String>,
    /// The `type` attribute.
    pub stanza_type: Option<String>,
    pub limit: StanzaLimit,
}

impl RefusedStanza {
    /// An element with the refused stanza's name, namespace and its `from`, `to`,
    /// `id` and `type` attributes, no children: enough to build an error reply.
    pub fn head(&self) -> Element {
        let mut el = Element::new(self.name.clone(), self.ns.clone());
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("id", &self.id),
            ("type", &self.stanza_type),
        ] {
            if let Some(v) = v {
                el.set_attr(k, v.as_str());
            }
        }
        el
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The `<stream:stream>` header: its attributes, no children.
    Open(Element),
    /// A complete top-level element.
    Stanza(Element),
    /// A top-level element that went over a per-stanza limit, skipped whole (it was
    /// well-formed to its end tag). Comes where its `Stanza` would have. Boxed: it is
    /// rare and three times an `Element`'s size, and every event pays for the largest
    /// variant (6.8 % fewer instructions per parse of the bench's stream).
    Refused(Box<RefusedStanza>),
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
    /// Where this element's children begin in [`StreamParser::nodes`].
    first_child: usize,
}

/// The top-level element being skipped: the qualified names of its open elements,
/// as written, to match their end tags; no tree.
struct Skip {
    limit: StanzaLimit,
    /// The top-level element's head; `None` only while its own start tag, which
    /// went over a limit, is still being read.
    head: Option<RefusedStanza>,
    names: String,
    starts: Vec<usize>,
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
    /// `bindings` indexed by prefix (positions, innermost last), kept only while there
    /// are more than [`MANY`]: a skipped stanza may declare any number, and a scan of
    /// them all for every name would make its cost quadratic in its size.
    by_prefix: Option<BTreeMap<Name, Vec<usize>>>,
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
    /// The children of every open element, innermost last (each [`Frame`] knows where
    /// its own begin). They move into their element when it closes, into a `Vec` of
    /// exactly their number: one allocation of the right size per element with
    /// children, instead of a vector grown child by child.
    nodes: Vec<Node>,
    /// Scratch for [`scan_plain_attrs`], kept to reuse its allocation.
    attr_spans: Vec<[usize; 4]>,
    /// Set while a top-level element over a per-stanza limit is skipped.
    skip: Option<Box<Skip>>,
    /// The token being handled takes the current stanza past `max_stanza_bytes`.
    over_size: bool,
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
            by_prefix: None,
            scope_starts: Vec::new(),
            header_qname: String::new(),
            base_default_ns: intern::name(default_ns),
            stanza_bytes: 0,
            seen_content: false,
            consumed_any: false,
            error: None,
            text: String::new(),
            nodes: Vec::new(),
            attr_spans: Vec::new(),
            skip: None,
            over_size: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes received but not yet part of a complete token.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Whether the input so far ends inside a top-level stanza: one has begun (or is
    /// being skipped over a limit) and not ended, or an unfinished token other than
    /// whitespace waits. At the end of a file or connection, the stanza was cut off.
    pub fn inside_stanza(&self) -> bool {
        !self.stack.is_empty() || self.skip.is_some() || self.buf.iter().any(|b| !b.is_ascii_whitespace())
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
            self.nodes = Vec::new();
            self.skip = None;
        }
        r
    }

    /// Parses what `data` completes; returns how many of its bytes were consumed
    /// (the rest is an incomplete token, kept for the next read).
    fn run(&mut self, data: &[u8], at_eof: bool, out: &mut Vec<StreamEvent>) -> Result<usize, XmlError> {
        // Tokenize only whole UTF-8: a chunk may end inside a multi-byte character.
        // Before invalid UTF-8, the valid prefix is still parsed, so the stanzas it
        // completes come out whatever the chunking.
        // simdutf8's check is several times faster than std's on the ASCII that XMPP
        // mostly is, and reports the valid prefix as std's does.
        let (text, bad_utf8) = match simdutf8::compat::from_utf8(data) {
            Ok(s) => (s, false),
            Err(e) => {
                let prefix = std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid prefix");
                (prefix, e.error_len().is_some() || at_eof)
            }
        };
        // Text that reaches the end of what has arrived may continue in the next read,
        // unless a bad byte follows: then it ends there and is looked at like any other.
        let may_continue = |end: usize| end == text.len() && !at_eof && !bad_utf8;
        const BOM: char = '\u{FEFF}';
        let mut consumed = 0usize;
        // quick-xml strips a leading U+FEFF from every buffer it is given, without
        // counting it in its positions. Only at the very start of the input is it a
        // byte order mark (dropped); anywhere else it is a character of text, which
        // the chunking may have put at the start of this buffer.
        if !self.consumed_any && text.starts_with(BOM) {
            consumed = BOM.len_utf8();
        }
        'tokens: {
            let run = text[consumed..].len() - text[consumed..].trim_start_matches(BOM).len();
            if run > 0 {
                // Those characters begin a text token that quick-xml will not see whole,
                // so they get what the whole token would: held back while it may
                // continue, the size rule on all of it, then the text rules.
                let rest = &text.as_bytes()[consumed..];
                let token_end = memchr::memchr2(b'<', b'&', rest).map_or(text.len(), |i| consumed + i);
                if may_continue(token_end) {
                    break 'tokens;
                }
                self.within_limit(token_end - consumed)?;
                self.note_size(token_end - consumed);
                self.text(&text[consumed..consumed + run])?;
                self.count_stanza_bytes(run);
                consumed += run;
            }
            let base = consumed;
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
                    Ok(Event::Text(_)) if may_continue(end) => break,
                    Ok(ev) => {
                        self.within_limit(end - consumed)?;
                        self.note_size(end - consumed);
                        self.event(ev, out)?;
                        self.count_stanza_bytes(end - consumed);
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

    /// Counts `bytes` just consumed toward the current stanza; between stanzas there
    /// is none, and the count starts again.
    fn count_stanza_bytes(&mut self, bytes: usize) {
        if self.stack.is_empty() && self.skip.is_none() {
            self.stanza_bytes = 0;
        } else {
            self.stanza_bytes += bytes;
        }
    }

    /// The stream's size rule: the current stanza's bytes so far plus `pending` bytes
    /// not yet part of it (a token, or an incomplete one) must fit the stream budget.
    fn within_limit(&self, pending: usize) -> Result<(), XmlError> {
        let budget = self.limits.stream_budget_bytes.max(self.limits.max_stanza_bytes);
        if self.stanza_bytes + pending > budget {
            return Err(XmlError::OverStreamBudget { limit: budget });
        }
        Ok(())
    }

    /// The stanza's size rule, on a complete token of `token` bytes about to be
    /// handled: decided on whole tokens only, so that the chunking never decides it.
    fn note_size(&mut self, token: usize) {
        self.over_size = self.stanza_bytes + token > self.limits.max_stanza_bytes;
    }

    /// Whether a per-stanza limit may still be applied: a stanza is being built, or
    /// (`top_level`) a top-level element is being opened.
    fn may_refuse(&self, top_level: bool) -> bool {
        self.skip.is_none()
            && (!self.stack.is_empty()
                || (top_level && matches!(self.state, State::InStream | State::BeforeRoot)))
    }

    /// Stops building the current stanza: its open elements become names to match
    /// end tags against, and its tree is dropped.
    fn enter_skip(&mut self, limit: StanzaLimit) {
        debug_assert!(self.skip.is_none());
        let mut skip = Skip {
            limit,
            head: self.stack.first().map(|root| head_of(&root.el, limit)),
            names: String::new(),
            starts: Vec::with_capacity(self.stack.len()),
        };
        for f in &self.stack {
            skip.starts.push(skip.names.len());
            skip.names.push_str(f.qname.as_deref().unwrap_or(&f.el.name));
        }
        self.stack.clear();
        self.text.clear();
        self.nodes = Vec::new();
        self.skip = Some(Box::new(skip));
    }

    fn event(&mut self, ev: Event<'_>, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        let opens = matches!(ev, Event::Start(_) | Event::Empty(_));
        if self.over_size && self.may_refuse(opens) {
            self.enter_skip(StanzaLimit::Bytes(self.limits.max_stanza_bytes));
        }
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
                let mut utf8 = [0u8; 4];
                let resolved: &str = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.encode_utf8(&mut utf8),
                        _ => return Err(XmlError::BadCharRef(r.to_string())),
                    }
                } else {
                    match &*r {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "apos" => "'",
                        "quot" => "\"",
                        other => return Err(XmlError::UnknownEntity(other.to_string())),
                    }
                };
                self.text_unchecked_ws(resolved)?;
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
        let bound = match &self.by_prefix {
            Some(index) => index
                .get(prefix)
                .and_then(|v| v.last())
                .map(|&i| &self.bindings[i].1),
            None => self
                .bindings
                .iter()
                .rev()
                .find(|(p, _)| p == prefix)
                .map(|(_, uri)| uri),
        };
        if let Some(uri) = bound {
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
        // Past a few declarations, `start` checks them all at once, sorted: a
        // skipped element may carry any number.
        let scope = &self.bindings[start..];
        if scope.len() < MANY && scope.iter().any(|(p, _)| p == prefix) {
            let attr = if prefix.is_empty() {
                "xmlns".to_owned()
            } else {
                format!("xmlns:{prefix}")
            };
            return Err(XmlError::DuplicateAttribute(attr));
        }
        let prefix = intern::name(prefix);
        if let Some(index) = &mut self.by_prefix {
            index.entry(prefix.clone()).or_default().push(self.bindings.len());
        }
        self.bindings.push((prefix, intern::name(uri)));
        if self.by_prefix.is_none() && self.bindings.len() > MANY {
            let mut index: BTreeMap<Name, Vec<usize>> = BTreeMap::new();
            for (i, (p, _)) in self.bindings.iter().enumerate() {
                index.entry(p.clone()).or_default().push(i);
            }
            self.by_prefix = Some(index);
        }
        Ok(())
    }

    fn pop_scope(&mut self) {
        if let Some(start) = self.scope_starts.pop() {
            if let Some(index) = &mut self.by_prefix {
                for (p, _) in &self.bindings[start..] {
                    if let Some(v) = index.get_mut(p) {
                        v.pop();
                        if v.is_empty() {
                            index.remove(p);
                        }
                    }
                }
                if start <= MANY / 2 {
                    self.by_prefix = None;
                }
            }
            self.bindings.truncate(start);
        }
    }

    /// The checks on an attribute of the element being opened that come before its
    /// value is looked at: the attribute limit, and that its name is a name. Returns
    /// the name table's copy of the name when it has one.
    fn check_attr_key(&mut self, el: &Element, key: &str) -> Result<Option<&'static str>, XmlError> {
        let scope_len = self.bindings.len() - self.scope_starts.last().copied().unwrap_or(0);
        if scope_len + el.attrs.len() >= self.limits.max_attrs && self.may_refuse(self.stack.is_empty()) {
            self.enter_skip(StanzaLimit::Attributes(self.limits.max_attrs));
        }
        known_or_checked(key)
    }

    /// One attribute of the element being opened, its value normalized and checked: a
    /// namespace declaration is bound, anything else is added to `el` with its prefix
    /// still in the name.
    fn attribute(
        &mut self,
        el: &mut Element,
        key: &str,
        known: Option<&'static str>,
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
            // A name the table knows has no prefix.
            *prefixed_attrs |= known.is_none() && key.bytes().any(|c| c == b':');
            el.attrs.push(Attr {
                ns: Name::Borrowed(""),
                name: known.map_or_else(|| intern::name(key), Name::Borrowed),
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
        if self.state != State::BeforeHeader
            && in_stanza_depth > self.limits.max_depth
            && self.may_refuse(self.stack.is_empty())
        {
            self.enter_skip(StanzaLimit::Depth(self.limits.max_depth));
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
            // One allocation of the right size for the attributes that are not
            // namespace declarations (a hint only: `attribute` decides).
            let decls = spans
                .iter()
                .filter(|&&[ks, ke, ..]| raw[ks..ke].starts_with("xmlns"))
                .count();
            el.attrs.reserve_exact(spans.len() - decls);
            for &[ks, ke, vs, ve] in &spans {
                let key = &raw[ks..ke];
                let known = self.check_attr_key(&el, key)?;
                self.attribute(
                    &mut el,
                    key,
                    known,
                    Cow::Borrowed(&raw[vs..ve]),
                    &mut prefixed_attrs,
                )?;
            }
        } else {
            // quick-xml's duplicate check compares raw names; ours below compares
            // resolved (namespace, name) pairs, which is what XML Namespaces requires.
            for a in e.attributes().with_checks(false) {
                let a = a.map_err(|err| XmlError::Syntax(err.to_string()))?;
                let known = self.check_attr_key(&el, a.key.0)?;
                let value = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(map_value_error)?;
                check_chars(&value)?;
                self.attribute(&mut el, a.key.0, known, value, &mut prefixed_attrs)?;
            }
        }
        self.attr_spans = spans;
        let qname = e.name();
        let qname = qname.as_ref();
        let known = known_or_checked(qname)?;
        // A name the table knows has no prefix.
        let (prefix, local) = if known.is_some() {
            ("", qname)
        } else {
            split_qname(qname)
        };
        el.ns = self
            .lookup(prefix)
            .ok_or_else(|| XmlError::UnboundPrefix(prefix.to_string()))?
            .clone();
        el.name = match known {
            Some(k) if prefix.is_empty() => Name::Borrowed(k),
            _ => intern::name(local),
        };
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
        if el.attrs.len() < MANY {
            for i in 1..el.attrs.len() {
                let (head, tail) = el.attrs.split_at(i);
                let a = &tail[0];
                if head.iter().any(|x| same_name(&x.name, &a.name) && x.ns == a.ns) {
                    return Err(XmlError::DuplicateAttribute(a.name.to_string()));
                }
            }
        } else {
            let mut keys: Vec<(&str, &str)> = el.attrs.iter().map(|a| (&*a.ns, &*a.name)).collect();
            keys.sort_unstable();
            if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
                return Err(XmlError::DuplicateAttribute(w[0].1.to_string()));
            }
        }
        let scope_start = self.scope_starts.last().copied().unwrap_or(0);
        if self.bindings.len() - scope_start >= MANY {
            let mut prefixes: Vec<&str> = self.bindings[scope_start..].iter().map(|(p, _)| &**p).collect();
            prefixes.sort_unstable();
            if let Some(w) = prefixes.windows(2).find(|w| w[0] == w[1]) {
                let attr = if w[0].is_empty() {
                    "xmlns".to_owned()
                } else {
                    format!("xmlns:{}", w[0])
                };
                return Err(XmlError::DuplicateAttribute(attr));
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
                self.enter_skip(StanzaLimit::Children(self.limits.max_children));
            }
        }
        if let Some(skip) = self.skip.as_deref_mut() {
            if skip.starts.is_empty() {
                // The top-level element went over a limit in its own start tag.
                skip.head = Some(head_of(&el, skip.limit));
            }
            skip.starts.push(skip.names.len());
            skip.names.push_str(qname);
            if empty {
                self.end_skipped(qname, out)?;
            }
            return Ok(());
        }
        let qname = if prefix.is_empty() {
            None
        } else {
            Some(qname.to_owned())
        };
        self.flush_text();
        self.stack.push(Frame {
            el,
            qname,
            text_bytes: 0,
            child_elements: 0,
            first_child: self.nodes.len(),
        });
        if empty {
            self.close_top(out);
        }
        Ok(())
    }

    fn end(&mut self, qname: &str, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        if self.skip.is_some() {
            return self.end_skipped(qname, out);
        }
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

    /// An end tag inside a skipped stanza: matched against its start tag like any
    /// other; the last one yields the refusal.
    fn end_skipped(&mut self, qname: &str, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        let skip = self.skip.as_deref_mut().expect("skipping");
        let start = skip.starts.pop().expect("an open skipped element");
        if skip.names[start..] != *qname {
            return Err(XmlError::MismatchedEnd {
                expected: skip.names[start..].to_string(),
                found: qname.to_string(),
            });
        }
        skip.names.truncate(start);
        let done = skip.starts.is_empty();
        self.pop_scope();
        if done {
            let skip = self.skip.take().expect("skipping");
            out.push(StreamEvent::Refused(Box::new(
                skip.head.expect("head read with its start tag"),
            )));
            if self.state == State::BeforeRoot {
                self.state = State::AfterRoot;
            }
        }
        Ok(())
    }

    fn close_top(&mut self, out: &mut Vec<StreamEvent>) {
        self.flush_text();
        let mut frame = self.stack.pop().expect("close_top with an open element");
        self.pop_scope();
        if self.nodes.len() > frame.first_child {
            frame.el.children = self.nodes.drain(frame.first_child..).collect();
        }
        if !self.stack.is_empty() {
            self.nodes.push(Node::Element(frame.el));
            return;
        }
        out.push(StreamEvent::Stanza(frame.el));
        if self.state == State::BeforeRoot {
            self.state = State::AfterRoot;
        }
        // Between stanzas the stack is empty; a large stanza's room is not kept.
        if self.nodes.capacity() > MAX_KEPT_NODES {
            self.nodes = Vec::new();
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XmlError> {
        if self.skip.is_some() {
            return check_chars(text);
        }
        if self.stack.is_empty() {
            if text.bytes().all(is_xml_space) {
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
        if self.skip.is_some() {
            return check_chars(text);
        }
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
            self.enter_skip(StanzaLimit::Text(limit));
            return Ok(());
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
        debug_assert!(!self.stack.is_empty(), "text inside an element");
        self.nodes.push(Node::Text(text));
    }
}

/// Room for this many nodes in [`StreamParser::nodes`] is kept from one stanza to the
/// next; a stanza that needed more gives it back when it ends.
const MAX_KEPT_NODES: usize = 64;

/// Past this many attributes or namespace declarations on one element, duplicates
/// are looked for by sorting rather than pairwise.
const MANY: usize = 32;

fn head_of(el: &Element, limit: StanzaLimit) -> RefusedStanza {
    let get = |k: &str| el.attr(k).map(str::to_owned);
    RefusedStanza {
        name: el.name.clone(),
        ns: el.ns.clone(),
        from: get("from"),
        to: get("to"),
        id: get("id"),
        stanza_type: get("type"),
        limit,
    }
}

/// `a == b` for names, comparing length and first byte before the bytes (attribute
/// names on one element mostly differ there, and a call to memcmp is then saved).
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// Checks that `q` is a qualified name, at no cost when the name table knows it as an
/// NCName (a name without a prefix); returns the table's copy then.
fn known_or_checked(q: &str) -> Result<Option<&'static str>, XmlError> {
    match intern::known_ncname(q) {
        Some(k) => Ok(Some(k)),
        None => check_qname(q).map(|()| None),
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
    if !p.stack.is_empty() || p.skip.is_some() {
        return Err(XmlError::Truncated);
    }
    match out.pop() {
        Some(StreamEvent::Stanza(e)) => Ok(e),
        Some(StreamEvent::Refused(r)) => Err(r.limit.error()),
        _ => Err(XmlError::Truncated),
    }
}
