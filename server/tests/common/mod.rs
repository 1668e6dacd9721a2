//! Test helpers: drive the service with XML strings and compare whole stanzas.
#![allow(dead_code)]

use server::xml::{parse_stanza, Element, Limits, Node};
use server::{Millis, MucService, Outbox, ServiceConfig};

pub const MUC: &str = "conference.localhost";

pub fn el(xml: &str) -> Element {
    parse_stanza(xml.as_bytes(), "jabber:client", &Limits::default()).unwrap_or_else(|e| panic!("{e}: {xml}"))
}

pub fn full(j: &str) -> jid::FullJid {
    jid::FullJid::new(j).unwrap()
}

/// Sorted attributes, no whitespace-only text: two canonical trees are equal iff the
/// stanzas are the same up to attribute order and formatting.
pub fn canon(e: &Element) -> Element {
    let mut c = e.clone();
    c.attrs.sort();
    c.children = e
        .children
        .iter()
        .filter_map(|n| match n {
            Node::Element(ch) => Some(Node::Element(canon(ch))),
            Node::Text(t) if t.trim().is_empty() => None,
            Node::Text(t) => Some(Node::Text(t.clone())),
        })
        .collect();
    c
}

#[track_caller]
pub fn assert_stanza(got: &Element, expected: &str) {
    let want = canon(&el(expected));
    let got_c = canon(got);
    assert_eq!(
        got_c,
        want,
        "\n got: {}\nwant: {}",
        got_c.to_xml_in("jabber:client"),
        want.to_xml_in("jabber:client")
    );
}

/// `got` is a discussion-history message (XEP-0045 §7.2.15): `expected` (without its
/// end tag) followed by the room's `<delay/>` (XEP-0203), whose stamp is taken from
/// `got` (the time is not what these tests read).
#[track_caller]
pub fn assert_history(got: &Element, expected: &str) {
    let stamp = got
        .child("delay", "urn:xmpp:delay")
        .and_then(|d| d.attr("stamp"))
        .expect("a history message carries a delay stamp");
    let room = expected
        .split("from='")
        .nth(1)
        .and_then(|f| f.split('/').next())
        .expect("the expected message is from an occupant");
    assert_stanza(
        got,
        &format!("{expected}<delay xmlns='urn:xmpp:delay' from='{room}' stamp='{stamp}'/></message>"),
    );
}

/// `out` is the one stanza `expected` (whole-stanza comparison).
#[track_caller]
pub fn assert_only(out: &[Sent], expected: &str) {
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_stanza(&out[0].stanza, expected);
}

/// `out` holds an iq result (the request succeeded).
#[track_caller]
pub fn assert_has_result(out: &[Sent]) {
    assert!(
        out.iter().any(|o| o.stanza.attr("type") == Some("result")),
        "{out:?}"
    );
}

/// The recipients of `out`, in order, are `want` (XEP-0045 §9–§10 fix who is told
/// first: the actor's answer, the affected occupant, the others).
#[track_caller]
pub fn assert_recipients(out: &[Sent], want: &[&str]) {
    let to: Vec<&str> = out.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(to, want, "{out:#?}");
}

/// The unavailable presence from `nick` in room `room` (a local part, on [`MUC`]) to
/// `to`, carrying its occupant id and a `muc#user` `<x/>` holding `x_inner`
/// (XEP-0045 §7.14, §9.1, §9.4: the removals and departures).
pub fn unavailable(room: &str, nick: &str, to: &str, occupant_id: &str, x_inner: &str) -> String {
    format!(
        "<presence type='unavailable' from='{room}@{MUC}/{nick}' to='{to}'>\
         <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{occupant_id}'/>\
         <x xmlns='http://jabber.org/protocol/muc#user'>{x_inner}</x></presence>"
    )
}

/// Each `(bare JID, affiliation)` of `want` holds in `room` (XEP-0045 §5.2).
#[track_caller]
pub fn assert_affiliations(room: &server::muc::Room, want: &[(&str, &str)]) {
    for &(bare, aff) in want {
        let got = room.affiliation(&jid::BareJid::new(bare).unwrap());
        assert_eq!(got.as_str(), aff, "the affiliation of {bare}");
    }
}

