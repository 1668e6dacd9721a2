//! A blocking XMPP client for scripts against live servers: TCP, stream
//! negotiation, SASL PLAIN (plaintext on loopback is what the test servers allow),
//! resource binding. After login a reader thread parses what arrives and hands it
//! over a channel, so a script can wait for a stanza with a timeout.

use base64::Engine;
use live::wire::{stream_error_condition, stream_header, NS_BIND, NS_SASL, NS_STREAMS};
use server::xml::{Element, Limits, StreamEvent, StreamParser};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// What the reader thread saw.
#[derive(Debug)]
pub enum Incoming {
    Stanza(Element),
    /// The server ended the stream: a stream error's condition, or why it closed.
    Ended(String),
}

pub struct Client {
    stream: TcpStream,
    rx: Receiver<Incoming>,
    full_jid: String,
    open: bool,
}

/// Login state before the reader thread takes the socket over.
struct Negotiation {
    stream: TcpStream,
    parser: StreamParser,
    pending: VecDeque<StreamEvent>,
}

const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(10);

impl Negotiation {
    fn write(&mut self, s: &str) -> Result<(), String> {
        self.stream
            .write_all(s.as_bytes())
            .map_err(|e| format!("write failed: {e}"))
    }

    fn next(&mut self) -> Result<StreamEvent, String> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(ev);
            }
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| format!("read failed: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection during login".into());
            }
            let evs = self
                .parser
                .feed(&buf[..n])
                .map_err(|e| format!("bad XML from the server: {e}"))?;
            self.pending.extend(evs);
        }
    }

    /// The next top-level element; a stream error or end of stream is an error.
    fn next_stanza(&mut self, waiting_for: &str) -> Result<Element, String> {
        match self.next()? {
            StreamEvent::Stanza(el) if el.is("error", NS_STREAMS) => Err(format!(
                "stream error while waiting for {waiting_for}: {}",
                stream_error_condition(&el)
            )),
            StreamEvent::Stanza(el) => Ok(el),
            StreamEvent::Open(_) => Err(format!("a second stream header while waiting for {waiting_for}")),
            StreamEvent::Close => Err(format!(
                "the server closed the stream while waiting for {waiting_for}"
            )),
            StreamEvent::Refused(r) => Err(format!(
                "a <{}> from the server over this client's limits ({}) while waiting for {waiting_for}",
                r.name, r.limit
            )),
        }
    }

    /// Opens (or, after SASL, restarts) the stream and returns its features.
    fn open_stream(&mut self, domain: &str) -> Result<Element, String> {
        self.parser = StreamParser::new(Limits::default());
        self.pending.clear();
        self.write(&stream_header(server::ns::CLIENT, domain, true))?;
        match self.next()? {
            StreamEvent::Open(_) => {}
            other => return Err(format!("expected the server's stream header, got {other:?}")),
        }
        let features = self.next_stanza("stream features")?;
        if !features.is("features", NS_STREAMS) {
            return Err(format!("expected <stream:features>, got <{}>", features.name));
        }
        Ok(features)
    }
}

