//! Acknowledged affiliation changes per second: the service answers a muc#admin set
//! on a persistent room, and its storage effects are applied before the answer would
//! be sent — to the SQLite store (durable: one synchronous commit per change) and to
//! the simulated disk.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use live::sqlite::SqliteStore;
use mucsim_sim::SimDisk;
use server::xml::{parse_stanza, Element, Limits};
use server::{Millis, MucService, ServiceConfig};
use std::hint::black_box;

const MUC: &str = "conference.localhost";
const OWNER: &str = "owner@localhost/desk";

fn stanza(xml: &str) -> Element {
    parse_stanza(xml.as_bytes(), server::ns::CLIENT, &Limits::default()).unwrap()
}

/// A service holding one persistent room with 100 members.
fn service() -> MucService {
    let mut svc = MucService::new(ServiceConfig::new(MUC, 1)).expect("valid configuration");
    let owner: jid::FullJid = OWNER.parse().unwrap();
    let _ = svc.handle(
        Millis(0),
        owner.clone(),
        stanza(&format!(
            "<presence to='r@{MUC}/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )),
    );
    let _ = svc.handle(
        Millis(0),
        owner.clone(),
        stanza(&format!(
            "<iq type='set' id='c' to='r@{MUC}'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>"
        )),
    );
    for i in 0..100 {
        let _ = svc.handle(Millis(0), owner.clone(), change(100 + i));
    }
    svc
}

/// Change `i`: the 100 members lose membership one by one, then get it back, and so on.
fn change(i: u64) -> Element {
    let aff = if (i / 100).is_multiple_of(2) {
        "none"
    } else {
        "member"
    };
    stanza(&format!(
        "<iq type='set' id='a{i}' to='r@{MUC}'><query xmlns='http://jabber.org/protocol/muc#admin'>\
         <item affiliation='{aff}' jid='user{}@localhost'/></query></iq>",
        i % 100
    ))
}

fn bench(c: &mut Criterion) {
    let owner: jid::FullJid = OWNER.parse().unwrap();
    let mut g = c.benchmark_group("acknowledged_affiliation_changes");
    g.throughput(Throughput::Elements(1));

    let mut svc = service();
    let mut disk = SimDisk::default();
    let mut i = 0u64;
    g.bench_function("simulated_disk", |b| {
        b.iter(|| {
            i += 1;
            let out = svc.handle(Millis(i), owner.clone(), change(i));
            disk.apply_all(out.store_ops());
            black_box(out.len())
        })
    });

    let dir = std::env::temp_dir().join(format!("mucsim-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rooms.sqlite");
    let _ = std::fs::remove_file(&path);
    let mut store = SqliteStore::open(&path).unwrap();
    let mut svc = service();
    let mut i = 0u64;
    g.sample_size(20);
    g.bench_function("sqlite_durable", |b| {
        b.iter(|| {
            i += 1;
            let out = svc.handle(Millis(i), owner.clone(), change(i));
            store.apply(out.store_ops()).unwrap();
            black_box(out.len())
        })
    });
    g.finish();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
