//! A routed stanza over the component's per-stanza limits costs its sender an
//! error, not every room its connection: `mucsim serve` answers it and goes on, on
//! the same connection. The server is a minimal XEP-0114 acceptor on loopback (as in
//! `reconnect.rs`); `scripts/e2e.sh` floods a real Prosody the same way.

use live::component::handshake_digest;
use live::{serve, ServeOptions, Status};
use server::xml::{Element, Limits, StreamEvent, StreamParser};
use server::{MucService, ServiceConfig};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

const SECRET: &str = "s3cret";
const DOMAIN: &str = "conference.localhost";

struct Server {
    sock: std::net::TcpStream,
    parser: StreamParser,
    pending: VecDeque<StreamEvent>,
}

impl Server {
    fn write(&mut self, s: &str) {
        self.sock.write_all(s.as_bytes()).unwrap();
    }

    fn stanza(&mut self) -> Element {
        let mut buf = [0u8; 8192];
        loop {
            match self.pending.pop_front() {
                Some(StreamEvent::Stanza(e)) => return e,
                Some(other) => panic!("expected a stanza, got {other:?}"),
                None => {}
            }
            let n = self.sock.read(&mut buf).expect("the component answers in time");
            assert!(n > 0, "the component closed the connection");
            self.pending.extend(self.parser.feed(&buf[..n]).unwrap());
        }
    }

    /// Writes `stanza`, then reads until `done` accepts one.
    fn exchange(&mut self, stanza: &str, done: impl Fn(&Element) -> bool) -> Vec<Element> {
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

#[test]
fn a_too_deep_stanza_is_answered_and_the_stream_stays_up() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let opts = ServeOptions::new(DOMAIN, &listener.local_addr().unwrap().to_string(), SECRET);
    let (status_tx, statuses) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
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
    });

    let (sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut server = Server {
        sock,
        parser: StreamParser::new(Limits::default()),
        pending: VecDeque::new(),
    };
    let mut buf = [0u8; 4096];
    let n = server.sock.read(&mut buf).unwrap();
    assert!(matches!(
        &server.parser.feed(&buf[..n]).unwrap()[..],
        [StreamEvent::Open(_)]
    ));
    server.write(&format!(
        "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='{DOMAIN}'>"
    ));
    assert_eq!(server.stanza().text(), handshake_digest("s1", SECRET));
    server.write("<handshake/>");

    // Romeo makes an instant room.
    server.exchange(
        "<presence from='romeo@localhost/a' to='room@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        |e| e.name == "message",
    );
    server.exchange(
        "<iq from='romeo@localhost/a' to='room@conference.localhost' type='set' id='cfg'>\
           <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
        |e| e.name == "iq",
    );

    // Anyone, in no room, sends 300 nested elements (the component's limit is 256).
    let deep = format!(
        "<message from='mallory@localhost/x' to='{DOMAIN}' id='deep1' type='chat'>{}{}</message>",
        "<a xmlns='urn:x'>".repeat(300),
        "</a>".repeat(300)
    );
    let answer = server.exchange(&deep, |_| true);
    let xml = answer[0].to_xml();
    assert_eq!(answer[0].attr("to"), Some("mallory@localhost/x"), "{xml}");
    assert_eq!(answer[0].attr("id"), Some("deep1"), "{xml}");
    assert_eq!(answer[0].attr("type"), Some("error"), "{xml}");
    let err = answer[0].child("error", "jabber:component:accept").expect(&xml);
    assert_eq!(err.attr("type"), Some("modify"), "{xml}");
    assert!(
        err.child("policy-violation", "urn:ietf:params:xml:ns:xmpp-stanzas")
            .is_some(),
        "{xml}"
    );
    // An error stanza that deep is dropped without an answer (RFC 6120 §8.3.1).
    let deep_error = deep
        .replace("type='chat'", "type='error'")
        .replace("deep1", "deep2");
    server.write(&deep_error);

    // The same connection still carries the room: the groupchat echo comes back.
    let echo = server.exchange(
        "<message from='romeo@localhost/a' to='room@conference.localhost' type='groupchat' id='g1'><body>still here</body></message>",
        |_| true,
    );
    assert_eq!(echo[0].attr("type"), Some("groupchat"), "{}", echo[0].to_xml());
    assert_eq!(echo[0].attr("id"), Some("g1"));

    stop_tx.send(()).unwrap();
    serving.join().unwrap();
    let seen: Vec<Status> = statuses.try_iter().collect();
    let connects = seen
        .iter()
        .filter(|s| matches!(s, Status::Connected { .. }))
        .count();
    let lost: Vec<_> = seen.iter().filter(|s| matches!(s, Status::Lost { .. })).collect();
    assert_eq!((connects, lost.len()), (1, 0), "no reconnect: {seen:?}");
    let refused: Vec<String> = seen
        .iter()
        .filter(|s| matches!(s, Status::Refused { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        refused,
        [
            "refused a <message> from mallory@localhost/x: elements nested deeper than 256 (answered policy-violation)",
            "refused a <message> from mallory@localhost/x: elements nested deeper than 256 (not answered: an error or result)",
        ]
    );
}
