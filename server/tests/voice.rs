//! Voice requests (XEP-0045 §7.13) and their approval (§8.6): the success path and
//! each refusal, comparing whole stanzas.

mod common;
use common::*;
use server::ServiceConfig;

const A: &str = "owner@localhost/a";
const B: &str = "bob@localhost/b";
const C: &str = "carol@localhost/c";
const ROOM: &str = "r@conference.localhost";

/// A moderated room owned by A (nick Owner, moderator), with Bob a visitor and
/// Carol made a participant.
fn moderated(mut h: H) -> H {
    h.create(A, "r", "Owner", &bool_field("moderatedroom", true));
    let _ = h.join(B, "r", "Bob");
    let _ = h.join(C, "r", "Carol");
    let _ = h.set_role(A, "r", "Carol", "participant");
    h
}

const REQUEST: &str = "<message to='r@conference.localhost' id='vr'>\
    <x xmlns='jabber:x:data' type='submit'>\
      <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>\
      <field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>\
    </x></message>";

fn approval(target: &str, allow: bool) -> String {
    format!(
        "<message to='r@conference.localhost' id='ok'>\
         <x xmlns='jabber:x:data' type='submit'>\
           <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>\
           <field var='muc#role'><value>participant</value></field>\
           {target}\
           <field var='muc#request_allow'><value>{allow}</value></field>\
         </x></message>"
    )
}

/// The approval form every moderator session gets (XEP-0045 example 72).
fn approval_form(to: &str, jid: &str, nick: &str) -> String {
    format!(
        "<message from='{ROOM}' to='{to}' type='normal'>\
         <x xmlns='jabber:x:data' type='form'>\
           <title>Voice request</title>\
           <instructions>To approve this request for voice, select the \"Grant voice to this person?\" checkbox and click OK. To skip this request, click the cancel button.</instructions>\
           <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#request</value></field>\
           <field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>\
           <field var='muc#jid' type='jid-single' label='User ID'><value>{jid}</value></field>\
           <field var='muc#roomnick' type='text-single' label='Room Nickname'><value>{nick}</value></field>\
           <field var='muc#request_allow' type='boolean' label='Grant voice to this person?'><value>false</value></field>\
         </x></message>"
    )
}

/// The room's error to the voice request from `to`: type `ty`, condition `cond`,
/// Prosody's text `text`.
fn refused_request(to: &str, ty: &str, cond: &str, text: &str) -> String {
    format!(
        "<message from='{ROOM}' to='{to}' id='vr' type='error'>\
         <error type='{ty}' by='{ROOM}'><{cond} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{text}</text></error></message>"
    )
}

fn bob_role(h: &H) -> server::Role {
    h.room("r").unwrap().occupant("Bob").unwrap().role
}

fn stanzas(out: Vec<Sent>) -> Vec<(String, Element)> {
    out.into_iter().map(|o| (o.to.to_string(), o.stanza)).collect()
}

use server::xml::Element;

#[test]
fn a_visitors_request_goes_to_the_moderators_and_an_approval_grants_voice() {
    let mut h = moderated(H::default());
    // §7.13: only the moderator (the owner) gets the form; Carol and Bob get nothing.
    let out = stanzas(h.send(B, REQUEST));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].0, A);
    assert_stanza(&out[0].1, &approval_form(A, B, "Bob"));

    // §8.6: the moderator submits the form with muc#request_allow true; Bob becomes
    // a participant, and everyone is told as in §8.3 (Prosody's reason, the actor).
    let bob_id = h.occupant_id("r", "Bob");
    let target = format!(
        "<field var='muc#jid'><value>{B}</value></field><field var='muc#roomnick'><value>Bob</value></field>"
    );
    let out = stanzas(h.send(A, &approval(&target, true)));
    let to: Vec<&str> = out.iter().map(|(t, _)| t.as_str()).collect();
    // Everyone else first, the occupant itself last (Prosody's broadcast order).
    assert_eq!(to, vec![C, A, B], "{out:#?}");
    // Carol sees no real JIDs (semi-anonymous room); the moderator sees Bob's and
    // the actor's; Bob sees his own, with 110.
    let presence = |to: &str, item_jid: &str, actor_jid: &str, own: &str| {
        format!(
            "<presence from='{ROOM}/Bob' to='{to}'>\
             <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{bob_id}'/>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='none' role='participant'{item_jid}><actor nick='Owner'{actor_jid}/><reason>Voice granted</reason></item>\
             {own}</x></presence>"
        )
    };
    let bob_jid = format!(" jid='{B}'");
    let owner_jid = format!(" jid='{A}'");
    assert_stanza(&out[0].1, &presence(C, "", "", ""));
    assert_stanza(&out[1].1, &presence(A, &bob_jid, &owner_jid, ""));
    assert_stanza(&out[2].1, &presence(B, &bob_jid, "", "<status code='110'/>"));
    assert_eq!(bob_role(&h), server::Role::Participant);
    // Bob may speak now.
    let msg = "<message to='r@conference.localhost' type='groupchat'><body>thanks</body></message>";
    assert_eq!(h.send(B, msg).len(), 3);
}

