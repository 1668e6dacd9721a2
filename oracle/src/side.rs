//! One client in one room: its view and the removal verdict.

use crate::{Codes, Seat, View};
use server::StatusCode;

/// One occupant presence (XEP-0045 §7.2.3) from `room/from`, as a client reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Presence<N> {
    /// The occupant's nick (the resource of `from`).
    pub from: N,
    /// `type='unavailable'`.
    pub unavailable: bool,
    pub codes: Codes,
    /// Carries `<destroy/>` (XEP-0045 §10.9): the room was destroyed.
    pub destroyed: bool,
    /// The `<item/>`'s affiliation and role (`none` when absent).
    pub seat: Seat,
    /// The `<item nick=…/>` of a 303 nick change (XEP-0045 §7.6).
    pub new_nick: Option<N>,
}

/// Why a client's removal notice was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemovalFault {
    /// An unavailable self-presence arrived while the client was not in the room.
    ToldTwice(Codes),
    /// Removed by someone else, with no status code saying why, and no leave of its
    /// own that this could answer.
    NoCause(Codes),
}

impl std::fmt::Display for RemovalFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemovalFault::ToldTwice(c) => write!(f, "told it left while not in the room (codes {c})"),
            RemovalFault::NoCause(c) => write!(f, "removed without a cause (codes {c})"),
        }
    }
}

/// What one client knows about one room, from what it sent and what it received.
///
/// **Leaves in flight** (the one rule; issue 20). A leave (unavailable presence,
/// XEP-0045 §7.14) is answered by an unavailable self-presence with 110 and no
/// cause only when it reaches the service while the client is an occupant; one that
/// reaches a non-occupant is not answered (the XEP defines no answer to it; Prosody,
/// like this service, ignores it). Links are FIFO both ways, so when a **caused
/// removal** (301/307/321/322/332/333, or `<destroy/>`) arrives while no join of
/// the client is in flight, it overtook every leave still in flight: had one of
/// them reached the service first, its answer would have arrived first, and
/// without a join after it the client cannot be an occupant again when they
/// arrive. Those leaves are never answered, so the removal cancels them
/// (`leaving = 0`), and a later uncaused removal is a [`RemovalFault::NoCause`]
/// (the swarm used to keep counting them and so excused it; the model already
/// cancelled them). While a join is in flight, it may make the client an occupant
/// again before the leaves arrive, so the removal cancels nothing.
///
/// Joins in flight are counted down only by answers that belong to a join alone:
/// entering (a self-presence while out), a 303 self nick change, a presence error
/// ([`RoomSide::refused`]). A presence update's self-presence looks like a role
/// change's, so it counts nothing down: the count may stay above the truth, which
/// makes the verdict lenient, never wrong. The rule never flags a run a correct
/// service produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomSide<V> {
    /// Between a self-presence with 110 and an unavailable one with 110.
    pub in_room: bool,
    /// Leaves sent that a removal may yet answer (saturating).
    pub leaving: u8,
    /// Joins sent and not yet known to be answered, at most (saturating).
    pub joining: u8,
    pub view: V,
}

impl<V: View> RoomSide<V> {
    /// A client that is in the room (`in_room`) or not, with `view`, and nothing in
    /// flight: the start of a run, or what a client learns after losing track
    /// (the swarm after a crash, as a XEP-0410 self-ping would tell it).
    pub fn settled(in_room: bool, view: V) -> RoomSide<V> {
        RoomSide {
            in_room,
            leaving: 0,
            joining: 0,
            view,
        }
    }

    /// The client sent a join, a presence update or a nick change (available
    /// presence to `room/nick`, XEP-0045 §7.2, §7.6).
    pub fn sent_join(&mut self) {
        self.joining = self.joining.saturating_add(1);
    }

    /// The client sent a leave (unavailable presence, XEP-0045 §7.14).
    pub fn sent_leave(&mut self) {
        self.leaving = self.leaving.saturating_add(1);
    }

    /// The client's stream ended: nothing will answer its joins in flight (a
    /// reconnected client starts afresh from [`RoomSide::settled`]).
    pub fn closed(&mut self) {
        self.joining = 0;
    }

    /// One join was refused: a presence error from the room that answers a join
    /// (XEP-0045 §7.2.6–§7.2.11, §7.6). Call it only when the error is known to
    /// answer a join (the model's clients send no other presence); counting down
    /// for some other presence's error could cancel leaves a join makes valid.
    pub fn refused(&mut self) {
        self.joining = self.joining.saturating_sub(1);
    }

