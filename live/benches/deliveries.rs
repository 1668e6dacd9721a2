//! Deliveries per second as `mucsim serve` makes them: the service handles a stanza
//! and every stanza of its outbox is serialized for the component stream (`to` set,
//! the namespace mapped) into the bytes the front end writes, i.e. the server's cost
//! per recipient. Beside each, the outbox-only figure (`*_outbox_only`): stanzas
//! pushed into the `Outbox`, no byte written.
//!
//! `cargo bench -p mucsim-live --bench deliveries`; one core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use live::ComponentSession;
use server::xml::Element;
use server::{Millis, MucService};
use std::hint::black_box;

const OCCUPANTS: usize = 100;

#[path = "../../server/benches/support/workload.rs"]
mod workload;
use workload::{bench_on_fresh_service, el, handle_all, jid, joins, service};

/// Handles each stanza and writes each stanza of its outbox into `buf` with
/// `write`; the number of deliveries (stanzas written) and of bytes.
fn handle_and_write(
    svc: &mut MucService,
    input: &[(jid::FullJid, Element)],
    buf: &mut String,
    mut write: impl FnMut(&mut String, &server::Outgoing),
) -> (usize, usize) {
    let (mut n, mut bytes) = (0, 0);
    for (from, stanza) in input {
        buf.clear();
        let out = svc.handle(Millis(0), from.clone(), stanza.clone());
        for o in out.iter() {
            write(buf, o);
        }
        n += out.len();
        bytes += buf.len();
    }
    (n, bytes)
}

/// Handles each stanza and writes its outbox as `mucsim serve` does.
fn serve_all(
    svc: &mut MucService,
    session: &mut ComponentSession,
    input: &[(jid::FullJid, Element)],
    buf: &mut String,
) -> (usize, usize) {
    handle_and_write(svc, input, buf, |buf, o| session.encode_into(buf, o))
}

/// The same bytes as `serve_all`, written as `mucsim serve` did before it
/// serialized bodies in place: each stanza copied, `to` set, its namespace renamed.
fn serve_all_by_copy(
    svc: &mut MucService,
    input: &[(jid::FullJid, Element)],
    buf: &mut String,
) -> (usize, usize) {
    handle_and_write(svc, input, buf, |buf, o| {
        let mut e = o.element();
        live::wire::map_ns(&mut e, server::ns::CLIENT, live::wire::NS_COMPONENT);
        buf.push_str(&e.to_xml_in(live::wire::NS_COMPONENT));
    })
}

fn session() -> ComponentSession {
    ComponentSession::new("conference.localhost", "secret")
}

fn join_storm(c: &mut Criterion) {
    let js = joins(OCCUPANTS);
    let (delivered, bytes) = serve_all(&mut service(), &mut session(), &js, &mut String::new());
    println!(
        "deliveries/join_storm: {OCCUPANTS} joins, {delivered} deliveries, {bytes} bytes ({:.0} bytes per delivery)",
        bytes as f64 / delivered as f64
    );
    let mut g = c.benchmark_group("deliveries");
    g.throughput(Throughput::Elements(delivered as u64));
    g.sample_size(30);
    g.bench_with_input(
        BenchmarkId::new("join_storm_serialized", OCCUPANTS),
        &js,
        |b, js| {
            let mut buf = String::new();
            b.iter_batched(
                || (service(), session()),
                |(mut svc, mut s)| black_box(serve_all(&mut svc, &mut s, js, &mut buf)),
                criterion::BatchSize::LargeInput,
            )
        },
    );
    let mut buf = String::new();
    let by_copy = BenchmarkId::new("join_storm_serialized_by_copy", OCCUPANTS);
    bench_on_fresh_service(&mut g, by_copy, &js[..], |svc, js| {
        serve_all_by_copy(svc, js, &mut buf)
    });
    let outbox_only = BenchmarkId::new("join_storm_outbox_only", OCCUPANTS);
    bench_on_fresh_service(&mut g, outbox_only, &js[..], handle_all);
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut svc = service();
    let _ = handle_all(&mut svc, &joins(OCCUPANTS));
    let msg = [(
        jid("user0@localhost/res"),
        el("<message to='room@conference.localhost' type='groupchat' id='m'><body>Hello, everyone in the room!</body></message>"),
    )];
    let mut s = session();
    let mut buf = String::new();
    let (delivered, bytes) = serve_all(&mut svc, &mut s, &msg, &mut buf);
    assert_eq!(delivered, OCCUPANTS);
    let mut copied = String::new();
    let _ = serve_all_by_copy(&mut svc, &msg, &mut copied);
    assert_eq!(copied, buf, "both ways write the same bytes");
    println!(
        "deliveries/fan_out: {delivered} deliveries, {bytes} bytes ({:.0} bytes per delivery)",
        bytes as f64 / delivered as f64
    );
    let mut g = c.benchmark_group("deliveries");
    g.throughput(Throughput::Elements(delivered as u64));
    g.bench_function(BenchmarkId::new("groupchat_serialized", OCCUPANTS), |b| {
        b.iter(|| black_box(serve_all(&mut svc, &mut s, &msg, &mut buf)))
    });
    g.bench_function(BenchmarkId::new("groupchat_serialized_by_copy", OCCUPANTS), |b| {
        b.iter(|| black_box(serve_all_by_copy(&mut svc, &msg, &mut buf)))
    });
    g.bench_function(BenchmarkId::new("groupchat_outbox_only", OCCUPANTS), |b| {
        b.iter(|| black_box(handle_all(&mut svc, &msg)))
    });
    g.finish();
}

criterion_group!(benches, join_storm, fan_out);
criterion_main!(benches);
