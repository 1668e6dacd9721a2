//! XEP-0114: the component side of a `jabber:component:accept` stream, sans-IO.
//!
//! The front end writes [`ComponentSession::opening`] when the TCP connection is up,
//! feeds every read to [`ComponentSession::receive`], writes what comes back, and
//! hands received stanzas to the service. Stanzas arrive in the component namespace
//! and leave in it; in between they are `jabber:client`, which is what the service
//! speaks.

use crate::wire::{
    map_ns, stream_error, stream_error_condition, stream_header, StreamCondition, NS_COMPONENT, NS_STREAMS,
    NS_STREAM_ERRORS,
};
use jid::{FullJid, Jid};
use server::refusal::Refusal;
use server::xml::{Addressable, Element, Limits, RefusedStanza, StreamEvent, StreamParser};
use server::Outgoing;
use sha1::{Digest, Sha1};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Our header is written; waiting for the server's, which carries the stream id.
    AwaitHeader,
    /// `<handshake>` written; waiting for the empty `<handshake/>` that accepts it.
    AwaitHandshake,
    Open,
    Closed,
}

/// What the front end must do with what it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentEvent {
    /// Bytes to write to the server.
    Write(String),
    /// The server accepted the handshake: stanzas flow from now on.
    Established,
    /// A stanza for the service, in `jabber:client`, from a full JID.
    Stanza { from: FullJid, stanza: Element },
    /// A routed stanza over one of [`COMPONENT_LIMITS`]' per-stanza limits, skipped
    /// unread (its namespace mapped to `jabber:client`); the stream stays up. The
    /// service answers it (`MucService::refuse_stanza`); the front end logs it.
    Refused { from: Jid, refused: RefusedStanza },
    /// A routed stanza whose `from` (as written: `from`) is not a JID this service can
    /// parse, dropped; `answered`: a `jid-malformed` error went back to that address in
    /// the `Write` just before (not for an error or a result). The stream stays up.
    Unaddressable {
        from: String,
        stanza: String,
        why: String,
        answered: bool,
    },
    /// The stream is over (the reason, for the operator). Bytes to write before
    /// closing, if any, came just before in a `Write`.
    Closed(String),
}

/// The server already held its clients to its own limits (Prosody: 256 KiB per c2s
/// stanza, no depth limit), so the component's per-stanza bounds are wider than a
/// client stream's. A routed stanza over one of them is refused alone (the sender
/// gets `policy-violation`, see `MucService::refuse_stanza`); only a stanza over the
/// stream budget (10 MiB, forty times Prosody's c2s limit) ends the stream.
pub const COMPONENT_LIMITS: Limits = Limits {
    max_stanza_bytes: 1024 * 1024,
    max_depth: 256,
    max_attrs: 1024,
    max_children: 65_536,
    max_text_bytes: 1024 * 1024,
    stream_budget_bytes: 10 * 1024 * 1024,
};

pub struct ComponentSession {
    domain: String,
    secret: String,
    parser: StreamParser,
    state: State,
    /// The condition of the stream error the server ended the stream with, if it did.
    server_error: Option<String>,
    /// The last broadcast body serialized, kept while the stanzas of one broadcast
    /// go out (they share the body), so it is serialized once for all recipients.
    last_body: Option<(std::sync::Arc<Element>, Addressable)>,
}

