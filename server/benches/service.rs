//! Stanzas/s through `MucService::handle`: join storm, groupchat fan-out, affiliation churn.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use server::xml::Element;
use server::Millis;
use std::hint::black_box;

#[path = "support/workload.rs"]
mod workload;
use workload::{bench_on_fresh_service, el, handle_all, jid, joins, service};

fn join_storm(c: &mut Criterion) {
    let mut g = c.benchmark_group("join_storm");
    for n in [10usize, 100, 1000] {
        let js = joins(n);
        let delivered = handle_all(&mut service(), &js);
        g.throughput(Throughput::Elements(delivered as u64));
        g.sample_size(if n == 1000 { 10 } else { 30 });
        bench_on_fresh_service(&mut g, BenchmarkId::from_parameter(n), &js[..], handle_all);
    }
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut svc = service();
    let _ = handle_all(&mut svc, &joins(100));
    let from = jid("user0@localhost/res");
    let msg = el("<message to='room@conference.localhost' type='groupchat' id='m'><body>Hello, everyone in the room!</body></message>");
    let delivered = svc.handle(Millis(0), from.clone(), msg.clone()).len();
    assert_eq!(delivered, 100);
    let mut g = c.benchmark_group("fan_out");
    g.throughput(Throughput::Elements(delivered as u64));
    g.bench_function("groupchat_100_occupants", |b| {
        b.iter(|| black_box(svc.handle(Millis(0), from.clone(), msg.clone())))
    });
    g.finish();
}

fn affiliation_churn(c: &mut Criterion) {
    let mut svc = service();
    let owner = jid("user0@localhost/res");
    let _ = handle_all(&mut svc, &joins(10));
    let iqs: Vec<Element> = (0..100)
        .flat_map(|i| {
            ["member", "none"].map(|a| {
                el(&format!(
                    "<iq id='c{i}' type='set' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'>\
                     <item affiliation='{a}' jid='absent{i}@localhost'/></query></iq>"
                ))
            })
        })
        .collect();
    let mut g = c.benchmark_group("affiliation_churn");
    g.throughput(Throughput::Elements(iqs.len() as u64));
    g.bench_function("set_member_then_none_200_iqs", |b| {
        b.iter(|| {
            for iq in &iqs {
                black_box(svc.handle(Millis(0), owner.clone(), iq.clone()).len());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, join_storm, fan_out, affiliation_churn);
criterion_main!(benches);
