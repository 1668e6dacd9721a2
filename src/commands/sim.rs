//! `mucsim sim`: swarm simulation over a range of seeds, with faults; on failure the
//! seed, the replay command, the shrunk steps, their transcript and a `.scs` script.

use super::check::count;
use mucsim_sim::swarm::campaign::{self, FailedSeed, Reproduction};
use mucsim_sim::swarm::{shard, Step, SwarmConfig};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `mucsim sim`'s command line.
#[derive(clap::Args)]
pub struct SimArgs {
    /// Seeds to run: A..B (B exclusive) or one seed.
    #[arg(long, default_value = "0..100", value_parser = parse_seeds)]
    pub seeds: std::ops::Range<u64>,
    /// Steps per seed.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Client sessions (two per user; Romeo's own every room).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Rooms, all created by Romeo before the run (at least 1).
    #[arg(long, default_value_t = 3)]
    pub rooms: usize,
    /// Run only shard i of n (seed s belongs to shard s mod n).
    #[arg(long, default_value = "0/1", value_parser = parse_shard)]
    pub shard: (u64, u64),
    /// Worker threads running seeds; 0 means one per core.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// A deliberate bug in the service.
    #[arg(long, help = super::mutant_help())]
    pub mutant: Option<String>,
    /// Where a failing seed's script is written, relative to the current directory
    /// (created if missing; the path is printed).
    #[arg(long, default_value = super::check::DEFAULT_SCS_DIR)]
    pub scs_dir: std::path::PathBuf,
    /// Seconds between progress lines on stderr when stderr is not a terminal
    /// (on a terminal a bar shows instead).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub progress_secs: u64,
}

/// Parses `A..B` (B exclusive) or a single seed `A`.
pub fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || "expected A..B or A".to_string();
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if b <= a {
                return Err("the range is empty".into());
            }
            Ok(a..b)
        }
        None => {
            let a: u64 = s.trim().parse().map_err(|_| bad())?;
            Ok(a..a + 1)
        }
    }
}

/// Parses `i/n` with `i < n`.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || "expected i/n with 0 <= i < n".to_string();
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn config(a: &SimArgs) -> Result<SwarmConfig, String> {
    mucsim_sim::swarm::ops::Cast::new(a.clients, a.rooms)?;
    #[allow(unused_mut)]
    let mut cfg = SwarmConfig::new(a.clients, a.rooms, a.steps);
    if let Some(name) = &a.mutant {
        #[cfg(feature = "mutants")]
        {
            cfg.service.mutant = Some(super::mutant(name)?);
        }
        #[cfg(not(feature = "mutants"))]
        match super::mutant(name)? {}
    }
    Ok(cfg)
}

// Reports wall-clock rates; the ban on reading the clock is for the deterministic crates.
#[allow(clippy::disallowed_methods)]
pub fn sim(a: &SimArgs) -> ExitCode {
    let cfg = match config(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mucsim sim: {e}");
            return ExitCode::from(2);
        }
    };
    let seeds: Vec<u64> = shard(a.seeds.clone(), a.shard.0, a.shard.1).collect();
    println!(
        "swarm: {} ({}..{}, shard {}/{}), {}, {}, {}{}",
        count(seeds.len(), "seed"),
        a.seeds.start,
        a.seeds.end,
        a.shard.0,
        a.shard.1,
        count(a.steps, "step"),
        count(a.clients, "client"),
        count(a.rooms, "room"),
        a.mutant
            .as_deref()
            .map(|m| format!(", mutant {m}"))
            .unwrap_or_default()
    );
    let threads = super::threads(a.threads);
    let start = Instant::now();
    let mut progress = super::progress::Progress::new(Duration::from_secs(a.progress_secs), || {
        indicatif::ProgressBar::new(seeds.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    });
    let swept = campaign::sweep(&cfg, &seeds, threads, |done| {
        if let Some(bar) = progress.bar() {
            bar.set_position(done);
        }
        progress.update(|| {
            format!(
                "{done} of {} seeds, {:.0} s",
                seeds.len(),
                start.elapsed().as_secs_f64()
            )
        });
    });
    progress.finish();
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let (stats, ran) = (&swept.stats, swept.ran);
    let crashes = match stats.crashes {
        1 => "1 service crash".to_string(),
        n => format!("{n} service crashes"),
    };
    println!(
        "{}, {}, {}, {} ({crashes}) in {secs:.1} s: {:.0} stanzas/s, {:.1} seeds/s ({})",
        count(ran as usize, "seed"),
        count(stats.steps as usize, "step"),
        count(stats.stanzas as usize, "stanza"),
        count(stats.faults as usize, "fault"),
        stats.stanzas as f64 / secs,
        ran as f64 / secs,
        count(threads, "thread")
    );
    // What a "stanza" above is: each one sent and each one delivered; the service's
    // own rate is per input it handled (setup traffic excluded from both counts,
    // not from the time).
    println!(
        "stanzas: {} sent by clients, {} delivered to them; the service handled {} ({:.0} inputs/s)",
        stats.sent,
        stats.stanzas - stats.sent,
        count(stats.inputs as usize, "input"),
        stats.inputs as f64 / secs,
    );
    let counts: Vec<String> = stats.ops.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("operations: {}", counts.join(", "));
    match swept.failed.first() {
        None => ExitCode::SUCCESS,
        Some(f) => {
            report(a, &cfg, f);
            ExitCode::from(1)
        }
    }
}

