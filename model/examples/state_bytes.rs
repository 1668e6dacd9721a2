//! Heap bytes per explored state, by part: walks the BFS scenario of
//! `scripts/bench-compare.sh` (`--clients 3 --ops join,members-only,grant,revoke,
//! disconnect`) breadth-first without symmetry, and for each of the first N unique
//! states counts the bytes a clone of each part of the state allocates (requested
//! sizes, without the allocator's own overhead). Shows where BFS memory per state
//! goes; docs/performance.md quotes it.
//!
//! ```sh
//! cargo run --release -p mucsim-model --example state_bytes [N]   # N: 50000 unless given
//! ```
use mucsim_model::scenario::{OpKind, Scenario};
use mucsim_model::State;
use stateright::Model;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// The system allocator, counting every byte requested.
struct Counting;
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        BYTES.fetch_add(l.size(), Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static ALLOC: Counting = Counting;

/// The bytes a clone of `x` allocates.
fn bytes<T: Clone>(x: &T) -> usize {
    let before = BYTES.load(Relaxed);
    let copy = x.clone();
    let n = BYTES.load(Relaxed) - before;
    drop(copy);
    n
}

#[derive(Default)]
struct Totals {
    states: usize,
    shell: usize,
    network: usize,
    timers: usize,
    randoms: usize,
    server: usize,
    rooms: usize,
    /// Server states counted once per distinct `Arc` (states share unchanged ones).
    server_unshared: usize,
    servers: BTreeSet<usize>,
}

fn main() {
    let limit: usize = match std::env::args().nth(1) {
        None => 50_000,
        Some(a) => match a.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("state_bytes: N must be a number of states, not '{a}'");
                std::process::exit(2);
            }
        },
    };
    use OpKind::*;
    let scenario = Scenario::generate(3, 1, &[Join, MembersOnly, Grant, Revoke, Disconnect])
        .expect("the bench's BFS scenario is valid");
    let model = mucsim_model::model(&scenario).expect("a model of a valid scenario");
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<_> = model.init_states().into_iter().collect();
    let mut t = Totals::default();
    while let Some(s) = queue.pop_front() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        if !seen.insert(h.finish()) {
            continue;
        }
        if t.states == limit {
            break;
        }
        t.states += 1;
        t.shell += bytes(&s);
        t.network += bytes(&s.network);
        t.timers += bytes(&s.timers_set);
        t.randoms += bytes(&s.random_choices);
        let server = bytes(&*s.actor_states[0]);
        t.server += server;
        if t.servers.insert(Arc::as_ptr(&s.actor_states[0]) as usize) {
            t.server_unshared += server;
        }
        if let State::Server(st) = &*s.actor_states[0] {
            t.rooms += st.svc.rooms().map(bytes).sum::<usize>();
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        queue.extend(actions.into_iter().filter_map(|a| model.next_state(&s, a)));
    }
    let per = |x: usize| x as f64 / t.states.max(1) as f64;
    println!(
        "{} states, bytes per state: the state's own clone {:.0} (actors' states shared; \
         network {:.0}, timers {:.0}, random choices {:.0}); a server state {:.0} (rooms {:.0}); \
         server states unshared: {} ({:.0} per state)",
        t.states,
        per(t.shell),
        per(t.network),
        per(t.timers),
        per(t.randoms),
        per(t.server),
        per(t.rooms),
        t.servers.len(),
        per(t.server_unshared),
    );
}
