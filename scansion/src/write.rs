//! Writes a transcript back out as a scansion script that replays it: one client
//! block per connection (with its bound resource, so full JIDs come out the same),
//! every send, and every received stanza as an expectation. Values that depend on
//! the seed or the clock (occupant-ids, delay stamps) become `{scansion:any}`.
//!
//! A counterexample is written by [`to_judging_scs`] instead: the same actions, but
//! only what the violated property requires is expected ([`Judgement`]).

use crate::transcript::{Event, Transcript};
use server::ns;
use server::xml::{Element, Node};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The script for `transcript`, titled `title`: every received stanza becomes an
/// expectation. Such a script echoes the service it was written from; a
/// counterexample must judge instead ([`to_judging_scs`]).
pub fn to_scs(title: &str, transcript: &Transcript) -> String {
    let mut w = Writer::default();
    for e in transcript.entries() {
        w.entry(e);
    }
    w.finish(title)
}

/// A script being written: its clients (each connection gets its own client name;
/// a label that reconnects as another full JID gets a numbered name) and its body.
#[derive(Default)]
struct Writer {
    names: BTreeMap<String, String>,
    clients: Vec<(String, String)>,
    body: String,
    marks: usize,
}

impl Writer {
    /// The client name for a transcript label (the label itself before it connects).
    fn name(&self, label: &str) -> String {
        self.names.get(label).cloned().unwrap_or_else(|| sanitize(label))
    }

    fn entry(&mut self, e: &crate::transcript::Entry) {
        match &e.event {
            Event::Connect { full_jid } => {
                let existing = self
                    .clients
                    .iter()
                    .find(|(_, j)| j == full_jid)
                    .map(|(n, _)| n.clone());
                let name = existing.unwrap_or_else(|| {
                    let taken = |n: &str| self.clients.iter().any(|(c, _)| c == n);
                    let mut name = sanitize(&e.client);
                    let mut i = 2;
                    while taken(&name) {
                        name = format!("{} {i}", sanitize(&e.client));
                        i += 1;
                    }
                    self.clients.push((name.clone(), full_jid.clone()));
                    name
                });
                self.names.insert(e.client.clone(), name.clone());
                let _ = writeln!(self.body, "{name} connects\n");
            }
            Event::Disconnect => {
                let _ = writeln!(self.body, "{} disconnects\n", self.name(&e.client));
            }
            Event::Send(el) => {
                let _ = writeln!(self.body, "{} sends:\n\t{}\n", self.name(&e.client), stanza(el));
            }
            Event::Receive(el) => {
                let _ = writeln!(
                    self.body,
                    "{} receives:\n\t{}\n",
                    self.name(&e.client),
                    stanza(&mask(el))
                );
            }
            Event::StreamError(cond) => {
                let _ = writeln!(self.body, "# {}: stream error {cond}\n", self.name(&e.client));
            }
            Event::Note(text) => {
                let _ = writeln!(self.body, "# {}: {}\n", e.client, text.replace('\n', " "));
            }
        }
    }

    /// Each of `labels` still connected sends itself a marker and reads it back.
    fn mark(&mut self, labels: &[&String], open: &BTreeMap<String, bool>) {
        for label in labels {
            if open.get(*label) != Some(&true) {
                continue;
            }
            self.marks += 1;
            let name = self.name(label);
            let id = format!("{MARKER}-{}", self.marks);
            let _ = writeln!(
                self.body,
                "# {name} reads everything it received so far (its home server returns the marker)\n\
                 {name} sends:\n\t<message to=\"${{{name}'s full JID}}\" id=\"{id}\" type=\"headline\"/>\n\n\
                 {name} receives:\n\t<message id=\"{id}\"/>\n"
            );
        }
    }

    fn finish(self, title: &str) -> String {
        let mut out = format!("# {}\n\n", title.replace('\n', " "));
        for (name, full) in &self.clients {
            let (bare, resource) = full.split_once('/').unwrap_or((full, ""));
            let _ = writeln!(out, "[Client] {name}\n\tjid: {bare}\n\tpassword: password");
            if !resource.is_empty() {
                let _ = writeln!(out, "\tresource: {resource}");
            }
            out.push('\n');
        }
        out.push_str("-----\n\n");
        out.push_str(&self.body);
        out
    }
}

