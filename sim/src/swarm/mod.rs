//! Swarm simulation: many clients, many rooms, long histories and faults, every run
//! reproducible from one seed (FoundationDB-style). Each seed draws a plan — which
//! kinds of operation are enabled (swarm testing, Groce et al.), the link latency and
//! jitter, and a list of steps — and the plan runs in a [`World`]. On failure the plan
//! is shrunk by delta debugging to a minimal failing list of steps.
//!
//! - [`ops`]: operations and the stanzas they are (shared with the fuzzers);
//! - [`driver`]: applying operations and checking what the clients see;
//! - [`judge`]: the oracle's judge of every request, as the service receives it;
//! - [`plan`]: seed → plan;
//! - [`shrink`]: delta debugging;
//! - [`campaign`]: many seeds in parallel, the smallest failing one shrunk, written
//!   as a `.scs` script and replayed, as a typed [`campaign::Report`].

pub mod campaign;
pub mod driver;
pub mod judge;
pub mod ops;
pub mod plan;
pub mod shrink;

use crate::world::{World, WorldConfig};
use driver::Driver;
use ops::{Cast, Kind, Op};
use server::xml::Element;
use std::collections::BTreeMap;

/// The shape of the worlds a swarm run explores.
#[derive(Clone, Debug)]
pub struct SwarmConfig {
    pub clients: usize,
    pub rooms: usize,
    pub steps: usize,
    /// The service's configuration (e.g. a mutant).
    pub service: server::ServiceConfig,
}

impl SwarmConfig {
    pub fn new(clients: usize, rooms: usize, steps: usize) -> SwarmConfig {
        SwarmConfig {
            clients,
            rooms,
            steps,
            service: WorldConfig::new(0).service,
        }
    }
}

/// One step of a plan.
#[derive(arbitrary::Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Op(Op),
    /// Let virtual time pass (deliveries happen).
    Wait(u16),
    /// Run until nothing is in flight, then check the clients' views.
    Quiesce,
    /// The service crashes and restarts from its disk at once.
    Crash,
}

/// Everything a seed decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub seed: u64,
    pub kinds: Vec<Kind>,
    pub latency_ms: (u64, u64),
    pub steps: Vec<Step>,
}

/// The swarm's checks: which one a failing run tripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// The swarm could not be set up: the cast does not fit, or a client could not
    /// connect (a harness problem, not the service's).
    Setup,
    /// RFC 6120 §8.2.3: an iq get/set was answered more than once.
    IqAnsweredTwice,
    /// RFC 6120 §8.2.3: at quiescence, an iq of a connected client has no answer.
    IqNeverAnswered,
    /// XEP-0045 §7.14: a client was sent its own unavailable presence (110) for a room
    /// it was not in.
    RemovedWhileAbsent,
    /// XEP-0045 §9.1.2, §9.2, §10.9: a client was removed from a room (its own
    /// unavailable presence, 110) without a removal status code or `<destroy/>`, and
    /// without having asked to leave.
    RemovedWithoutCause,
    /// XEP-0045 §7.2.3: at quiescence, a client's view of a room it is in (nick →
    /// affiliation, role) differs from the room's occupants.
    ViewDiffers,
    /// The service broke one of its own invariants (`server::invariants`), checked
    /// by the world after every input.
    Invariant(server::Invariant),
    /// Durable before told: a change to a kept room the service had told of did not
    /// survive a crash (or the service could not restart from its disk).
    DurableBeforeTold,
    /// One of the oracle judge's properties (`oracle::judge::Property`, the same the
    /// model checks): judged on every request against the room as the service
    /// received it ([`judge`]).
    Judged(oracle::judge::Property),
    /// XEP-0045 fixes the order of some replies (§8.2: the kicked occupant, then the
    /// answer, then the others; `oracle::order`): one reply broke it. Read from the
    /// whole reply, which no one client sees.
    ReplyOrder,
}

