//! A swarm campaign: many seeds run in parallel; the smallest failing seed is shrunk
//! by delta debugging, its shrunk run is written as a `.scs` script (the failing
//! run's arrival order, expecting what the tripped check requires, written from the
//! configured service alone: [`super::scs`]), and the script is played against the
//! configured service to see whether it reproduces the failure.
//!
//! [`sweep`] runs the seeds, [`investigate`] takes one failing seed from there to a
//! script; [`campaign`] does both. `mucsim sim` calls the two halves itself so it
//! can time the sweep and print as it goes; tests call [`campaign`].

use super::{execute, plan::plan, shrink::shrink, Failure, Plan, RunResult, Stats, Step, SwarmConfig};
use crate::scansion::{parse, run_in, RunOptions};
use crate::world::{World, WorldConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Candidate runs the shrinker may spend on one failing seed.
pub const SHRINK_BUDGET: usize = 2000;

/// A seed whose run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedSeed {
    pub seed: u64,
    /// The seed's plan (kinds, latency, steps).
    pub plan: Plan,
    /// Which check tripped, after which step.
    pub failure: Failure,
}

/// What running the seeds found.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    /// Seeds run to their end.
    pub ran: u64,
    /// Counters summed over the seeds run.
    pub stats: Stats,
    /// The failing seeds found, smallest first. The first failure stops the workers
    /// from taking more seeds, so every seed smaller than the first entry ran (it is
    /// the smallest failing seed of the range); later entries are those other workers
    /// were running at the time.
    pub failed: Vec<FailedSeed>,
}

/// Runs `seeds` on `threads` worker threads (at least one), each seed's plan in its
/// own world, stopping at the first failure. `watch` is called on the calling thread
/// about every 100 ms of wall time with the number of seeds done so far (for
/// progress); it does not affect the result, which is a function of the arguments.
pub fn sweep(cfg: &SwarmConfig, seeds: &[u64], threads: usize, mut watch: impl FnMut(u64)) -> Sweep {
    let threads = threads.max(1);
    let done = AtomicU64::new(0);
    let workers_left = AtomicU64::new(threads as u64);
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let result = Mutex::new(Sweep::default());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Stats::default();
                let mut ran = 0;
                let mut failed = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= seeds.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let seed = seeds[i];
                    let p = plan(cfg, seed);
                    let r = execute(cfg, &p, &p.steps, false);
                    mine.add(&r.stats);
                    ran += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                    if let Some(failure) = r.failure {
                        stop.store(true, Ordering::Relaxed);
                        failed.push(FailedSeed {
                            seed,
                            plan: p,
                            failure,
                        });
                    }
                }
                let mut t = result.lock().unwrap_or_else(|e| e.into_inner());
                t.stats.add(&mine);
                t.ran += ran;
                t.failed.append(&mut failed);
                workers_left.fetch_sub(1, Ordering::Relaxed);
            });
        }
        while workers_left.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(Duration::from_millis(100));
            watch(done.load(Ordering::Relaxed));
        }
    });
    let mut sweep = result.into_inner().unwrap_or_else(|e| e.into_inner());
    sweep.failed.sort_by_key(|f| f.seed);
    sweep
}

/// Whether a written script reproduces the failure against the configured service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reproduction {
    /// The script fails against the configured service, at this line, for this reason.
    Fails { line: usize, reason: String },
    /// The script passes, and the shrunk run crashed the service: a scansion script
    /// cannot crash the service, so the crash is only in the transcript.
    PassesWithoutTheCrash,
    /// Played one stanza at a time the script passes: the failure needs the
    /// concurrency of the swarm run.
    PassesSequentially,
    /// The written script does not parse (a bug in the writer).
    DoesNotParse(String),
}

/// Why a script could not be written.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for WriteError {}

/// A failing seed, shrunk, written and replayed.
pub struct Investigation {
    /// The shrunk steps (a sublist of the plan's, up to the failing step).
    pub shrunk: Vec<Step>,
    /// The shrunk steps run again, with a transcript; its `failure` is `None` if they
    /// pass when re-run.
    pub shrunk_run: RunResult,
    /// The script's title: `mucsim sim seed N: <what the shrunk run tripped>`.
    pub title: String,
    /// The script's text.
    pub script: String,
    /// Where the script was written (`scs_dir/sim-seed-N.scs`), or why it was not.
    pub written: Result<PathBuf, WriteError>,
    /// Whether the script reproduces the failure; `None` when it was not written.
    pub reproduced: Option<Reproduction>,
}

/// Shrinks `failed` (at most `budget` candidate runs), re-runs the shrunk steps with a
/// transcript, writes them as a script to `scs_dir/sim-seed-N.scs` (creating the
/// directory), and plays the script against `cfg`'s service.
pub fn investigate(cfg: &SwarmConfig, failed: &FailedSeed, scs_dir: &Path, budget: usize) -> Investigation {
    let shrunk = shrink(cfg, &failed.plan, budget);
    let shrunk_run = execute(cfg, &failed.plan, &shrunk, true);
    let why = shrunk_run
        .failure
        .as_ref()
        .map(|x| x.what.clone())
        .unwrap_or_else(|| "(passes when re-run)".into());
    let title = format!("mucsim sim seed {}: {why}", failed.seed);
    let script = super::scs(cfg, &failed.plan, &shrunk, &title);
    let path = scs_dir.join(format!("sim-seed-{}.scs", failed.seed));
    let written = std::fs::create_dir_all(scs_dir)
        .and_then(|()| std::fs::write(&path, &script))
        .map(|()| path.clone())
        .map_err(|error| WriteError { path, error });
    let reproduced = written
        .is_ok()
        .then(|| reproduces(cfg, &script, shrunk.contains(&Step::Crash)));
    Investigation {
        shrunk,
        shrunk_run,
        title,
        script,
        written,
        reproduced,
    }
}

/// Whether `script` fails against the configured (possibly buggy) service.
pub fn reproduces(cfg: &SwarmConfig, script: &str, crashed: bool) -> Reproduction {
    let s = match parse(script) {
        Ok(s) => s,
        Err(e) => return Reproduction::DoesNotParse(e.to_string()),
    };
    let mut wc = WorldConfig::new(0);
    wc.service = cfg.service.clone();
    let o = run_in(World::new(wc), &s, &RunOptions::default());
    match o.failure {
        Some(f) => Reproduction::Fails {
            line: f.line,
            reason: f.reason,
        },
        None if crashed => Reproduction::PassesWithoutTheCrash,
        None => Reproduction::PassesSequentially,
    }
}

/// A whole campaign's result.
pub struct Report {
    pub sweep: Sweep,
    /// The smallest failing seed, investigated; `None` when every seed passed.
    pub investigation: Option<Investigation>,
}

/// Runs `seeds` ([`sweep`], no progress) and investigates the smallest failing seed,
/// writing its script under `scs_dir` with the default shrink budget.
pub fn campaign(cfg: &SwarmConfig, seeds: &[u64], threads: usize, scs_dir: &Path) -> Report {
    let sweep = sweep(cfg, seeds, threads, |_| {});
    let investigation = sweep
        .failed
        .first()
        .map(|f| investigate(cfg, f, scs_dir, SHRINK_BUDGET));
    Report { sweep, investigation }
}
