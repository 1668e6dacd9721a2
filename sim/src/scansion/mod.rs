//! Scansion, Prosody's XMPP test-script language, as `../shared/conformance/README.md`
//! describes it.

mod parse;

pub use parse::{parse, Action, ActionKind, ClientDef, ParseError, Script, NS_SCANSION};
