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

/// What the service holds of client `index`'s session, room by room (in JID order):
/// the nick of the occupant it belongs to, its place among that occupant's sessions
/// (the first is the primary one) and the presence it last sent. Renaming sessions
/// moves this with the client, so it is part of what the client is.
/// One room's part of [`session_key`]: occupant nick, place, presence id and payload.
type SessionPlace<'a> = Option<(&'a str, usize, &'a Option<String>, &'a [server::xml::Element])>;

fn session_key(s: &S, index: usize) -> Vec<SessionPlace<'_>> {
    let server_state = server(s);
    let jid = &server_state.cast.clients[index].jid;
    server_state
        .svc
        .rooms()
        .map(|room| {
            let occ = room.occupant_by_session(jid)?;
            let place = occ.sessions.iter().position(|x| &x.jid == jid)?;
            let p = &occ.sessions[place].presence;
            Some((occ.nick.as_str(), place, &p.id, p.payload.as_slice()))
        })
        .collect()
}

/// What a client is, for ordering alike clients: its state, what is in flight to and
/// from it, and what the service holds of its session. The key must be canonical:
/// two clients of a class with equal keys must be interchangeable (swapping them
/// gives the same state), so the order of the sort, and the representative, do not
/// depend on which member of the class the search met. Equal keys imply this: two
/// distinct sessions never share an occupant's place, so clients with equal keys are
/// both absent from every room, and everything else about them is in the key.
fn key(s: &S, index: usize) -> impl Ord + '_ {
    (
        client(s, index),
        channel(s, 0, index + 1),
        channel(s, index + 1, 0),
        session_key(s, index),
    )
}

/// The representative of `s`'s class under swapping alike clients.
pub fn representative(s: &S) -> S {
    let cast = server(s).cast.clone();
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
    permute(s, &perm)
}

/// `s` with its actors moved: the actor at id `i` goes to id `perm[i]` (`perm` is a
/// permutation of the actor ids that moves clients only within their symmetry class),
/// taking its channels and its session's name in the service with it.
pub fn permute(s: &S, perm: &[usize]) -> S {
    let server_state = server(s);
    let cast = &server_state.cast;
    let map: DenseNatMap<Id, Id> = perm.iter().map(|&p| Id::from(p)).collect::<Vec<Id>>().into();
    let plan = RewritePlan::new(map, |x: &Id, m: &DenseNatMap<Id, Id>| m[*x]);
    // The clients' states move as they are (shared, not copied: `plan.reindex` would
    // rewrite, i.e. clone, every actor's state, the server's whole service too); the
    // server's is replaced below.
    let mut actor_states = s.actor_states.clone();
    for (old, state) in s.actor_states.iter().enumerate() {
        actor_states[perm[old]] = Arc::clone(state);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{OpKind, Scenario};
    use stateright::Model;
    use std::collections::{BTreeSet, VecDeque};
    use std::hash::{DefaultHasher, Hash, Hasher};

    /// Every state reached in a breadth-first walk of `scenario` (up to `limit`),
    /// with every swap of two alike clients: the swapped state must have the same
    /// representative. A key that leaves out part of a client (say, which of a
    /// user's two sessions is the room's primary one) fails this, and makes a
    /// multi-threaded search's state count depend on which state it met first.
    fn assert_canonical(scenario: &Scenario, limit: usize) -> usize {
        let model = crate::model(scenario).expect("valid scenario");
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<S> = model.init_states().into_iter().collect();
        let mut checked = 0;
        while let Some(s) = queue.pop_front() {
            if seen.len() >= limit
                || !seen.insert({
                    let mut h = DefaultHasher::new();
                    s.hash(&mut h);
                    h.finish()
                })
            {
                continue;
            }
            let cast = server(&s).cast.clone();
            let rep = representative(&s);
            for class in &cast.symmetry_classes {
                for (a, &i) in class.iter().enumerate() {
                    for &j in &class[a + 1..] {
                        let mut perm: Vec<usize> = (0..s.actor_states.len()).collect();
                        perm.swap(i + 1, j + 1);
                        let swapped = permute(&s, &perm);
                        assert_eq!(
                            representative(&swapped),
                            rep,
                            "clients {i} and {j} swapped give another representative of {s:?}"
                        );
                        checked += 1;
                    }
                }
            }
            let mut actions = Vec::new();
            model.actions(&s, &mut actions);
            queue.extend(actions.into_iter().filter_map(|a| model.next_state(&s, a)));
        }
        checked
    }

    #[test]
    fn the_representative_is_canonical() {
        use OpKind::*;
        let s = Scenario::generate(3, 1, &[Join, MembersOnly, Grant, Revoke, Disconnect]).unwrap();
        assert!(assert_canonical(&s, 20_000) > 10_000);
    }
}
