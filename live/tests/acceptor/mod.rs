//! A minimal XEP-0114 acceptor on loopback, standing in for the XMPP server that
//! `mucsim serve` connects to, and `serve` run on its own thread: shared by the
//! tests of this directory.
#![allow(dead_code)] // each test file uses its own part

use live::component::handshake_digest;
use live::{serve, ServeOptions, Status};
use server::xml::{Element, Limits, StreamEvent, StreamParser};
use server::{MucService, ServiceConfig};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

pub const SECRET: &str = "s3cret";
pub const DOMAIN: &str = "conference.localhost";

/// `accept`, failing the test instead of hanging if the component never comes.
pub fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let mut waited = Duration::ZERO;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false).unwrap();
                return sock;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && waited < limit => {
                std::thread::sleep(Duration::from_millis(10));
                waited += Duration::from_millis(10);
            }
            Err(e) => panic!("the component did not connect within {limit:?}: {e}"),
        }
    }
}

pub struct Accepted {
    pub sock: TcpStream,
    parser: StreamParser,
    pending: VecDeque<StreamEvent>,
}

impl Accepted {
    /// Accepts the component and completes the handshake with stream id `id`.
    pub fn handshake(listener: &TcpListener, id: &str) -> Accepted {
        let sock = accept_within(listener, Duration::from_secs(10));
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut a = Accepted {
            sock,
            parser: StreamParser::new(Limits::default()),
            pending: VecDeque::new(),
        };
        match a.next() {
            StreamEvent::Open(h) => assert_eq!(h.attr("to"), Some(DOMAIN)),
            other => panic!("expected the component's stream header, got {other:?}"),
        }
        a.write(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
             xmlns:stream='http://etherx.jabber.org/streams' id='{id}' from='{DOMAIN}'>"
        ));
        let hs = a.stanza();
        assert!(hs.is("handshake", "jabber:component:accept"));
        assert_eq!(
            hs.text(),
            handshake_digest(id, SECRET),
            "hex SHA-1 of id + secret"
        );
        a.write("<handshake/>");
        a
    }

    pub fn write(&mut self, s: &str) {
        self.sock.write_all(s.as_bytes()).unwrap();
    }

    pub fn next(&mut self) -> StreamEvent {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return ev;
            }
            let n = self.sock.read(&mut buf).expect("the component answers in time");
            assert!(n > 0, "the component closed the connection");
            self.pending.extend(self.parser.feed(&buf[..n]).unwrap());
        }
    }

    pub fn stanza(&mut self) -> Element {
        match self.next() {
            StreamEvent::Stanza(e) => e,
            other => panic!("expected a stanza, got {other:?}"),
        }
    }

    /// Routes a stanza to the component and collects its answers up to and
    /// including the first one `done` accepts.
    pub fn exchange(&mut self, stanza: &str, done: impl Fn(&Element) -> bool) -> Vec<Element> {
        self.write(stanza);
        let mut got = Vec::new();
        loop {
            let e = self.stanza();
            let last = done(&e);
            got.push(e);
            if last {
                return got;
            }
        }
    }
}

/// `mucsim serve` with an empty in-memory service, on a thread of its own, until
/// `stop` is sent; the thread returns the service.
pub struct Serving {
    pub thread: std::thread::JoinHandle<MucService>,
    pub statuses: mpsc::Receiver<Status>,
    pub stop: tokio::sync::oneshot::Sender<()>,
}

pub fn spawn_serve(opts: ServeOptions) -> Serving {
    let (status_tx, statuses) = mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut service = MucService::new(ServiceConfig::new(DOMAIN, 7)).expect("a valid domain");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut report = move |s: Status| {
            let _ = status_tx.send(s);
        };
        rt.block_on(serve(
            &opts,
            &mut service,
            &mut live::Memory,
            async {
                let _ = stop_rx.await;
            },
            &mut report,
        ))
        .expect("no store to fail");
        service
    });
    Serving {
        thread,
        statuses,
        stop,
    }
}
