//! `mucsim run` and `mucsim conformance`: scansion scripts in the simulated world.

use mucsim_sim::scansion::{parse, run_in, Outcome, RunOptions, Script};
use mucsim_sim::{World, WorldConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A script's result, or why it could not be run at all.
enum ScriptResult {
    Ran(Box<Outcome>),
    Unreadable(String),
}

/// The world scripts run in: Prosody's test setup, with the service's deliberate bug
/// when `--mutant` names one.
pub fn world_config(seed: u64, mutant: Option<&str>) -> Result<WorldConfig, String> {
    #[allow(unused_mut)]
    let mut cfg = WorldConfig::new(seed);
    if let Some(name) = mutant {
        #[cfg(feature = "mutants")]
        {
            cfg.service.mutant = Some(super::mutant(name)?);
        }
        #[cfg(not(feature = "mutants"))]
        match super::mutant(name)? {}
    }
    Ok(cfg)
}

/// Reads and parses a script; the error says why (the line, for a parse error).
pub fn load_script(path: &Path) -> Result<Script, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse(&text).map_err(|e| format!("line {}: {}", e.line, e.reason))
}

fn run_file(path: &Path, opts: &RunOptions, world: &WorldConfig) -> ScriptResult {
    match load_script(path) {
        Ok(script) => ScriptResult::Ran(Box::new(run_in(World::new(world.clone()), &script, opts))),
        Err(why) => ScriptResult::Unreadable(why),
    }
}

pub fn run_scripts(
    files: &[PathBuf],
    opts: &RunOptions,
    show_transcript: bool,
    mutant: Option<&str>,
) -> ExitCode {
    let world = match world_config(opts.seed, mutant) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("mucsim run: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for f in files {
        match run_file(f, opts, &world) {
            ScriptResult::Unreadable(why) => {
                failed += 1;
                println!("FAIL {}: {why}", f.display());
            }
            ScriptResult::Ran(o) => {
                match &o.failure {
                    None => println!(
                        "PASS {} ({} stanzas, {} skipped)",
                        f.display(),
                        o.transcript.stanzas(),
                        o.skipped
                    ),
                    Some(fail) => {
                        failed += 1;
                        println!("FAIL {}: {fail}", f.display());
                        if !show_transcript {
                            println!("transcript so far:\n{}", o.transcript);
                        }
                    }
                }
                if show_transcript {
                    println!("{}", o.transcript);
                }
            }
        }
    }
    println!(
        "{} of {} scripts passed (seed {})",
        files.len() - failed,
        files.len(),
        opts.seed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub fn conformance(dir: &Path, opts: &RunOptions) -> ExitCode {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "scs"))
            .collect(),
        Err(e) => {
            eprintln!("mucsim: cannot read {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    if files.is_empty() {
        eprintln!("mucsim conformance: {} holds no .scs scripts", dir.display());
        return ExitCode::from(2);
    }
    files.sort();
    println!("| script | result | first failing line | reason |");
    println!("|---|---|---|---|");
    let mut passed = 0;
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run_file(f, opts, &WorldConfig::new(opts.seed)) {
            ScriptResult::Unreadable(why) => println!("| {name} | error | | {why} |"),
            ScriptResult::Ran(o) => match &o.failure {
                None => {
                    passed += 1;
                    println!("| {name} | pass | | |");
                }
                Some(fail) => {
                    let reason = fail.reason.replace('|', "\\|").replace('\n', " ");
                    println!("| {name} | fail | {} | {reason} |", fail.line);
                }
            },
        }
    }
    println!("\n{passed} of {} scripts pass", files.len());
    if passed == files.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
