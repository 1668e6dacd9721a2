//! Scripts per second: the founding scenario parsed and played in a fresh world.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mucsim_sim::corpus;
use mucsim_sim::scansion::{parse, run, RunOptions};
use std::hint::black_box;

fn scripts(c: &mut Criterion) {
    // The founding scenario is Prosody's muc_members_only_change.scs, from the corpus
    // (`MUCSIM_CORPUS`, else ../shared/conformance/prosody); without it the bench skips.
    let Some(dir) = corpus::for_test("scansion/seed_scenario_parse_and_run") else {
        return;
    };
    let text = corpus::read(&dir.join("muc_members_only_change.scs"));
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
