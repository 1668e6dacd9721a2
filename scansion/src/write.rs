//! Writes a transcript back out as a scansion script that replays it: one client
//! block per connection (with its bound resource, so full JIDs come out the same),
//! every send, and every received stanza as an expectation. Values that depend on
//! the seed or the clock (occupant-ids, delay stamps) become `{scansion:any}`.

use crate::transcript::{Event, Transcript};
use server::ns;
use server::xml::{Element, Node};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The script for `transcript`, titled `title`.
pub fn to_scs(title: &str, transcript: &Transcript) -> String {
    // Each connection gets its own client name; a label that reconnects as another
    // full JID gets a numbered name.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut clients: Vec<(String, String)> = Vec::new();
    let mut body = String::new();
    for e in transcript.entries() {
        match &e.event {
            Event::Connect { full_jid } => {
                let existing = clients
                    .iter()
                    .find(|(_, j)| j == full_jid)
                    .map(|(n, _)| n.clone());
                let name = existing.unwrap_or_else(|| {
                    let taken = |n: &str| clients.iter().any(|(c, _)| c == n);
                    let mut name = sanitize(&e.client);
                    let mut i = 2;
                    while taken(&name) {
                        name = format!("{} {i}", sanitize(&e.client));
                        i += 1;
                    }
                    clients.push((name.clone(), full_jid.clone()));
                    name
                });
                names.insert(e.client.clone(), name.clone());
                let _ = writeln!(body, "{name} connects\n");
            }
            Event::Disconnect => {
                let _ = writeln!(body, "{} disconnects\n", names[&e.client]);
            }
            Event::Send(el) => {
                let _ = writeln!(body, "{} sends:\n\t{}\n", names[&e.client], stanza(el));
            }
            Event::Receive(el) => {
                let _ = writeln!(body, "{} receives:\n\t{}\n", names[&e.client], stanza(&mask(el)));
            }
            Event::StreamError(cond) => {
                let _ = writeln!(body, "# {}: stream error {cond}\n", names[&e.client]);
            }
            Event::Note(text) => {
                let _ = writeln!(body, "# {}: {}\n", e.client, text.replace('\n', " "));
            }
        }
    }
    let mut out = format!("# {}\n\n", title.replace('\n', " "));
    for (name, full) in &clients {
        let (bare, resource) = full.split_once('/').unwrap_or((full, ""));
        let _ = writeln!(out, "[Client] {name}\n\tjid: {bare}\n\tpassword: password");
        if !resource.is_empty() {
            let _ = writeln!(out, "\tresource: {resource}");
        }
        out.push('\n');
    }
    out.push_str("-----\n\n");
    out.push_str(&body);
    out
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
