//! The `service_ops` target: an arbitrary world (clients, rooms, link latency) and an
//! arbitrary list of steps — operations by any client on any room (joins, leaves, nick
//! changes, config forms with junk, affiliation and role sets, messages, invites,
//! destroys, disconnects and reconnects, stop-reading faults, raw bytes, id-less iqs,
//! invalid JIDs, many-item sets), waits and quiescence points — run through the
//! simulator by the same driver as `mucsim sim`. It asserts what `mucsim sim` checks:
//! the service's invariants after every step; every iq answered exactly once; a
//! removed client told once with a cause; at quiescence, every client's view of every
//! room it is in equals the room.

use arbitrary::{Arbitrary, Unstructured};
use sim::swarm::{execute, Plan, Step, SwarmConfig};

#[derive(Arbitrary, Debug)]
struct Input {
    clients: u8,
    rooms: u8,
    latency: u8,
    jitter: u8,
    steps: Vec<Step>,
}

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    if input.steps.len() > 128 {
        return;
    }
    let cfg = SwarmConfig::new(
        1 + usize::from(input.clients % 8),
        1 + usize::from(input.rooms % 3),
        input.steps.len(),
    );
    let lo = 1 + u64::from(input.latency % 10);
    let plan = Plan {
        seed: 0,
        kinds: Vec::new(),
        latency_ms: (lo, lo + u64::from(input.jitter % 50)),
        steps: input.steps,
    };
    if let Some(f) = execute(&cfg, &plan, &plan.steps, false).failure {
        panic!("after step {}: {}\nsteps: {:#?}", f.step, f.what, plan.steps);
    }
}
