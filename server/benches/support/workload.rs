//! The workload the service benches share (`server/benches/service.rs`, and
//! `live/benches/deliveries.rs` through a `#[path]` module): an unlocked service and
//! a storm of joins to one room, and benching a workload on a fresh service. Not a
//! bench target itself (a subdirectory of
//! `benches/` is not discovered).
#![allow(dead_code)]

use criterion::measurement::Measurement;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId};
use server::xml::{parse_stanza, Element, Limits};
use server::{Millis, MucService, ServiceConfig};
use std::hint::black_box;

/// `xml` parsed as a client stanza; panics on a bench's own bad input.
pub fn el(xml: &str) -> Element {
    parse_stanza(xml.as_bytes(), "jabber:client", &Limits::default()).unwrap()
}

/// `s` as a full JID; panics on a bench's own bad input.
pub fn jid(s: &str) -> jid::FullJid {
    jid::FullJid::new(s).unwrap()
}

/// A service on `conference.localhost` whose new rooms are open at once and which
/// does not check its invariants after each stanza (measured separately).
pub fn service() -> MucService {
    let mut cfg = ServiceConfig::new("conference.localhost", 7);
    cfg.lock_new_rooms = false;
    cfg.assert_invariants = false;
    MucService::new(cfg).expect("valid configuration")
}

/// `n` users joining `room@conference.localhost`, each with its own nick.
pub fn joins(n: usize) -> Vec<(jid::FullJid, Element)> {
    (0..n)
        .map(|i| {
            (
                jid(&format!("user{i}@localhost/res")),
                el(&format!(
                    "<presence to='room@conference.localhost/nick{i}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
                )),
            )
        })
        .collect()
}

/// Handles each stanza of `input` in turn (at time 0); the number of deliveries
/// (stanzas in the outboxes).
pub fn handle_all(svc: &mut MucService, input: &[(jid::FullJid, Element)]) -> usize {
    input
        .iter()
        .map(|(from, stanza)| svc.handle(Millis(0), from.clone(), stanza.clone()).len())
        .sum()
}

/// Benches `run` over `input` as `id` in `g`, each batch on a fresh [`service`]
/// (made outside the timing).
pub fn bench_on_fresh_service<M: Measurement, T: ?Sized, R>(
    g: &mut BenchmarkGroup<'_, M>,
    id: BenchmarkId,
    input: &T,
    mut run: impl FnMut(&mut MucService, &T) -> R,
) {
    g.bench_with_input(id, input, |b, input| {
        b.iter_batched(
            service,
            |mut svc| black_box(run(&mut svc, input)),
            BatchSize::LargeInput,
        )
    });
}