impl Check {
    /// The property the check holds, as a sentence (a counterexample script's
    /// closing comment names it).
    pub fn property(self) -> String {
        match self {
            Check::Setup => "the swarm can be set up".into(),
            Check::IqAnsweredTwice => "every iq is answered at most once (RFC 6120 §8.2.3)".into(),
            Check::IqNeverAnswered => "every iq get/set is answered (RFC 6120 §8.2.3)".into(),
            Check::RemovedWhileAbsent => {
                "a client is told it left a room only while it is in it (XEP-0045 §7.14)".into()
            }
            Check::RemovedWithoutCause => {
                "a client is removed with a status code saying why, unless it left (XEP-0045 §9.1.2, §9.2, §10.9)"
                    .into()
            }
            Check::ViewDiffers => {
                "at quiescence each client in a room sees the room's occupant list (XEP-0045 §7.2.3)".into()
            }
            Check::Invariant(i) => i.sentence().to_string(),
            Check::DurableBeforeTold => "a change the service told of survives a crash".into(),
            Check::Judged(p) => p.sentence().to_string(),
            Check::ReplyOrder => "where XEP-0045 fixes the order of a reply, the service keeps it".into(),
        }
    }
}

/// What a tripped check requires where it tripped: the one thing a counterexample
/// script expects of the service (issue 20: the script judges the code, it does not
/// echo it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requires {
    /// The service keeps its own invariant: the script runner checks it after every
    /// action, so the script needs no expectation.
    Invariant,
    /// A client must receive a stanza ([`Expectation`]).
    Receives(Box<Expectation>),
    /// No stanza can state it (the check reads an absence, a whole history or a
    /// crash); says what it requires, in words.
    Unstated(&'static str),
}

/// A stanza a client must receive where a check tripped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The violating input: the stanza with id `request.1` sent by `request.0` (a
    /// connection's label; the swarm's are full JIDs). The expectation is matched
    /// from its arrival on.
    pub request: (String, String),
    /// Who must receive it (a label).
    pub client: String,
    /// What it must receive, matched by scansion's rules.
    pub stanza: Element,
    /// A stanza `client` sends first, after everything else, whose answer is the
    /// expectation (a lifted outcast's join, [`judge::probe_join`]).
    pub probe: Option<Element>,
}

/// A check that tripped, with the sentence saying how (the one `mucsim sim` prints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tripped {
    pub check: Check,
    /// What happened, in words: who saw what.
    pub what: String,
    /// What the check requires there, for the counterexample script.
    pub requires: Requires,
}

impl Tripped {
    /// `check` tripped; `what` says how. What it requires is the invariant for an
    /// invariant, unstated otherwise until [`Tripped::requiring`] says.
    pub fn new(check: Check, what: impl Into<String>) -> Tripped {
        let requires = match check {
            Check::Invariant(_) => Requires::Invariant,
            Check::DurableBeforeTold => Requires::Unstated("a crash, which a script cannot cause"),
            Check::IqAnsweredTwice => {
                Requires::Unstated("that an answer does not come a second time, which no expectation states")
            }
            Check::RemovedWhileAbsent | Check::RemovedWithoutCause => Requires::Unstated(
                "that a removal without a cause does not come, which no expectation states",
            ),
            Check::ViewDiffers => Requires::Unstated(
                "that the presences a client received add up to the room, over the whole run",
            ),
            Check::Judged(_) => {
                Requires::Unstated("that the request be judged otherwise, which no stanza states")
            }
            Check::ReplyOrder => Requires::Unstated(
                "an order across the recipients of one reply, which no client's own stanzas show",
            ),
            Check::Setup | Check::IqNeverAnswered => Requires::Unstated("nothing of the service"),
        };
        Tripped {
            check,
            what: what.into(),
            requires,
        }
    }

    /// The same, requiring `r`.
    pub fn requiring(self, r: Requires) -> Tripped {
        Tripped { requires: r, ..self }
    }
}

impl std::fmt::Display for Tripped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Tripped {}

/// How a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Index of the step after which the failure showed (the plan's length when it
    /// showed at the final quiescence).
    pub step: usize,
    /// Which check tripped.
    pub check: Check,
    /// What happened, in words.
    pub what: String,
    /// What the check requires there, for the counterexample script.
    pub requires: Requires,
}

