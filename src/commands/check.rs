//! `mucsim check`: model-check a scenario and print each property's verdict.

use mucsim_model::check::{spawn, verdicts, CheckOptions};
use mucsim_model::scenario::Scenario;
use std::process::ExitCode;
use std::time::{Duration, Instant};

// The command reports wall-clock time and states/s; the ban on reading the clock is for
// the deterministic crates (server, sim, model), not for this front end.
#[allow(clippy::disallowed_methods)]
pub fn check(opts: &CheckOptions) -> ExitCode {
    let scenario = Scenario::default_check();
    println!(
        "checking '{}': {} clients, {} operations, {} threads, {}",
        scenario.name,
        scenario.clients.len(),
        scenario.clients.iter().map(|c| c.ops.len()).sum::<usize>(),
        opts.threads,
        if opts.dfs { "DFS" } else { "BFS" }
    );
    let start = Instant::now();
    let checker = spawn(&scenario, opts);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(100));
        if start.elapsed() > Duration::from_secs(1) {
            bar.set_message(format!("{} unique states", checker.unique_state_count()));
            bar.tick();
        }
    }
    bar.finish_and_clear();
    let elapsed = start.elapsed();
    let results = verdicts(&*checker);
    let mut violated = false;
    for v in &results {
        let verdict = match (v.holds, &v.expectation) {
            (true, stateright::Expectation::Sometimes) => "reached",
            (false, stateright::Expectation::Sometimes) => "NOT REACHED",
            (true, _) => "holds",
            (false, _) => "VIOLATED",
        };
        println!("{verdict:>12}  {}", v.name);
        if !v.holds {
            violated = true;
        }
        if let Some(cx) = &v.counterexample {
            println!("counterexample:\n{cx}");
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
    if violated {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
