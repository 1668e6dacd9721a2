//! Killing the server under `mucsim serve`: it reports the loss, reconnects with
//! backoff once the server is back, and the rooms it holds are intact. The server
//! here is a minimal XEP-0114 acceptor on loopback, so the test needs no Prosody;
//! `scripts/e2e.sh` does the same against a real one.

use live::component::handshake_digest;
use live::{serve, ServeOptions, Status};
use server::xml::{Element, Limits, StreamEvent, StreamParser};
use server::{MucService, ServiceConfig};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

const SECRET: &str = "s3cret";
const DOMAIN: &str = "conference.localhost";

/// `accept`, failing the test instead of hanging if the component never comes.
fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
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

struct Accepted {
    sock: TcpStream,
    parser: StreamParser,
    pending: VecDeque<StreamEvent>,
}

impl Accepted {
    /// Accepts the component and completes the handshake with stream id `id`.
    fn handshake(listener: &TcpListener, id: &str) -> Accepted {
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

    fn write(&mut self, s: &str) {
        self.sock.write_all(s.as_bytes()).unwrap();
    }

    fn next(&mut self) -> StreamEvent {
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

    fn stanza(&mut self) -> Element {
        match self.next() {
            StreamEvent::Stanza(e) => e,
            other => panic!("expected a stanza, got {other:?}"),
        }
    }

    /// Routes a stanza to the component and collects its answers up to and
    /// including the first one `done` accepts.
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

fn is_iq_result(id: &'static str) -> impl Fn(&Element) -> bool {
    move |e| e.name == "iq" && e.attr("id") == Some(id)
}

fn wait_for(statuses: &mpsc::Receiver<Status>, seen: &mut Vec<Status>, want: impl Fn(&Status) -> bool) {
    loop {
        let s = statuses
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no status in time; so far: {seen:?}"));
        let hit = want(&s);
        seen.push(s);
        if hit {
            return;
        }
    }
}

#[test]
fn serve_survives_the_server_being_killed_and_keeps_its_rooms() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut opts = ServeOptions::new(DOMAIN, &addr.to_string(), SECRET);
    opts.min_backoff = Duration::from_millis(20);
    opts.max_backoff = Duration::from_millis(200);

    let (status_tx, statuses) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
        let mut service = MucService::new(ServiceConfig::new(DOMAIN, 7)).expect("valid configuration");
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
    let mut seen = Vec::new();

    // First life of the server: a persistent members-only room with a member.
    let mut server = Accepted::handshake(&listener, "first");
    wait_for(&statuses, &mut seen, |s| matches!(s, Status::Connected { .. }));
    let join = server.exchange(
        "<presence from='user@localhost/a' to='keep@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        |e| e.name == "message",
    );
    assert!(
        join[0].to_xml().contains("code='201'"),
        "a new, locked room: {:?}",
        join[0].to_xml()
    );
    server.exchange(
        "<iq from='user@localhost/a' to='keep@conference.localhost' type='set' id='cfg'>\
           <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_membersonly'><value>1</value></field>\
             <field var='muc#roomconfig_persistentroom'><value>1</value></field>\
           </x></query></iq>",
        is_iq_result("cfg"),
    );
    let grant = server.exchange(
        "<iq from='user@localhost/a' to='keep@conference.localhost' type='set' id='grant'>\
           <query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='user2@localhost'/></query></iq>",
        is_iq_result("grant"),
    );
    assert_eq!(grant.last().unwrap().attr("type"), Some("result"));

    // Kill: the connection and the listening port go away together.
    drop(server);
    drop(listener);
    wait_for(&statuses, &mut seen, |s| matches!(s, Status::Lost { .. }));
    wait_for(&statuses, &mut seen, |s| matches!(s, Status::Unreachable { .. }));

    // The server comes back on the same port; serve reconnects by itself.
    let listener = TcpListener::bind(addr).expect("the port is free again");
    let mut server = Accepted::handshake(&listener, "second");
    wait_for(&statuses, &mut seen, |s| matches!(s, Status::Connected { .. }));

    // The room is intact: still members-only, Juliet still a member, Romeo still owner.
    let refused = server.exchange(
        "<presence from='user3@localhost/m' to='keep@conference.localhost/Mercutio'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        |_| true,
    );
    let xml = refused[0].to_xml();
    assert!(
        xml.contains("type='error'") && xml.contains("registration-required"),
        "{xml}"
    );
    let members = server.exchange(
        "<iq from='user@localhost/b' to='keep@conference.localhost' type='get' id='list'>\
           <query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>",
        is_iq_result("list"),
    );
    let xml = members.last().unwrap().to_xml();
    assert!(
        xml.contains("type='result'") && xml.contains("jid='user2@localhost'"),
        "{xml}"
    );

    stop_tx.send(()).unwrap();
    let service = serving.join().unwrap();
    wait_for(&statuses, &mut seen, |s| matches!(s, Status::Stopped { .. }));
    // Clean shutdown closes the stream.
    let mut rest = Vec::new();
    let _ = server.sock.read_to_end(&mut rest);
    assert!(String::from_utf8_lossy(&rest).contains("</stream:stream>"));
    let room = service
        .room(&"keep@conference.localhost".parse().unwrap())
        .expect("the room");
    assert!(room.config().persistent && room.config().members_only);
    assert_eq!(
        room.affiliation(&"user2@localhost".parse().unwrap()),
        server::Affiliation::Member
    );
    // Reported in order: connected, lost, unreachable (retrying), connected, stopped.
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| match s {
            Status::Connected { .. } => "connected",
            Status::Lost { .. } => "lost",
            Status::Unreachable { .. } => "unreachable",
            Status::Retrying { .. } => "retrying",
            Status::Stopped { .. } => "stopped",
            Status::Refused { .. } => "refused",
        })
        .filter(|k| *k != "retrying" && *k != "unreachable")
        .collect();
    assert_eq!(kinds, ["connected", "lost", "connected", "stopped"]);
}
