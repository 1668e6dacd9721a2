//! Parser MB/s on a stanza stream, next to quick-xml's raw event reader on the same bytes,
//! and, for scale, two other parsers that build a tree with resolved namespaces:
//! roxmltree (its own tokenizer; a whole document at once, into one arena) and minidom
//! (the XMPP-oriented DOM of the xmpp-rs project).

use criterion::{criterion_group, Criterion, Throughput};
use server::xml::{Limits, StreamParser};
use std::hint::black_box;

#[path = "common/stream_bytes.rs"]
mod stream_bytes;
use stream_bytes::stream_bytes;

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

/// Our stream parser over `bytes` in 4 KiB reads, as a server gets them; the number of
/// stream events.
fn mucsim_parse(bytes: &[u8]) -> usize {
    let mut p = StreamParser::new(Limits::default());
    let mut n = 0;
    for chunk in bytes.chunks(4096) {
        n += p.feed(chunk).unwrap().len();
    }
    n
}

/// quick-xml's raw event reader over the same bytes; the number of events.
fn raw_read(bytes: &[u8]) -> usize {
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            e => {
                black_box(e);
                n += 1;
            }
        }
    }
    n
}

/// quick-xml's namespace-aware reader, doing the work a tree builder cannot skip
/// short of building the tree: every element name and every attribute name
/// resolved to its namespace, every attribute value normalised and unescaped, every
/// text node read and every reference resolved; the number of events. The fair ceiling for a tree builder.
fn ns_read(bytes: &[u8]) -> usize {
    use quick_xml::events::Event;
    use quick_xml::XmlVersion;
    let mut r = quick_xml::NsReader::from_reader(bytes);
    let mut n = 0;
    loop {
        match r.read_resolved_event().unwrap() {
            (_, Event::Eof) => break,
            (ns, Event::Start(e)) | (ns, Event::Empty(e)) => {
                black_box(ns);
                for a in e.attributes() {
                    let a = a.unwrap();
                    black_box(r.resolver().resolve_attribute(a.key));
                    black_box(a.normalized_value(XmlVersion::Implicit1_0).unwrap());
                }
                n += 1;
            }
            (_, Event::Text(t)) => {
                black_box(t.xml_content(XmlVersion::Implicit1_0));
                n += 1;
            }
            (_, Event::GeneralRef(r)) => {
                black_box(r.resolve_char_ref().unwrap());
                n += 1;
            }
            (_, e) => {
                black_box(e);
                n += 1;
            }
        }
    }
    n
}

/// roxmltree's tree of the whole stream as one document; the number of nodes.
fn roxmltree_tree(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    roxmltree::Document::parse(text).unwrap().descendants().count()
}

/// minidom's tree of the whole stream as one element; the number of stanzas.
fn minidom_tree(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    let root: minidom::Element = text.parse().unwrap();
    root.children().count()
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
