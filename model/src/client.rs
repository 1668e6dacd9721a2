//! What a client knows: its view of the room, built only from the notices it
//! received, and the facts the properties ask about. Small and `Copy`-sized, because
//! the checker stores one per client per state.

use crate::notice::{Codes, Nick, Notice, MAX_NICKS};
use server::StatusCode;
use server::{Affiliation, Role};

/// nick → (affiliation, role) of every occupant the client believes is present.
pub type View = [Option<(Affiliation, Role)>; MAX_NICKS];

/// Why a client's removal notice was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemovalFault {
    /// An unavailable self-presence arrived while the client was not in the room.
    ToldTwice(Codes),
    /// Removed by someone else, with no status code saying why.
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

/// Most rooms a scenario may use.
pub const MAX_ROOMS: usize = crate::ops::ROOMS.len();

/// What a client knows about one room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomSide {
    /// The nick the client uses here (its base nick or the alternative).
    pub nick: Nick,
    /// Between a self-presence with 110 and an unavailable one with 110.
    pub in_room: bool,
    /// The client sent unavailable to the room and has not yet been told it left.
    pub leaving: bool,
    /// Sent available presence to the room and no unavailable since (RFC 6121
    /// §4.6): its home server tells the room when it disconnects.
    pub directed: bool,
    pub view: View,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientState {
    pub connected: bool,
    /// Operations not yet performed (bits index the client's op list).
    pub remaining: u32,
    pub rooms: [RoomSide; MAX_ROOMS],
    /// iq operations sent, answered, and answered more than once (bits by op).
    pub iq_sent: u32,
    pub iq_answered: u32,
    pub iq_answered_twice: u32,
    pub removal_fault: Option<RemovalFault>,
    pub saw_revocation: bool,
    pub saw_registration_required: bool,
}

impl ClientState {
    /// A client whose nick is `nick` in every room, inside the rooms in `in_rooms`
    /// (bits by room).
    pub fn new(nick: Nick, ops: usize, in_rooms: u8) -> ClientState {
        let side = |r: usize| RoomSide {
            nick,
            in_room: in_rooms & (1 << r) != 0,
            leaving: false,
            directed: in_rooms & (1 << r) != 0,
            view: [None; MAX_NICKS],
        };
        ClientState {
            connected: true,
            remaining: if ops >= 32 { u32::MAX } else { (1u32 << ops) - 1 },
            rooms: [side(0), side(1)],
            iq_sent: 0,
            iq_answered: 0,
            iq_answered_twice: 0,
            removal_fault: None,
            saw_revocation: false,
            saw_registration_required: false,
        }
    }

    pub fn room(&self, room: u8) -> &RoomSide {
        &self.rooms[usize::from(room).min(MAX_ROOMS - 1)]
    }

    pub fn room_mut(&mut self, room: u8) -> &mut RoomSide {
        &mut self.rooms[usize::from(room).min(MAX_ROOMS - 1)]
    }

    /// Every iq sent was answered (none more than once is a separate check).
    pub fn all_iqs_answered(&self) -> bool {
        self.iq_sent & !self.iq_answered == 0
    }

    /// Updates the view from one received notice.
    pub fn observe(&mut self, notice: &Notice) {
        match *notice {
            Notice::IqAnswer { op } => {
                let bit = 1u32.checked_shl(u32::from(op)).unwrap_or(0);
                self.iq_answered_twice |= self.iq_answered & bit;
                self.iq_answered |= bit;
            }
            Notice::PresenceError {
                registration_required,
            } => {
                self.saw_registration_required |= registration_required;
            }
            Notice::Presence {
                room,
                from,
                unavailable,
                codes,
                destroyed,
                affiliation,
                role,
                new_nick,
            } => {
                let slot = usize::from(from.0).min(MAX_NICKS - 1);
                let is_self = codes.has(StatusCode::SelfPresence);
                let side = self.room_mut(room);
                if !unavailable {
                    if is_self {
                        side.in_room = true;
                        side.nick = from;
                    }
                    side.view[slot] = Some((affiliation, role));
                    return;
                }
                side.view[slot] = None;
                if codes.has(StatusCode::NickChanged) {
                    // A nick change: the new nick's presence follows.
                    if let (true, Some(n)) = (is_self, new_nick) {
                        side.nick = n;
                    }
                    return;
                }
                if is_self {
                    let caused = destroyed || codes.has_removal_cause();
                    let fault = if !side.in_room {
                        Some(RemovalFault::ToldTwice(codes))
                    } else if !caused && !side.leaving {
                        Some(RemovalFault::NoCause(codes))
                    } else {
                        None
                    };
                    side.in_room = false;
                    side.leaving = false;
                    side.view = [None; MAX_NICKS];
                    self.removal_fault = self.removal_fault.or(fault);
                    self.saw_revocation |= codes.has(StatusCode::AffiliationChanged);
                }
            }
        }
    }
}
