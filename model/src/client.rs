//! What a client knows: its view of the room, built only from the notices it
//! received, and the facts the properties ask about. Small and `Copy`-sized, because
//! the checker stores one per client per state.

use crate::notice::{Codes, Nick, Notice, MAX_NICKS};
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

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientState {
    pub connected: bool,
    /// Operations not yet performed (bits index the client's op list).
    pub remaining: u32,
    /// The nick the client uses now (its base nick or the alternative).
    pub nick: Nick,
    /// Between a self-presence with 110 and an unavailable one with 110.
    pub in_room: bool,
    /// The client sent unavailable to the room and has not yet been told it left.
    pub leaving: bool,
    /// Sent available presence to the room and no unavailable since (RFC 6121
    /// §4.6): its home server tells the room when it disconnects.
    pub directed: bool,
    pub view: View,
    /// iq operations sent, answered, and answered more than once (bits by op).
    pub iq_sent: u32,
    pub iq_answered: u32,
    pub iq_answered_twice: u32,
    pub removal_fault: Option<RemovalFault>,
    pub saw_revocation: bool,
    pub saw_registration_required: bool,
}

impl ClientState {
    pub fn new(nick: Nick, ops: usize, in_room: bool) -> ClientState {
        ClientState {
            connected: true,
            remaining: if ops >= 32 { u32::MAX } else { (1u32 << ops) - 1 },
            nick,
            in_room,
            leaving: false,
            directed: in_room,
            view: [None; MAX_NICKS],
            iq_sent: 0,
            iq_answered: 0,
            iq_answered_twice: 0,
            removal_fault: None,
            saw_revocation: false,
            saw_registration_required: false,
        }
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
                from,
                unavailable,
                codes,
                destroyed,
                affiliation,
                role,
                new_nick,
            } => {
                let slot = usize::from(from.0).min(MAX_NICKS - 1);
                let is_self = codes.has("110");
                if !unavailable {
                    if is_self {
                        self.in_room = true;
                        self.nick = from;
                    }
                    self.view[slot] = Some((affiliation, role));
                    return;
                }
                self.view[slot] = None;
                if codes.has("303") {
                    // A nick change: the new nick's presence follows.
                    if let (true, Some(n)) = (is_self, new_nick) {
                        self.nick = n;
                    }
                    return;
                }
                if is_self {
                    let caused = destroyed || codes.has_removal_cause();
                    if !self.in_room {
                        self.removal_fault = Some(RemovalFault::ToldTwice(codes));
                    } else if !caused && !self.leaving {
                        self.removal_fault = Some(RemovalFault::NoCause(codes));
                    }
                    self.saw_revocation |= codes.has("321");
                    self.in_room = false;
                    self.leaving = false;
                    self.view = [None; MAX_NICKS];
                }
            }
        }
    }
}
