//! The client oracle: what a MUC client may expect, judged only from what it sent
//! and what it received. One pure state machine, below the harnesses: the model
//! checker (`mucsim-model`) keeps it in its explored state in a compact form (fixed
//! arrays and bit sets), the swarm (`sim::swarm`) in a roomy one (maps keyed by nick
//! and iq id); both call the same code, so they give the same verdicts.
//!
//! - [`Codes`]: the XEP-0045 §15.6 status codes of one presence, as bits;
//! - [`View`]: nick → [`Seat`] (affiliation, role), the occupant list a client
//!   holds, and [`expected_view`]: the one it should hold of a real room;
//! - [`RoomSide`]: one client in one room — the view update and the removal verdict
//!   ([`RemovalFault`]), with the one rule for leaves in flight (see [`RoomSide`]);
//! - [`Iqs`]: iq-exactly-once (RFC 6120 §8.2.3), by op bit ([`IqBits`]) or by id
//!   ([`IqLedger`]);
//! - [`spec`]: XEP-0045's permission rules as data, the independent statement the
//!   service is checked against (the service never imports them);
//! - [`order`]: XEP-0045's order rules as data (which part of one reply comes
//!   before which, e.g. §8.2: the kicked occupant, then the answer, then the
//!   others) and the check of one reply against them.
//! - [`judge`]: whether the service's answer to one request (affiliation, role,
//!   config, subject, invitation, destroy, join) and the room it left are ones the
//!   spec allows, and whether a real JID in presence reached someone whois lets see
//!   it. Its API ([`judge::Snapshot`], [`judge::Request`], [`judge::Answer`],
//!   [`judge::judge`], [`judge::real_jid_shown`], [`judge::Violation`],
//!   [`judge::Property`]) is stable: the model checker and the swarm share it.
//!
//! The oracle depends on `mucsim-server` for types only; it must not depend on the
//! simulator, the model, the network front end or tokio (`scripts/check-layers.sh`),
//! and the service must not depend on it.

mod codes;
mod iqs;
pub mod judge;
pub mod order;
mod side;
pub mod spec;
mod view;

pub use codes::Codes;
pub use iqs::{IqBits, IqLedger, Iqs};
pub use side::{Presence, RemovalFault, RoomSide};
pub use view::{expected_view, Seat, SlotKey, SlotView, View};