/// What a violated property requires where it was violated: the one expectation a
/// counterexample script states. A script that judges ([`to_judging_scs`]) states
/// this and nothing else of the service under test, so it fails on the bug and
/// passes once the bug is fixed, whether the script was written from a service
/// with a deliberate mutant or from the buggy code itself (issue 20).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The property violated, as a sentence.
    pub property: String,
    /// What it requires at the point of violation, in words.
    pub requires: String,
    /// The transcript entry (an index into [`Transcript::entries`]) that is the
    /// violating input: the clients in `expect` read everything they received
    /// before it first (see [`to_judging_scs`]). Past the end: after everything.
    pub at: usize,
    /// Per client (the transcript's label): the stanzas the property requires it to
    /// receive from the violating input on, matched by scansion's rules. Empty when
    /// no stanza can state the requirement (then the runner's invariant check, or
    /// nothing, judges; `requires` says which).
    pub expect: Vec<(String, Element)>,
    /// Stanzas sent after the transcript, before the expectations, per client
    /// (label): a question whose answer shows what the property requires (e.g. a
    /// banned user's join, which must be refused).
    pub probes: Vec<(String, Element)>,
}

/// The id of the marker message a judging script sends a client to itself.
const MARKER: &str = "mucsim-mark";

/// The script for `transcript` that judges rather than echoes: every connection,
/// disconnection and send of the transcript as actions, in order, but what the
/// clients received only as comments (`# X received: …`), so that nothing the
/// service under test answered is expected of the service. Before the violating
/// input (`judgement.at`), each client with an expectation sends a message to its
/// own full JID and expects it back: its home server answers that, not the MUC
/// service, and reading it skips everything the client received until then, so
/// that the expectations can only match what came from the violating input on.
/// The script ends with the property as a comment, `judgement.probes` and
/// `judgement.expect`.
pub fn to_judging_scs(title: &str, transcript: &Transcript, judgement: &Judgement) -> String {
    let mut w = Writer::default();
    let marked: Vec<&String> = {
        let mut v: Vec<&String> = judgement.expect.iter().map(|(c, _)| c).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    };
    let mut open: BTreeMap<String, bool> = BTreeMap::new();
    for (i, e) in transcript.entries().iter().enumerate() {
        if i == judgement.at {
            w.mark(&marked, &open);
        }
        match &e.event {
            Event::Connect { .. } => {
                open.insert(e.client.clone(), true);
            }
            Event::Disconnect | Event::StreamError(_) => {
                open.insert(e.client.clone(), false);
            }
            _ => {}
        }
        match &e.event {
            Event::Receive(el) => {
                let name = w.name(&e.client);
                let _ = writeln!(w.body, "# {name} received: {}\n", stanza(el));
            }
            _ => w.entry(e),
        }
    }
    if judgement.at >= transcript.len() {
        w.mark(&marked, &open);
    }
    let _ = writeln!(
        w.body,
        "# The property violated: {}\n# It requires here: {}\n",
        judgement.property.replace('\n', " "),
        judgement.requires.replace('\n', " ")
    );
    for (client, el) in &judgement.probes {
        let name = w.name(client);
        let _ = writeln!(w.body, "{name} sends:\n\t{}\n", stanza(el));
    }
    for (client, el) in &judgement.expect {
        let name = w.name(client);
        let _ = writeln!(w.body, "{name} receives:\n\t{}\n", stanza(el));
    }
    w.finish(title)
}

/// Client names end at the end of the line and may not look like actions.
fn sanitize(label: &str) -> String {
    label.replace(['\n', '\r', ':'], " ")
}

fn stanza(el: &Element) -> String {
    // The serializer writes no newlines of its own; those in text become references
    // so that the stanza stays on its one indented line.
    el.to_xml_in(ns::CLIENT).replace('\n', "&#10;")
}

fn mask(el: &Element) -> Element {
    let mut el = el.clone();
    let masked = match (&*el.name, &*el.ns) {
        ("occupant-id", ns::OCCUPANT_ID) => Some("id"),
        ("delay", ns::DELAY) => Some("stamp"),
        _ => None,
    };
    if let Some(attr) = masked {
        if el.attr(attr).is_some() {
            el.set_attr(attr, "{scansion:any}");
        }
    }
    for n in &mut el.children {
        if let Node::Element(c) = n {
            *c = mask(c);
        }
    }
    el
}
