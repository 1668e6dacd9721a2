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

/// The messages in flight from actor `src` to actor `dst`, oldest first.
fn channel(s: &S, src: usize, dst: usize) -> impl Iterator<Item = &Msg> {
    let queue = match &s.network {
        Network::Ordered(map) => map.get(&(Id::from(src), Id::from(dst))),
        _ => None,
    };
    queue.into_iter().flatten()
}

/// One room's part of [`session_places`]: occupant nick, place, presence id and payload.
type SessionPlace<'a> = Option<(&'a str, usize, &'a Option<String>, &'a [server::xml::Element])>;

/// What the service holds of client `index`'s session, room by room (in JID order):
/// the nick of the occupant it belongs to, its place among that occupant's sessions
/// (the first is the primary one) and the presence it last sent. Renaming sessions
/// moves this with the client, so it is part of what the client is.
fn session_places(s: &S, index: usize) -> impl Iterator<Item = SessionPlace<'_>> {
    let server_state = server(s);
    let jid = &server_state.cast.clients[index].jid;
    server_state.svc.rooms().map(move |room| {
        let occ = room.occupant_by_session(jid)?;
        let place = occ.sessions.iter().position(|x| &x.jid == jid)?;
        let p = &occ.sessions[place].presence;
        Some((occ.nick.as_str(), place, &p.id, p.payload.as_slice()))
    })
}

/// The order of alike clients `a` and `b`, by what each is: its state, what is in
/// flight to and from it, and what the service holds of its session (compared in
/// that order, each lexicographically, and only as far as needed: nothing is
/// collected). The order must be canonical: two clients of a class that compare
/// equal must be interchangeable (swapping them gives the same state), so the order
/// of the sort, and the representative, do not depend on which member of the class
/// the search met. Equality implies this: two distinct sessions never share an
/// occupant's place, so clients that compare equal are both absent from every room,
/// and everything else about them is compared.
fn compare(s: &S, a: usize, b: usize) -> std::cmp::Ordering {
    client(s, a)
        .cmp(&client(s, b))
        .then_with(|| channel(s, 0, a + 1).cmp(channel(s, 0, b + 1)))
        .then_with(|| channel(s, a + 1, 0).cmp(channel(s, b + 1, 0)))
        .then_with(|| session_places(s, a).cmp(session_places(s, b)))
}

/// The representative of `s`'s class under swapping alike clients.
pub fn representative(s: &S) -> S {
    let cast = &server(s).cast;
    // perm[old actor id] = new actor id, built only once a class is out of order.
    let mut perm: Option<Vec<usize>> = None;
    for class in &cast.symmetry_classes {
        if class.windows(2).all(|w| compare(s, w[0], w[1]).is_le()) {
            continue; // Already in order (a stable sort would leave it so).
        }
        let mut sorted = class.clone();
        sorted.sort_by(|a, b| compare(s, *a, *b));
        let perm = perm.get_or_insert_with(|| (0..s.actor_states.len()).collect());
        for (slot, old) in class.iter().zip(&sorted) {
            perm[old + 1] = slot + 1;
        }
    }
    match perm {
        Some(perm) => permute(s, &perm),
        None => s.clone(),
    }
}

/// `s` with its actors moved: the actor at id `i` goes to id `perm[i]` (`perm` is a
/// permutation of the actor ids that moves clients only within their symmetry class),
/// taking its channels and its session's name in the service with it.
///
/// Built directly rather than through stateright's `RewritePlan` (whose rewrite
/// clones every actor's state, the server's whole service included, and rebuilds
/// each actor's map of random choices): the result is the same state.
pub fn permute(s: &S, perm: &[usize]) -> S {
    let server_state = server(s);
    let cast = &server_state.cast;
    // inv[new actor id] = old actor id.
    let mut inv = vec![0; perm.len()];
    for (old, &new) in perm.iter().enumerate() {
        inv[new] = old;
    }
    fn moved<T: Clone>(v: &[T], inv: &[usize]) -> Vec<T> {
        inv.iter().map(|&old| v[old].clone()).collect()
    }
    // The clients' states move as they are (shared, not copied); the server's is
    // replaced below.
    let mut actor_states = moved(&s.actor_states, &inv);
    // Session names follow the clients: the client that moves from actor a to b
    // takes b's full JID; sessions of clients that stay keep theirs.
    let rename = |j: &server::jids::FullJid| {
        let i = cast.clients.iter().position(|c| &c.jid == j)?;
        let to = perm[i + 1];
        (to != i + 1).then(|| cast.clients[to - 1].jid.clone())
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
    let network = match &s.network {
        Network::Ordered(map) => Network::Ordered(
            map.iter()
                .map(|(&(src, dst), queue)| {
                    let to = |id: Id| Id::from(perm[usize::from(id)]);
                    ((to(src), to(dst)), queue.clone())
                })
                .collect(),
        ),
        other => {
            let map: DenseNatMap<Id, Id> = perm.iter().map(|&p| Id::from(p)).collect::<Vec<Id>>().into();
            other.rewrite(&RewritePlan::new(map, |x: &Id, m: &DenseNatMap<Id, Id>| m[*x]))
        }
    };
    S {
        actor_states,
        network,
        timers_set: moved(&s.timers_set, &inv),
        random_choices: moved(&s.random_choices, &inv),
        crashed: moved(&s.crashed, &inv),
        history: (),
        actor_storages: moved(&s.actor_storages, &inv),
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
