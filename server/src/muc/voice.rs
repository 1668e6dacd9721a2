//! Voice requests (XEP-0045 §7.13) and their approval by a moderator (§8.6).
//!
//! A `muc#request` data form sent to the room in a normal message is a request
//! when a non-moderator sends it and an answer to one when a moderator does (as
//! Prosody 0.12.3's `request.lib` tells them apart). Where Prosody drops a request
//! silently (from an occupant who has voice already), or has no rule (a user who
//! asks again and again), the service answers with ejabberd's errors and rate; see
//! docs/conformance.md.

use super::room::Room;
use super::Role;
use crate::config::Ctx;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{Kind, MessageType, Stanza};
use crate::xml::Element;
use jid::{FullJid, Jid};
use std::sync::Arc;

/// The reason the granted occupant's presence carries (Prosody's words).
const VOICE_GRANTED: &str = "Voice granted";

/// The `muc#request` form of a normal message to the room, if it carries one
/// (XEP-0045 §7.13 example 71, §8.6 example 116).
pub(crate) fn request_form(st: &Stanza) -> Option<&Element> {
    if st.kind != Kind::Message(MessageType::Normal) {
        return None;
    }
    st.el
        .elements()
        .find(|x| x.is("x", ns::DATA) && field(x, "FORM_TYPE").as_deref() == Some(ns::MUC_REQUEST))
}

/// The first value of field `var` of a data form.
fn field(form: &Element, var: &str) -> Option<String> {
    form.elements()
        .find(|f| f.is("field", ns::DATA) && f.attr("var") == Some(var))
        .and_then(|f| super::form::values(f).into_iter().next())
}

/// A `muc#request` form from `from`: a moderator's answers a request (§8.6),
/// anyone else's is a request (§7.13).
///
/// Errors: `NotInRoom` from a non-occupant; for a request, `VoiceRequestNotVisitor`
/// from an occupant with voice and `VoiceRequestTooSoon` within
/// `ServiceConfig::voice_request_interval` of the user's last request; for an
/// approval, `VoiceApprovalNamesNoOne`, `JidMalformed` (a `muc#jid` that is no
/// JID), `OccupantNotFound` (no such occupant) or the refusals of a muc#admin role
/// change (`admin::set_role_as`).
pub(crate) fn handle(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    form: &Element,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let occ = room.occupant_by_session(from).ok_or(Refusal::NotInRoom)?;
    match occ.role {
        Role::Moderator => approve(room, from, form, out),
        Role::Visitor => {
            let (bare, nick) = (occ.bare.clone(), occ.nick.clone());
            if !room.note_voice_request(&bare, ctx.now, ctx.cfg.voice_request_interval) {
                return Err(Refusal::VoiceRequestTooSoon);
            }
            forward(room, from, &nick, out);
            Ok(())
        }
        // Prosody ignores the request silently; ejabberd forwards it.
        Role::Participant | Role::None => Err(Refusal::VoiceRequestNotVisitor),
    }
}

/// XEP-0045 §7.13: the service sends every moderator's sessions the approval form,
/// as in example 72 (the field order and labels are the XEP's; Prosody's form
/// lists `muc#jid` first and adds descriptions and the role's options). Moderators
/// see real JIDs in any room, so `muc#jid` is the requester's full JID.
fn forward(room: &Room, from: &FullJid, nick: &str, out: &mut Outbox) {
    use super::form::field as f;
    let form = Element::new("x", ns::DATA)
        .with_attr("type", "form")
        .with_child(Element::new("title", ns::DATA).with_text("Voice request"))
        .with_child(Element::new("instructions", ns::DATA).with_text(
            "To approve this request for voice, select the \"Grant voice to this person?\" \
             checkbox and click OK. To skip this request, click the cancel button.",
        ))
        .with_child(f("FORM_TYPE", "hidden", None, &[ns::MUC_REQUEST]))
        .with_child(f(
            "muc#role",
            "list-single",
            Some("Requested role"),
            &["participant"],
        ))
        .with_child(f("muc#jid", "jid-single", Some("User ID"), &[from.as_str()]))
        .with_child(f("muc#roomnick", "text-single", Some("Room Nickname"), &[nick]))
        .with_child(f(
            "muc#request_allow",
            "boolean",
            Some("Grant voice to this person?"),
            &["false"],
        ));
    // Prosody sends the form in a message of type normal from the room.
    let msg = Arc::new(
        Element::new("message", ns::CLIENT)
            .with_attr("from", room.jid().as_str())
            .with_attr("type", "normal")
            .with_child(form),
    );
    for o in room.occupants().filter(|o| o.role == Role::Moderator) {
        for s in &o.sessions {
            out.share(&s.jid, msg.clone());
        }
    }
}

/// XEP-0045 §8.6: a moderator's submitted form with `muc#request_allow` true grants
/// the named visitor voice (role participant, told as in §8.3, with Prosody's
/// reason "Voice granted"). The occupant is named by `muc#jid` (a full JID: that
/// session's occupant; a bare JID: that user's) or, without one, `muc#roomnick`.
/// A form that does not allow, or names an occupant who has voice already, changes
/// nothing and is not answered (Prosody and ejabberd alike).
fn approve(room: &mut Room, from: &FullJid, form: &Element, out: &mut Outbox) -> Result<(), Refusal> {
    let allow = matches!(field(form, "muc#request_allow").as_deref(), Some("true" | "1"));
    if !allow {
        return Ok(());
    }
    let nick = match (field(form, "muc#jid"), field(form, "muc#roomnick")) {
        (Some(j), _) => {
            let jid = Jid::new(j.trim()).map_err(|_| Refusal::JidMalformed("muc#jid is not a JID"))?;
            let occ = match jid.try_as_full() {
                Ok(full) => room.occupant_by_session(full),
                Err(bare) => room.occupants().find(|o| o.bare == *bare),
            };
            occ.ok_or(Refusal::OccupantNotFound)?.nick.clone()
        }
        (None, Some(n)) => n,
        (None, None) => return Err(Refusal::VoiceApprovalNamesNoOne),
    };
    let target = room.occupant(&nick).ok_or(Refusal::OccupantNotFound)?;
    if target.role != Role::Visitor {
        return Ok(());
    }
    super::admin::set_role_as(room, from, &nick, Role::Participant, Some(VOICE_GRANTED), out)
}
