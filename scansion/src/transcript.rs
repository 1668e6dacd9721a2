//! The canonical record of everything that crosses the simulated network: one line
//! per event, stanzas serialized deterministically with `jabber:client` as the
//! default namespace.

use server::muc::Millis;
use server::ns;
use server::xml::Element;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The client logged in and bound this full JID.
    Connect { full_jid: String },
    /// The client closed its stream.
    Disconnect,
    /// The client wrote a stanza (as written, before the server stamps `from`).
    Send(Element),
    /// The client read a stanza.
    Receive(Element),
    /// The server closed the client's stream with this condition.
    StreamError(String),
    /// A remark by whoever drives the world (e.g. the runner skipped a stanza).
    Note(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub at: Millis,
    pub client: String,
    pub event: Event,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    entries: Vec<Entry>,
}

impl Transcript {
    pub fn push(&mut self, at: Millis, client: &str, event: Event) {
        self.entries.push(Entry {
            at,
            client: client.to_string(),
            event,
        });
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Counts stanzas that crossed the network (sent plus received).
    pub fn stanzas(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.event, Event::Send(_) | Event::Receive(_)))
            .count()
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.0;
        let who = &self.client;
        match &self.event {
            Event::Connect { full_jid } => write!(f, "{at:>6}ms {who} connects as {full_jid}"),
            Event::Disconnect => write!(f, "{at:>6}ms {who} disconnects"),
            Event::Send(el) => write!(f, "{at:>6}ms {who} sends: {}", el.to_xml_in(ns::CLIENT)),
            Event::Receive(el) => write!(f, "{at:>6}ms {who} receives: {}", el.to_xml_in(ns::CLIENT)),
            Event::StreamError(cond) => write!(f, "{at:>6}ms {who} stream error: {cond}"),
            Event::Note(text) => write!(f, "{at:>6}ms {who} -- {text}"),
        }
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
