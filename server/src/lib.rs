//! The MUC service (XEP-0045) and everything it needs to read and write XMPP:
//! XML, typed stanzas, JIDs, errors and rooms. Sans-IO: no sockets, no clock, no
//! threads, no randomness. Time and entropy come in as arguments.
//!
//! Data flows one way: bytes → [`xml`] → [`stanza::Stanza`] → [`MucService::handle`]
//! → [`Outbox`] → serializer → bytes.

pub mod invariants;
pub mod jids;
pub mod muc;
pub mod ns;
pub mod refusal;
pub mod service;
pub mod stanza;
pub mod store;
pub mod xml;

pub use invariants::{Invariant, Violation};
pub use muc::{Affiliation, Millis, Role, RoomConfig};
pub use refusal::Refusal;
pub use service::{
    ConfigError, MucService, Mutant, OccupantIdKey, Outbox, Outgoing, ServiceConfig, ServiceLimits,
};
pub use store::{RestoreError, RoomRecord, StoreOp};
