//! Destroyed rooms (XEP-0045 §10.9) and their tombstones, as Prosody keeps them:
//! a stanza to a destroyed persistent room is answered `gone` (RFC 6120 §8.3.3.5)
//! with the owner's reason and alternate venue until the tombstone lapses; the
//! tombstone is written to the store in place of the room, and survives a restart.

mod common;
use common::*;
use server::config::DEFAULT_TOMBSTONE_EXPIRY;
use server::{Millis, MucService, Outbox, ServiceConfig, StoreOp, Tombstone};

const A: &str = "owner@localhost/a";
const B: &str = "bob@localhost/b";
const ADMIN: &str = "admin@localhost/x";
const ROOM: &str = "r@conference.localhost";

const DESTROY: &str = "<iq id='d' to='r@conference.localhost' type='set'>\
    <query xmlns='http://jabber.org/protocol/muc#owner'>\
      <destroy jid='new@conference.localhost'><reason>Moved to a new room</reason></destroy>\
    </query></iq>";

/// A service whose administrator is ADMIN (Prosody's `admins`).
fn admin_service() -> H {
    H::configured(|c| c.admins = vec!["admin@localhost".parse().unwrap()])
}

fn persistent(h: &mut H) {
    h.create(A, "r", "Owner", &bool_field("persistentroom", true));
}

fn destroyed(h: &mut H) {
    persistent(h);
    let out = h.svc.handle(Millis(h.now), full(A), el(DESTROY));
    assert!(out.iter().any(|o| o.element().attr("type") == Some("result")));
}

/// The `gone` error a stanza to the destroyed room gets: from the address it was
/// sent to, by the service (Prosody's `module.host`), the alternate venue as an
/// XMPP URI in `<gone/>`, the reason as the text.
fn gone(name: &str, from: &str, to: &str, id: Option<&str>) -> String {
    let id = id.map(|i| format!(" id='{i}'")).unwrap_or_default();
    format!(
        "<{name} from='{from}' to='{to}' type='error'{id}>\
         <error type='cancel' by='conference.localhost'>\
         <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:new@conference.localhost?join</gone>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Moved to a new room</text>\
         </error></{name}>"
    )
}

#[test]
fn destroying_a_persistent_room_writes_its_tombstone_before_telling_anyone() {
    let mut h = H::default();
    persistent(&mut h);
    h.now += 10;
    let out = h.svc.handle(Millis(h.now), full(A), el(DESTROY));
    assert_eq!(out.store_position(), 0, "durable before the first stanza");
    let want = Tombstone {
        jid: ROOM.parse().unwrap(),
        reason: Some("Moved to a new room".into()),
        alternate: Some("new@conference.localhost".parse().unwrap()),
        expires: Millis(h.now + DEFAULT_TOMBSTONE_EXPIRY.0),
    };
    match out.store_ops() {
        [StoreOp::Bury(t), StoreOp::Sync] => assert_eq!(**t, want),
        other => panic!("expected the tombstone, then a sync: {other:?}"),
    }
    assert!(h.room("r").is_none());
    assert_eq!(h.svc.tombstones().collect::<Vec<_>>(), vec![&want]);
}

#[test]
fn joining_a_destroyed_room_is_gone_with_the_reason_and_the_alternate_venue() {
    let mut h = H::default();
    destroyed(&mut h);
    let out = h.join(B, "r", "Bob");
    assert_only(&out, &gone("presence", &format!("{ROOM}/Bob"), B, None));
    // Nobody became the owner of a new room.
    assert!(h.room("r").is_none());
    // The owner, too, cannot come back.
    let out = h.join(A, "r", "Owner");
    assert_stanza(
        &out[0].stanza,
        &gone("presence", &format!("{ROOM}/Owner"), A, None),
    );
}

