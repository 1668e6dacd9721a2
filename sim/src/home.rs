//! The simulated home server: stamps `from`, routes by domain, keeps presence state
//! per session (available, priority, directed presence) and does what RFC 6121 asks
//! of a server for local delivery, offline messages and unavailable-on-disconnect.

use crate::world::{Conn, ConnId};
use server::jids::{BareJid, FullJid, Jid};
use server::ns;
use server::refusal::{error_element, ErrorType};
use server::stanza::{IqType, Kind, MessageType, PresenceType, Stanza, StanzaError};
use server::xml::{Element, RefusedStanza};
use server::Refusal;
use std::collections::BTreeMap;

const NS_PING: &str = "urn:xmpp:ping";
const NS_ROSTER: &str = "jabber:iq:roster";

/// What the home server does with a stanza, in order.
#[derive(Debug)]
pub(crate) enum Route {
    ToClient(ConnId, Element),
    /// Into the MUC service, sent by this session.
    ToService(FullJid, Element),
    /// A stanza this session sent that went over the service stream's per-stanza
    /// limits: the service answers it (`MucService::refuse_stanza`).
    RefusedToService(FullJid, RefusedStanza),
    /// Close the client's stream with this RFC 6120 §4.9.3 condition.
    CloseStream(ConnId, String),
}

#[derive(Debug)]
pub(crate) struct HomeServer {
    domain: String,
    muc_domain: String,
    /// Messages to users with no available session, delivered on initial presence
    /// (XEP-0160).
    offline: BTreeMap<BareJid, Vec<Element>>,
}

impl HomeServer {
    pub fn new(domain: &str, muc_domain: &str) -> HomeServer {
        HomeServer {
            domain: domain.to_string(),
            muc_domain: muc_domain.to_string(),
            offline: BTreeMap::new(),
        }
    }

    /// A stanza the client `conn` wrote.
    pub fn client_stanza(&mut self, conns: &mut [Conn], conn: ConnId, mut el: Element) -> Vec<Route> {
        let me = conns[conn.0].jid.clone();
        if let Some(from) = el.attr("from") {
            let owned = Jid::new(from)
                .map(|j| j.as_str() == me.as_str() || j.as_str() == me.to_bare().as_str())
                .unwrap_or(false);
            if !owned {
                return vec![Route::CloseStream(conn, "invalid-from".into())];
            }
        }
        el.set_attr("from", me.as_str());
        if &*el.name == "presence" && el.ns == ns::CLIENT && el.attr("type").is_none() {
            inject_vcard_update(&mut el);
        }
        // Everything for the MUC domain goes to the service, even addresses the jid
        // crate refuses: the room answers those (e.g. a nick failing strict prep).
        if el.attr("to").map(raw_domain) == Some(self.muc_domain.as_str()) {
            if &*el.name == "presence" {
                let t = match el.attr("type") {
                    None => Some(PresenceType::Available),
                    Some("unavailable") => Some(PresenceType::Unavailable),
                    _ => None,
                };
                if let (Some(t), Ok(to)) = (t, Jid::new(el.attr("to").unwrap_or_default())) {
                    track_directed(&mut conns[conn.0], &to, t);
                }
            }
            return vec![Route::ToService(me, el)];
        }
        let st = match Stanza::parse(el) {
            Ok(st) => st,
            Err((_, StanzaError::NotAStanza)) => {
                return vec![Route::CloseStream(conn, "unsupported-stanza-type".into())]
            }
            Err((el, StanzaError::Refused(r))) => {
                return self.refuse(conns, &el, r.error_element(None), &self.domain.clone())
            }
        };
        let Some(to) = st.to.clone() else {
            return self.for_own_account(conns, conn, st);
        };
        let domain = to.domain().as_str();
        if domain == self.domain {
            if to.node().is_none() {
                return self.for_server(conns, st);
            }
            if let Kind::Presence(t) = st.kind {
                track_directed(&mut conns[conn.0], &to, t);
            }
            return self.deliver(conns, &to, st.el);
        }
        self.refuse(conns, &st.el, HomeRefusal::RemoteServerNotFound.error(), domain)
    }

    /// A stanza the client `conn` wrote that the parser skipped for going over a
    /// per-stanza limit. `from` is stamped as for any stanza (RFC 6120 §8.1.2.1); for
    /// the MUC domain it goes to the service, which answers it; anything else the
    /// home server refuses itself, with the same error.
    pub fn client_refused(&mut self, conns: &mut [Conn], conn: ConnId, mut r: RefusedStanza) -> Vec<Route> {
        let me = conns[conn.0].jid.clone();
        r.from = Some(me.to_string());
        if r.to.as_deref().map(raw_domain) == Some(self.muc_domain.as_str()) {
            return vec![Route::RefusedToService(me, r)];
        }
        let by = self.domain.clone();
        self.refuse(
            conns,
            &r.head(),
            Refusal::StanzaLimit(r.limit).error_element(None),
            &by,
        )
    }