/// Counters for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub steps: u64,
    /// Stanzas the simulated network carried after the setup: sent by clients
    /// plus delivered to them (a groupchat message to 8 occupants counts 9).
    pub stanzas: u64,
    /// Of `stanzas`, those the clients sent.
    pub sent: u64,
    /// Inputs the service handled after the setup (`World::stats().service_inputs`:
    /// every stanza routed to it, and every one its stream parser refused).
    pub inputs: u64,
    pub faults: u64,
    /// Service crashes (each followed by a restart from the disk).
    pub crashes: u64,
    pub ops: BTreeMap<&'static str, u64>,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.stanzas += o.stanzas;
        self.sent += o.sent;
        self.inputs += o.inputs;
        self.faults += o.faults;
        self.crashes += o.crashes;
        for (k, v) in &o.ops {
            *self.ops.entry(k).or_default() += v;
        }
    }
}

pub struct RunResult {
    pub failure: Option<Failure>,
    pub stats: Stats,
    pub world: World,
}

/// The world a plan runs in.
pub fn world_for(cfg: &SwarmConfig, plan: &Plan, record: bool) -> World {
    let mut wc = WorldConfig::new(plan.seed);
    wc.latency_ms = plan.latency_ms;
    wc.service = server::ServiceConfig {
        occupant_id_key: server::OccupantIdKey::Seeded(plan.seed),
        ..cfg.service.clone()
    };
    wc.record_transcript = record;
    World::new(wc)
}

/// Romeo (clients 0 and 1) creates every room and accepts the default configuration.
fn setup(cfg: &SwarmConfig) -> Vec<Op> {
    let mut ops = Vec::new();
    for r in 0..cfg.rooms as u8 {
        ops.push(Op::Join {
            client: 0,
            room: r,
            nick: 0,
            password: false,
        });
        ops.push(Op::Configure {
            client: 0,
            room: r,
            form: ops::ConfigForm {
                members_only: None,
                moderated: None,
                password: None,
                persistent: None,
                public_jids: None,
                change_subject: None,
                allow_invites: None,
                max_users: None,
                junk: None,
                cancel: false,
            },
        });
    }
    ops
}

/// Runs `plan` (with `steps` instead of the plan's own, when shrinking).
pub fn execute(cfg: &SwarmConfig, plan: &Plan, steps: &[Step], record: bool) -> RunResult {
    let mut world = world_for(cfg, plan, record);
    let mut stats = Stats::default();
    let cast = match Cast::new(cfg.clients, cfg.rooms) {
        Ok(c) => c,
        Err(what) => return failed(world, stats, 0, Tripped::new(Check::Setup, what)),
    };
    let mut driver = match Driver::new(cast, &mut world) {
        Ok(d) => d,
        Err(what) => return failed(world, stats, 0, what),
    };
    for op in setup(cfg) {
        driver.apply(&mut world, &op);
        world.run_until_quiet();
    }
    if let Err(what) = driver.absorb(&mut world) {
        return failed(world, stats, 0, what);
    }
    let base = world.stats();
    for (i, step) in steps.iter().enumerate() {
        let mut quiesce = false;
        match step {
            Step::Op(op) => {
                driver.apply(&mut world, op);
                let k = op.kind();
                *stats.ops.entry(k.name()).or_default() += 1;
                if k.is_fault() {
                    stats.faults += 1;
                }
                // One event happens per operation, so operations overlap in flight.
                world.step();
            }
            Step::Wait(ms) => world.advance_to(server::Millis(world.now().0 + u64::from(*ms))),
            Step::Quiesce => {
                world.run_until_quiet();
                quiesce = true;
            }
            Step::Crash => {
                stats.crashes += 1;
                stats.faults += 1;
                if let Err(what) = driver.crash(&mut world) {
                    count(&mut stats, &world, &base);
                    return failed(world, stats, i, what);
                }
            }
        }
        stats.steps += 1;
        if let Err(what) = driver.check(&mut world, quiesce) {
            count(&mut stats, &world, &base);
            return failed(world, stats, i, what);
        }
    }
    world.run_until_quiet();
    let end = driver.check(&mut world, true);
    count(&mut stats, &world, &base);
    match end {
        Ok(()) => RunResult {
            failure: None,
            stats,
            world,
        },
        Err(what) => failed(world, stats, steps.len(), what),
    }
}

