//! The scansion runner's live backend: every script client is a real connection
//! to a server (`mucsim run --server HOST:PORT`), as with Prosody's own scansion.

use crate::client::{Client, Incoming};
use mucsim_scansion::{Backend, ClientDef};
use mucsim_scansion::{ConnId, Event, Transcript};
use server::xml::Element;
use std::collections::VecDeque;
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
    /// Read from the socket while settling, not yet taken by the script.
    inbox: VecDeque<Incoming>,
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
                Backend::settle(self);
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
        let c = &mut self.conns[conn.0];
        let got = match c.inbox.pop_front() {
            Some(got) => got,
            None => c.client.recv(timeout)?,
        };
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

const SETTLE_QUIET: Duration = Duration::from_millis(40);
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// Real time: scripts against a live server wait in wall-clock milliseconds.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

impl Backend for LiveBackend {
    fn connect(&mut self, def: &ClientDef) -> Result<ConnId, String> {
        let client = Client::connect(self.server, &def.jid, &def.password, def.resource.as_deref())?;
        let full_jid = client.full_jid().to_string();
        self.conns.push(LiveConn {
            label: def.name.clone(),
            client,
            inbox: VecDeque::new(),
        });
        let conn = ConnId(self.conns.len() - 1);
        self.record(conn, Event::Connect { full_jid });
        Ok(conn)
    }

    fn disconnect(&mut self, conn: ConnId) -> Result<(), String> {
        if !self.conns[conn.0].client.is_open() {
            return Err(format!("{} is not connected", self.conns[conn.0].label));
        }
        // What the client read but the script never looked at is in the transcript too.
        while let Some(got) = self.conns[conn.0].inbox.pop_front() {
            let event = match got {
                Incoming::Stanza(el) => Event::Receive(el),
                Incoming::Ended(why) => Event::StreamError(why),
            };
            self.record(conn, event);
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

    /// A live server cannot say when it is done, so this listens until no open
    /// connection has received anything for `SETTLE_QUIET` (at most `SETTLE_MAX`):
    /// then what one action set off has arrived before the next action, as in the
    /// simulator, even when it crossed an extra hop (a component).
    fn settle(&mut self) {
        let started = self.started.elapsed();
        let mut quiet_since = started;
        while self.started.elapsed() - quiet_since < SETTLE_QUIET
            && self.started.elapsed() - started < SETTLE_MAX
        {
            let mut any = false;
            for c in &mut self.conns {
                while let Some(got) = c.client.recv(Duration::ZERO) {
                    c.inbox.push_back(got);
                    any = true;
                }
            }
            if any {
                quiet_since = self.started.elapsed();
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    fn receive(&mut self, conn: ConnId, timeout_ms: u64) -> Option<Element> {
        let deadline = self.started.elapsed() + Duration::from_millis(timeout_ms);
        loop {
            let left = deadline.saturating_sub(self.started.elapsed());
            let c = &self.conns[conn.0];
            if left.is_zero() || (c.inbox.is_empty() && !c.client.is_open()) {
                return None;
            }
            // A stream end is recorded and ends the wait; stanzas come back one by one.
            match self.wait(conn, left) {
                Some(el) => return Some(el),
                None if self.conns[conn.0].inbox.is_empty() && !self.conns[conn.0].client.is_open() => {
                    return None
                }
                None => {}
            }
        }
    }

    fn receive_after_quiet(&mut self, conn: ConnId) -> Option<Element> {
        self.wait(conn, Duration::from_millis(self.quiet_ms))
    }

    fn is_open(&self, conn: ConnId) -> bool {
        let c = &self.conns[conn.0];
        c.client.is_open() || !c.inbox.is_empty()
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