impl Client {
    /// Connects to `server` and logs in as `jid` (a bare JID, or a full one whose
    /// resource is bound), binding `resource` if given.
    pub fn connect(
        server: SocketAddr,
        jid: &str,
        password: &str,
        resource: Option<&str>,
    ) -> Result<Client, String> {
        let given = jid::Jid::new(jid).map_err(|e| format!("'{jid}' is not a JID: {e}"))?;
        let node = given
            .node()
            .ok_or_else(|| format!("'{jid}' has no user part"))?
            .to_string();
        let domain = given.domain().to_string();
        let resource = resource
            .map(str::to_string)
            .or(given.resource().map(|r| r.to_string()));
        let stream = TcpStream::connect_timeout(&server, NEGOTIATION_TIMEOUT)
            .map_err(|e| format!("cannot connect to {server}: {e}"))?;
        stream.set_nodelay(true).ok();
        stream
            .set_read_timeout(Some(NEGOTIATION_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut n = Negotiation {
            stream,
            parser: StreamParser::new(Limits::default()),
            pending: VecDeque::new(),
        };
        let features = n.open_stream(&domain)?;
        let mechs: Vec<String> = features
            .child("mechanisms", NS_SASL)
            .map(|m| m.elements().map(|e| e.text()).collect())
            .unwrap_or_default();
        if !mechs.iter().any(|m| m == "PLAIN") {
            return Err(format!(
                "the server offers no SASL PLAIN (offers: {})",
                mechs.join(", ")
            ));
        }
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{node}\0{password}"));
        n.write(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{creds}</auth>"
        ))?;
        let answer = n.next_stanza("the SASL outcome")?;
        if !answer.is("success", NS_SASL) {
            let why = answer
                .elements()
                .next()
                .map_or(answer.name.to_string(), |c| c.name.to_string());
            return Err(format!("authentication as {node}@{domain} failed: {why}"));
        }
        let features = n.open_stream(&domain)?;
        if features.child("bind", NS_BIND).is_none() {
            return Err("the server offers no resource binding".into());
        }
        let mut bind = Element::new("bind", NS_BIND);
        if let Some(r) = &resource {
            bind.push(Element::new("resource", NS_BIND).with_text(r.clone()));
        }
        let iq = Element::new("iq", server::ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", "bind-1")
            .with_child(bind);
        n.write(&iq.to_xml_in(server::ns::CLIENT))?;
        let answer = n.next_stanza("the bind result")?;
        let full_jid = match answer.attr("type") {
            Some("result") => answer
                .child("bind", NS_BIND)
                .and_then(|b| b.child_text("jid", NS_BIND))
                .ok_or("the bind result carries no JID")?,
            _ => {
                return Err(format!(
                    "binding failed: {}",
                    answer.to_xml_in(server::ns::CLIENT)
                ))
            }
        };
        let Negotiation {
            stream,
            parser,
            pending,
        } = n;
        stream.set_read_timeout(None).map_err(|e| e.to_string())?;
        let reader = stream.try_clone().map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        for ev in pending {
            forward(&tx, ev);
        }
        std::thread::spawn(move || read_loop(reader, parser, tx));
        Ok(Client {
            stream,
            rx,
            full_jid,
            open: true,
        })
    }

    pub fn full_jid(&self) -> &str {
        &self.full_jid
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn send(&mut self, stanza: &Element) -> Result<(), String> {
        if !self.open {
            return Err("the stream is closed".into());
        }
        self.stream
            .write_all(stanza.to_xml_in(server::ns::CLIENT).as_bytes())
            .map_err(|e| format!("write failed: {e}"))
    }

    /// The next thing the server sent, waiting at most `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<Incoming> {
        match self.rx.recv_timeout(timeout) {
            Ok(inc) => {
                if matches!(inc, Incoming::Ended(_)) {
                    self.open = false;
                }
                Some(inc)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.open = false;
                None
            }
        }
    }

    /// Closes the stream and waits (briefly) for the server to close its side, so
    /// that the server has seen everything this client wrote.
    pub fn close(&mut self) -> Vec<Element> {
        let mut late = Vec::new();
        if self.open {
            let _ = self.stream.write_all(b"</stream:stream>");
            while let Ok(inc) = self.rx.recv_timeout(Duration::from_secs(2)) {
                match inc {
                    Incoming::Stanza(el) => late.push(el),
                    Incoming::Ended(_) => break,
                }
            }
        }
        self.open = false;
        let _ = self.stream.shutdown(Shutdown::Both);
        late
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn forward(tx: &mpsc::Sender<Incoming>, ev: StreamEvent) -> bool {
    let inc = match ev {
        StreamEvent::Stanza(el) if el.is("error", NS_STREAMS) => {
            Incoming::Ended(format!("stream error: {}", stream_error_condition(&el)))
        }
        StreamEvent::Stanza(el) => Incoming::Stanza(el),
        StreamEvent::Close => Incoming::Ended("the server closed the stream".into()),
        StreamEvent::Open(_) => Incoming::Ended("a second stream header".into()),
        // A test client must not hide what it could not read: it stops there.
        StreamEvent::Refused(r) => Incoming::Ended(format!(
            "a <{}> from {} over this client's limits: {}",
            r.name,
            r.from.as_deref().unwrap_or("the server"),
            r.limit
        )),
    };
    let ended = matches!(inc, Incoming::Ended(_));
    tx.send(inc).is_ok() && !ended
}

fn read_loop(mut stream: TcpStream, mut parser: StreamParser, tx: mpsc::Sender<Incoming>) {
    let mut buf = [0u8; 16384];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Incoming::Ended("the connection closed".into()));
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Incoming::Ended(format!("read failed: {e}")));
                return;
            }
        };
        let mut evs = Vec::new();
        let parsed = parser.feed_into(&buf[..n], &mut evs);
        for ev in evs {
            if !forward(&tx, ev) {
                return;
            }
        }
        if let Err(e) = parsed {
            let _ = tx.send(Incoming::Ended(format!("bad XML from the server: {e}")));
            return;
        }
    }
}