#[test]
fn an_approval_may_name_the_visitor_by_nick_or_bare_jid() {
    for target in [
        "<field var='muc#roomnick'><value>Bob</value></field>".to_string(),
        "<field var='muc#jid'><value>bob@localhost</value></field>".to_string(),
    ] {
        let mut h = moderated(H::default());
        let out = h.send(A, &approval(&target, true));
        assert_eq!(out.len(), 3, "{out:#?}");
        assert_eq!(bob_role(&h), server::Role::Participant);
    }
}

#[test]
fn a_denied_or_moot_approval_changes_nothing_and_is_not_answered() {
    let mut h = moderated(H::default());
    let bob = "<field var='muc#roomnick'><value>Bob</value></field>";
    // request_allow false: the moderator skipped the request.
    assert!(h.send(A, &approval(bob, false)).is_empty());
    assert_eq!(bob_role(&h), server::Role::Visitor);
    // Carol has voice already.
    let carol = "<field var='muc#roomnick'><value>Carol</value></field>";
    assert!(h.send(A, &approval(carol, true)).is_empty());
}

#[test]
fn a_request_from_someone_with_voice_is_not_allowed() {
    let mut h = moderated(H::default());
    let why = "Only visitors can request voice";
    assert_only(
        &h.send(C, REQUEST),
        &refused_request(C, "cancel", "not-allowed", why),
    );
}

#[test]
fn a_request_from_a_non_occupant_is_not_acceptable() {
    let mut h = moderated(H::default());
    assert_error(
        &h.send("dave@localhost/d", REQUEST),
        "dave@localhost/d",
        "cancel",
        "not-acceptable",
    );
}

#[test]
fn a_second_request_within_the_interval_waits() {
    let mut h = moderated(H::default());
    assert_eq!(h.send(B, REQUEST).len(), 1);
    let why = "Please, wait for a while before sending new voice request";
    assert_only(
        &h.send(B, REQUEST),
        &refused_request(B, "wait", "resource-constraint", why),
    );
    // The limit is per user (by bare JID: another session of Bob's waits too)…
    let _ = h.join("bob@localhost/phone", "r", "Bob");
    assert_error(
        &h.send("bob@localhost/phone", REQUEST),
        "bob@localhost/phone",
        "wait",
        "resource-constraint",
    );
    // …and ends after the interval.
    h.now += server::config::DEFAULT_VOICE_REQUEST_INTERVAL.0;
    assert_eq!(h.send(B, REQUEST).len(), 1);
}

#[test]
fn a_zero_interval_lets_every_request_through() {
    let mut h = moderated(H::new(ServiceConfig {
        voice_request_interval: server::Millis(0),
        ..ServiceConfig::new(MUC, 42)
    }));
    for _ in 0..3 {
        assert_eq!(h.send(B, REQUEST).len(), 1);
    }
}

#[test]
fn an_approval_naming_no_one_or_an_absent_occupant_is_refused() {
    let mut h = moderated(H::default());
    assert_error(&h.send(A, &approval("", true)), A, "modify", "bad-request");
    let nobody = "<field var='muc#roomnick'><value>Nobody</value></field>";
    assert_error(&h.send(A, &approval(nobody, true)), A, "modify", "item-not-found");
    let stranger = "<field var='muc#jid'><value>dave@localhost/d</value></field>";
    assert_error(
        &h.send(A, &approval(stranger, true)),
        A,
        "modify",
        "item-not-found",
    );
    let bad = "<field var='muc#jid'><value>@@</value></field>";
    assert_error(&h.send(A, &approval(bad, true)), A, "modify", "jid-malformed");
}

#[test]
fn a_visitors_approval_form_is_a_request() {
    // Prosody tells a request from an answer by the sender's role: a visitor who
    // sends a filled-in approval asks for voice, and gets none by it.
    let mut h = moderated(H::default());
    let bob = "<field var='muc#roomnick'><value>Bob</value></field>";
    let out = stanzas(h.send(B, &approval(bob, true)));
    assert_eq!(out.len(), 1);
    assert_stanza(&out[0].1, &approval_form(A, B, "Bob"));
    assert_eq!(bob_role(&h), server::Role::Visitor);
}

#[test]
fn rooms_advertise_voice_requests() {
    let mut h = moderated(H::default());
    let out = h.send(
        C,
        "<iq id='d' to='r@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let q = out[0]
        .stanza
        .child("query", "http://jabber.org/protocol/disco#info")
        .unwrap();
    assert!(q
        .elements()
        .any(|f| f.name == "feature" && f.attr("var") == Some("http://jabber.org/protocol/muc#request")));
}
