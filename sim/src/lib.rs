//! The deterministic world around the MUC service: a virtual clock, one seeded PRNG,
//! a simulated home server with per-connection FIFO links, a canonical transcript,
//! and the scansion runner that plays Prosody's test scripts in it.

pub mod corpus;
pub mod disk;
mod home;
pub mod scansion;
pub mod swarm;
pub mod transcript;
pub mod world;

pub use disk::{CrashReport, SimDisk, Storage};
pub use transcript::{Event, Transcript};
pub use world::{Arrival, ConnId, World, WorldConfig, WorldError};
