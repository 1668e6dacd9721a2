//! Insta snapshots of stanza transcripts: every corpus script that passes and every
//! scenario in `scenarios/`, run with seed 0. A behaviour change shows up as a
//! reviewable diff (`cargo insta test`, `cargo insta review`).

use mucsim_sim::scansion::{parse, run, RunOptions};
use std::path::Path;

/// The project's own scenarios.
pub const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
/// Prosody's MUC corpus is found by [`mucsim_sim::corpus`] (`MUCSIM_CORPUS`, else
/// `../shared/conformance/prosody` beside the checkout); the `.scs` files of a
/// directory, sorted (panics naming the directory when it cannot be read).
pub use mucsim_sim::corpus::scripts_in;

/// Runs a script with seed 0: its transcript, or why it failed (a file that cannot
/// be read is named, with the reason).
pub fn transcript_of(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let script = parse(&text).map_err(|e| e.to_string())?;
    let o = run(&script, &RunOptions::default());
    match o.failure {
        None => Ok(o.transcript.to_string()),
        Some(f) => Err(format!("{f}\n{}", o.transcript)),
    }
}
