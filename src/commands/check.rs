//! `mucsim check` and `mucsim explore`: model-check a scenario and print each
//! property's verdict, or serve stateright's Explorer over it.

use mucsim_model::check::{spawn, verdicts, CheckOptions};
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
    /// ones — the default scenario, then the durability scenario (one crash).
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
        let mut durability = Scenario::durability();
        if let Some(name) = &self.mutant {
            set_mutant(&mut durability, name)?;
        }
        first.name = format!("default: {}", first.name);
        Ok(vec![first, durability])
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

// The command reports wall-clock time and states/s; the ban on reading the clock is for
// the deterministic crates (server, sim, model), not for this front end.
#[allow(clippy::disallowed_methods)]
pub fn check(choice: &ScenarioChoice, opts: &CheckOptions, scs_dir: &Path) -> ExitCode {
    let scenarios = match choice.build_all() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mucsim check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut written = 0;
    let mut worst = ExitCode::SUCCESS;
    for (i, scenario) in scenarios.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match check_one(scenario, opts, scs_dir, &mut written) {
            Ok(true) => {}
            Ok(false) => worst = ExitCode::from(1),
            Err(code) => return code,
        }
    }
    worst
}

/// Checks one scenario and prints its verdicts; `Ok(false)` when a property is violated.
#[allow(clippy::disallowed_methods)]
fn check_one(
    scenario: &Scenario,
    opts: &CheckOptions,
    scs_dir: &Path,
    written: &mut usize,
) -> Result<bool, ExitCode> {
    println!(
        "checking '{}': {} clients, {} rooms, {} operations, {} threads, {}{}",
        scenario.name,
        scenario.clients.len(),
        scenario.rooms,
        scenario.op_count(),
        opts.threads,
        if opts.dfs { "DFS" } else { "BFS" },
        if opts.symmetry { ", symmetry reduction" } else { "" }
    );
    let start = Instant::now();
    let checker = match spawn(scenario, opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mucsim check: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(100));
        if start.elapsed() > Duration::from_secs(1) {
            let secs = start.elapsed().as_secs_f64();
            let unique = checker.unique_state_count();
            bar.set_message(format!(
                "{unique} unique states, depth {}, {:.0} states/s",
                checker.max_depth(),
                unique as f64 / secs
            ));
            bar.tick();
        }
    }
    bar.finish_and_clear();
    let elapsed = start.elapsed();
    let results = verdicts(&*checker, scenario);
    let mut violated = false;
    for v in &results {
        let verdict = match (v.holds, &v.expectation) {
            (true, stateright::Expectation::Sometimes) => "reached",
            (false, stateright::Expectation::Sometimes) => "NOT REACHED",
            (true, _) => "holds",
            (false, _) => "VIOLATED",
        };
        println!("{verdict:>12}  {}", v.name);
        if let Some(cx) = &v.counterexample {
            violated = true;
            println!("counterexample:\n{}", cx.transcript);
            match &cx.scs {
                Ok(script) => {
                    *written += 1;
                    let path = scs_dir.join(format!("counterexample-{}.scs", *written));
                    match std::fs::write(&path, script) {
                        Ok(()) => println!(
                            "replay: mucsim run {} (the script expects the real service's answers)\n",
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
    Ok(!violated)
}

/// `mucsim explore`: stateright's Explorer, on 127.0.0.1 only.
pub fn explore(choice: &ScenarioChoice, port: u16) -> ExitCode {
    use stateright::Model as _;
    let model = match choice.build().and_then(|s| mucsim_model::model(&s)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mucsim explore: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = format!("127.0.0.1:{port}");
    // stateright panics when it cannot bind; find out first and say so plainly.
    if let Err(e) = std::net::TcpListener::bind(&addr) {
        eprintln!("mucsim explore: cannot listen on {addr}: {e} (pick another with --port)");
        return ExitCode::from(2);
    }
    println!("serving stateright's Explorer on http://{addr}/ (Ctrl-C to stop)");
    let _ = model.checker().threads(2).serve(addr);
    ExitCode::SUCCESS
}
