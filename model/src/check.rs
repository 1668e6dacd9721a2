//! Running the checker over a scenario and reporting each property's verdict, with a
//! counterexample as a stanza transcript and a `.scs` script.

use crate::replay::{replay, requirement, scs};
use crate::scenario::Scenario;
use crate::{model, Model};
use stateright::{Checker, Expectation, HasDiscoveries, Model as _};

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub threads: usize,
    /// Depth-first (the default: it keeps only the path, so memory stays flat) or
    /// breadth-first (shortest counterexamples; keeps every frontier state).
    pub dfs: bool,
    /// Symmetry reduction over alike clients (stateright applies it depth-first only).
    pub symmetry: bool,
    /// Stop after this many states (unset: explore everything).
    pub max_states: Option<usize>,
    /// Stop as soon as any of these properties has a discovery (empty: explore
    /// until every property has one or the space is exhausted).
    pub stop_at: Vec<&'static str>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 2,
            dfs: true,
            symmetry: true,
            max_states: None,
            stop_at: Vec::new(),
        }
    }
}

/// A violated `always` property's path, for people and for `mucsim run`.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// Who sent and received what, step by step, with full stanzas.
    pub transcript: String,
    /// A scansion script replaying the interleaving and expecting what the violated
    /// property requires (see [`crate::replay::scs`]).
    pub scs: Result<String, String>,
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub name: &'static str,
    pub expectation: Expectation,
    /// For `always`: no counterexample. For `sometimes`: an example was found.
    pub holds: bool,
    /// False when the scenario cannot exercise the property, so that it holds
    /// vacuously: the durability properties in a scenario without crashes.
    pub exercised: bool,
    pub counterexample: Option<Counterexample>,
}

/// The properties that only judge paths with a service crash.
const NEED_CRASHES: [&str; 2] = [
    crate::properties::DURABLE_AFFILIATIONS,
    crate::properties::DURABLE_CONFIG,
];

/// Whether `scenario` can exercise the property `name` at all: the crash properties
/// need crashes, the `sometimes` about revocations need a revocation (an affiliation
/// set to none) and the one about late joins needs members-only and a join. A
/// property a scenario cannot exercise is reported as such, never as holding or as
/// NOT REACHED.
fn exercised(scenario: &Scenario, name: &str) -> bool {
    use crate::ops::Op;
    let has = |f: &dyn Fn(&Op) -> bool| scenario.clients.iter().flat_map(|c| &c.ops).any(|o| f(&o.op));
    // A revocation: an affiliation set to none for a user who is made a member
    // (by an operation or in the setup).
    let member = |t: usize| {
        let bare = scenario.clients.get(t).map(|c| c.jid.to_bare().to_string());
        has(&|o| matches!(o, Op::Affiliate { target, affiliation: "member" } if *target == t))
            || scenario
                .setup_affiliations
                .iter()
                .any(|(j, a)| *a == "member" && Some(j) == bare.as_ref())
    };
    let revokes = || {
        has(&|o| {
            matches!(
                o,
                Op::Affiliate {
                    affiliation: "none",
                    target,
                } if member(*target)
            )
        })
    };
    match name {
        // A tombstone needs a destroy as well as a crash.
        crate::properties::DURABLE_TOMBSTONES => scenario.crashes > 0 && has(&|o| matches!(o, Op::Destroy)),
        _ if NEED_CRASHES.contains(&name) => scenario.crashes > 0,
        crate::properties::SOMETIMES_CRASH_KEEPS_ROOM => scenario.crashes > 0,
        crate::properties::SOMETIMES_REVOKED_PRESENT | crate::properties::SOMETIMES_TWO_SESSIONS_REVOKED => {
            revokes()
        }
        crate::properties::SOMETIMES_JOIN_AFTER_MEMBERS_ONLY => {
            has(&|o| matches!(o, Op::MembersOnly(true)))
                && has(&|o| matches!(o, Op::Join | Op::JoinWithPassword))
        }
        // The order rules the service keeps speak of kicks, bans and destroys
        // (`oracle::order::RULES`); the model's other requests have none.
        crate::properties::REPLY_ORDER => has(&|o| {
            matches!(
                o,
                Op::Kick { .. }
                    | Op::Destroy
                    | Op::Affiliate {
                        affiliation: "outcast",
                        ..
                    }
            )
        }),
        _ => true,
    }
}

