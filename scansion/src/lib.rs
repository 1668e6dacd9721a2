//! Scansion, Prosody's XMPP test-script language, as `../shared/conformance/README.md`
//! describes it: the parser, the matcher, the runner that plays scripts in the
//! simulated world, and the writer that turns a transcript back into a script.

mod backend;
pub mod matcher;
mod parse;
pub mod runner;
mod write;

pub use backend::Backend;
pub use parse::{parse, Action, ActionKind, ClientDef, ParseError, Script, NS_SCANSION};
pub use runner::{run, run_in, run_on, Failure, Outcome, Played, RunOptions};
pub use write::to_scs;
