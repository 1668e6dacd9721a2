//! `mucsim check` and `mucsim explore`: model-check a scenario and print each
//! property's verdict, or serve stateright's Explorer over it.

use mucsim_model::check::{spawn, stopped_early, verdicts, why_not_exercised, CheckOptions};
use mucsim_model::scenario::{OpKind, Scenario};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Which world to check, from the command line.
#[derive(Clone, Debug, Default)]
pub struct ScenarioChoice {
    pub name: Option<String>,
    pub clients: Option<usize>,
    pub rooms: Option<usize>,
    pub ops: Option<String>,
    pub mutant: Option<String>,
    /// Service crashes per path (restarts from the disk), overriding the scenario's.
    pub crashes: Option<u8>,
}

impl ScenarioChoice {
    /// The scenarios to check: the one chosen, or with no choice at all the default
    /// set (`Scenario::DEFAULT_SET`): the default scenario (members-only
    /// revocation), the permission scenarios, privacy, password, invitations,
    /// domain bans, and durability (one crash).
    pub fn build_all(&self) -> Result<Vec<Scenario>, String> {
        let nothing_chosen = self.name.is_none()
            && self.clients.is_none()
            && self.rooms.is_none()
            && self.ops.is_none()
            && self.crashes.is_none();
        let mut first = self.build()?;
        if !nothing_chosen {
            return Ok(vec![first]);
        }
        first.name = format!("default: {}", first.name);
        let mut all = vec![first];
        for name in &Scenario::DEFAULT_SET[1..] {
            let mut s = Scenario::named(name)?;
            if let Some(m) = &self.mutant {
                set_mutant(&mut s, m)?;
            }
            all.push(s);
        }
        Ok(all)
    }

    pub fn build(&self) -> Result<Scenario, String> {
        let generated = self.clients.is_some() || self.rooms.is_some() || self.ops.is_some();
        let mut s = match (&self.name, generated) {
            (Some(_), true) => {
                return Err("--scenario cannot be combined with --clients, --rooms or --ops".into())
            }
            (Some(name), false) => Scenario::named(name)?,
            (None, false) => Scenario::default_check(),
            (None, true) => {
                let kinds = match &self.ops {
                    Some(list) => OpKind::parse_list(list)?,
                    None => OpKind::DEFAULT.to_vec(),
                };
                Scenario::generate(self.clients.unwrap_or(3), self.rooms.unwrap_or(1), &kinds)?
            }
        };
        if let Some(n) = self.crashes {
            if n > 2 {
                return Err(format!("--crashes {n}: the model takes 0 to 2 crashes per path"));
            }
            if n != s.crashes {
                s.crashes = n;
                s.name = format!("{}, up to {n} service crashes", s.name);
            }
        }
        if let Some(name) = &self.mutant {
            set_mutant(&mut s, name)?;
        }
        Ok(s)
    }
}

#[cfg(feature = "mutants")]
fn set_mutant(s: &mut Scenario, name: &str) -> Result<(), String> {
    s.mutant = Some(super::mutant(name)?);
    s.name = format!("{} [mutant: {name}]", s.name);
    Ok(())
}

#[cfg(not(feature = "mutants"))]
fn set_mutant(_: &mut Scenario, name: &str) -> Result<(), String> {
    match super::mutant(name)? {}
}

/// Where `check` writes counterexample scripts by default: under `target/`, never the
/// checkout's root.
pub const DEFAULT_SCS_DIR: &str = "target/mucsim/counterexamples";

/// How one scenario's check ended.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exhausted, nothing violated.
    Holds,
    /// Stopped at --max-states, nothing violated: unknown.
    Incomplete,
    /// A property is violated.
    Violated,
}

impl Outcome {
    fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Holds => ExitCode::SUCCESS,
            Outcome::Violated => ExitCode::from(1),
            Outcome::Incomplete => ExitCode::from(3),
        }
    }
}

/// `n thing` or `n things`.
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `mucsim check`: each scenario's verdicts, then one summary line per scenario.
/// Exit codes: 0 all hold, 1 a violation, 2 bad arguments, 3 stopped at
/// `--max-states` without a violation (see `CHECK_EXIT_CODES` in main).
pub fn check(choice: &ScenarioChoice, opts: &CheckOptions, scs_dir: &Path, progress: Duration) -> ExitCode {
    let scenarios = match choice.build_all() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mucsim check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut written = 0;
    let mut worst = Outcome::Holds;
    let mut summary = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match check_one(scenario, opts, scs_dir, progress, &mut written) {
            Ok((outcome, line)) => {
                worst = worst.max(outcome);
                summary.push(line);
            }
            Err(code) => return code,
        }
    }
    println!("\nsummary:");
    for line in summary {
        println!("  {line}");
    }
    worst.exit_code()
}