fn report(a: &SimArgs, cfg: &SwarmConfig, f: &FailedSeed) {
    println!(
        "\nFAILED: seed {} after step {}: {}",
        f.seed, f.failure.step, f.failure.what
    );
    let mutant = a
        .mutant
        .as_deref()
        .map(|m| format!(" --mutant {m}"))
        .unwrap_or_default();
    println!(
        "replay: mucsim sim --seeds {} --steps {} --clients {} --rooms {}{mutant}",
        f.seed, a.steps, a.clients, a.rooms
    );
    let kinds: Vec<&str> = f.plan.kinds.iter().map(|k| k.name()).collect();
    println!(
        "plan: kinds [{}], latency {}..{} ms",
        kinds.join(", "),
        f.plan.latency_ms.0,
        f.plan.latency_ms.1
    );
    let inv = campaign::investigate(cfg, f, &a.scs_dir, campaign::SHRINK_BUDGET);
    let why = inv
        .shrunk_run
        .failure
        .as_ref()
        .map(|x| x.what.as_str())
        .unwrap_or("(passes when re-run)");
    println!(
        "shrunk to {} of {} steps, failing with: {why}",
        inv.shrunk.len(),
        f.failure.step + 1
    );
    for (i, s) in inv.shrunk.iter().enumerate() {
        match s {
            Step::Op(op) => println!("  {:>3}. {op:?}", i + 1),
            other => println!("  {:>3}. {other:?}", i + 1),
        }
    }
    println!(
        "transcript of the shrunk run:\n{}",
        inv.shrunk_run.world.transcript()
    );
    match (&inv.written, &inv.reproduced) {
        (Ok(path), Some(r)) => println!(
            "script: {} (the sends one step at a time; it expects what the check requires){}",
            path.display(),
            reproduction(r, path)
        ),
        (Ok(path), None) => println!(
            "script: {} (the sends one step at a time; it expects what the check requires)",
            path.display()
        ),
        (Err(e), _) => eprintln!("mucsim sim: {e}"),
    }
}

/// The tail of the `script:` line: whether the script fails against this service.
fn reproduction(r: &Reproduction, path: &Path) -> String {
    match r {
        Reproduction::DoesNotParse(_) => {
            format!("; it does not parse (a bug: please report {})", path.display())
        }
        Reproduction::Fails { line, reason } => {
            format!("; against this service it fails at line {line}: {reason}")
        }
        Reproduction::PassesWithoutTheCrash => {
            "; it passes as a script: a scansion script cannot crash the service, so the \
             crash is only in the transcript above"
                .into()
        }
        Reproduction::PassesSequentially => {
            "; one step at a time it passes against this service too (the failure needs the concurrency)"
                .into()
        }
    }
}
