//! The service on a real network: the production front end, the crate that holds
//! `mucsim serve` ([`command::run`]). It links no harness: the test tooling against
//! live servers (client, scansion backend, canonical transcripts) is
//! `mucsim-live-client`, and `scripts/check-deps.sh` keeps `mucsim-sim` out of this
//! crate's normal dependencies.
//!
//! - [`command`]: `mucsim serve` itself: argument checks, key file, store, exit codes.
//! - [`component`]: a sans-IO XEP-0114 session (stream header, handshake, namespace
//!   mapping between `jabber:component:accept` and the service's `jabber:client`).
//! - [`serve`]: the tokio front end of `mucsim serve`: frames bytes, stamps time,
//!   forwards the service's outbox, reconnects with backoff.
//! - [`sqlite`]: the room store of `mucsim serve` (one SQLite file).
//! - [`wire`]: bytes both ends of a stream write (headers, stream errors), shared with
//!   the client of `mucsim-live-client`.
//!
//! This crate is where real time and operating-system randomness enter (the
//! occupant-id key, [`entropy`]): the service itself stays deterministic.

pub mod command;
pub mod component;
pub mod entropy;
pub mod serve;
pub mod sqlite;
pub mod wire;

pub use component::{ComponentEvent, ComponentSession};
pub use serve::{serve, serve_until_signalled, Memory, RoomStore, ServeError, ServeOptions, Status};
pub use sqlite::{SqliteStore, StoreError};