/// Why a property is not exercised by a scenario (see [`Verdict::exercised`]), in
/// words for the report.
pub fn why_not_exercised(name: &str) -> &'static str {
    match name {
        crate::properties::SOMETIMES_REVOKED_PRESENT | crate::properties::SOMETIMES_TWO_SESSIONS_REVOKED => {
            "the scenario revokes no membership"
        }
        crate::properties::SOMETIMES_JOIN_AFTER_MEMBERS_ONLY => {
            "the scenario has no join after a switch to members-only"
        }
        crate::properties::DURABLE_TOMBSTONES => "the scenario has no service crash after a destroy",
        crate::properties::REPLY_ORDER => "the scenario neither kicks, bans nor destroys",
        _ => "the scenario has no service crash",
    }
}

/// Whether a finished checker stopped at `opts.max_states` rather than exhausting the
/// state space: then a property without a discovery is unknown, not proved.
/// (stateright stops once its generated-state count reaches the target; a space of
/// exactly that size counts as incomplete, erring on the side of saying less.)
pub fn stopped_early(checker: &dyn Checker<Model>, opts: &CheckOptions) -> bool {
    opts.max_states.is_some_and(|n| checker.state_count() >= n)
}

pub type DynChecker = Box<dyn Checker<Model> + Send + Sync>;

/// Starts checking `scenario` in the background.
pub fn spawn(scenario: &Scenario, opts: &CheckOptions) -> Result<DynChecker, String> {
    let mut b = model(scenario)?.checker().threads(opts.threads.max(1));
    if let Some(n) = opts.max_states {
        b = b.target_state_count(n);
    }
    if !opts.stop_at.is_empty() {
        b = b.finish_when(HasDiscoveries::AnyOf(opts.stop_at.iter().copied().collect()));
    }
    if opts.symmetry && opts.dfs {
        b = b.symmetry_fn(crate::symmetry::representative);
    }
    Ok(if opts.dfs {
        Box::new(b.spawn_dfs())
    } else {
        Box::new(b.spawn_bfs())
    })
}

/// The verdict of every property, once the checker is done. A counterexample's
/// script is titled with the property and the scenario.
pub fn verdicts(checker: &dyn Checker<Model>, scenario: &Scenario) -> Vec<Verdict> {
    let m = checker.model();
    // The cast the checked model was built from (not a second one from the scenario).
    let cast = crate::replay::cast_of(m);
    m.properties()
        .into_iter()
        .map(|p| {
            let found = checker.discovery(p.name);
            let (holds, counterexample) = match p.expectation {
                Expectation::Sometimes => (found.is_some(), None),
                _ => {
                    let cx = found.map(|path| {
                        let (transcript, arrivals) = replay(m, path);
                        let title =
                            format!("{} (scenario: {}), found by mucsim check", p.name, scenario.name);
                        // The script is written from the checked service alone (it may
                        // be the bug) and expects what the property requires.
                        let requires = requirement(p.name);
                        let scs = scs(cast, &arrivals, &title, cast.cfg.clone(), p.name, &requires);
                        Counterexample { transcript, scs }
                    });
                    (cx.is_none(), cx)
                }
            };
            Verdict {
                name: p.name,
                expectation: p.expectation,
                holds,
                exercised: exercised(scenario, p.name),
                counterexample,
            }
        })
        .collect()
}

/// Checks `scenario` to the end (or the state budget) and returns the finished checker.
pub fn run(scenario: &Scenario, opts: &CheckOptions) -> Result<DynChecker, String> {
    let checker = spawn(scenario, opts)?;
    while !checker.is_done() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(checker)
}