/// Checks one scenario and prints its verdicts; returns how it ended and its summary line.
// The command reports wall-clock time and states/s; the ban on reading the clock is for
// the deterministic crates (server, sim, model), not for this front end.
#[allow(clippy::disallowed_methods)]
fn check_one(
    scenario: &Scenario,
    opts: &CheckOptions,
    scs_dir: &Path,
    progress: Duration,
    written: &mut usize,
) -> Result<(Outcome, String), ExitCode> {
    println!(
        "checking '{}': {}, {}, {}, {}, {}{}{}",
        scenario.name,
        count(scenario.clients.len(), "client"),
        count(scenario.rooms, "room"),
        count(scenario.op_count(), "operation"),
        count(opts.threads, "thread"),
        if opts.dfs { "DFS" } else { "BFS" },
        if opts.symmetry { ", symmetry reduction" } else { "" },
        opts.max_states
            .map(|n| format!(", at most {n} states"))
            .unwrap_or_default()
    );
    let start = Instant::now();
    let checker = match spawn(scenario, opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mucsim check: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let mut bar = super::progress::Progress::new(progress, indicatif::ProgressBar::new_spinner);
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(100));
        if start.elapsed() > Duration::from_secs(1) {
            bar.update(|| {
                let secs = start.elapsed().as_secs_f64();
                let unique = checker.unique_state_count();
                format!(
                    "{unique} unique states, depth {}, {:.0} states/s, {secs:.0} s",
                    checker.max_depth(),
                    unique as f64 / secs
                )
            });
        }
    }
    bar.finish();
    let elapsed = start.elapsed();
    let results = verdicts(&*checker, scenario);
    let early = stopped_early(&*checker, opts);
    let budget = opts.max_states.unwrap_or(0);
    let explored = checker.state_count();
    let mut violated = 0;
    let mut not_reached = 0;
    let mut not_exercised = 0;
    for v in &results {
        let sometimes = v.expectation == stateright::Expectation::Sometimes;
        let (verdict, note) = match (v.holds, sometimes) {
            (_, true) if !v.exercised => (
                "not exercised",
                format!(" ({}, so nothing tests it)", why_not_exercised(v.name)),
            ),
            (true, true) => ("reached", String::new()),
            (false, true) if early => (
                "unknown",
                format!(" (not reached in the {explored} states explored; --max-states {budget} stopped the search)"),
            ),
            (false, true) => {
                not_reached += 1;
                ("NOT REACHED", String::new())
            }
            (false, false) => {
                violated += 1;
                ("VIOLATED", String::new())
            }
            (true, false) if !v.exercised => (
                "not exercised",
                format!(" ({}, so nothing tests it)", why_not_exercised(v.name)),
            ),
            (true, false) if early => (
                "unknown",
                format!(" (not violated in the {explored} states explored; --max-states {budget} stopped the search)"),
            ),
            (true, false) => ("holds", String::new()),
        };
        not_exercised += usize::from(verdict == "not exercised");
        println!("{verdict:>13}  {}{note}", v.name);
        if let Some(cx) = &v.counterexample {
            println!("counterexample:\n{}", cx.transcript);
            match &cx.scs {
                Ok(script) => {
                    *written += 1;
                    let path = scs_dir.join(format!("counterexample-{}.scs", *written));
                    let wrote = std::fs::create_dir_all(scs_dir).and_then(|()| std::fs::write(&path, script));
                    match wrote {
                        Ok(()) => println!(
                            "wrote {}\nreplay: mucsim run {} (the script expects what the property requires, not this service's answers)\n",
                            path.display(),
                            path.display()
                        ),
                        Err(e) => eprintln!("mucsim check: cannot write {}: {e}", path.display()),
                    }
                }
                Err(e) => eprintln!("mucsim check: no script for this counterexample: {e}"),
            }
        }
    }
    let unique = checker.unique_state_count();
    let secs = elapsed.as_secs_f64();
    println!(
        "{} unique states ({} generated), max depth {}, {:.1} s, {:.0} states/s",
        unique,
        checker.state_count(),
        checker.max_depth(),
        secs,
        unique as f64 / secs.max(1e-9)
    );
    let (outcome, verdict) = if violated > 0 {
        let what = if violated == 1 { "property" } else { "properties" };
        (Outcome::Violated, format!("{violated} {what} VIOLATED"))
    } else if early {
        (
            Outcome::Incomplete,
            format!("INCOMPLETE: --max-states {budget} stopped the search; no violation in the {explored} states explored"),
        )
    } else if not_reached > 0 {
        (
            Outcome::Holds,
            format!("every always property holds; {not_reached} sometimes NOT REACHED"),
        )
    } else {
        (Outcome::Holds, "every property holds".to_string())
    };
    let verdict = match not_exercised {
        0 => verdict,
        n => format!("{verdict}; {n} not exercised"),
    };
    let line = format!(
        "'{}': {unique} states, depth {}, {secs:.1} s: {verdict}",
        scenario.name,
        checker.max_depth()
    );
    Ok((outcome, line))
}

/// `mucsim explore`: stateright's Explorer, on 127.0.0.1 only, with actions and
/// properties in MUC terms. `--port 0` picks a free port; the address is printed.
pub fn explore(choice: &ScenarioChoice, port: u16) -> ExitCode {
    use stateright::Model as _;
    let model = match choice
        .build()
        .and_then(|s| mucsim_model::model(&s))
        .and_then(mucsim_model::explore::Explorable::new)
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mucsim explore: {e}");
            return ExitCode::from(2);
        }
    };
    // stateright panics when it cannot bind and does not say which port it bound:
    // bind first (port 0: the system picks), then hand it the address found.
    let addr = match std::net::TcpListener::bind(("127.0.0.1", port)).and_then(|l| l.local_addr()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mucsim explore: cannot listen on 127.0.0.1:{port}: {e} (pick another with --port)");
            return ExitCode::from(2);
        }
    };
    println!("serving stateright's Explorer on http://{addr}/ (Ctrl-C to stop)");
    let _ = model.checker().threads(2).serve(addr);
    ExitCode::SUCCESS
}
