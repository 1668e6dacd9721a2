//! Messages: groupchat (XEP-0045 §7.4), subject (§8.1), private messages (§7.5) and
//! mediated invitations (§7.8.2).

use super::room::{HistoryEntry, Room};
use super::{Affiliation, Role};
use crate::config::{Ctx, Faults, Mutant};
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{Kind, MessageType, Stanza};
use crate::xml::{Element, Node};
use jid::{FullJid, Jid};
use std::sync::Arc;

pub(crate) fn groupchat(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let occ = room.occupant_by_session(from).ok_or(Refusal::NotInRoom)?;
    if occ.role < Role::Participant {
        return Err(Refusal::NoVoice);
    }
    let nick = occ.nick.clone();
    let role = occ.role;
    let occupant_id = occ.occupant_id.clone();
    let mut msg = st.el.clone();
    msg.remove_attr("to");
    msg.set_attr("from", room.occupant_jid_str(&nick));
    // Strip delays claiming to be from the room (Prosody), and any occupant-id a
    // client tried to forge.
    let room_jid = room.jid().as_str().to_string();
    msg.children.retain(|n| match n {
        Node::Element(e) => {
            let forged_delay = (e.is("delay", ns::DELAY) || e.is("x", ns::LEGACY_DELAY))
                && e.attr("from") == Some(room_jid.as_str());
            !forged_delay && !e.is("occupant-id", ns::OCCUPANT_ID)
        }
        Node::Text(_) => true,
    });
    msg.push(super::presence::occupant_id(&occupant_id));
    if let Some(text) = subject_change(&st.el) {
        if !(room.config().change_subject || role == Role::Moderator) {
            return Err(Refusal::SubjectChangeForbidden);
        }
        room.set_subject(super::room::Subject {
            by: Some(nick.clone()),
            text,
        });
    } else if is_historic(&st.el) {
        room.record_message(HistoryEntry {
            nick: nick.clone(),
            at: ctx.now,
            stanza: msg.clone(),
        });
    }
    room.broadcast(msg, |_| true, out);
    Ok(())
}

/// The new subject if a groupchat message is a subject change, `None` if it is an
/// ordinary message.
// XEP-0045 §8.1: only a message whose payload is a <subject/> changes the subject; one
// with a <subject/> and a <body/>, or a <subject/> and a <thread/>, is a legitimate
// message that SHALL NOT be interpreted as a subject change (Prosody alike).
pub(crate) fn subject_change(el: &Element) -> Option<String> {
    let subject = el.child("subject", ns::CLIENT)?;
    if el.child("body", ns::CLIENT).is_some() || el.child("thread", ns::CLIENT).is_some() {
        return None;
    }
    Some(subject.text())
}

/// Whether an ordinary groupchat message is kept in the discussion history
/// (XEP-0045 §7.2.14 leaves the choice to the service; see docs/conformance.md).
/// As Prosody's `muc-message-is-historic`: a XEP-0334 `<no-store/>` or
/// `<no-permanent-store/>` hint keeps it out, a `<store/>` hint keeps it, and so does
/// a `<body/>`; beyond Prosody, so does a `<subject/>` that is not a subject change
/// (XEP-0045 §8.1: a legitimate message).
fn is_historic(el: &Element) -> bool {
    if el.child("no-store", ns::HINTS).is_some() || el.child("no-permanent-store", ns::HINTS).is_some() {
        return false;
    }
    el.child("store", ns::HINTS).is_some()
        || el.child("body", ns::CLIENT).is_some()
        || el.child("subject", ns::CLIENT).is_some()
}

/// A non-groupchat message to the room itself: an invitation or a decline
/// (XEP-0045 §7.8.2), or nothing we accept (`WrongMessageType`).
pub(crate) fn to_room(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    if let Some(form) = super::voice::request_form(st) {
        return super::voice::handle(room, ctx, from, form, out);
    }
    let faults = ctx.cfg.faults();
    let x = st.el.child("x", ns::MUC_USER);
    if let Some(decline) = x.and_then(|x| x.child("decline", ns::MUC_USER)) {
        return forward_decline(room, from, st, decline, out);
    }
    let invite = x.and_then(|x| x.child("invite", ns::MUC_USER));
    let Some(invite) = invite else {
        return Err(Refusal::WrongMessageType);
    };
    let inviter = room.occupant_by_session(from).ok_or(Refusal::NotInRoom)?;
    let to = invite
        .attr("to")
        .and_then(|t| Jid::new(t).ok())
        .ok_or(Refusal::JidMalformed("invitation without a valid 'to'"))?;
    let inviter_aff = room.affiliation(&inviter.bare);
    let inviter_bare = inviter.bare.clone();
    if room.config().members_only {
        let needed = if room.config().allow_member_invites {
            Affiliation::Member
        } else {
            Affiliation::Admin
        };
        if inviter_aff < needed {
            return Err(Refusal::InviteForbidden);
        }
    }
    let display = match room.config().whois {
        super::Whois::Anyone => inviter.bare.as_str().to_string(),
        super::Whois::Moderators => room.occupant_jid_str(&inviter.nick),
    };
    let reason = invite.child_text("reason", ns::MUC_USER).unwrap_or_default();
    let mut x = Element::new("x", ns::MUC_USER).with_child(
        Element::new("invite", ns::MUC_USER)
            .with_attr("from", display.as_str())
            .with_child(Element::new("reason", ns::MUC_USER).with_text(reason.as_str())),
    );
    if let Some(pw) = &room.config().password {
        x.push(Element::new("password", ns::MUC_USER).with_text(pw.as_str()));
    }
    let body = format!("{display} invited you to the room {}", room.jid());
    let msg = from_room(room, st)
        .with_child(x)
        // Prosody's order (XEP-0249's element before the body), as recorded by e2e.sh.
        .with_child(Element::new("x", "jabber:x:conference").with_attr("jid", room.jid().as_str()))
        .with_child(body_with_reason(body, &reason));
    // XEP-0045 §9.3 / Prosody: inviting into a members-only room grants membership.
    let invitee = to.bare();
    let grantable = match room.affiliation(&invitee) {
        Affiliation::None => true,
        Affiliation::Outcast => faults.on(Mutant::InviteLiftsBan),
        _ => false,
    };
    if room.config().members_only && grantable {
        // A grant removes no one, so no deliberate bug applies to it.
        super::admin::apply_affiliation(
            room,
            Faults::NONE,
            Some(from),
            &invitee,
            Affiliation::Member,
            None,
            out,
        );
    }
    room.note_invitation(invitee, inviter_bare);
    // The invitee is outside the service: the outbox addresses sessions, so an
    // invitation to a bare JID goes to the bare JID as a full-less address.
    out.send_to_jid(&to, msg);
    Ok(())
}

