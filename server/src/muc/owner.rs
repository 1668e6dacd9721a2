//! Iqs to the room's bare JID: muc#owner (configuration, destruction; XEP-0045 §10),
//! muc#admin (see [`super::admin`]) and disco.

use super::presence::Notice;
use super::room::Room;
use super::{Affiliation, Role};
use crate::ns;
use crate::refusal::Refusal;
use crate::service::{Ctx, Mutant, Outbox, RoomFate};
use crate::stanza::{iq_result, IqType, Kind, Stanza};
use crate::xml::Element;
use jid::FullJid;

pub(crate) fn iq_to_room(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    out: &mut Outbox,
) -> Result<RoomFate, Refusal> {
    let Kind::Iq(ty) = st.kind else {
        unreachable!("routed as iq")
    };
    let query = st.payload().expect("get/set have one payload");
    let me = room.jid.as_str().to_string();
    // XEP-0045 §10.1: a locked room does not exist for anyone but its owners.
    if room.locked && room.affiliation(&from.to_bare()) != Affiliation::Owner {
        return Err(Refusal::RoomLocked);
    }
    let result = |payload: Option<Element>| {
        let mut r = iq_result(&st.el, &me);
        if let Some(p) = payload {
            r.push(p);
        }
        r
    };
    match (ty, &*query.name, &*query.ns) {
        (IqType::Get, "query", ns::MUC_OWNER) => {
            if room.affiliation(&from.to_bare()) != Affiliation::Owner {
                return Err(Refusal::OwnerOnly);
            }
            let q = Element::new("query", ns::MUC_OWNER).with_child(room.config.form(room.jid.as_str()));
            out.send(from, result(Some(q)));
            Ok(RoomFate::Keep)
        }
        (IqType::Set, "query", ns::MUC_OWNER) => {
            if room.affiliation(&from.to_bare()) != Affiliation::Owner {
                return Err(Refusal::OwnerOnly);
            }
            owner_set(room, ctx, from, st, query, out)
        }
        (IqType::Get, "query", ns::MUC_ADMIN) => {
            let q = super::admin::get(room, from, query)?;
            out.send(from, result(Some(q)));
            Ok(RoomFate::Keep)
        }
        (IqType::Set, "query", ns::MUC_ADMIN) => {
            super::admin::set(room, ctx, from, query, out)?;
            out.send(from, result(None));
            Ok(RoomFate::Keep)
        }
        (IqType::Get, "query", ns::DISCO_INFO) => {
            let info = match query.attr("node") {
                Some(node @ "x-roomuser-item") => super::register::reserved_nick_info(room, from, node),
                _ => super::disco::room_info(room, query),
            };
            out.send(from, result(Some(info)));
            Ok(RoomFate::Keep)
        }
        (_, "query", super::register::NS_REGISTER) => {
            if let Err(r) = super::register::iq(room, ctx, from, st, ty, query, out) {
                // Prosody's register.lib answers its refusals without `by`, unlike the
                // room's other errors (seen against a real Prosody 0.12.3 by e2e.sh).
                out.send(from, r.reply_to(&st.el, &me, None));
            }
            Ok(RoomFate::Keep)
        }
        (IqType::Get, "query", ns::DISCO_ITEMS) => {
            out.send(from, result(Some(Element::new("query", ns::DISCO_ITEMS))));
            Ok(RoomFate::Keep)
        }
        _ => Err(Refusal::ServiceUnavailable),
    }
}

fn owner_set(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    query: &Element,
    out: &mut Outbox,
) -> Result<RoomFate, Refusal> {
    let me = room.jid.as_str().to_string();
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
            if room.locked {
                destroy(room, &Element::new("destroy", ns::MUC_OWNER), out);
                return Ok(RoomFate::Destroyed);
            }
            Ok(RoomFate::Keep)
        }
        Some("submit") => {
            let new = room.config.apply_form(child)?;
            let codes = room.config.change_codes(&new);
            let switching_members_only = new.members_only && !room.config.members_only;
            room.config = new;
            room.locked = false;
            if switching_members_only && !ctx.cfg.mutant(Mutant::MembersOnlyKeepsNonMembers) {
                remove_non_members(room, out);
            }
            let keep = room.config.history_length as usize;
            while room.history.len() > keep {
                room.history.pop_front();
            }
            out.send(from, iq_result(&st.el, &me));
            if !codes.is_empty() {
                let mut x = Element::new("x", ns::MUC_USER);
                for c in codes {
                    x.push(super::presence::status(c));
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
        .occupants
        .values()
        .filter(|o| room.affiliation(&o.bare) < Affiliation::Member)
        .map(|o| o.nick.clone())
        .collect();
    for nick in gone {
        let mut occ = room.remove_occupant(&nick).expect("listed occupant");
        let prev = occ.role;
        occ.role = Role::None;
        room.publicise(
            &occ,
            &Notice {
                codes: vec!["322"],
                prev_role: Some(prev),
                ..Notice::default()
            },
            out,
        );
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
    let nicks: Vec<String> = room.occupants.keys().cloned().collect();
    let mut removed = Vec::new();
    for nick in nicks {
        let mut occ = room.remove_occupant(&nick).expect("listed occupant");
        occ.role = Role::None;
        removed.push(occ);
    }
    for occ in &removed {
        let n = Notice {
            destroy: Some(d.clone()),
            ..Notice::default()
        };
        room.publicise_self(occ, &n, out);
    }
}
