//! What one exec of a fuzz target's body costs, outside libFuzzer: runs the body
//! over the target's seed corpus ROUNDS times and prints execs/s (no sanitizer, no
//! coverage instrumentation). For profiles:
//!
//! ```sh
//! cargo build --release -p mucsim-hostile --example exec_cost
//! valgrind --tool=callgrind target/release/examples/exec_cost xml_stream 3
//! ```
//!
//! `exec_cost TARGET [ROUNDS]` (ROUNDS default 20).

use std::path::PathBuf;

#[allow(clippy::disallowed_methods)] // wall-clock timing is what this tool is for
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(name) = args.get(1) else {
        eprintln!("usage: exec_cost TARGET [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).map_or(Ok(20), |r| r.parse()).unwrap_or_else(|e| {
        eprintln!("exec_cost: ROUNDS: {e}");
        std::process::exit(2)
    });
    let Some((_, body)) = mucsim_hostile::TARGETS.iter().find(|(n, _)| n == name) else {
        eprintln!("exec_cost: no target {name}");
        std::process::exit(2);
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let inputs: Vec<Vec<u8>> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .collect(),
        Err(e) => {
            eprintln!("exec_cost: {}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for data in &inputs {
            body(data);
        }
    }
    let execs = rounds * inputs.len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {execs} execs in {secs:.2} s, {:.0} execs/s ({:.0} µs each)",
        execs as f64 / secs,
        1e6 * secs / execs as f64
    );
}
