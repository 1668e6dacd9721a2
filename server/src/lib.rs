//! The MUC service (XEP-0045) and everything it needs to read and write XMPP:
//! XML, typed stanzas, JIDs, errors and rooms. Sans-IO: no sockets, no clock, no
//! threads, no randomness. Time and entropy come in as arguments.

pub mod xml;
