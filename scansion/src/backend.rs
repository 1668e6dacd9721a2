//! What the runner needs from whatever carries a script's stanzas: the simulated
//! world here, or real client connections to a live server (the `mucsim-live` crate).

use crate::world::{ConnId, World};
use server::xml::Element;

/// A place scripts run. Connections are numbered by the backend.
pub trait Backend {
    /// Logs a client in as `jid` (binding `resource` if given) with `password`.
    fn connect(
        &mut self,
        label: &str,
        jid: &str,
        password: &str,
        resource: Option<&str>,
    ) -> Result<ConnId, String>;
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

impl Backend for World {
    fn connect(
        &mut self,
        label: &str,
        jid: &str,
        _password: &str,
        resource: Option<&str>,
    ) -> Result<ConnId, String> {
        World::connect(self, label, jid, resource).map_err(|e| e.to_string())
    }

    fn disconnect(&mut self, conn: ConnId) -> Result<(), String> {
        World::disconnect(self, conn).map_err(|e| e.to_string())
    }

    fn send(&mut self, conn: ConnId, stanza: Element) -> Result<(), String> {
        World::send(self, conn, stanza).map_err(|e| e.to_string())
    }

    fn settle(&mut self) {
        self.run_until_quiet();
    }

    fn receive(&mut self, conn: ConnId, timeout_ms: u64) -> Option<Element> {
        let deadline = server::Millis(self.now().0 + timeout_ms);
        if self.run_until_received(conn, deadline) {
            self.take_received(conn)
        } else {
            None
        }
    }

    fn receive_after_quiet(&mut self, conn: ConnId) -> Option<Element> {
        self.run_until_quiet();
        self.take_received(conn)
    }

    fn is_open(&self, conn: ConnId) -> bool {
        World::is_open(self, conn)
    }

    fn label(&self, conn: ConnId) -> String {
        World::label(self, conn).to_string()
    }

    fn full_jid(&self, conn: ConnId) -> String {
        World::full_jid(self, conn).to_string()
    }

    fn note(&mut self, conn: ConnId, text: String) {
        World::note(self, conn, text)
    }

    fn violation(&self) -> Option<String> {
        World::violation(self).map(|v| v.to_string())
    }
}
