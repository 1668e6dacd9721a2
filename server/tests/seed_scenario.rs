//! The founding scenario, `muc_members_only_change.scs`, replayed against the service
//! with every stanza compared whole: the script's expectations, plus what a real
//! Prosody 0.12 also sends (occupant-id, the 104 config message), recorded by the
//! prosody-oracle rig.

mod common;
use common::*;

const ROMEO: &str = "user@localhost/romeo";
const JULIET: &str = "user2@localhost/juliet";

#[test]
fn members_only_change_removes_the_revoked_member() {
    let mut h = H::default();

    // Romeo joins: the room is created, locked, and Romeo is its owner (201, 110).
    let out = h.send(ROMEO, "<presence to='room@conference.localhost/Romeo' id='join-romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    let rid = h.occupant_id("room", "Romeo");
    assert_eq!(out.len(), 2);
    assert_stanza(
        &out[0].stanza,
        &format!(
            "<presence from='room@conference.localhost/Romeo' to='{ROMEO}' id='join-romeo'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{rid}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><status code='201'/>\
               <item jid='{ROMEO}' affiliation='owner' role='moderator'/><status code='110'/></x></presence>"
        ),
    );
    assert_stanza(
        &out[1].stanza,
        &format!(
            "<message type='groupchat' from='room@conference.localhost' to='{ROMEO}'><subject/></message>"
        ),
    );

    // Romeo makes the room members-only, which also unlocks it.
    let out = h.configure(ROMEO, "room", &bool_field("membersonly", true));
    assert_eq!(out.len(), 2);
    assert_stanza(
        &out[0].stanza,
        &format!("<iq id='cfg' from='room@conference.localhost' to='{ROMEO}' type='result'/>"),
    );
    assert_stanza(
        &out[1].stanza,
        &format!("<message type='groupchat' from='room@conference.localhost' to='{ROMEO}'><x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x></message>"),
    );

    // Romeo grants Juliet membership: she is absent, so moderators get a notice, then the result.
    let out = h.send(
        ROMEO,
        "<iq id='member1' to='room@conference.localhost' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='user2@localhost'/></query></iq>",
    );
    assert_eq!(out.len(), 2);
    assert_stanza(
        &out[0].stanza,
        &format!("<message from='room@conference.localhost' to='{ROMEO}'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='user2@localhost' affiliation='member'/></x></message>"),
    );
    assert_stanza(
        &out[1].stanza,
        &format!("<iq from='room@conference.localhost' to='{ROMEO}' id='member1' type='result'/>"),
    );

    // Juliet joins: Romeo's presence (no jid: semi-anonymous), her own, the subject; Romeo sees her (with jid: he moderates).
    let out = h.send(JULIET, "<presence to='room@conference.localhost/Juliet' id='join-juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    let jid_ = h.occupant_id("room", "Juliet");
    let to: Vec<&str> = out.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(to, vec![JULIET, ROMEO, JULIET, JULIET]);
    assert_stanza(
        &out[0].stanza,
        &format!(
            "<presence from='room@conference.localhost/Romeo' to='{JULIET}' id='join-romeo'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{rid}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/></x></presence>"
        ),
    );
    assert_stanza(
        &out[1].stanza,
        &format!(
            "<presence from='room@conference.localhost/Juliet' to='{ROMEO}' id='join-juliet'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{jid_}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><item jid='{JULIET}' affiliation='member' role='participant'/></x></presence>"
        ),
    );
    assert_stanza(
        &out[2].stanza,
        &format!(
            "<presence from='room@conference.localhost/Juliet' to='{JULIET}' id='join-juliet'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{jid_}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><item jid='{JULIET}' affiliation='member' role='participant'/><status code='110'/></x></presence>"
        ),
    );
    assert_stanza(
        &out[3].stanza,
        &format!(
            "<message type='groupchat' from='room@conference.localhost' to='{JULIET}'><subject/></message>"
        ),
    );

    // Romeo revokes Juliet's membership: both are told (321) before the iq result.
    let out = h.send(
        ROMEO,
        "<iq id='member2' to='room@conference.localhost' type='set'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='none' jid='user2@localhost'/></query></iq>",
    );
    let to: Vec<&str> = out.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(to, vec![ROMEO, JULIET, ROMEO]);
    assert_stanza(
        &out[0].stanza,
        &format!(
            "<presence type='unavailable' from='room@conference.localhost/Juliet' to='{ROMEO}'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{jid_}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><status code='321'/>\
               <item role='none' jid='{JULIET}' affiliation='none'><actor nick='Romeo' jid='{ROMEO}'/></item></x></presence>"
        ),
    );
    assert_stanza(
        &out[1].stanza,
        &format!(
            "<presence type='unavailable' from='room@conference.localhost/Juliet' to='{JULIET}'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{jid_}'/>\
               <x xmlns='http://jabber.org/protocol/muc#user'><status code='321'/>\
               <item role='none' jid='{JULIET}' affiliation='none'><actor nick='Romeo'/></item><status code='110'/></x></presence>"
        ),
    );
    assert_stanza(
        &out[2].stanza,
        &format!("<iq id='member2' from='room@conference.localhost' to='{ROMEO}' type='result'/>"),
    );
    assert!(h.room("room").unwrap().occupant("Juliet").is_none());
    h.svc.check_invariants().unwrap();

    // Juliet cannot come back: the room is members-only.
    let out = h.join(JULIET, "room", "Juliet");
    assert_error(&out, JULIET, "auth", "registration-required");

    // Romeo leaves; the non-persistent room disappears.
    let out = h.send(
        ROMEO,
        "<presence to='room@conference.localhost/Romeo' type='unavailable'/>",
    );
    assert_eq!(out.len(), 1);
    assert!(h.room("room").is_none());
}
