//! The deterministic world around the MUC service (issue 4, in progress): so far the
//! scansion script parser. The simulated network, home server, matcher and runner
//! come next.

pub mod scansion;