/// XEP-0045 §7.8.2: an invitee's `<decline to='inviter'/>` is forwarded to the
/// inviter from the room's address, as `<decline from='invitee's bare JID'/>` with
/// the invitee's reason (and, as Prosody adds for clients that do not read
/// declines, a body saying so). The inviter is named as the invitation showed it:
/// an occupant JID `room/nick` (an occupant's sessions get it) or a real JID (one
/// that invited the decliner here and has not been declined yet, or an occupant's).
/// Errors: `JidMalformed` when the decline names no one (or no valid JID);
/// `UnknownInviter` when it names someone who did not invite the decliner here and
/// is not in the room (Prosody forwards a decline to whomever it names).
fn forward_decline(
    room: &mut Room,
    from: &FullJid,
    st: &Stanza,
    decline: &Element,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let to = decline
        .attr("to")
        .and_then(|t| Jid::new(t).ok())
        .ok_or(Refusal::JidMalformed("decline without a valid 'to'"))?;
    let decliner = from.bare();
    let occupant_sessions: Option<Vec<FullJid>> = if &to.bare() == room.jid() {
        let occ = to
            .resource()
            .and_then(|nick| room.occupant(nick.as_str()))
            .ok_or(Refusal::UnknownInviter)?;
        let (inviter, sessions) = (
            occ.bare.clone(),
            occ.sessions.iter().map(|s| s.jid.clone()).collect(),
        );
        room.take_invitation(&decliner, &inviter);
        Some(sessions)
    } else {
        let inviter = to.bare();
        let invited = room.take_invitation(&decliner, &inviter);
        if !invited && !room.occupants().any(|o| o.bare == inviter) {
            return Err(Refusal::UnknownInviter);
        }
        None
    };
    let reason = decline.child_text("reason", ns::MUC_USER).unwrap_or_default();
    let body = format!("{decliner} declined your invite to the room {}", room.jid());
    let msg = from_room(room, st)
        .with_child(
            Element::new("x", ns::MUC_USER).with_child(
                Element::new("decline", ns::MUC_USER)
                    .with_attr("from", decliner.as_str())
                    .with_child(Element::new("reason", ns::MUC_USER).with_text(reason.as_str())),
            ),
        )
        .with_child(body_with_reason(body, &reason));
    match occupant_sessions {
        Some(sessions) => {
            let msg = Arc::new(msg);
            for s in &sessions {
                out.share(s, msg.clone());
            }
        }
        None => out.send_to_jid(&to, msg),
    }
    Ok(())
}

pub(crate) fn private(
    room: &Room,
    from: &FullJid,
    st: &Stanza,
    nick: &str,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let sender = room.occupant_by_session(from).ok_or(Refusal::NotInRoom)?;
    if st.kind == Kind::Message(MessageType::Groupchat) {
        return Err(Refusal::WrongMessageType);
    }
    let target = room.occupant(nick).ok_or(Refusal::RecipientNotInRoom)?;
    if !room.config().allow_pm.allows(sender.role) {
        return Err(Refusal::PrivateMessagesForbidden);
    }
    let mut msg = st.el.clone();
    msg.remove_attr("to");
    msg.set_attr("from", room.occupant_jid_str(&sender.nick));
    msg.push(Element::new("x", ns::MUC_USER));
    let msg = Arc::new(msg);
    for s in &target.sessions {
        out.share(&s.jid, msg.clone());
    }
    Ok(())
}

/// The human-readable body of an invitation or a decline: `text`, then ` (reason)`
/// when a reason was given (as Prosody words them).
fn body_with_reason(mut text: String, reason: &str) -> Element {
    if !reason.is_empty() {
        text.push_str(&format!(" ({reason})"));
    }
    Element::new("body", ns::CLIENT).with_text(text)
}

/// A message the room itself sends about `st` (an invitation or a decline it
/// mediates, XEP-0045 §7.8): from the room's bare JID, with `st`'s id.
fn from_room(room: &Room, st: &Stanza) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("from", room.jid().as_str())
        .with_opt_attr("id", st.el.attr("id"))
}
