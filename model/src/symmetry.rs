//! Symmetry reduction: clients that differ only by resource (one user's sessions with
//! the same nick and operations) are interchangeable, so a state and the state with
//! two of them swapped behave alike. The representative orders each class of alike
//! clients by their state; the service's sessions are renamed to match, and the
//! network's channels move with their actors.
//!
//! Stateright 0.31 applies symmetry reduction in depth-first search only.

use crate::actor::{Msg, ServerState, State};
use crate::properties::{server, S};
use stateright::actor::{Id, Network};
use stateright::util::DenseNatMap;
use stateright::{Rewrite, RewritePlan};
use std::sync::Arc;

/// Messages name no actor, so a rewrite leaves them as they are.
impl Rewrite<Id> for Msg {
    fn rewrite<P>(&self, _: &RewritePlan<Id, P>) -> Self {
        self.clone()
    }
}

/// Client states name no actor; the server's sessions are renamed separately.
impl Rewrite<Id> for State {
    fn rewrite<P>(&self, _: &RewritePlan<Id, P>) -> Self {
        self.clone()
    }
}

fn client(s: &S, index: usize) -> Option<&crate::actor::ClientState> {
    match s.actor_states.get(index + 1).map(|a| &**a) {
        Some(State::Client(c)) => Some(c),
        _ => None,
    }
}

fn channel(s: &S, src: usize, dst: usize) -> Vec<&Msg> {
    match &s.network {
        Network::Ordered(map) => map
            .get(&(Id::from(src), Id::from(dst)))
            .map(|q| q.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// What a client is, for ordering alike clients: its state, then what is in flight
/// to and from it. Two clients with equal keys are indistinguishable, so the order
/// (and the representative) does not depend on how the state was reached.
fn key(s: &S, index: usize) -> impl Ord + '_ {
    (
        client(s, index),
        channel(s, 0, index + 1),
        channel(s, index + 1, 0),
    )
}

/// The representative of `s`'s class under swapping alike clients.
pub fn representative(s: &S) -> S {
    let server_state = server(s);
    let cast = server_state.cast.clone();
    // perm[old actor id] = new actor id.
    let mut perm: Vec<usize> = (0..s.actor_states.len()).collect();
    let mut moved = false;
    for class in &cast.symmetry_classes {
        let mut sorted = class.clone();
        sorted.sort_by_cached_key(|i| key(s, *i));
        for (slot, old) in class.iter().zip(&sorted) {
            perm[old + 1] = slot + 1;
            moved |= old != slot;
        }
    }
    if !moved {
        return s.clone();
    }
    let map: DenseNatMap<Id, Id> = perm.iter().map(|&p| Id::from(p)).collect::<Vec<Id>>().into();
    let plan = RewritePlan::new(map, |x: &Id, m: &DenseNatMap<Id, Id>| m[*x]);
    let mut actor_states = plan.reindex(&s.actor_states);
    // Session names follow the clients: the client that moves from actor a to b
    // takes b's full JID.
    let jid_of = |actor: usize| cast.clients[actor - 1].jid.clone();
    let rename = |j: &server::jids::FullJid| match cast.clients.iter().position(|c| &c.jid == j) {
        Some(i) => jid_of(perm[i + 1]),
        None => j.clone(),
    };
    let mut svc = server_state.svc.clone();
    svc.rename_sessions(&rename);
    actor_states[0] = Arc::new(State::Server(ServerState::judged(
        svc,
        server_state.durability.clone(),
        server_state.judged,
        server_state.order_fault,
        cast.clone(),
    )));
    S {
        actor_states,
        network: s.network.rewrite(&plan),
        timers_set: plan.reindex(&s.timers_set),
        random_choices: plan.reindex(&s.random_choices),
        crashed: plan.reindex(&s.crashed),
        history: (),
        actor_storages: plan.reindex(&s.actor_storages),
    }
}
