//! Scripts per second: the founding scenario parsed and played in a fresh world.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mucsim_sim::scansion::{parse, run, RunOptions};
use std::hint::black_box;

const SEED_SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/prosody/muc_members_only_change.scs"
);

fn scripts(c: &mut Criterion) {
    let text = std::fs::read_to_string(SEED_SCENARIO).expect("../shared beside the repository");
    let mut g = c.benchmark_group("scansion");
    g.throughput(Throughput::Elements(1));
    g.bench_function("seed_scenario_parse_and_run", |b| {
        b.iter(|| {
            let script = parse(&text).unwrap();
            let o = run(&script, &RunOptions::default());
            assert!(o.passed());
            black_box(o.transcript.len())
        })
    });
    g.finish();
}

criterion_group!(benches, scripts);
criterion_main!(benches);
