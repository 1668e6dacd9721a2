//! Running the checker over a scenario and reporting each property's verdict, with
//! a counterexample as a stanza transcript.

use crate::scenario::Scenario;
use crate::{model, Model, Msg, MucActor};
use server::ns;
use stateright::actor::{ActorModelAction, ActorModelState};
use stateright::{Checker, Expectation, Model as _, Path};

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub threads: usize,
    pub dfs: bool,
    /// Stop after this many states (unset: explore everything).
    pub max_states: Option<usize>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 2,
            dfs: false,
            max_states: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub name: &'static str,
    pub expectation: Expectation,
    /// For `always`: no counterexample. For `sometimes`: an example was found.
    pub holds: bool,
    /// The path that breaks an `always` property, as a transcript.
    pub counterexample: Option<String>,
}

/// Starts checking `scenario` in the background.
pub fn spawn(scenario: &Scenario, opts: &CheckOptions) -> Box<dyn Checker<Model> + Send + Sync> {
    let mut b = model(scenario).checker().threads(opts.threads.max(1));
    if let Some(n) = opts.max_states {
        b = b.target_state_count(n);
    }
    if opts.dfs {
        Box::new(b.spawn_dfs())
    } else {
        Box::new(b.spawn_bfs())
    }
}

/// The verdict of every property, once the checker is done.
pub fn verdicts(checker: &dyn Checker<Model>) -> Vec<Verdict> {
    let m = checker.model();
    m.properties()
        .into_iter()
        .map(|p| {
            let found = checker.discovery(p.name);
            let (holds, counterexample) = match p.expectation {
                Expectation::Sometimes => (found.is_some(), None),
                _ => {
                    let cx = found.map(|path| transcript(m, path));
                    (cx.is_none(), cx)
                }
            };
            Verdict {
                name: p.name,
                expectation: p.expectation,
                holds,
                counterexample,
            }
        })
        .collect()
}

fn label(m: &Model, id: usize) -> String {
    match m.actors.get(id) {
        Some(MucActor::Client { spec, .. }) => spec.jid.to_string(),
        _ => "conference.localhost".to_string(),
    }
}

/// The path as who sent what and who received what, one line per step.
pub fn transcript(
    m: &Model,
    path: Path<ActorModelState<MucActor>, ActorModelAction<Msg, (), usize>>,
) -> String {
    let mut out = String::new();
    for (step, action) in path.into_actions().into_iter().enumerate() {
        let line = match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let (src, dst) = (usize::from(src), usize::from(dst));
                match msg {
                    Msg::Stanza(el) if dst == 0 => {
                        format!("{} sends: {}", label(m, src), el.to_xml_in(ns::CLIENT))
                    }
                    Msg::Stanza(el) => format!("{} receives: {}", label(m, dst), el.to_xml_in(ns::CLIENT)),
                    Msg::Disconnect => format!("{} disconnects", label(m, src)),
                }
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                let id = usize::from(actor);
                let op = match m.actors.get(id) {
                    Some(MucActor::Client { spec, .. }) => format!("{:?}", spec.ops[random]),
                    _ => format!("{random}"),
                };
                format!("{} decides to {op}", label(m, id))
            }
            other => format!("{other:?}"),
        };
        out.push_str(&format!("{:>4}. {line}\n", step + 1));
    }
    out
}

/// Checks `scenario` to the end (or the state budget) and returns the finished checker.
pub fn run(scenario: &Scenario, opts: &CheckOptions) -> Box<dyn Checker<Model> + Send + Sync> {
    let checker = spawn(scenario, opts);
    while !checker.is_done() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    checker
}
