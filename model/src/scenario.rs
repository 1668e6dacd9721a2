//! Scenarios (who is in the world and what each may do) and the properties checked
//! over them.

use crate::client::ClientState;
use crate::ops::{Op, ROOM};
use crate::{room_view, ClientSpec, Model, MucActor, State};
use server::jids::FullJid;
use server::ns;
use server::xml::Element;
use server::{Invariant, ServiceConfig};
use stateright::actor::ActorModelState;
use stateright::Expectation;

/// A world to check: client 0 is the owner, who has created and configured the room
/// before the checker starts; the others are users (several clients may share a
/// user, as sessions).
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub clients: Vec<ClientSpec>,
    #[cfg(feature = "mutants")]
    pub mutant: Option<server::Mutant>,
}

fn full(s: &str) -> FullJid {
    FullJid::new(s).expect("valid full JID")
}

impl Scenario {
    /// The default (first version): an owner who switches members-only on, grants
    /// Juliet membership and revokes it; Juliet with two sessions (phone, laptop)
    /// that each join.
    pub fn default_check() -> Scenario {
        let aff = |target, affiliation| Op::Affiliate { target, affiliation };
        Scenario {
            name: "members-only revocation".into(),
            clients: vec![
                ClientSpec {
                    jid: full("romeo@localhost/pda"),
                    nick: "Romeo".into(),
                    ops: vec![Op::MembersOnly(true), aff(1, "member"), aff(1, "none")],
                },
                ClientSpec {
                    jid: full("juliet@localhost/phone"),
                    nick: "Juliet".into(),
                    ops: vec![Op::Join],
                },
                ClientSpec {
                    jid: full("juliet@localhost/laptop"),
                    nick: "Juliet".into(),
                    ops: vec![Op::Join],
                },
            ],
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    pub fn service_config(&self) -> ServiceConfig {
        let mut cfg = ServiceConfig::new("conference.localhost", 0);
        // The checker reports violations as properties instead of panicking.
        cfg.assert_invariants = false;
        #[cfg(feature = "mutants")]
        {
            cfg.mutant = self.mutant;
        }
        cfg
    }

    pub fn actors(&self) -> Vec<MucActor> {
        let owner = &self.clients[0];
        let setup = vec![
            (
                owner.jid.clone(),
                Element::new("presence", ns::CLIENT)
                    .with_attr("to", format!("{ROOM}/{}", owner.nick))
                    .with_child(Element::new("x", ns::MUC)),
            ),
            (
                owner.jid.clone(),
                Element::new("iq", ns::CLIENT)
                    .with_attr("to", ROOM)
                    .with_attr("type", "set")
                    .with_attr("id", "setup")
                    .with_child(
                        Element::new("query", ns::MUC_OWNER)
                            .with_child(Element::new("x", ns::DATA).with_attr("type", "submit")),
                    ),
            ),
        ];
        let targets: Vec<(String, String)> = self
            .clients
            .iter()
            .map(|c| (c.jid.to_bare().to_string(), c.nick.clone()))
            .collect();
        let mut actors = vec![MucActor::Server {
            cfg: self.service_config(),
            setup,
            clients: self.clients.iter().map(|c| c.jid.clone()).collect(),
        }];
        for (i, spec) in self.clients.iter().enumerate() {
            actors.push(MucActor::Client {
                spec: spec.clone(),
                starts_in_room: i == 0,
                targets: targets.clone(),
            });
        }
        actors
    }
}

type S = ActorModelState<MucActor, ()>;

fn service(s: &S) -> &server::MucService {
    match &*s.actor_states[0] {
        State::Server(svc) => svc,
        State::Client(_) => unreachable!("actor 0 is the server"),
    }
}

fn clients(s: &S) -> impl Iterator<Item = &ClientState> {
    s.actor_states[1..].iter().filter_map(|a| match &**a {
        State::Client(c) => Some(c),
        State::Server(_) => None,
    })
}

fn quiescent(s: &S) -> bool {
    s.network.len() == 0
}

/// The sentence naming the `always` property for a service invariant.
pub fn invariant_property(inv: Invariant) -> String {
    format!("always: {}", inv.sentence())
}

pub const IQ_ONCE: &str = "always: every iq is answered at most once, and by quiescence exactly once";
pub const REMOVAL_TOLD_ONCE: &str =
    "always: a client removed from the room is told once, with 110 and a cause (301/307/321/322/333) unless it left";
pub const VIEWS_AGREE: &str = "always: at quiescence each client in the room sees the room's occupant list";
pub const SOMETIMES_REVOKED_PRESENT: &str = "sometimes: a member is revoked while present";
pub const SOMETIMES_JOIN_AFTER_MEMBERS_ONLY: &str =
    "sometimes: a join arrives after the room became members-only (registration-required)";
pub const SOMETIMES_TWO_SESSIONS_REVOKED: &str =
    "sometimes: both sessions of one user are removed when its membership is revoked";

fn invariant_holds<const I: usize>(_: &Model, s: &S) -> bool {
    let inv = Invariant::ALL[I];
    !service(s).violations().iter().any(|v| v.invariant == inv)
}

/// The bare JID of client actor `i` (actor `i + 1`).
fn user_of(m: &Model, i: usize) -> Option<String> {
    match m.actors.get(i + 1) {
        Some(MucActor::Client { spec, .. }) => Some(spec.jid.to_bare().to_string()),
        _ => None,
    }
}

pub fn properties(model: Model, _scenario: &Scenario) -> Model {
    const CHECKS: [fn(&Model, &S) -> bool; 8] = [
        invariant_holds::<0>,
        invariant_holds::<1>,
        invariant_holds::<2>,
        invariant_holds::<3>,
        invariant_holds::<4>,
        invariant_holds::<5>,
        invariant_holds::<6>,
        invariant_holds::<7>,
    ];
    let mut model = model;
    for (i, inv) in Invariant::ALL.iter().enumerate() {
        let name: &'static str = Box::leak(invariant_property(*inv).into_boxed_str());
        model = model.property(Expectation::Always, name, CHECKS[i]);
    }
    model
        .property(Expectation::Always, IQ_ONCE, |_, s| {
            let q = quiescent(s);
            clients(s).all(|c| c.iqs.values().all(|&n| n <= 1 && (!q || n == 1)))
        })
        .property(Expectation::Always, REMOVAL_TOLD_ONCE, |_, s| {
            clients(s).all(|c| c.bad_removal_notice.is_none())
        })
        .property(Expectation::Always, VIEWS_AGREE, |_, s| {
            if !quiescent(s) {
                return true;
            }
            let room = room_view(service(s));
            clients(s).all(|c| !c.connected || !c.in_room || c.view == room)
        })
        .property(Expectation::Sometimes, SOMETIMES_REVOKED_PRESENT, |_, s| {
            clients(s).any(|c| c.saw_revocation)
        })
        .property(
            Expectation::Sometimes,
            SOMETIMES_JOIN_AFTER_MEMBERS_ONLY,
            |_, s| clients(s).any(|c| c.saw_registration_required),
        )
        .property(Expectation::Sometimes, SOMETIMES_TWO_SESSIONS_REVOKED, |m, s| {
            let cs: Vec<&ClientState> = clients(s).collect();
            (0..cs.len()).any(|i| {
                (i + 1..cs.len())
                    .any(|j| cs[i].saw_revocation && cs[j].saw_revocation && user_of(m, i) == user_of(m, j))
            })
        })
}
