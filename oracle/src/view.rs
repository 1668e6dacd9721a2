//! A client's occupant list, and the one it should hold of a room.

use server::muc::Room;
use server::{Affiliation, Role};
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// What a client knows of one occupant: its affiliation and role as the last
/// presence from it said (XEP-0045 §7.2.3, the `<item/>`).
pub type Seat = (Affiliation, Role);

/// nick → [`Seat`] of every occupant a client believes present.
pub trait View: Default + PartialEq + std::fmt::Debug {
    /// How this form names a nick (a slot index, a string).
    type Nick: Clone;
    fn set(&mut self, nick: &Self::Nick, seat: Seat);
    fn remove(&mut self, nick: &Self::Nick);
}

/// The compact form: one slot per nick a scenario can produce (the model's
/// explored state). A nick beyond the last slot shares the last one. `K` is the
/// nick's type (its [`SlotKey`] is the slot); it takes no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotView<const N: usize, K = u8>(pub [Option<Seat>; N], PhantomData<fn() -> K>);

/// A nick the compact form keys its slots by: the slot's index.
pub trait SlotKey: Clone + PartialEq + std::fmt::Debug {
    fn slot(&self) -> usize;
}

impl SlotKey for u8 {
    fn slot(&self) -> usize {
        usize::from(*self)
    }
}

impl<const N: usize, K> Default for SlotView<N, K> {
    fn default() -> Self {
        SlotView([None; N], PhantomData)
    }
}

impl<const N: usize, K: SlotKey> View for SlotView<N, K> {
    type Nick = K;
    fn set(&mut self, nick: &K, seat: Seat) {
        self.0[nick.slot().min(N - 1)] = Some(seat);
    }
    fn remove(&mut self, nick: &K) {
        self.0[nick.slot().min(N - 1)] = None;
    }
}

/// The roomy form: nicks as the service spells them (the swarm).
impl View for BTreeMap<String, Seat> {
    type Nick = String;
    fn set(&mut self, nick: &String, seat: Seat) {
        self.insert(nick.clone(), seat);
    }
    fn remove(&mut self, nick: &String) {
        BTreeMap::remove(self, nick);
    }
}

/// The view a client in `room` should hold at quiescence: every occupant, under its
/// nick (`nick_of` maps the service's nick to the view's form), with its
/// affiliation and role. An absent room gives the empty view.
pub fn expected_view<V: View>(room: Option<&Room>, nick_of: impl Fn(&str) -> V::Nick) -> V {
    let mut v = V::default();
    if let Some(r) = room {
        for occ in r.occupants() {
            v.set(&nick_of(&occ.nick), (r.affiliation(&occ.bare), occ.role));
        }
    }
    v
}
