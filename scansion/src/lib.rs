//! Scansion, Prosody's XMPP test-script language, as `../shared/conformance/README.md`
//! describes it: the parser, the matcher, the runner that plays a script on any
//! [`Backend`], the writer that turns a [`Transcript`] back into a script, and where
//! Prosody's corpus of scripts is ([`corpus`]).
//!
//! This crate knows no simulator and no network: `mucsim-sim` implements [`Backend`]
//! for its `World` (and runs scripts there with `mucsim_sim::scansion::run`), and
//! `mucsim-live-client` implements it over TCP connections to a live server.

mod backend;
pub mod corpus;
pub mod matcher;
mod parse;
pub mod runner;
pub mod transcript;
mod write;

pub use backend::{Backend, ConnId};
pub use parse::{parse, Action, ActionKind, ClientDef, ParseError, Script, NS_SCANSION};
pub use runner::{run_on, Failure, Played, RunOptions};
pub use transcript::{Event, Transcript};
pub use write::{to_judging_scs, to_scs, Judgement};