/// Hex SHA-1 of the stream id followed by the secret (XEP-0114 §3).
pub fn handshake_digest(stream_id: &str, secret: &str) -> String {
    let digest = Sha1::digest(format!("{stream_id}{secret}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl ComponentSession {
    pub fn new(domain: &str, secret: &str) -> ComponentSession {
        ComponentSession {
            domain: domain.to_string(),
            secret: secret.to_string(),
            parser: StreamParser::new(COMPONENT_LIMITS),
            state: State::AwaitHeader,
            server_error: None,
            last_body: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// The defined condition (RFC 6120 §4.9.3, e.g. `not-authorized`, `conflict`) of
    /// the stream error the server closed the stream with, once it has.
    pub fn server_error(&self) -> Option<&str> {
        self.server_error.as_deref()
    }

    /// The stream header to write once connected.
    pub fn opening(&self) -> String {
        stream_header(NS_COMPONENT, &self.domain, false)
    }

    /// Bytes that close the stream cleanly (on shutdown).
    pub fn closing(&mut self) -> String {
        self.state = State::Closed;
        "</stream:stream>".to_string()
    }

    /// One outgoing stanza of the service, serialized for the component stream.
    pub fn encode(&mut self, out: &Outgoing) -> String {
        let mut s = String::new();
        self.encode_into(&mut s, out);
        s
    }

    /// Appends one outgoing stanza of the service, serialized for the component
    /// stream (`jabber:client` written as `jabber:component:accept`, `to` set), to
    /// `buf`. The stanzas of one broadcast share their body: it is serialized once,
    /// and each recipient costs its `to` and a copy of the bytes.
    pub fn encode_into(&mut self, buf: &mut String, out: &Outgoing) {
        const MAP: Option<(&str, &str)> = Some((server::ns::CLIENT, NS_COMPONENT));
        let to = out.to.as_str();
        if let Some((body, a)) = &self.last_body {
            if std::sync::Arc::ptr_eq(body, &out.body) {
                a.write_to(buf, to);
                return;
            }
        }
        match Addressable::new(&out.body, NS_COMPONENT, MAP) {
            Some(a) => {
                a.write_to(buf, to);
                self.last_body = Some((out.body.clone(), a));
            }
            None => {
                self.last_body = None;
                out.write_xml(buf, NS_COMPONENT, MAP);
            }
        }
    }

    /// Feeds bytes read from the server.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<ComponentEvent> {
        let mut out = Vec::new();
        if self.state == State::Closed {
            return out;
        }
        let mut events = Vec::new();
        let parsed = self.parser.feed_into(bytes, &mut events);
        for ev in events {
            if self.state == State::Closed {
                return out;
            }
            self.event(ev, &mut out);
        }
        if let Err(e) = parsed {
            if self.state != State::Closed {
                self.fail(
                    e.stream_condition(),
                    &format!("bad XML from the server: {e}"),
                    &mut out,
                );
            }
        }
        out
    }

    fn fail(&mut self, condition: StreamCondition, why: &str, out: &mut Vec<ComponentEvent>) {
        out.push(ComponentEvent::Write(stream_error(condition, Some(why))));
        out.push(ComponentEvent::Closed(format!("{condition}: {why}")));
        self.state = State::Closed;
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<ComponentEvent>) {
        match (self.state, ev) {
            (State::AwaitHeader, StreamEvent::Open(header)) => {
                // The header's default namespace is not in its attributes (the parser
                // resolves it), so the stream's namespace is checked on the stanzas.
                match header.attr("id") {
                    Some(id) if !id.is_empty() => {
                        let digest = handshake_digest(id, &self.secret);
                        out.push(ComponentEvent::Write(format!("<handshake>{digest}</handshake>")));
                        self.state = State::AwaitHandshake;
                    }
                    _ => self.fail(
                        StreamCondition::InvalidId,
                        "the server's stream header has no id",
                        out,
                    ),
                }
            }
            (_, StreamEvent::Close) => {
                out.push(ComponentEvent::Write("</stream:stream>".into()));
                out.push(ComponentEvent::Closed("the server closed the stream".into()));
                self.state = State::Closed;
            }
            (_, StreamEvent::Stanza(el)) if el.is("error", NS_STREAMS) => {
                let why = format!("stream error from the server: {}", stream_error_condition(&el));
                self.server_error = Some(
                    el.elements()
                        .find(|c| c.ns == NS_STREAM_ERRORS && c.name != "text")
                        .map_or_else(|| "undefined-condition".to_string(), |c| c.name.to_string()),
                );
                out.push(ComponentEvent::Closed(why));
                self.state = State::Closed;
            }
            (State::AwaitHandshake, StreamEvent::Stanza(el)) => {
                if el.is("handshake", NS_COMPONENT) && el.elements().next().is_none() {
                    self.state = State::Open;
                    out.push(ComponentEvent::Established);
                } else {
                    let why = format!("expected <handshake/>, got <{}>", el.name);
                    self.fail(StreamCondition::NotAuthorized, &why, out);
                }
            }
            (State::Open, StreamEvent::Stanza(el)) => self.stanza(el, out),
            (State::Open, StreamEvent::Refused(r)) => self.refused(*r, out),
            (_, ev) => {
                let why = format!("unexpected {} before the handshake", describe(&ev));
                self.fail(StreamCondition::NotAuthorized, &why, out);
            }
        }
    }

    /// A stanza the parser skipped: held to the same addressing rules as one it read
    /// (the server routed it, so a fault there is the server's), then handed on.
    fn refused(&mut self, mut r: RefusedStanza, out: &mut Vec<ComponentEvent>) {
        if r.ns != NS_COMPONENT || !matches!(&*r.name, "message" | "presence" | "iq") {
            let why = format!("<{}> in namespace '{}' is not a stanza", r.name, r.ns);
            return self.fail(StreamCondition::UnsupportedStanzaType, &why, out);
        }
        r.ns = server::ns::CLIENT.into();
        if let Some(from) = self.sender(&r.head(), out) {
            out.push(ComponentEvent::Refused { from, refused: r });
        }
    }

    /// The sender of a routed stanza (`el`, in `jabber:client`), or `None` when it
    /// was dealt with here. RFC 6120 §4.9.3.7: a server must address what it routes to
    /// a component, so a missing `from` or `to` is the server's fault (a stream error).
    /// A `from` that is there but that the `jid` crate refuses is the sender's: a
    /// server may route addresses it did not prepare itself (Prosody checks a remote
    /// server's `from` only loosely), so the stanza is dropped and answered with
    /// `jid-malformed` (RFC 6120 §8.3.3.8) to the address as written, unless it is an
    /// error or a result; one stranger must never cost every room its connection.
    fn sender(&mut self, el: &Element, out: &mut Vec<ComponentEvent>) -> Option<Jid> {
        let (Some(raw), Some(to)) = (el.attr("from"), el.attr("to")) else {
            let why = format!("a <{}> without a 'from' or without a 'to'", el.name);
            self.fail(StreamCondition::ImproperAddressing, &why, out);
            return None;
        };
        match Jid::new(raw) {
            Ok(from) => Some(from),
            Err(e) => {
                let ty = el.attr("type").unwrap_or_default();
                let answered = ty != "error" && !(el.name == "iq" && ty == "result");
                if answered {
                    let me = Jid::new(to)
                        .ok()
                        .filter(|j| j.domain().as_str() == self.domain)
                        .map_or_else(|| self.domain.clone(), |j| j.to_string());
                    let mut reply = Refusal::JidMalformed("the sender's address is not a valid JID")
                        .reply_to(el, &me, None);
                    reply.set_attr("to", raw);
                    out.push(ComponentEvent::Write(encode_stanza(reply)));
                }
                out.push(ComponentEvent::Unaddressable {
                    from: raw.to_string(),
                    stanza: el.name.to_string(),
                    why: format!("the sender's address is not a valid JID ({e})"),
                    answered,
                });
                None
            }
        }
    }

    fn stanza(&mut self, mut el: Element, out: &mut Vec<ComponentEvent>) {
        if el.ns != NS_COMPONENT || !matches!(&*el.name, "message" | "presence" | "iq") {
            let why = format!("<{}> in namespace '{}' is not a stanza", el.name, el.ns);
            return self.fail(StreamCondition::UnsupportedStanzaType, &why, out);
        }
        map_ns(&mut el, NS_COMPONENT, server::ns::CLIENT);
        let Some(from) = self.sender(&el, out) else {
            return;
        };
        match from.try_into_full() {
            Ok(from) => out.push(ComponentEvent::Stanza { from, stanza: el }),
            // A server or bare account address: the service acts for sessions only.
            // Nothing is dropped without an answer, and an error or result is not answered.
            Err(bare) => {
                let ty = el.attr("type").unwrap_or_default();
                if ty != "error" && !(el.name == "iq" && ty == "result") {
                    let me = el.attr("to").unwrap_or(&self.domain).to_string();
                    let mut reply = Refusal::ServiceUnavailable.reply_to(&el, &me, None);
                    reply.set_attr("to", bare.as_str());
                    out.push(ComponentEvent::Write(encode_stanza(reply)));
                }
            }
        }
    }
}

fn describe(ev: &StreamEvent) -> String {
    match ev {
        StreamEvent::Refused(r) => format!("<{}> ({})", r.name, r.limit),
        StreamEvent::Open(_) => "second stream header".into(),
        StreamEvent::Stanza(e) => format!("<{}>", e.name),
        StreamEvent::Close => "end of stream".into(),
    }
}

/// A `jabber:client` stanza written into the component stream.
fn encode_stanza(mut el: Element) -> String {
    map_ns(&mut el, server::ns::CLIENT, NS_COMPONENT);
    el.to_xml_in(NS_COMPONENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(evs: &[ComponentEvent]) -> Vec<&str> {
        evs.iter()
            .filter_map(|e| match e {
                ComponentEvent::Write(w) => Some(w.as_str()),
                _ => None,
            })
            .collect()
    }

    fn open(s: &mut ComponentSession) {
        let evs = s.receive(
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
              xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='muc.localhost'>",
        );
        assert_eq!(
            writes(&evs),
            [format!("<handshake>{}</handshake>", handshake_digest("abc", "s3cret")).as_str()]
        );
        let evs = s.receive(b"<handshake/>");
        assert_eq!(evs, [ComponentEvent::Established]);
    }

    #[test]
    fn digest_is_hex_sha1_of_id_and_secret() {
        // sha1("abcs3cret")
        assert_eq!(handshake_digest("abc", "s3cret").len(), 40);
        assert_eq!(
            handshake_digest("", "abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn handshake_then_stanzas_in_client_namespace() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        assert!(s.opening().contains("xmlns='jabber:component:accept'"));
        open(&mut s);
        let evs = s.receive(
            b"<presence from='u@localhost/r' to='room@muc.localhost/N'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        );
        match &evs[..] {
            [ComponentEvent::Stanza { from, stanza }] => {
                assert_eq!(from.as_str(), "u@localhost/r");
                assert!(stanza.is("presence", server::ns::CLIENT));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejected_secret_closes_with_the_servers_reason() {
        let mut s = ComponentSession::new("muc.localhost", "wrong");
        s.receive(b"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x'>");
        let evs = s.receive(
            b"<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
        );
        assert!(
            matches!(&evs[0], ComponentEvent::Closed(why) if why.contains("not-authorized")),
            "{evs:?}"
        );
        assert!(!s.is_open());
    }

    #[test]
    fn bad_xml_from_the_server_is_a_stream_error() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let evs = s.receive(b"<presence from='a@b/c' to='r@muc.localhost/n'><x></y></presence>");
        assert!(
            writes(&evs)[0].starts_with("<stream:error><not-well-formed "),
            "{evs:?}"
        );
        assert!(matches!(evs.last(), Some(ComponentEvent::Closed(_))));
        assert!(
            s.receive(b"<presence/>").is_empty(),
            "nothing after the stream is closed"
        );
    }

    #[test]
    fn a_stanza_over_a_limit_is_handed_on_and_the_stream_stays_open() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let deep = format!(
            "<message from='u@localhost/r' to='muc.localhost' id='d'>{}{}</message>",
            "<a>".repeat(300),
            "</a>".repeat(300)
        );
        let evs = s.receive(deep.as_bytes());
        match &evs[..] {
            [ComponentEvent::Refused { from, refused }] => {
                assert_eq!(from.as_str(), "u@localhost/r");
                assert_eq!(refused.ns, server::ns::CLIENT, "mapped like a stanza read whole");
                assert_eq!(refused.limit, server::xml::StanzaLimit::Depth(256));
            }
            other => panic!("{other:?}"),
        }
        assert!(s.is_open());
        // Unaddressed, it is the server's fault, as for any stanza.
        let evs = s.receive(deep.replace("from='u@localhost/r' ", "").as_bytes());
        assert!(writes(&evs)[0].contains("<improper-addressing "), "{evs:?}");
    }

    /// A sender the `jid` crate refuses (an unassigned code point in the local part,
    /// which Prosody's loose check of a remote server's `from` lets through) costs
    /// that stanza, answered with jid-malformed to the address as written, not the
    /// stream; the same for a stanza over a limit; errors and results go unanswered.
    #[test]
    fn a_sender_that_is_not_a_jid_is_answered_and_the_stream_stays_open() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let bad = "\u{378}@remote.example/r";
        let msg = format!("<message from='{bad}' to='room@muc.localhost' type='groupchat' id='m1'><body>hi</body></message>");
        let evs = s.receive(msg.as_bytes());
        match &evs[..] {
            [ComponentEvent::Write(w), ComponentEvent::Unaddressable {
                from,
                stanza,
                answered,
                ..
            }] => {
                assert!(w.contains("<jid-malformed "), "{w}");
                assert!(w.contains(&format!("to='{bad}'")), "{w}");
                assert!(w.contains("id='m1'") && w.contains("type='error'"), "{w}");
                assert!(w.contains("from='room@muc.localhost'"), "{w}");
                assert_eq!(
                    (from.as_str(), stanza.as_str(), *answered),
                    (bad, "message", true)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(s.is_open());
        let deep = format!(
            "<message from='{bad}' to='muc.localhost' id='d'>{}{}</message>",
            "<a>".repeat(300),
            "</a>".repeat(300)
        );
        let evs = s.receive(deep.as_bytes());
        assert!(writes(&evs)[0].contains("<jid-malformed "), "{evs:?}");
        assert!(s.is_open());
        let evs = s.receive(msg.replace("type='groupchat'", "type='error'").as_bytes());
        assert!(
            matches!(&evs[..], [ComponentEvent::Unaddressable { answered: false, .. }]),
            "{evs:?}"
        );
        let evs = s.receive(b"<message from='u@localhost/r' to='room@muc.localhost' type='groupchat'><body>hi</body></message>");
        assert!(matches!(&evs[..], [ComponentEvent::Stanza { .. }]), "{evs:?}");
    }

    #[test]
    fn unaddressed_stanza_is_improper_addressing() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let evs = s.receive(b"<message to='r@muc.localhost'><body>hi</body></message>");
        assert!(writes(&evs)[0].contains("<improper-addressing "), "{evs:?}");
    }

    #[test]
    fn malformed_to_reaches_the_service_which_refuses_it() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let evs = s.receive(
            "<presence from='u@localhost/r' to='room@muc.localhost/\u{1F916}\u{FE0F}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
                .as_bytes(),
        );
        assert!(matches!(&evs[..], [ComponentEvent::Stanza { .. }]), "{evs:?}");
        assert!(s.is_open());
    }

    #[test]
    fn bare_sender_gets_an_error_not_silence() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        open(&mut s);
        let evs = s.receive(b"<iq type='get' id='q1' from='localhost' to='muc.localhost'><query xmlns='jabber:iq:version'/></iq>");
        let w = writes(&evs);
        assert_eq!(w.len(), 1, "{evs:?}");
        assert!(
            w[0].contains("type='error'")
                && w[0].contains("service-unavailable")
                && w[0].contains("to='localhost'")
        );
        assert!(
            w[0].starts_with("<iq "),
            "written in the component namespace as the default: {}",
            w[0]
        );
        // A result from a bare address is not answered.
        assert!(s
            .receive(b"<iq type='result' id='q2' from='localhost' to='muc.localhost'/>")
            .is_empty());
    }

    #[test]
    fn service_stanzas_leave_in_the_component_namespace() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        let mut svc = server::MucService::new(server::ServiceConfig::new("muc.localhost", 1))
            .expect("valid configuration");
        let join = server::xml::parse_stanza(
            b"<presence to='room@muc.localhost/N'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
            server::ns::CLIENT,
            &Limits::default(),
        )
        .unwrap();
        let out = svc.handle(server::Millis(0), "u@localhost/r".parse().unwrap(), join);
        let first = s.encode(out.iter().next().unwrap());
        assert!(first.starts_with("<presence "), "{first}");
        assert!(!first.contains("jabber:client"), "{first}");
        assert!(first.contains("to='u@localhost/r'"), "{first}");
    }

    /// A broadcast's stanzas share one body, serialized once: each must still be the
    /// body copied, addressed and mapped to the component namespace.
    #[test]
    fn a_broadcast_is_written_as_each_stanza_copied() {
        let mut s = ComponentSession::new("muc.localhost", "s3cret");
        let mut cfg = server::ServiceConfig::new("muc.localhost", 1);
        cfg.lock_new_rooms = false;
        let mut svc = server::MucService::new(cfg).expect("valid configuration");
        let el = |xml: &str| {
            server::xml::parse_stanza(xml.as_bytes(), server::ns::CLIENT, &Limits::default()).unwrap()
        };
        let mut written = Vec::new();
        for i in 0..3 {
            let join = el(&format!(
                "<presence to='room@muc.localhost/N{i}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
            ));
            let out = svc.handle(
                server::Millis(0),
                format!("u{i}@localhost/r").parse().unwrap(),
                join,
            );
            written.extend(out.into_vec());
        }
        let msg = el("<message to='room@muc.localhost' type='groupchat'><body>a &amp; b</body></message>");
        written.extend(
            svc.handle(server::Millis(0), "u0@localhost/r".parse().unwrap(), msg)
                .into_vec(),
        );
        assert!(written.len() > 6);
        for o in &written {
            let mut copy = o.element();
            map_ns(&mut copy, server::ns::CLIENT, NS_COMPONENT);
            assert_eq!(s.encode(o), copy.to_xml_in(NS_COMPONENT));
        }
    }
}