    /// Delivers a stanza to a local address (from a client, or from the service).
    pub fn deliver(&mut self, conns: &mut [Conn], to: &Jid, el: Element) -> Vec<Route> {
        if to.domain().as_str() != self.domain || to.node().is_none() {
            // Addressed to a domain or entity with no sessions here: nothing to do.
            return Vec::new();
        }
        // To a session that exists, whatever the stanza (e.g. the error answering an
        // iq without id, which is itself not a valid iq).
        if let Ok(full) = to.try_as_full() {
            if let Some(i) = conns.iter().position(|c| c.open && &c.jid == full) {
                return vec![Route::ToClient(ConnId(i), el)];
            }
        }
        let kind = match Stanza::parse(el.clone()) {
            Ok(st) => st.kind,
            Err(_) => return Vec::new(),
        };
        // A bare JID, or a full JID with no such session (RFC 6121 §8.5.2, §8.5.3.2).
        let bare = to.to_bare();
        let targets: Vec<ConnId> = conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.open && c.available && c.priority >= 0 && c.jid.to_bare() == bare)
            .map(|(i, _)| ConnId(i))
            .collect();
        match kind {
            Kind::Message(MessageType::Normal | MessageType::Chat | MessageType::Headline) => {
                if targets.is_empty() {
                    if matches!(kind, Kind::Message(MessageType::Headline)) {
                        return Vec::new();
                    }
                    self.offline.entry(bare).or_default().push(el);
                    return Vec::new();
                }
                targets
                    .into_iter()
                    .map(|c| Route::ToClient(c, el.clone()))
                    .collect()
            }
            Kind::Presence(_) if to.resource().is_none() => targets
                .into_iter()
                .map(|c| Route::ToClient(c, el.clone()))
                .collect(),
            Kind::Iq(IqType::Get | IqType::Set) => {
                self.refuse(conns, &el, HomeRefusal::ServiceUnavailable.error(), to.as_str())
            }
            _ => Vec::new(),
        }
    }

    /// The session ends: unavailable presence to its own other sessions and to
    /// everyone that got directed presence from it, as a server does on unbind.
    pub fn unbind(&mut self, conns: &mut [Conn], conn: ConnId) -> Vec<Route> {
        let c = &mut conns[conn.0];
        let was_available = std::mem::replace(&mut c.available, false);
        let directed = std::mem::take(&mut c.directed);
        let me = c.jid.clone();
        let unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("from", me.as_str())
            .with_attr("type", "unavailable");
        let mut out = Vec::new();
        if was_available {
            out.extend(self.own_sessions(conns, &me, conn, &unavailable));
        }
        out.extend(self.send_each(conns, &me, directed, &unavailable));
        out
    }

    /// A copy of `pres` from `me` to each of `targets` (the MUC domain goes to the
    /// service; local users get local delivery).
    fn send_each(
        &mut self,
        conns: &mut [Conn],
        me: &FullJid,
        targets: Vec<Jid>,
        pres: &Element,
    ) -> Vec<Route> {
        let mut out = Vec::new();
        for to in targets {
            let mut p = pres.clone();
            p.set_attr("to", to.as_str());
            if to.domain().as_str() == self.muc_domain {
                out.push(Route::ToService(me.clone(), p));
            } else {
                out.extend(self.deliver(conns, &to, p));
            }
        }
        out
    }

    /// Presence without `to` is a broadcast; other stanzas without `to` are for the
    /// server on the account's behalf.
    fn for_own_account(&mut self, conns: &mut [Conn], conn: ConnId, st: Stanza) -> Vec<Route> {
        let me = conns[conn.0].jid.clone();
        match st.kind {
            Kind::Presence(PresenceType::Available) => {
                let c = &mut conns[conn.0];
                let initial = !c.available;
                c.available = true;
                c.priority = st
                    .el
                    .child_text("priority", ns::CLIENT)
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
                let mut out = self.own_sessions(conns, &me, ConnId(usize::MAX), &st.el);
                if initial {
                    for m in self.offline.remove(&me.to_bare()).unwrap_or_default() {
                        let mut m = m;
                        m.set_attr("to", me.as_str());
                        out.push(Route::ToClient(conn, m));
                    }
                }
                out
            }
            Kind::Presence(PresenceType::Unavailable) => {
                let mut out = self.own_sessions(conns, &me, ConnId(usize::MAX), &st.el);
                // Everyone that got directed presence hears that we left (§4.6.3).
                let c = &mut conns[conn.0];
                c.available = false;
                let directed = std::mem::take(&mut c.directed);
                out.extend(self.send_each(conns, &me, directed, &st.el));
                out
            }
            Kind::Presence(_) => Vec::new(),
            Kind::Message(_) => self.deliver(conns, &Jid::from(me.to_bare()), st.el),
            Kind::Iq(_) => self.for_server(conns, st),
        }
    }

    /// A copy of `pres` to each available session of `me`'s account except `skip`.
    fn own_sessions(&self, conns: &[Conn], me: &FullJid, skip: ConnId, pres: &Element) -> Vec<Route> {
        let bare = me.to_bare();
        conns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != skip.0 && c.open && (c.available || &c.jid == me) && c.jid.to_bare() == bare
            })
            .map(|(i, c)| {
                let mut p = pres.clone();
                p.set_attr("to", c.jid.as_str());
                Route::ToClient(ConnId(i), p)
            })
            .collect()
    }

    /// Iqs the server answers itself: ping and an (empty) roster; anything else is
    /// `service-unavailable`, as for a server without the feature.
    fn for_server(&mut self, conns: &mut [Conn], st: Stanza) -> Vec<Route> {
        let Kind::Iq(t @ (IqType::Get | IqType::Set)) = st.kind else {
            return Vec::new();
        };
        let server = st.to.as_ref().map_or(self.domain.clone(), |j| j.to_string());
        let payload = st.payload();
        let ok = match (t, payload.map(|p| (&*p.name, &*p.ns))) {
            (IqType::Get, Some(("ping", NS_PING))) => Some(None),
            (IqType::Get, Some(("query", NS_ROSTER))) => Some(Some(Element::new("query", NS_ROSTER))),
            _ => None,
        };
        let from = st.el.attr("from").unwrap_or_default().to_string();
        match ok {
            Some(child) => {
                let mut res = server::stanza::iq_result(&st.el, &server);
                if let Some(c) = child {
                    res.push(c);
                }
                let to = Jid::new(&from).expect("stamped by us");
                res.set_attr("to", &from);
                self.deliver(conns, &to, res)
            }
            None => self.refuse(conns, &st.el, HomeRefusal::ServiceUnavailable.error(), &server),
        }
    }

    /// The error reply to `el` from `by`, back to its sender; never an error to an error.
    /// Answers `el` with `error` (RFC 6120 §8.3.1), from `by`; errors are never answered.
    fn refuse(&mut self, conns: &mut [Conn], el: &Element, error: Element, by: &str) -> Vec<Route> {
        if el.attr("type") == Some("error") {
            return Vec::new();
        }
        let Some(to) = el.attr("from").and_then(|f| Jid::new(f).ok()) else {
            return Vec::new();
        };
        let mut reply = server::refusal::error_reply(el, by, error);
        reply.set_attr("to", to.as_str());
        self.deliver(conns, &to, reply)
    }
}

