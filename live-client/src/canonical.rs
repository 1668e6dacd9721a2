//! A transcript in a form two servers' runs of one script can be diffed in:
//! times dropped, attributes sorted, and what each server generates for itself
//! (bound resources, occupant-ids, stanza ids nobody sent, delay stamps, ad-hoc
//! session ids) masked; whitespace
//! between elements and the routing server's `xml:lang` stamp dropped; a stanza's
//! own children sorted, and so are a `muc#user` `<x/>`'s (XEP-0045 §19.2's schema
//! fixes no order there; Prosody and ejabberd differ). The runs themselves still
//! check that order unless told not to (`--unordered-children`).

use mucsim_scansion::{Event, Transcript};
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
    // The order of a stanza's own children carries no meaning (RFC 6120 §8), and
    // Prosody's varies between runs (the invitation's body and XEP-0249 element
    // swapped places between two runs of muc_mediated_invite): sort them. Order
    // inside payloads (status codes, items) is kept.
    el.children.sort_by(|a, b| match (a, b) {
        (Node::Element(x), Node::Element(y)) => (&x.ns, &x.name).cmp(&(&y.ns, &y.name)),
        (Node::Text(_), Node::Element(_)) => std::cmp::Ordering::Less,
        (Node::Element(_), Node::Text(_)) => std::cmp::Ordering::Greater,
        (Node::Text(_), Node::Text(_)) => std::cmp::Ordering::Equal,
    });
    // Prosody stamps its stream's language on every stanza a component sends it, and
    // on a client's presence it relays: a property of the route, not of the MUC.
    el.attrs
        .retain(|a| !(a.ns == server::xml::NS_XML && a.name == "lang"));
    mask(&mut el, jids, sent_ids, true);
    el.to_xml_in(server::ns::CLIENT)
}

fn mask(el: &mut Element, jids: &BTreeMap<String, String>, sent_ids: &BTreeSet<String>, top: bool) {
    let occupant_id = el.is("occupant-id", server::ns::OCCUPANT_ID);
    let delay = el.is("delay", server::ns::DELAY);
    let command = el.is("command", server::ns::COMMANDS);
    for a in &mut el.attrs {
        if let Some(m) = jids.get(&a.value) {
            a.value = m.clone();
        } else if occupant_id && a.name == "id" {
            a.value = "OCCUPANT-ID".into();
        } else if delay && a.name == "stamp" {
            a.value = "TIMESTAMP".into();
        } else if command && a.name == "sessionid" {
            a.value = "SESSION-ID".into();
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
    if el.is("x", server::ns::MUC_USER) {
        el.children.sort_by_cached_key(|c| match c {
            Node::Element(e) => e.to_xml_in(server::ns::MUC_USER),
            Node::Text(t) => t.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::Millis;

    fn el(xml: &str) -> Element {
        server::xml::parse_stanza(xml.as_bytes(), server::ns::CLIENT, &Default::default()).unwrap()
    }

    #[test]
    fn what_servers_generate_is_masked_and_order_is_canonical() {
        let mut t = Transcript::default();
        t.push(
            Millis(0),
            "Romeo",
            Event::Connect {
                full_jid: "user@localhost/abc".into(),
            },
        );
        t.push(
            Millis(1),
            "Romeo",
            Event::Send(el(
                "<message id='m1' type='groupchat' to='r@muc'><body>hi</body></message>",
            )),
        );
        t.push(
            Millis(9),
            "Romeo",
            Event::Receive(el(
                "<message xml:lang='en' type='groupchat' to='user@localhost/abc' id='srv-42' from='r@muc/Romeo'>\n  \
                 <x xmlns='urn:x'><status code='2'/><status code='1'/></x>\
                 <x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/><item role='none'/></x>\
                 <occupant-id xmlns='urn:xmpp:occupant-id:0' id='secret'/><body>hi</body></message>",
            )),
        );
        let c = canonical(&t);
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines[0], "Romeo connects as user@localhost/RESOURCE(Romeo)");
        assert_eq!(
            lines[2],
            "Romeo receives: <message from='r@muc/Romeo' id='GENERATED-ID' to='user@localhost/RESOURCE(Romeo)' type='groupchat'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='110'/></x>\
             <body>hi</body><x xmlns='urn:x'><status code='2'/><status code='1'/></x>\
             <occupant-id xmlns='urn:xmpp:occupant-id:0' id='OCCUPANT-ID'/></message>"
        );
        // An id the client sent is kept.
        assert!(lines[1].contains("id='m1'"));
    }
}
