//! The simulated home server: stamps `from`, routes by domain, keeps presence state
//! per session (available, priority, directed presence) and does what RFC 6121 asks
//! of a server for local delivery, offline messages and unavailable-on-disconnect.

use mucsim_scansion::ConnId;
use server::jids::{bare_str, Bare, BareJid, FullJid, Jid};
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
    /// A stanza of the service's to one of its open sessions, its body shared with
    /// the other recipients (the world's delivery; [`HomeServer::open_session`]).
    ServiceToClient(ConnId, server::Outgoing),
    /// Into the MUC service, sent by this session.
    ToService(FullJid, Element),
    /// A stanza this session sent that went over the service stream's per-stanza
    /// limits: the service answers it (`MucService::refuse_stanza`).
    RefusedToService(FullJid, RefusedStanza),
    /// Close the client's stream with this RFC 6120 §4.9.3 condition.
    CloseStream(ConnId, String),
}

/// One client session of the home server (RFC 6120 §7: a bound resource) and its
/// presence state (RFC 6121 §4).
#[derive(Debug)]
pub(crate) struct Session {
    pub jid: FullJid,
    /// Bound and not yet unbound.
    pub open: bool,
    /// Sent initial presence and not yet unavailable (RFC 6121 §4.2).
    pub available: bool,
    pub priority: i8,
    /// Entities that got directed available presence from this session (§4.6), in
    /// the order they first got it.
    pub directed: Vec<Jid>,
}