/// The home server's own reasons to refuse a stanza (not the MUC service's, which
/// are `server::Refusal`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HomeRefusal {
    /// RFC 6120 §8.3.3.15: the addressee's domain is neither local nor reachable.
    RemoteServerNotFound,
    /// RFC 6120 §8.3.3.19: the home server offers no such service.
    ServiceUnavailable,
}

impl HomeRefusal {
    /// The `<error/>` (RFC 6120 §8.3.2), without text or `by`, as Prosody words it.
    fn error(self) -> Element {
        let (ty, cond) = match self {
            HomeRefusal::RemoteServerNotFound => (ErrorType::Cancel, "remote-server-not-found"),
            HomeRefusal::ServiceUnavailable => (ErrorType::Cancel, "service-unavailable"),
        };
        error_element(ty, cond, None, None)
    }
}

/// XEP-0153, as Prosody's mod_vcard_legacy does for every available presence a
/// client sends: an avatar-hash `<x/>` (empty `<photo/>`: no avatar is published).
fn inject_vcard_update(el: &mut Element) {
    const NS_VCARD_UPDATE: &str = "vcard-temp:x:update";
    match el.child_mut("x", NS_VCARD_UPDATE) {
        None => {
            el.push(Element::new("x", NS_VCARD_UPDATE).with_child(Element::new("photo", NS_VCARD_UPDATE)))
        }
        Some(x) if x.child("photo", NS_VCARD_UPDATE).is_none() => {
            x.push(Element::new("photo", NS_VCARD_UPDATE))
        }
        Some(_) => {}
    }
}

/// The domain part of an address as written, without validating it.
fn raw_domain(jid: &str) -> &str {
    let no_resource = jid.split_once('/').map_or(jid, |(b, _)| b);
    no_resource.rsplit_once('@').map_or(no_resource, |(_, d)| d)
}

fn track_directed(c: &mut Conn, to: &Jid, t: PresenceType) {
    match t {
        PresenceType::Available if !c.directed.contains(to) => c.directed.push(to.clone()),
        PresenceType::Unavailable => c.directed.retain(|j| j != to),
        _ => {}
    }
}
