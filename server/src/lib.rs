//! The MUC service (XEP-0045) and everything it needs to read and write XMPP:
//! XML, typed stanzas, JIDs, errors and rooms. Sans-IO: no sockets, no clock, no
//! threads, no randomness. Time and entropy come in as arguments.
//!
//! Data flows one way: bytes → [`xml`] → [`xml::Element`] → [`MucService::handle`]
//! (which reads it through [`stanza::Stanza`]) → [`Outbox`] → serializer → bytes.

pub mod config;
pub mod invariants;
pub mod jids;
pub mod muc;
pub mod ns;
pub mod outbox;
pub mod refusal;
pub mod service;
pub mod stanza;
pub mod status;
pub mod store;
pub mod stream_error;
pub mod xml;

pub use config::{ConfigError, OccupantIdKey};
pub use config::{Mutant, ServiceConfig, ServiceLimits};
pub use invariants::{Invariant, Violation};
pub use muc::{Affiliation, Millis, Role, RoomConfig};
pub use outbox::{Outbox, Outgoing};
pub use refusal::Refusal;
pub use service::MucService;
pub use status::StatusCode;
pub use store::{RestoreError, RoomRecord, RoomStore, StoreError, StoreOp, Stored, Tombstone};
