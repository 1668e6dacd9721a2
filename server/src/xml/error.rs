//! Every refusal of the XML layer as one typed [`XmlError`], its RFC 6120 stream error
//! condition, and the mapping from quick-xml's own errors onto it.

use crate::stream_error::StreamCondition;
use quick_xml::errors::{IllFormedError, SyntaxError};

/// Why input was refused. Parsing stops at the first one. In a stream, the five
/// per-stanza limits (`StanzaTooLarge` … `TextTooLong`) do not stop it: the stanza
/// is skipped and reported as `StreamEvent::Refused`; [`parse_stanza`] returns them.
///
/// [`parse_stanza`]: super::parse_stanza
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
    /// One top-level element (or an incomplete token) over the stream budget
    /// (`Limits::stream_budget_bytes`): the only size fault that ends a stream.
    OverStreamBudget {
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
    pub fn stream_condition(&self) -> StreamCondition {
        match self {
            XmlError::StanzaTooLarge { .. }
            | XmlError::TooDeep { .. }
            | XmlError::TooManyAttributes { .. }
            | XmlError::TooManyChildren { .. }
            | XmlError::TextTooLong { .. }
            | XmlError::OverStreamBudget { .. } => StreamCondition::PolicyViolation,
            XmlError::Doctype
            | XmlError::ProcessingInstruction
            | XmlError::Comment
            | XmlError::UnknownEntity(_) => StreamCondition::RestrictedXml,
            XmlError::InvalidUtf8 => StreamCondition::UnsupportedEncoding,
            XmlError::NotAStream => StreamCondition::InvalidNamespace,
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
            | XmlError::Syntax(_) => StreamCondition::NotWellFormed,
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
            XmlError::OverStreamBudget { limit } => {
                write!(f, "stanza larger than the stream's budget of {limit} bytes")
            }
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

pub(super) fn is_incomplete(e: &quick_xml::Error) -> bool {
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

pub(super) fn map_value_error(e: quick_xml::Error) -> XmlError {
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            XmlError::UnknownEntity(name)
        }
        quick_xml::Error::Escape(other) => XmlError::BadCharRef(other.to_string()),
        other => map_error(other, false),
    }
}

pub(super) fn map_error(e: quick_xml::Error, at_eof: bool) -> XmlError {
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
