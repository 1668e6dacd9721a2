//! Scripts against real servers: the test tooling of `mucsim run --server`, kept out
//! of the production crate (`mucsim-live`, which holds `mucsim serve`).
//!
//! - [`client`]: a blocking XMPP client (stream negotiation, SASL PLAIN, bind).
//! - [`backend`]: the scansion runner's live backend (`mucsim run --server`).
//! - [`canonical`]: transcripts made comparable across servers, for diffing two.

pub mod backend;
pub mod canonical;
pub mod client;

pub use backend::LiveBackend;