/// The presence that joins room `room` (a local part, on [`MUC`]) as `nick`
/// (XEP-0045 §7.2).
pub fn join_stanza(room: &str, nick: &str) -> String {
    format!("<presence to='{room}@{MUC}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
}

/// One stanza as its recipient gets it: `to` written in.
#[derive(Debug)]
pub struct Sent {
    pub to: jid::Jid,
    pub stanza: Element,
}

pub struct H {
    pub svc: MucService,
    pub now: u64,
}

impl Default for H {
    fn default() -> Self {
        H::new(ServiceConfig::new(MUC, 42))
    }
}

impl H {
    /// A service with the default configuration as `set` changes it.
    pub fn configured(set: impl FnOnce(&mut ServiceConfig)) -> H {
        let mut cfg = ServiceConfig::new(MUC, 42);
        set(&mut cfg);
        H::new(cfg)
    }

    pub fn new(cfg: ServiceConfig) -> H {
        H {
            svc: MucService::new(cfg).expect("valid configuration"),
            now: 1_795_000_000_000,
        }
    }

    pub fn send(&mut self, from: &str, xml: &str) -> Vec<Sent> {
        self.now += 10;
        self.svc
            .handle(Millis(self.now), full(from), el(xml))
            .into_iter()
            .map(|o| Sent {
                stanza: o.element(),
                to: o.to,
            })
            .collect()
    }

    /// Sends and keeps only what `to` receives.
    pub fn send_for(&mut self, from: &str, xml: &str, to: &str) -> Vec<Element> {
        self.send(from, xml)
            .into_iter()
            .filter(|o| o.to.as_str() == to)
            .map(|o| o.stanza)
            .collect()
    }

    pub fn join(&mut self, from: &str, room: &str, nick: &str) -> Vec<Sent> {
        self.send(from, &join_stanza(room, nick))
    }

    /// Handles `xml` from `from` at `at` (ms since the epoch, the clock stays there)
    /// and returns the whole outbox, store operations included.
    pub fn handle_at(&mut self, at: u64, from: &str, xml: &str) -> Outbox {
        self.now = at;
        self.svc.handle(Millis(at), full(from), el(xml))
    }

    pub fn join_with(&mut self, from: &str, room: &str, nick: &str, x_inner: &str) -> Vec<Sent> {
        self.send(
            from,
            &format!("<presence to='{room}@{MUC}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>{x_inner}</x></presence>"),
        )
    }

    /// Creates `room` owned by `owner` and unlocks it with `fields` (field XML).
    pub fn create(&mut self, owner: &str, room: &str, nick: &str, fields: &str) {
        let _ = self.join(owner, room, nick);
        let out = self.configure(owner, room, fields);
        assert!(
            out.iter().any(|o| o.stanza.attr("type") == Some("result")),
            "config refused: {out:?}"
        );
    }

    pub fn configure(&mut self, owner: &str, room: &str, fields: &str) -> Vec<Sent> {
        self.send(
            owner,
            &format!(
                "<iq id='cfg' to='{room}@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
                 <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>{fields}</x>\
                 </query></iq>"
            ),
        )
    }

    pub fn set_aff(&mut self, from: &str, room: &str, jid: &str, aff: &str) -> Vec<Sent> {
        self.send(
            from,
            &format!(
                "<iq id='aff' to='{room}@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'>\
                 <item affiliation='{aff}' jid='{jid}'/></query></iq>"
            ),
        )
    }

    pub fn set_role(&mut self, from: &str, room: &str, nick: &str, role: &str) -> Vec<Sent> {
        self.send(
            from,
            &format!(
                "<iq id='role' to='{room}@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'>\
                 <item role='{role}' nick='{nick}'/></query></iq>"
            ),
        )
    }

    pub fn room(&self, room: &str) -> Option<&server::muc::Room> {
        self.svc
            .room(&jid::BareJid::new(&format!("{room}@{MUC}")).unwrap())
    }

    pub fn occupant_id(&self, room: &str, nick: &str) -> String {
        self.room(room)
            .unwrap()
            .occupant(nick)
            .unwrap()
            .occupant_id
            .clone()
    }
}

pub fn bool_field(var: &str, v: bool) -> String {
    format!(
        "<field var='muc#roomconfig_{var}'><value>{}</value></field>",
        if v { 1 } else { 0 }
    )
}

/// The error condition of an error stanza, e.g. `("auth", "forbidden")`.
pub fn error_of(st: &Element) -> Option<(String, String)> {
    if st.attr("type") != Some("error") {
        return None;
    }
    let e = st.child("error", "jabber:client")?;
    let cond = e
        .elements()
        .find(|c| c.ns == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name != "text")?;
    Some((e.attr("type")?.to_string(), cond.name.to_string()))
}

#[track_caller]
pub fn assert_error(out: &[Sent], to: &str, ty: &str, cond: &str) {
    let errs: Vec<_> = out
        .iter()
        .filter(|o| o.to.as_str() == to)
        .filter_map(|o| error_of(&o.stanza))
        .collect();
    assert_eq!(errs, vec![(ty.to_string(), cond.to_string())], "outbox: {out:#?}");
    assert_eq!(out.len(), 1, "a refusal sends only the error: {out:#?}");
}

pub fn statuses(st: &Element) -> Vec<String> {
    st.child("x", "http://jabber.org/protocol/muc#user")
        .map(|x| {
            x.elements()
                .filter(|c| c.name == "status")
                .filter_map(|c| c.attr("code").map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
