//! Deterministic simulated network and home server around the MUC service; runs scansion scripts and swarms (to come, see issue 4).
