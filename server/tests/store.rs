//! Persistence effects: what the service asks to keep, in which order, and how a
//! service comes back from what was kept.

mod common;
use common::*;
use server::muc::RoomConfig;
use server::{Affiliation, Millis, MucService, RestoreError, RoomRecord, ServiceConfig, StoreOp};
use std::collections::BTreeMap;

const A: &str = "owner@localhost/a";
const B: &str = "bob@localhost/b";

fn field(var: &str, v: &str) -> String {
    format!("<field var='{var}'><value>{v}</value></field>")
}

fn handle(h: &mut H, from: &str, xml: &str) -> server::Outbox {
    h.now += 10;
    h.svc.handle(Millis(h.now), full(from), el(xml))
}

fn admin(jid: &str, aff: &str) -> String {
    format!(
        "<iq id='aff' to='r@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'>\
         <item affiliation='{aff}' jid='{jid}'/></query></iq>"
    )
}

#[test]
fn every_config_field_round_trips_through_the_stored_form() {
    let c = RoomConfig::every_field_changed();
    assert_ne!(c, RoomConfig::default());
    let form = c.to_submission();
    assert_eq!(form.attr("type"), Some("submit"));
    assert_eq!(RoomConfig::from_submission(&form).unwrap(), c);
    // The defaults too (every field present, values equal to the defaults).
    let d = RoomConfig::default();
    assert_eq!(RoomConfig::from_submission(&d.to_submission()).unwrap(), d);
    // And a bad stored value is refused, not guessed.
    let bad = el("<x xmlns='jabber:x:data' type='submit'>\
                  <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
                  <field var='muc#roomconfig_historylength'><value>lots</value></field></x>");
    assert!(RoomConfig::from_submission(&bad).is_err());
}

#[test]
fn a_change_to_a_kept_room_is_written_and_synced_before_anything_is_sent() {
    let mut h = H::default();
    h.create(A, "r", "Owner", &field("muc#roomconfig_persistentroom", "1"));
    let out = handle(&mut h, A, &admin("bob@localhost", "member"));
    assert!(!out.is_empty());
    assert_eq!(out.store_position(), 0, "durable before the first stanza");
    match out.store_ops() {
        [StoreOp::Put(r), StoreOp::Sync] => {
            assert_eq!(
                r.affiliations
                    .get(&"bob@localhost".parse::<jid::BareJid>().unwrap()),
                Some(&Affiliation::Member)
            );
        }
        other => panic!("{other:?}"),
    }
    // Nothing kept changed: nothing to write.
    let out = handle(&mut h, A, &admin("bob@localhost", "member"));
    assert!(out.store_ops().is_empty());
    // Presence never changes what is kept.
    let out = handle(
        &mut h,
        B,
        &format!("<presence to='r@{MUC}/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
    );
    assert!(out.store_ops().is_empty());
    // The subject is kept.
    let out = handle(
        &mut h,
        A,
        &format!("<message to='r@{MUC}' type='groupchat'><subject>Verona</subject></message>"),
    );
    assert!(
        matches!(out.store_ops(), [StoreOp::Put(r), StoreOp::Sync] if r.subject.as_ref().unwrap().text == "Verona")
    );
    // No longer persistent: forgotten.
    let out = h.configure(A, "r", &field("muc#roomconfig_persistentroom", "0"));
    assert!(!out.is_empty());
    let out = handle(&mut h, A, &admin("carol@localhost", "member"));
    assert!(out.store_ops().is_empty(), "a temporary room is not kept");
}

#[test]
fn temporary_rooms_are_never_written_and_destroying_a_kept_room_buries_it() {
    let mut h = H::default();
    h.create(A, "t", "Owner", "");
    let out = handle(
        &mut h,
        A,
        &format!(
            "<iq id='aff' to='t@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'>\
         <item affiliation='member' jid='bob@localhost'/></query></iq>"
        ),
    );
    assert!(out.store_ops().is_empty());
    h.create(A, "r", "Owner", &field("muc#roomconfig_persistentroom", "1"));
    let out = handle(&mut h, A, &format!(
        "<iq id='d' to='r@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"
    ));
    assert!(
        matches!(out.store_ops(), [StoreOp::Bury(t), StoreOp::Sync] if t.jid.as_str() == format!("r@{MUC}"))
    );
}

#[test]
fn a_restored_service_has_the_rooms_empty_with_their_lists_in_force() {
    let mut h = H::default();
    h.create(
        A,
        "r",
        "Owner",
        &(field("muc#roomconfig_persistentroom", "1") + &field("muc#roomconfig_membersonly", "1")),
    );
    let _ = h.set_aff(A, "r", "bob@localhost", "member");
    let _ = h.set_aff(A, "r", "eve@localhost", "outcast");
    let _ = h.join(B, "r", "Bob");
    h.create(A, "temp", "Owner", "");
    let records = h.svc.records();
    assert_eq!(records.len(), 1, "only the persistent room");
    let cfg = ServiceConfig::new(MUC, 42);
    let svc = MucService::restore(cfg.clone(), records.clone()).unwrap();
    assert_eq!(svc.records(), records, "what was kept is what comes back");
    let room = svc.room(&format!("r@{MUC}").parse().unwrap()).unwrap();
    assert_eq!(room.occupants().count(), 0, "occupants are not kept");
    assert!(!room.is_locked());
    svc.check_invariants().unwrap();
    let mut h2 = H { svc, now: h.now };
    // Bob is still a member, Eve still banned, Carol still not a member.
    let got = h2.join(B, "r", "Bob");
    assert!(got
        .iter()
        .any(|s| s.stanza.attr("type").is_none() && s.to.as_str() == B));
    let got = h2.join("eve@localhost/e", "r", "Eve");
    assert!(got[0].stanza.to_xml().contains("forbidden"));
    let got = h2.join("carol@localhost/c", "r", "Carol");
    assert!(got[0].stanza.to_xml().contains("registration-required"));
}

#[test]
fn records_that_no_service_writes_are_refused() {
    let cfg = ServiceConfig::new(MUC, 1);
    let mut ok = RoomRecord {
        jid: format!("r@{MUC}").parse().unwrap(),
        config: RoomConfig {
            persistent: true,
            ..RoomConfig::default()
        },
        affiliations: [("owner@localhost".parse().unwrap(), Affiliation::Owner)].into(),
        reserved: BTreeMap::new(),
        ban_reasons: BTreeMap::new(),
        subject: None,
    };
    assert!(MucService::restore(cfg.clone(), [ok.clone()]).is_ok());
    assert!(matches!(
        MucService::restore(cfg.clone(), [ok.clone(), ok.clone()]),
        Err(RestoreError::Duplicate(_))
    ));
    let mut other = ok.clone();
    other.jid = "r@elsewhere.example".parse().unwrap();
    assert!(matches!(
        MucService::restore(cfg.clone(), [other]),
        Err(RestoreError::WrongDomain(_))
    ));
    ok.affiliations.clear();
    assert!(matches!(
        MucService::restore(cfg, [ok]),
        Err(RestoreError::NoOwner(_))
    ));
}

/// The error of a restore that must fail.
#[track_caller]
fn refusal(r: Result<MucService, RestoreError>) -> RestoreError {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

/// Damage the attacker's store edits made that restore accepted: each is refused,
/// naming the room and what is wrong (an invariant, or the field).
#[test]
fn records_that_break_an_invariant_or_hold_a_bad_nick_are_refused_naming_the_room() {
    let cfg = ServiceConfig::new(MUC, 1);
    let room = format!("r@{MUC}");
    let romeo: server::jids::BareJid = "romeo@localhost".parse().unwrap();
    let juliet: server::jids::BareJid = "juliet@localhost".parse().unwrap();
    let ok = RoomRecord {
        jid: room.parse().unwrap(),
        config: RoomConfig {
            persistent: true,
            ..RoomConfig::default()
        },
        affiliations: [
            ("owner@localhost".parse().unwrap(), Affiliation::Owner),
            (romeo.clone(), Affiliation::Member),
            (juliet.clone(), Affiliation::Member),
        ]
        .into(),
        reserved: [(romeo.clone(), "Romeo".to_string())].into(),
        ban_reasons: Default::default(),
        subject: Some(server::muc::Subject {
            by: Some("Romeo".into()),
            text: "hi".into(),
        }),
    };
    MucService::restore(cfg.clone(), [ok.clone()]).expect("a record a service writes");
    // Two users reserving one nick (a debug build would panic on the next stanza).
    let mut dup = ok.clone();
    dup.reserved.insert(juliet.clone(), "Romeo".into());
    match MucService::restore(cfg.clone(), [dup]) {
        Err(RestoreError::Invariant(v)) => {
            assert_eq!(v.invariant, server::invariants::Invariant::ReservationsAreOwned);
            assert_eq!(v.room, room);
        }
        other => panic!("accepted or misreported: {:?}", other.err()),
    }
    // A persistent room that is not persistent: kept empty, which no service does.
    let mut temp = ok.clone();
    temp.config.persistent = false;
    let e = refusal(MucService::restore(cfg.clone(), [temp]));
    assert!(
        matches!(&e, RestoreError::Invariant(v) if v.invariant == server::invariants::Invariant::NonPersistentRoomNotEmpty),
        "{e}"
    );
    assert!(e.to_string().contains(&room), "{e}");
    // An empty reserved nick.
    let mut empty = ok.clone();
    empty.reserved.insert(juliet.clone(), String::new());
    let e = refusal(MucService::restore(cfg.clone(), [empty]));
    assert!(matches!(e, RestoreError::BadReservedNick(..)), "{e}");
    assert!(
        e.to_string().contains(&room) && e.to_string().contains("juliet@localhost"),
        "{e}"
    );
    // A subject author that is no nickname.
    let mut by = ok.clone();
    by.subject.as_mut().unwrap().by = Some(String::from("bell\u{7}"));
    let e = refusal(MucService::restore(cfg, [by]));
    assert!(matches!(e, RestoreError::BadSubjectBy(..)), "{e}");
    assert!(e.to_string().contains(&room), "{e}");
}

#[test]
fn an_administrator_destroying_kept_rooms_buries_them_before_answering() {
    let mut cfg = ServiceConfig::new(MUC, 42);
    cfg.admins.push("admin@localhost".parse().unwrap());
    let mut h = H::new(cfg);
    h.create(A, "r", "Owner", &field("muc#roomconfig_persistentroom", "1"));
    let out = handle(
        &mut h,
        "admin@localhost/x",
        &format!(
            "<iq id='d' type='set' to='{MUC}'><command xmlns='http://jabber.org/protocol/commands' \
             node='http://prosody.im/protocol/muc#destroy'><x xmlns='jabber:x:data' type='submit'>\
             <field var='rooms'><value>r@{MUC}</value></field></x></command></iq>"
        ),
    );
    assert_eq!(out.store_position(), 0);
    assert!(
        matches!(out.store_ops(), [StoreOp::Bury(t), StoreOp::Sync] if t.jid.as_str() == format!("r@{MUC}"))
    );
}

#[test]
fn a_destroyed_kept_room_is_buried_and_synced_before_its_occupants_are_told() {
    let mut h = H::default();
    h.create(A, "r", "Owner", &field("muc#roomconfig_persistentroom", "1"));
    let _ = h.join(B, "r", "Bob");
    let out = handle(&mut h, A, &format!(
        "<iq id='d' to='r@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"
    ));
    assert!(
        matches!(out.store_ops(), [StoreOp::Bury(t), StoreOp::Sync] if t.jid.as_str() == format!("r@{MUC}"))
    );
    // Its tombstone replaces its record (docs/conformance.md, tombstones).
    assert_eq!(out.store_position(), 0, "the tombstone comes before every stanza");
    let (before, _, after) = out.into_parts();
    assert!(before.is_empty());
    assert!(
        after
            .iter()
            .any(|o| o.to.as_str() == B && o.to_xml().contains("<destroy")),
        "Bob is told, after the tombstone is durable: {after:?}"
    );
}

#[test]
fn a_seeded_key_gives_the_occupant_ids_of_the_seed_and_a_secret_key_others() {
    use server::OccupantIdKey;
    let id = |key: OccupantIdKey| {
        let mut cfg = ServiceConfig::new(MUC, 42);
        cfg.occupant_id_key = key;
        let mut h = H::new(cfg);
        h.create(A, "r", "Owner", "");
        let _ = h.join(B, "r", "Bob");
        h.occupant_id("r", "Bob")
    };
    // What every earlier build made of seed 42, computed here from its definition.
    let expected = {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let mut d = Sha256::new();
        d.update(42u64.to_le_bytes());
        d.update(format!("r@{MUC}").as_bytes());
        d.update([0u8]);
        d.update(b"bob@localhost");
        base64::engine::general_purpose::STANDARD.encode(d.finalize())
    };
    assert_eq!(id(OccupantIdKey::Seeded(42)), expected);
    assert_ne!(id(OccupantIdKey::Seeded(42)), id(OccupantIdKey::Secret([7; 32])));
    assert_ne!(
        id(OccupantIdKey::Secret([1; 32])),
        id(OccupantIdKey::Secret([7; 32]))
    );
    assert_eq!(format!("{:?}", OccupantIdKey::Secret([7; 32])), "Secret(..)");
}

#[test]
fn a_bad_domain_is_a_typed_error_when_the_service_is_built() {
    use server::ConfigError;
    for bad in ["room@conference.localhost", "conference.localhost/x", "", "a b"] {
        let e = MucService::new(ServiceConfig::new(bad, 0)).unwrap_err();
        assert!(matches!(e, ConfigError::Domain { .. }), "{bad}: {e:?}");
    }
    let e = MucService::new(ServiceConfig::new("Conference.Localhost", 0)).unwrap_err();
    assert_eq!(
        e,
        ConfigError::DomainNotNormalized {
            domain: "Conference.Localhost".into(),
            normalized: "conference.localhost".into()
        }
    );
    assert!(matches!(
        MucService::restore(ServiceConfig::new("a@b", 0), []),
        Err(RestoreError::Config(_))
    ));
    assert!(MucService::new(ServiceConfig::new(MUC, 0)).is_ok());
}

#[test]
fn a_ban_reason_is_kept_durably_and_listed_after_a_restore() {
    // XEP-0045 §9.1, §9.2: the reason is part of what a kept room keeps.
    let mut h = H::default();
    h.create(A, "r", "Owner", &field("muc#roomconfig_persistentroom", "1"));
    let out = handle(
        &mut h,
        A,
        &format!(
            "<iq id='b' to='r@{MUC}' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'>\
             <item affiliation='outcast' jid='eve@localhost'><reason>Treason</reason></item></query></iq>"
        ),
    );
    let put = out
        .store_ops()
        .iter()
        .find_map(|op| match op {
            StoreOp::Put(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the ban is written");
    assert_eq!(
        put.ban_reasons
            .get(&"eve@localhost".parse::<jid::BareJid>().unwrap())
            .map(String::as_str),
        Some("Treason")
    );
    let svc = MucService::restore(ServiceConfig::new(MUC, 42), h.svc.records()).unwrap();
    let mut h2 = H { svc, now: h.now };
    let got = h2.send_for(
        A,
        &format!(
            "<iq id='l' to='r@{MUC}' type='get'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>"
        ),
        A,
    );
    assert_stanza(
        &got[0],
        &format!(
            "<iq type='result' id='l' from='r@{MUC}' to='{A}'><query xmlns='http://jabber.org/protocol/muc#admin'>\
             <item affiliation='outcast' jid='eve@localhost'><reason>Treason</reason></item></query></iq>"
        ),
    );
    // Lifting the ban drops the reason from what is kept.
    let _ = h2.set_aff(A, "r", "eve@localhost", "none");
    assert!(h2.svc.records()[0].ban_reasons.is_empty());
}
