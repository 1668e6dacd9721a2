//! A transcript in a form two servers' runs of one script can be diffed in:
//! times dropped, attributes sorted, and what each server generates for itself
//! (bound resources, occupant-ids, stanza ids nobody sent) masked; whitespace
//! between elements and the routing server's `xml:lang` stamp dropped.

use mucsim_sim::{Event, Transcript};
use server::xml::{Element, Node};
use std::collections::{BTreeMap, BTreeSet};

pub fn canonical(t: &Transcript) -> String {
    let mut jids: BTreeMap<String, String> = BTreeMap::new();
    let mut sent_ids = BTreeSet::new();
    for e in t.entries() {
        match &e.event {
            Event::Connect { full_jid } => {
                jids.insert(
                    full_jid.clone(),
                    format!("{}/RESOURCE({})", bare(full_jid), e.client),
                );
            }
            Event::Send(el) => collect_ids(el, &mut sent_ids),
            _ => {}
        }
    }
    let mut out = String::new();
    for e in t.entries() {
        let who = &e.client;
        let line = match &e.event {
            Event::Connect { full_jid } => format!("{who} connects as {}", jids[full_jid]),
            Event::Disconnect => format!("{who} disconnects"),
            Event::Send(el) => format!("{who} sends: {}", render(el, &jids, &sent_ids)),
            Event::Receive(el) => format!("{who} receives: {}", render(el, &jids, &sent_ids)),
            Event::StreamError(c) => format!("{who} stream ends: {c}"),
            Event::Note(n) => format!("{who} -- {n}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn bare(full: &str) -> &str {
    full.split('/').next().unwrap_or(full)
}

fn collect_ids(el: &Element, ids: &mut BTreeSet<String>) {
    if let Some(id) = el.attr("id") {
        ids.insert(id.to_string());
    }
    for c in el.elements() {
        collect_ids(c, ids);
    }
}

fn render(el: &Element, jids: &BTreeMap<String, String>, sent_ids: &BTreeSet<String>) -> String {
    let mut el = el.clone();
    // Prosody stamps its stream's language on every stanza a component sends it, and
    // on a client's presence it relays: a property of the route, not of the MUC.
    el.attrs
        .retain(|a| !(a.ns == server::xml::NS_XML && a.name == "lang"));
    mask(&mut el, jids, sent_ids, true);
    el.to_xml_in(server::ns::CLIENT)
}

fn mask(el: &mut Element, jids: &BTreeMap<String, String>, sent_ids: &BTreeSet<String>, top: bool) {
    let occupant_id = el.is("occupant-id", server::ns::OCCUPANT_ID);
    for a in &mut el.attrs {
        if let Some(m) = jids.get(&a.value) {
            a.value = m.clone();
        } else if occupant_id && a.name == "id" {
            a.value = "OCCUPANT-ID".into();
        } else if top && a.name == "id" && !sent_ids.contains(&a.value) {
            a.value = "GENERATED-ID".into();
        }
    }
    el.attrs.sort();
    // Whitespace between elements is insignificant (a server may echo a client's
    // indentation inside a presence it broadcasts, or not).
    el.children
        .retain(|c| !matches!(c, Node::Text(t) if t.chars().all(char::is_whitespace)));
    for c in &mut el.children {
        match c {
            Node::Element(e) => mask(e, jids, sent_ids, false),
            Node::Text(t) => {
                if let Some(m) = jids.get(t.trim()) {
                    *t = m.clone();
                }
            }
        }
    }
}
