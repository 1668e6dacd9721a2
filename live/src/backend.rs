//! The scansion runner's live backend: every script client is a real connection
//! to a server (`mucsim run --server HOST:PORT`), as with Prosody's own scansion.

use crate::client::{Client, Incoming};
use mucsim_sim::scansion::Backend;
use mucsim_sim::{ConnId, Event, Transcript};
use server::xml::Element;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub struct LiveBackend {
    server: SocketAddr,
    conns: Vec<LiveConn>,
    transcript: Transcript,
    started: Instant,
    /// How long `receives: nothing` listens before it concludes nothing comes.
    quiet_ms: u64,
}

struct LiveConn {
    label: String,
    client: Client,
}

impl LiveBackend {
    pub fn new(server: SocketAddr) -> LiveBackend {
        LiveBackend {
            server,
            conns: Vec::new(),
            transcript: Transcript::default(),
            started: now(),
            quiet_ms: 500,
        }
    }

    /// Sets how long `receives: nothing` listens (default 500 ms).
    pub fn with_quiet_ms(mut self, ms: u64) -> LiveBackend {
        self.quiet_ms = ms;
        self
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Closes every connection still open (the end of a script).
    pub fn close_all(&mut self) {
        for i in 0..self.conns.len() {
            if self.conns[i].client.is_open() {
                let _ = Backend::disconnect(self, ConnId(i));
            }
        }
    }

    fn at(&self) -> server::Millis {
        server::Millis(self.started.elapsed().as_millis() as u64)
    }

    fn record(&mut self, conn: ConnId, event: Event) {
        let at = self.at();
        let label = self.conns[conn.0].label.clone();
        self.transcript.push(at, &label, event);
    }

    fn wait(&mut self, conn: ConnId, timeout: Duration) -> Option<Element> {
        let got = self.conns[conn.0].client.recv(timeout)?;
        match got {
            Incoming::Stanza(el) => {
                self.record(conn, Event::Receive(el.clone()));
                Some(el)
            }
            Incoming::Ended(why) => {
                self.record(conn, Event::StreamError(why));
                None
            }
        }
    }
}

/// Real time: scripts against a live server wait in wall-clock milliseconds.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

impl Backend for LiveBackend {
    fn connect(
        &mut self,
        label: &str,
        jid: &str,
        password: &str,
        resource: Option<&str>,
    ) -> Result<ConnId, String> {
        let client = Client::connect(self.server, jid, password, resource)?;
        let full_jid = client.full_jid().to_string();
        self.conns.push(LiveConn {
            label: label.to_string(),
            client,
        });
        let conn = ConnId(self.conns.len() - 1);
        self.record(conn, Event::Connect { full_jid });
        Ok(conn)
    }

    fn disconnect(&mut self, conn: ConnId) -> Result<(), String> {
        if !self.conns[conn.0].client.is_open() {
            return Err(format!("{} is not connected", self.conns[conn.0].label));
        }
        self.record(conn, Event::Disconnect);
        for el in self.conns[conn.0].client.close() {
            self.record(conn, Event::Receive(el));
        }
        Ok(())
    }

    fn send(&mut self, conn: ConnId, stanza: Element) -> Result<(), String> {
        self.record(conn, Event::Send(stanza.clone()));
        self.conns[conn.0].client.send(&stanza)
    }

    fn settle(&mut self) {}

    fn receive(&mut self, conn: ConnId, timeout_ms: u64) -> Option<Element> {
        let deadline = self.started.elapsed() + Duration::from_millis(timeout_ms);
        loop {
            let left = deadline.saturating_sub(self.started.elapsed());
            if left.is_zero() || !self.conns[conn.0].client.is_open() {
                return None;
            }
            // A stream end is recorded and ends the wait; stanzas come back one by one.
            match self.wait(conn, left) {
                Some(el) => return Some(el),
                None if !self.conns[conn.0].client.is_open() => return None,
                None => {}
            }
        }
    }

    fn receive_after_quiet(&mut self, conn: ConnId) -> Option<Element> {
        self.wait(conn, Duration::from_millis(self.quiet_ms))
    }

    fn is_open(&self, conn: ConnId) -> bool {
        self.conns[conn.0].client.is_open()
    }

    fn label(&self, conn: ConnId) -> String {
        self.conns[conn.0].label.clone()
    }

    fn full_jid(&self, conn: ConnId) -> String {
        self.conns[conn.0].client.full_jid().to_string()
    }

    fn note(&mut self, conn: ConnId, text: String) {
        self.record(conn, Event::Note(text));
    }
}
