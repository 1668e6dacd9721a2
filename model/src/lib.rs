//! Stateright models whose actors wrap the real MUC service (to come, see issue 5).