/// The simulated home server as a sans-IO state machine: it owns its sessions
/// (indexed by `ConnId`, one per bind, never reused) and answers each input with the
/// `Route`s to take, in order; the links that carry them are the world's.
#[derive(Debug)]
pub(crate) struct HomeServer {
    sessions: Vec<Session>,
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
            sessions: Vec::new(),
            offline: BTreeMap::new(),
        }
    }

    /// Binds `jid` as a new session (RFC 6120 §7), numbered in bind order; `None`
    /// when an open session already has that full JID (§7.7.2.2 `conflict`).
    pub fn bind(&mut self, jid: FullJid) -> Option<ConnId> {
        if self.sessions.iter().any(|s| s.open && s.jid == jid) {
            return None;
        }
        self.sessions.push(Session {
            jid,
            open: true,
            available: false,
            priority: 0,
            directed: Vec::new(),
        });
        Some(ConnId(self.sessions.len() - 1))
    }

    /// The session `conn` (bound by [`HomeServer::bind`]).
    pub fn session(&self, conn: ConnId) -> &Session {
        &self.sessions[conn.0]
    }

    /// A stanza the client `conn` wrote.
    pub fn client_stanza(&mut self, conn: ConnId, mut el: Element) -> Vec<Route> {
        let me = self.sessions[conn.0].jid.clone();
        if let Some(from) = el.attr("from") {
            let owned = Jid::new(from)
                .map(|j| j.as_str() == me.as_str() || j.as_str() == bare_str(&me))
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
                    track_directed(&mut self.sessions[conn.0], &to, t);
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
                return self.refuse(&el, r.error_element(None), &self.domain.clone())
            }
        };
        let Some(to) = st.to.clone() else {
            return self.for_own_account(conn, st);
        };
        let domain = to.domain().as_str();
        if domain == self.domain {
            if to.node().is_none() {
                return self.for_server(st);
            }
            if let Kind::Presence(t) = st.kind {
                track_directed(&mut self.sessions[conn.0], &to, t);
            }
            return self.deliver(&to, st.el);
        }
        self.refuse(&st.el, HomeRefusal::RemoteServerNotFound.error(), domain)
    }

    /// A stanza the client `conn` wrote that the parser skipped for going over a
    /// per-stanza limit. `from` is stamped as for any stanza (RFC 6120 §8.1.2.1); for
    /// the MUC domain it goes to the service, which answers it; anything else the
    /// home server refuses itself, with the same error.
    pub fn client_refused(&mut self, conn: ConnId, mut r: RefusedStanza) -> Vec<Route> {
        let me = self.sessions[conn.0].jid.clone();
        r.from = Some(me.to_string());
        if r.to.as_deref().map(raw_domain) == Some(self.muc_domain.as_str()) {
            return vec![Route::RefusedToService(me, r)];
        }
        let by = self.domain.clone();
        self.refuse(&r.head(), Refusal::StanzaLimit(r.limit).error_element(None), &by)
    }

    /// The open session whose full JID is `to`, which [`HomeServer::deliver`] hands
    /// any stanza to as it is. Sessions are bound on this domain with a node
    /// (`World::connect`), so such a `to` passes `deliver`'s checks of the address.
    pub fn open_session(&self, to: &Jid) -> Option<ConnId> {
        let full = to.try_as_full().ok()?;
        self.sessions
            .iter()
            .position(|c| c.open && &c.jid == full)
            .map(ConnId)
    }

    /// A stanza of the service's: as [`HomeServer::deliver`] would route
    /// `o.element()`, without copying the body when `o.to` is an open session.
    pub fn deliver_outgoing(&mut self, o: server::Outgoing) -> Vec<Route> {
        match self.open_session(&o.to) {
            Some(conn) => vec![Route::ServiceToClient(conn, o)],
            None => {
                let el = o.element();
                self.deliver(&o.to, el)
            }
        }
    }

    /// Delivers a stanza to a local address (from a client, or from the service).
    pub fn deliver(&mut self, to: &Jid, el: Element) -> Vec<Route> {
        if to.domain().as_str() != self.domain || to.node().is_none() {
            // Addressed to a domain or entity with no sessions here: nothing to do.
            return Vec::new();
        }
        // To a session that exists, whatever the stanza (e.g. the error answering an
        // iq without id, which is itself not a valid iq).
        if let Some(conn) = self.open_session(to) {
            return vec![Route::ToClient(conn, el)];
        }
        let kind = match Stanza::parse(el.clone()) {
            Ok(st) => st.kind,
            Err(_) => return Vec::new(),
        };
        // A bare JID, or a full JID with no such session (RFC 6121 §8.5.2, §8.5.3.2).
        let bare = to.bare();
        let targets: Vec<ConnId> = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.open && c.available && c.priority >= 0 && bare_str(&c.jid) == bare.as_str())
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
                self.refuse(&el, HomeRefusal::ServiceUnavailable.error(), to.as_str())
            }
            _ => Vec::new(),
        }
    }

    /// The session ends (RFC 6120 §7; the stream closed either way): unavailable
    /// presence to its own other sessions and to everyone that got directed presence
    /// from it (RFC 6121 §4.6.3, [`unavailable_on_unbind`]); the session is closed.
    pub fn unbind(&mut self, conn: ConnId) -> Vec<Route> {
        let c = &mut self.sessions[conn.0];
        if !c.open {
            return Vec::new();
        }
        let was_available = std::mem::replace(&mut c.available, false);
        let directed = std::mem::take(&mut c.directed);
        let me = c.jid.clone();
        let unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("from", me.as_str())
            .with_attr("type", "unavailable");
        let mut out = Vec::new();
        if was_available {
            out.extend(self.own_sessions(&me, conn, &unavailable));
        }
        for (to, p) in directed
            .iter()
            .cloned()
            .zip(unavailable_on_unbind(Some(&me), &directed))
        {
            out.extend(self.send_one(&me, to, p));
        }
        self.sessions[conn.0].open = false;
        out
    }

    /// A copy of `pres` from `me` to each of `targets`.
    fn send_each(&mut self, me: &FullJid, targets: Vec<Jid>, pres: &Element) -> Vec<Route> {
        let mut out = Vec::new();
        for to in targets {
            let mut p = pres.clone();
            p.set_attr("to", to.as_str());
            out.extend(self.send_one(me, to, p));
        }
        out
    }

    /// Presence `p` from `me` to `to`: the MUC domain goes to the service; local
    /// users get local delivery.
    fn send_one(&mut self, me: &FullJid, to: Jid, p: Element) -> Vec<Route> {
        if to.domain().as_str() == self.muc_domain {
            vec![Route::ToService(me.clone(), p)]
        } else {
            self.deliver(&to, p)
        }
    }

    /// Presence without `to` is a broadcast; other stanzas without `to` are for the
    /// server on the account's behalf.
    fn for_own_account(&mut self, conn: ConnId, st: Stanza) -> Vec<Route> {
        let me = self.sessions[conn.0].jid.clone();
        match st.kind {
            Kind::Presence(PresenceType::Available) => {
                let c = &mut self.sessions[conn.0];
                let initial = !c.available;
                c.available = true;
                c.priority = st
                    .el
                    .child_text("priority", ns::CLIENT)
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
                let mut out = self.own_sessions(&me, ConnId(usize::MAX), &st.el);
                if initial {
                    for m in self.offline.remove(&me.bare()).unwrap_or_default() {
                        let mut m = m;
                        m.set_attr("to", me.as_str());
                        out.push(Route::ToClient(conn, m));
                    }
                }
                out
            }
            Kind::Presence(PresenceType::Unavailable) => {
                let mut out = self.own_sessions(&me, ConnId(usize::MAX), &st.el);
                // Everyone that got directed presence hears that we left (§4.6.3).
                let c = &mut self.sessions[conn.0];
                c.available = false;
                let directed = std::mem::take(&mut c.directed);
                out.extend(self.send_each(&me, directed, &st.el));
                out
            }
            Kind::Presence(_) => Vec::new(),
            Kind::Message(_) => self.deliver(&Jid::from(me.bare()), st.el),
            Kind::Iq(_) => self.for_server(st),
        }
    }

    /// A copy of `pres` to each available session of `me`'s account except `skip`.
    fn own_sessions(&self, me: &FullJid, skip: ConnId, pres: &Element) -> Vec<Route> {
        let bare = bare_str(me);
        self.sessions
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != skip.0 && c.open && (c.available || &c.jid == me) && bare_str(&c.jid) == bare
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
    fn for_server(&mut self, st: Stanza) -> Vec<Route> {
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
                self.deliver(&to, res)
            }
            None => self.refuse(&st.el, HomeRefusal::ServiceUnavailable.error(), &server),
        }
    }

    /// The error reply to `el` from `by`, back to its sender; never an error to an error.
    /// Answers `el` with `error` (RFC 6120 §8.3.1), from `by`; errors are never answered.
    fn refuse(&mut self, el: &Element, error: Element, by: &str) -> Vec<Route> {
        if el.attr("type") == Some("error") {
            return Vec::new();
        }
        let Some(to) = el.attr("from").and_then(|f| Jid::new(f).ok()) else {
            return Vec::new();
        };
        let mut reply = server::refusal::error_reply(el, by, error);
        reply.set_attr("to", to.as_str());
        self.deliver(&to, reply)
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

/// RFC 6121 §4.6.3: when a session ends, its server sends unavailable presence to
/// every entity the session sent directed available presence to and has not since
/// told it is unavailable. One `<presence type='unavailable'/>` addressed to each
/// entry of `directed`, in order. With `from` (the home server's stanzas, stamped
/// with the session's full JID) the attributes are `from`, `type`, `to`; without
/// (the model's server actor, whose service learns the sender from the input) they
/// are `to`, `type`. The one statement of this rule: the simulated home server and
/// the model's server actor both apply it.
pub fn unavailable_on_unbind(from: Option<&FullJid>, directed: &[Jid]) -> Vec<Element> {
    directed
        .iter()
        .map(|to| match from {
            Some(me) => {
                let mut p = Element::new("presence", ns::CLIENT)
                    .with_attr("from", me.as_str())
                    .with_attr("type", "unavailable");
                p.set_attr("to", to.as_str());
                p
            }
            None => Element::new("presence", ns::CLIENT)
                .with_attr("to", to.as_str())
                .with_attr("type", "unavailable"),
        })
        .collect()
}

fn track_directed(c: &mut Session, to: &Jid, t: PresenceType) {
    match t {
        PresenceType::Available if !c.directed.contains(to) => c.directed.push(to.clone()),
        PresenceType::Unavailable => c.directed.retain(|j| j != to),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence_to(to: &str) -> Element {
        Element::new("presence", ns::CLIENT).with_attr("to", to)
    }

    #[test]
    fn bind_refuses_a_full_jid_in_use_and_numbers_sessions_in_order() {
        let mut home = HomeServer::new("localhost", "conference.localhost");
        let romeo = FullJid::new("romeo@localhost/a").unwrap();
        assert_eq!(home.bind(romeo.clone()), Some(ConnId(0)));
        assert_eq!(home.bind(romeo.clone()), None);
        assert!(home.unbind(ConnId(0)).is_empty());
        assert!(!home.session(ConnId(0)).open);
        assert_eq!(home.bind(romeo), Some(ConnId(1)));
    }

    #[test]
    fn unbind_sends_unavailable_to_each_room_given_directed_presence() {
        let mut home = HomeServer::new("localhost", "conference.localhost");
        let me = home.bind(FullJid::new("romeo@localhost/a").unwrap()).unwrap();
        for room in ["a@conference.localhost/R", "b@conference.localhost/R"] {
            let routes = home.client_stanza(me, presence_to(room));
            assert!(matches!(&routes[..], [Route::ToService(..)]), "{routes:?}");
        }
        // Left room a: no unavailable is owed to it any more.
        let mut leave = presence_to("a@conference.localhost/R");
        leave.set_attr("type", "unavailable");
        home.client_stanza(me, leave);
        let routes = home.unbind(me);
        let sent: Vec<String> = routes
            .iter()
            .map(|r| match r {
                Route::ToService(from, el) => format!("{from} {el}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            sent,
            [
                "romeo@localhost/a <presence xmlns='jabber:client' from='romeo@localhost/a' \
              type='unavailable' to='b@conference.localhost/R'/>"
            ]
        );
        assert!(home.session(me).directed.is_empty());
        assert!(home.unbind(me).is_empty(), "a closed session is unbound once");
    }

    #[test]
    fn the_unbind_rule_is_one_unavailable_per_directed_entity_in_order() {
        let directed = [
            Jid::new("b@conference.localhost/R").unwrap(),
            Jid::new("a@conference.localhost").unwrap(),
        ];
        let els = unavailable_on_unbind(None, &directed);
        let got: Vec<(Option<&str>, Option<&str>)> =
            els.iter().map(|e| (e.attr("to"), e.attr("type"))).collect();
        assert_eq!(
            got,
            [
                (Some("b@conference.localhost/R"), Some("unavailable")),
                (Some("a@conference.localhost"), Some("unavailable"))
            ]
        );
    }
}
