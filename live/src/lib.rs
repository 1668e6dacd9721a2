//! The service on a real network, and scripts against real servers.
//!
//! - [`component`]: a sans-IO XEP-0114 session (stream header, handshake, namespace
//!   mapping between `jabber:component:accept` and the service's `jabber:client`).
//! - [`serve`]: the tokio front end of `mucsim serve`: frames bytes, stamps time,
//!   forwards the service's outbox, reconnects with backoff.
//! - [`client`]: a blocking XMPP client (stream negotiation, SASL PLAIN, bind).
//! - [`backend`]: the scansion runner's live backend (`mucsim run --server`).
//! - [`sqlite`]: the room store of `mucsim serve` (one SQLite file).
//!
//! This crate is where real time and operating-system randomness enter (the
//! occupant-id key, [`entropy`]): the service itself stays deterministic.

pub mod backend;
pub mod canonical;
pub mod client;
pub mod component;
pub mod entropy;
pub mod serve;
pub mod sqlite;
mod wire;

pub use backend::LiveBackend;
pub use component::{ComponentEvent, ComponentSession};
pub use serve::{serve, serve_until_signalled, Durable, Memory, ServeError, ServeOptions, Status};
pub use sqlite::{SqliteStore, StoreError};