/// The traffic since `base` into `stats`: stanzas the simulated network carried
/// (sent by clients and delivered to them), of which sent, and the service's inputs.
fn count(stats: &mut Stats, world: &World, base: &crate::world::Stats) {
    let s = world.stats();
    stats.sent = s.sent - base.sent;
    stats.stanzas = stats.sent + (s.delivered - base.delivered);
    stats.inputs = s.service_inputs - base.service_inputs;
}

fn failed(world: World, stats: Stats, step: usize, t: Tripped) -> RunResult {
    RunResult {
        failure: Some(Failure {
            step,
            check: t.check,
            what: t.what,
            requires: t.requires,
        }),
        stats,
        world,
    }
}

/// Which of `0..count` seeds in `a..b` shard `i` of `n` runs: seed `s` belongs to
/// shard `s mod n`, so any machine can tell which shard ran a seed.
pub fn shard(range: std::ops::Range<u64>, i: u64, n: u64) -> impl Iterator<Item = u64> {
    range.filter(move |s| n > 0 && s % n == i)
}

/// The steps as a scansion script that judges the service (issue 20). The steps run
/// concurrently (as in the failing run) against the configured service — the one
/// under test, which may be buggy; no other service is consulted — recording the
/// order in which stanzas reached it; that order is played one stanza at a time
/// against the same service, and written with [`crate::scansion::to_judging_scs`]:
/// every send as an action, what the service answered only as comments, and at
/// the end what the check that tripped requires ([`Requires`]). So the script fails
/// on the bug and passes once it is fixed, whether the bug is a `--mutant` or in
/// the code. A run that passes when re-run gets a script that expects nothing.
pub fn scs(cfg: &SwarmConfig, plan: &Plan, steps: &[Step], title: &str) -> String {
    let run = execute(cfg, plan, steps, true);
    let arrivals = run.world.arrivals().to_vec();
    let mut world = world_for(cfg, plan, true);
    let mut conns: BTreeMap<String, crate::world::ConnId> = BTreeMap::new();
    for a in arrivals {
        match a {
            crate::world::Arrival::Connect(label, jid) => {
                if let Ok(c) = world.connect(&label, &jid, None) {
                    conns.insert(label, c);
                }
            }
            crate::world::Arrival::Stanza(label, el) => {
                if let Some(c) = conns.get(&label) {
                    let _ = world.send(*c, el);
                }
            }
            crate::world::Arrival::Close(label) => {
                if let Some(c) = conns.get(&label) {
                    let _ = world.disconnect(*c);
                }
            }
        }
        world.run_until_quiet();
    }
    let transcript = world.transcript();
    let judgement = match &run.failure {
        None => crate::scansion::Judgement {
            property: "(none: the steps pass when re-run)".into(),
            requires: "nothing".into(),
            at: transcript.len(),
            expect: Vec::new(),
            probes: Vec::new(),
        },
        Some(f) => {
            let property = f.check.property();
            match &f.requires {
                Requires::Invariant => crate::scansion::Judgement {
                    property,
                    requires: "the script runner checks the service's invariants after every action".into(),
                    at: transcript.len(),
                    expect: Vec::new(),
                    probes: Vec::new(),
                },
                Requires::Unstated(why) => crate::scansion::Judgement {
                    property,
                    requires: format!("{why}; this script states no expectation"),
                    at: transcript.len(),
                    expect: Vec::new(),
                    probes: Vec::new(),
                },
                Requires::Receives(e) => {
                    let Expectation {
                        request: (from, id),
                        client,
                        stanza,
                        probe,
                    } = &**e;
                    let at = transcript
                        .entries()
                        .iter()
                        .position(|e| {
                            &e.client == from
                                && matches!(&e.event, crate::transcript::Event::Send(el) if el.attr("id") == Some(id))
                        })
                        .unwrap_or(transcript.len());
                    crate::scansion::Judgement {
                        property,
                        requires: format!("after {from}'s stanza {id}, {client} receives the stanza below"),
                        at,
                        expect: vec![(client.clone(), stanza.clone())],
                        probes: probe.iter().map(|p| (client.clone(), p.clone())).collect(),
                    }
                }
            }
        }
    };
    crate::scansion::to_judging_scs(title, transcript, &judgement)
}