    /// Reads one presence from the room. Returns the fault, if this presence is
    /// one, and the client's own new nick, if this presence tells it (entering or
    /// a 303 self nick change).
    pub fn observe(&mut self, p: &Presence<V::Nick>) -> (Option<RemovalFault>, Option<V::Nick>) {
        let is_self = p.codes.has(StatusCode::SelfPresence);
        if !p.unavailable {
            let mut nick = None;
            if is_self {
                if !self.in_room {
                    // XEP-0045 §7.2.2: a join in flight is answered.
                    self.joining = self.joining.saturating_sub(1);
                }
                self.in_room = true;
                nick = Some(p.from.clone());
            }
            self.view.set(&p.from, p.seat);
            return (None, nick);
        }
        self.view.remove(&p.from);
        if p.codes.has(StatusCode::NickChanged) {
            // XEP-0045 §7.6: the new nick's presence follows.
            if !is_self {
                return (None, None);
            }
            self.joining = self.joining.saturating_sub(1);
            return (None, p.new_nick.clone());
        }
        if !is_self {
            return (None, None);
        }
        let caused = p.destroyed || p.codes.has_removal_cause();
        let fault = if !self.in_room {
            Some(RemovalFault::ToldTwice(p.codes))
        } else if caused {
            if self.joining == 0 {
                self.leaving = 0;
            }
            None
        } else if self.leaving > 0 {
            self.leaving -= 1;
            None
        } else {
            Some(RemovalFault::NoCause(p.codes))
        };
        self.in_room = false;
        self.view = V::default();
        (fault, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SlotView;
    use server::{Affiliation, Role};

    type Side = RoomSide<SlotView<4>>;
    const ME: u8 = 1;

    fn presence(unavailable: bool, codes: &[StatusCode]) -> Presence<u8> {
        Presence {
            from: ME,
            unavailable,
            codes: Codes::of(codes.iter().copied()),
            destroyed: false,
            seat: if unavailable {
                (Affiliation::None, Role::None)
            } else {
                (Affiliation::None, Role::Participant)
            },
            new_nick: None,
        }
    }

    fn entered() -> Side {
        let mut s = Side::default();
        s.sent_join();
        assert_eq!(
            s.observe(&presence(false, &[StatusCode::SelfPresence])),
            (None, Some(ME))
        );
        s
    }

    const KICKED: &[StatusCode] = &[StatusCode::Kicked, StatusCode::SelfPresence];
    const LEFT: &[StatusCode] = &[StatusCode::SelfPresence];

    #[test]
    fn a_leave_is_answered_once_and_an_unasked_removal_is_a_fault() {
        let mut s = entered();
        s.sent_leave();
        assert_eq!(s.observe(&presence(true, LEFT)).0, None);
        assert_eq!(
            s.observe(&presence(true, LEFT)).0,
            Some(RemovalFault::ToldTwice(Codes::of(LEFT.iter().copied())))
        );
        let mut s = entered();
        assert_eq!(
            s.observe(&presence(true, LEFT)).0,
            Some(RemovalFault::NoCause(Codes::of(LEFT.iter().copied())))
        );
    }

    /// The leave-in-flight case (issue 20): a kick overtakes a leave; the client
    /// rejoins; a removal without cause then answers nothing the client asked.
    #[test]
    fn a_caused_removal_cancels_the_leaves_it_overtook() {
        let mut s = entered();
        s.sent_leave();
        assert_eq!(s.observe(&presence(true, KICKED)).0, None);
        s.sent_join();
        s.observe(&presence(false, &[StatusCode::SelfPresence]));
        assert_eq!(
            s.observe(&presence(true, LEFT)).0,
            Some(RemovalFault::NoCause(Codes::of(LEFT.iter().copied()))),
            "the overtaken leave must not excuse it"
        );
    }

    /// The converse: a leave sent after a rejoin in flight is the new stay's, and
    /// its answer is no fault even when a kick came in between.
    #[test]
    fn a_leave_after_a_join_in_flight_belongs_to_the_next_stay() {
        // The first leave is overtaken by a kick, or answered (then no leave is
        // left pending).
        for (first, pending) in [(KICKED, None), (LEFT, Some(0))] {
            let mut s = entered();
            s.sent_leave();
            s.sent_join();
            s.sent_leave();
            assert_eq!(s.observe(&presence(true, first)).0, None);
            s.observe(&presence(false, &[StatusCode::SelfPresence]));
            assert_eq!(s.observe(&presence(true, LEFT)).0, None);
            if let Some(n) = pending {
                assert_eq!(s.leaving, n);
            }
        }
    }

    /// A presence update sent in the room becomes a join when a kick overtakes it;
    /// the leave after it is then answered, and is no fault.
    #[test]
    fn an_update_overtaken_by_a_kick_is_a_join() {
        let mut s = entered();
        s.sent_join();
        s.sent_leave();
        assert_eq!(s.observe(&presence(true, KICKED)).0, None);
        s.observe(&presence(false, &[StatusCode::SelfPresence]));
        assert_eq!(s.observe(&presence(true, LEFT)).0, None);
    }

    #[test]
    fn the_view_follows_presences_and_empties_on_removal() {
        let mut s = entered();
        let other = Presence {
            from: 2,
            ..presence(false, &[])
        };
        s.observe(&other);
        assert_eq!(s.view.0[2], Some((Affiliation::None, Role::Participant)));
        s.observe(&Presence {
            unavailable: true,
            ..other
        });
        assert_eq!(s.view.0[2], None);
        s.observe(&presence(true, KICKED));
        assert_eq!(s.view, SlotView::default());
    }
}