#[test]
fn every_stanza_to_a_destroyed_room_is_gone_but_errors() {
    // Prosody answers any stanza to the room or an occupant address, disco included.
    let mut h = H::default();
    destroyed(&mut h);
    let disco = "<iq id='i' to='r@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>";
    let out = h.send(B, disco);
    assert_stanza(&out[0].stanza, &gone("iq", ROOM, B, Some("i")));
    let msg = "<message id='m' to='r@conference.localhost/Owner' type='chat'><body>hi</body></message>";
    let out = h.send(B, msg);
    assert_stanza(
        &out[0].stanza,
        &gone("message", &format!("{ROOM}/Owner"), B, Some("m")),
    );
    // RFC 6120 §8.3.1: an error is never answered.
    let err = "<message to='r@conference.localhost' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>";
    assert!(h.send(B, err).is_empty());
    // The service does not list it (Prosody's tombstones are hidden rooms).
    let items = "<iq id='s' to='conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>";
    let out = h.send(B, items);
    assert_stanza(
        &out[0].stanza,
        &format!("<iq from='conference.localhost' to='{B}' id='s' type='result'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
    );
}

#[test]
fn a_destroy_without_reason_or_venue_leaves_a_bare_gone() {
    let mut h = H::default();
    persistent(&mut h);
    let _ = h.send(
        A,
        "<iq id='d' to='r@conference.localhost' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>",
    );
    assert_bare_gone(&h.join(B, "r", "Bob"));
}

#[test]
fn a_temporary_room_leaves_no_tombstone() {
    // Prosody tombstones persistent rooms only: a temporary one is created again.
    let mut h = H::default();
    h.create(A, "r", "Owner", "");
    let out = destroy_leaving_no_tombstone(&mut h);
    assert!(out.store_ops().is_empty());
}

#[test]
fn after_the_period_the_room_can_be_created_again_and_the_tombstone_is_forgotten() {
    let mut h = H::default();
    destroyed(&mut h);
    // Still gone at the last instant of the period…
    let expires = h.svc.tombstones().next().unwrap().expires;
    h.now = expires.0 - 10;
    let out = h.join(B, "r", "Bob");
    assert_eq!(error_of(&out[0].stanza), Some(("cancel".into(), "gone".into())));
    // …then lapsed: Bob creates the room and owns it, and the store forgets the
    // tombstone before he is told.
    let out = h.handle_at(expires.0 + 1, B, &join_stanza("r", "Bob"));
    assert_forgotten(&h, &out, "r");
    assert_eq!(out.store_position(), 0);
    let own = out.iter().next().unwrap().element();
    assert_eq!(statuses(&own), vec!["201", "110"]);
}

#[test]
fn a_service_administrator_may_create_the_room_again_at_once() {
    // Prosody: an admin's join clears the tombstone.
    let mut h = admin_service();
    destroyed(&mut h);
    // Not by a message or an iq, only by joining.
    let out = h.send(
        ADMIN,
        "<message id='m' to='r@conference.localhost'><body>x</body></message>",
    );
    assert_eq!(error_of(&out[0].stanza), Some(("cancel".into(), "gone".into())));
    let out = h.handle_at(h.now + 10, ADMIN, &join_stanza("r", "Admin"));
    assert_forgotten(&h, &out, "r");
}

#[test]
fn an_administrators_ad_hoc_destroy_leaves_a_tombstone_too() {
    let mut h = admin_service();
    persistent(&mut h);
    let out = h.handle_at(
        h.now + 10,
        ADMIN,
        "<iq id='x' to='conference.localhost' type='set'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'>\
            <x xmlns='jabber:x:data' type='submit'><field var='rooms'><value>r@conference.localhost</value></field></x></command></iq>",
    );
    assert!(matches!(out.store_ops(), [StoreOp::Bury(_), StoreOp::Sync]));
    assert_bare_gone(&h.join(B, "r", "Bob"));
}

#[test]
fn tombstones_can_be_switched_off() {
    let mut h = H::configured(|c| c.tombstone_expiry = None);
    persistent(&mut h);
    let out = destroy_leaving_no_tombstone(&mut h);
    assert!(matches!(out.store_ops(), [StoreOp::Delete(_), StoreOp::Sync]));
}

#[test]
fn a_restored_service_keeps_its_tombstones_and_refuses_a_tombstone_over_a_room() {
    let mut h = H::default();
    destroyed(&mut h);
    persistent_room_named(&mut h, "other");
    let cfg = || ServiceConfig::new(MUC, 42);
    let tombstones: Vec<Tombstone> = h.svc.tombstones().cloned().collect();
    let mut svc = MucService::restore_with_tombstones(cfg(), h.svc.records(), tombstones.clone()).unwrap();
    let out = svc.handle(Millis(h.now + 10), full(B), el(&join_stanza("r", "Bob")));
    let sent: Vec<_> = out.iter().map(|o| o.element()).collect();
    assert_eq!(sent.len(), 1);
    assert_stanza(&sent[0], &gone("presence", &format!("{ROOM}/Bob"), B, None));
    // A store holding a room and a tombstone at one address is refused.
    let mut clash = tombstones[0].clone();
    clash.jid = "other@conference.localhost".parse().unwrap();
    let e = MucService::restore_with_tombstones(cfg(), h.svc.records(), [clash]).unwrap_err();
    assert_eq!(e.to_string(), "room other@conference.localhost is stored twice");
    let mut foreign = tombstones[0].clone();
    foreign.jid = "r@elsewhere.localhost".parse().unwrap();
    assert!(MucService::restore_with_tombstones(cfg(), [], [foreign]).is_err());
}

fn persistent_room_named(h: &mut H, room: &str) {
    h.create(A, room, "Owner", &bool_field("persistentroom", true));
}

#[test]
fn tombstones_count_against_the_room_limit_until_they_lapse() {
    let mut cfg = ServiceConfig::new(MUC, 42);
    cfg.limits.max_rooms = 1;
    let mut h = H::new(cfg);
    destroyed(&mut h);
    let out = h.join(B, "s", "Bob");
    assert_eq!(
        error_of(&out[0].stanza),
        Some(("modify".into(), "policy-violation".into()))
    );
    // Once lapsed, the tombstone gives way to a new room elsewhere (and is forgotten).
    let expires = h.svc.tombstones().next().unwrap().expires;
    let out = h.handle_at(expires.0 + 1, B, &join_stanza("s", "Bob"));
    assert_forgotten(&h, &out, "s");
}

/// The owner destroys room r (the returned outbox): no tombstone is kept, and Bob's
/// join creates the room anew (201, 110).
#[track_caller]
fn destroy_leaving_no_tombstone(h: &mut H) -> Outbox {
    let out = h.svc.handle(Millis(h.now), full(A), el(DESTROY));
    assert_eq!(h.svc.tombstones().count(), 0);
    let join = h.join(B, "r", "Bob");
    assert_eq!(statuses(&join[0].stanza), vec!["201", "110"]);
    out
}

/// The join that gave `out` forgot r's tombstone (the store deletes it, then syncs;
/// the service keeps no tombstone) and room `room` now exists.
#[track_caller]
fn assert_forgotten(h: &H, out: &Outbox, room: &str) {
    match out.store_ops() {
        [StoreOp::Delete(j), StoreOp::Sync] => assert_eq!(j.as_str(), ROOM),
        other => panic!("expected the tombstone's deletion: {other:?}"),
    }
    assert_eq!(h.svc.tombstones().count(), 0);
    assert!(h.room(room).is_some());
}

/// Bob's join got the tombstone's error with no reason and no venue (a bare
/// `<gone/>`, XEP-0045 §10.9, RFC 6120 §8.3.3.5).
#[track_caller]
fn assert_bare_gone(out: &[Sent]) {
    assert_stanza(
        &out[0].stanza,
        &format!(
            "<presence from='{ROOM}/Bob' to='{B}' type='error'><error type='cancel' by='conference.localhost'>\
             <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
        ),
    );
}
