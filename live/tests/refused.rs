//! A routed stanza over the component's per-stanza limits costs its sender an
//! error, not every room its connection: `mucsim serve` answers it and goes on, on
//! the same connection. The server is a minimal XEP-0114 acceptor on loopback (as in
//! `reconnect.rs`); `scripts/e2e.sh` floods a real Prosody the same way.

mod acceptor;

use acceptor::{spawn_serve, Accepted, Serving, DOMAIN, SECRET};
use live::{ServeOptions, Status};
use std::net::TcpListener;

#[test]
fn a_too_deep_stanza_is_answered_and_the_stream_stays_up() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let opts = ServeOptions::new(DOMAIN, &listener.local_addr().unwrap().to_string(), SECRET);
    let Serving {
        thread: serving,
        statuses,
        stop: stop_tx,
    } = spawn_serve(opts);
    let mut server = Accepted::handshake(&listener, "s1");

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

/// A `conflict` counts before or after the handshake; the count restarts only after
/// a connection stayed up `conflict_reset_after`.
#[test]
fn conflicts_count_after_the_handshake_and_reset_only_after_a_long_connection() {
    use std::time::Duration;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut opts = ServeOptions::new(DOMAIN, &listener.local_addr().unwrap().to_string(), SECRET);
    opts.max_conflicts = 2;
    opts.conflict_reset_after = Duration::from_millis(300);
    opts.min_backoff = Duration::from_millis(10);
    opts.max_backoff = Duration::from_millis(10);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
        let mut service =
            server::MucService::new(server::ServiceConfig::new(DOMAIN, 7)).expect("a valid domain");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(live::serve(
            &opts,
            &mut service,
            &mut live::Memory,
            async {
                let _ = stop_rx.await;
            },
            &mut |_: Status| {},
        ))
    });
    let conflict = "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
    // 1: accepted, then conflict at once (one in a row).
    Accepted::handshake(&listener, "c1").write(conflict);
    // 2: up longer than conflict_reset_after, then conflict: the count restarts (one).
    let mut long = Accepted::handshake(&listener, "c2");
    std::thread::sleep(Duration::from_millis(500));
    long.write(conflict);
    // 3: accepted, then conflict at once: two in a row, serving ends.
    Accepted::handshake(&listener, "c3").write(conflict);
    let end = serving.join().unwrap();
    drop(stop);
    match end {
        Err(live::ServeError::Refused { condition, why }) => {
            assert_eq!(condition, "conflict");
            assert!(why.contains("2 times in a row"), "{why}");
        }
        other => panic!("expected the conflict to end serving, got {other:?}"),
    }
}
