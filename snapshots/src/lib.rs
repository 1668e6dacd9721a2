//! Insta snapshots of stanza transcripts: every corpus script that passes and every
//! scenario in `scenarios/`, run with seed 0. A behaviour change shows up as a
//! reviewable diff (`cargo insta test`, `cargo insta review`).

use mucsim_sim::scansion::{parse, run, RunOptions};
use std::path::{Path, PathBuf};

/// The project's own scenarios.
pub const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
/// Prosody's MUC corpus, beside the repository.
pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/prosody");

/// The `.scs` files in `dir`, sorted.
pub fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "scs"))
        .collect();
    v.sort();
    v
}

/// Runs a script with seed 0: its transcript, or why it failed.
pub fn transcript_of(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let script = parse(&text).map_err(|e| e.to_string())?;
    let o = run(&script, &RunOptions::default());
    match o.failure {
        None => Ok(o.transcript.to_string()),
        Some(f) => Err(format!("{f}\n{}", o.transcript)),
    }
}
