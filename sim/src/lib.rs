//! The deterministic world around the MUC service: a virtual clock, one seeded PRNG,
//! a simulated home server with per-connection FIFO links, a canonical transcript,
//! and the scansion runner that plays Prosody's test scripts in it.

pub mod disk;
pub mod home;
pub mod scansion;
pub mod swarm;
pub mod world;

/// Where Prosody's corpus of scripts is (in `mucsim-scansion`, re-exported).
pub use mucsim_scansion::corpus;
/// The canonical transcript (in `mucsim-scansion`, re-exported).
pub use mucsim_scansion::transcript;

pub use disk::{CrashReport, SimDisk, Storage};
pub use transcript::{Event, Transcript};
pub use world::{Arrival, ConnId, World, WorldConfig, WorldError};
