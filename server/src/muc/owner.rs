//! muc#owner (XEP-0045 §10): configuration and destruction of a room.

use super::presence::Removal;
use super::room::Room;
use super::RoomFate;
use crate::config::{Ctx, Mutant};
use crate::muc::Millis;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{iq_result, Stanza};
use crate::store::Tombstone;
use crate::xml::Element;
use jid::{BareJid, FullJid};

/// An owner's muc#owner set: destroy, cancel or submit the configuration form.
pub(crate) fn owner_set(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    query: &Element,
    out: &mut Outbox,
) -> Result<RoomFate, Refusal> {
    let me = room.jid().as_str().to_string();
    let Some(child) = query.elements().next() else {
        return Err(Refusal::BadStanza("empty muc#owner query"));
    };
    if child.is("destroy", ns::MUC_OWNER) {
        destroy(room, child, out);
        out.send(from, iq_result(&st.el, &me));
        return Ok(RoomFate::Destroyed);
    }
    if !child.is("x", ns::DATA) {
        return Err(Refusal::ServiceUnavailable);
    }
    match child.attr("type") {
        Some("cancel") => {
            out.send(from, iq_result(&st.el, &me));
            // XEP-0045 §10.1.3: cancelling the initial configuration destroys the room.
            // (Prosody keeps it locked; we follow the XEP.)
            if room.is_locked() {
                destroy(room, &Element::new("destroy", ns::MUC_OWNER), out);
                return Ok(RoomFate::Destroyed);
            }
            Ok(RoomFate::Keep)
        }
        Some("submit") => {
            let new = room.config().apply_form(child)?;
            let codes = room.config().change_codes(&new);
            let switching_members_only = new.members_only && !room.config().members_only;
            room.configure(new);
            if switching_members_only && !ctx.cfg.mutant(Mutant::MembersOnlyKeepsNonMembers) {
                remove_non_members(room, out);
            }
            out.send(from, iq_result(&st.el, &me));
            if !codes.is_empty() {
                let mut x = Element::new("x", ns::MUC_USER);
                for c in codes {
                    x.push(c.element());
                }
                let msg = Element::new("message", ns::CLIENT)
                    .with_attr("type", "groupchat")
                    .with_attr("from", me.as_str())
                    .with_child(x);
                room.broadcast(msg, |_| true, out);
            }
            Ok(RoomFate::Keep)
        }
        _ => Err(Refusal::BadForm("Not a submitted form")),
    }
}

/// XEP-0045 §9.x / Prosody `set_members_only`: non-members leave with 322.
fn remove_non_members(room: &mut Room, out: &mut Outbox) {
    let gone: Vec<String> = room
        .occupants()
        .filter(|o| !room.admits(room.affiliation(&o.bare)))
        .map(|o| o.nick.clone())
        .collect();
    for nick in gone {
        room.evict(&nick, Removal::MembersOnly, None, None, out);
    }
}

/// XEP-0045 §10.9: every occupant is told the room is gone (with the alternate venue
/// and reason), then the room is empty. As in Prosody, each occupant hears only of
/// itself, since the others are already gone.
pub(crate) fn destroy(room: &mut Room, destroy_req: &Element, out: &mut Outbox) {
    let mut d = Element::new("destroy", ns::MUC_USER).with_opt_attr("jid", destroy_req.attr("jid"));
    if let Some(r) = destroy_req.child_text("reason", ns::MUC_OWNER) {
        d.push(Element::new("reason", ns::MUC_USER).with_text(r));
    }
    if let Some(p) = destroy_req.child_text("password", ns::MUC_OWNER) {
        d.push(Element::new("password", ns::MUC_USER).with_text(p));
    }
    room.evict_all(&d, out);
}

/// The `<destroy/>` of an owner's muc#owner set, if that is what `st` is.
pub(crate) fn destroy_request(st: &Stanza) -> Option<&Element> {
    st.payload()
        .filter(|q| q.is("query", ns::MUC_OWNER))
        .and_then(|q| q.child("destroy", ns::MUC_OWNER))
}

/// What a destroyed room leaves behind until `expires`: a tombstone if it was kept
/// (persistent and configured; Prosody tombstones persistent rooms only), with the
/// reason and alternate venue of `destroy_req` (XEP-0045 §10.9). An alternate venue
/// that is not a JID is left out (Prosody keeps whatever it was given).
pub(crate) fn tombstone(room: &Room, destroy_req: Option<&Element>, expires: Millis) -> Option<Tombstone> {
    if !room.is_kept() {
        return None;
    }
    Some(Tombstone {
        jid: room.jid().clone(),
        reason: destroy_req
            .and_then(|d| d.child_text("reason", ns::MUC_OWNER))
            .filter(|r| !r.is_empty()),
        alternate: destroy_req
            .and_then(|d| d.attr("jid"))
            .and_then(|j| BareJid::new(j.trim()).ok()),
        expires,
    })
}
