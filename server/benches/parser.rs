//! Parser MB/s on a stanza stream, next to quick-xml's raw event reader on the same bytes,
//! and, for scale, two other parsers that build a tree with resolved namespaces:
//! roxmltree (its own tokenizer; a whole document at once, into one arena) and minidom
//! (the XMPP-oriented DOM of the xmpp-rs project).

use criterion::{criterion_group, Criterion, Throughput};
use std::hint::black_box;

#[path = "common/readers.rs"]
mod readers;
use readers::{minidom_tree, mucsim_parse, ns_read, raw_read, roxmltree_tree, stream_bytes};

fn parser(c: &mut Criterion) {
    let bytes = stream_bytes();
    let mut g = c.benchmark_group("parser");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("mucsim_stream_parser", |b| {
        b.iter(|| black_box(mucsim_parse(&bytes)))
    });
    g.bench_function("quick_xml_raw_reader", |b| b.iter(|| black_box(raw_read(&bytes))));
    g.bench_function("quick_xml_ns_reader_attrs", |b| {
        b.iter(|| black_box(ns_read(&bytes)))
    });
    g.bench_function("roxmltree_tree", |b| b.iter(|| black_box(roxmltree_tree(&bytes))));
    g.bench_function("minidom_tree", |b| b.iter(|| black_box(minidom_tree(&bytes))));
    g.finish();
}

/// A reader under test: bytes in, a count out (kept so the work is not optimised away).
type Reader = fn(&[u8]) -> usize;

/// The ratio the target is stated in, measured so that the machine's drift between
/// criterion's runs (minutes apart) cannot decide it: every reader parses the same
/// bytes in turn, round after round, and the best time of each is compared.
#[allow(clippy::disallowed_methods)] // wall-clock timing is what a benchmark is for
fn interleaved_ratio() {
    use std::time::Instant;
    const ROUNDS: usize = 60;
    let bytes = stream_bytes();
    let readers: [(&str, Reader); 5] = [
        ("quick-xml raw reader", raw_read),
        ("mucsim", mucsim_parse),
        ("roxmltree", roxmltree_tree),
        ("minidom", minidom_tree),
        ("quick-xml NsReader+attrs", ns_read),
    ];
    let mut best = [f64::MAX; 5];
    for _ in 0..ROUNDS {
        for (b, (_, read)) in best.iter_mut().zip(&readers) {
            let t = Instant::now();
            black_box(read(&bytes));
            *b = b.min(t.elapsed().as_secs_f64());
        }
    }
    let mib = bytes.len() as f64 / (1024.0 * 1024.0);
    let line: Vec<String> = readers
        .iter()
        .zip(best)
        .map(|((name, _), t)| format!("{name} {:.1} MiB/s", mib / t))
        .collect();
    println!(
        "parser/interleaved (best of {ROUNDS} rounds each): {}",
        line.join(", ")
    );
    let ratio = |i: usize| 100.0 * best[0] / best[i];
    println!(
        "parser/interleaved: ratio to the raw reader: mucsim {:.1} %, roxmltree {:.1} %, minidom {:.1} %, NsReader+attrs {:.1} %",
        ratio(1),
        ratio(2),
        ratio(3),
        ratio(4)
    );
    // Speed ratios (time of the other / time of mucsim): above 1 means mucsim is faster.
    println!(
        "parser/ratio: mucsim / roxmltree {:.2}x, mucsim / NsReader+attrs {:.2}x",
        best[2] / best[1],
        best[4] / best[1]
    );
}

criterion_group!(benches, parser);

fn main() {
    // `--ratio-only`: just the interleaved comparison (scripts/bench-compare.sh).
    if !std::env::args().any(|a| a == "--ratio-only") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    interleaved_ratio();
}
