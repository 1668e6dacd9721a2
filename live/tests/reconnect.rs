//! Killing the server under `mucsim serve`: it reports the loss, reconnects with
//! backoff once the server is back, and the rooms it holds are intact. The server
//! here is a minimal XEP-0114 acceptor on loopback, so the test needs no Prosody;
//! `scripts/e2e.sh` does the same against a real one.

mod acceptor;

use acceptor::{spawn_serve, Accepted, Serving, DOMAIN, SECRET};
use live::{ServeOptions, Status};
use server::xml::Element;
use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

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

    let Serving {
        thread: serving,
        statuses,
        stop: stop_tx,
    } = spawn_serve(opts);
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
