//! What the runner needs from whatever carries a script's stanzas: the simulated
//! world (`mucsim-sim` implements [`Backend`] for its `World`), or real client
//! connections to a live server (`mucsim-live-client`).

use crate::parse::ClientDef;
use server::xml::Element;

/// A connection, valid for the life of the backend (a reconnect gets a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub usize);

/// A place scripts run. Connections are numbered by the backend.
pub trait Backend {
    /// Logs the script's client `client` in: as `client.jid` (binding
    /// `client.resource` if given) with `client.password`, labelled `client.name`.
    fn connect(&mut self, client: &ClientDef) -> Result<ConnId, String>;
    /// Closes the client's stream.
    fn disconnect(&mut self, conn: ConnId) -> Result<(), String>;
    fn send(&mut self, conn: ConnId, stanza: Element) -> Result<(), String>;
    /// After an action: the simulator runs until nothing is in flight; a live
    /// server cannot be asked, so there it does nothing.
    fn settle(&mut self);
    /// The next stanza the client reads, waiting at most `timeout_ms`.
    fn receive(&mut self, conn: ConnId, timeout_ms: u64) -> Option<Element>;
    /// A stanza the client reads once everything in flight has landed (the
    /// simulator), or within a grace period (a live server); `None` if none.
    fn receive_after_quiet(&mut self, conn: ConnId) -> Option<Element>;
    fn is_open(&self, conn: ConnId) -> bool;
    fn label(&self, conn: ConnId) -> String;
    /// The full JID the client bound.
    fn full_jid(&self, conn: ConnId) -> String;
    /// A remark in the transcript.
    fn note(&mut self, conn: ConnId, text: String);
    /// A broken service invariant, where the backend can see the service's state.
    fn violation(&self) -> Option<String> {
        None
    }
}
