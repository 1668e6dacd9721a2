//! Iqs to the room's bare JID (XEP-0045 §6, §7.10, §9, §10), dispatched by payload:
//! muc#owner ([`super::owner`]), muc#admin ([`super::admin`]), registration
//! ([`super::register`]) and disco ([`super::disco`]). A locked room answers only its
//! owners.

use super::room::Room;
use super::{Affiliation, RoomFate};
use crate::config::Ctx;
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{iq_result, IqType, Kind, Stanza};
use crate::xml::Element;
use jid::FullJid;

/// Answers an iq to an occupant's address `room/nick`: always a refusal, since this
/// service relays no iqs to occupants (Prosody relays vCard iqs). Errors, in order:
/// `NonOccupantDisco` for a disco#info or disco#items request from a non-occupant
/// (XEP-0045 §6.7: `bad-request`), `NotInRoom` for any other iq from a
/// non-occupant, `RecipientNotInRoom` (Prosody's "Recipient not in room") when no
/// one holds `nick`, `FeatureNotImplemented` otherwise.
pub(crate) fn iq_to_occupant(room: &Room, from: &FullJid, st: &Stanza, nick: &str) -> Result<(), Refusal> {
    if room.nick_of(from).is_none() {
        let disco = st
            .payload()
            .is_some_and(|q| q.is("query", ns::DISCO_INFO) || q.is("query", ns::DISCO_ITEMS));
        // XEP-0045 §6.7: a non-occupant's disco request to `room/nick` MUST get
        // `bad-request`; Prosody answers every iq from a non-occupant `not-acceptable`.
        return Err(if disco {
            Refusal::NonOccupantDisco
        } else {
            Refusal::NotInRoom
        });
    }
    if room.occupant(nick).is_none() {
        return Err(Refusal::RecipientNotInRoom);
    }
    Err(Refusal::FeatureNotImplemented)
}

/// Answers an iq get or set to the room; a refusal is returned for the dispatcher
/// to answer with the room as `by`. Errors: `RoomLocked` (not an owner of a locked
/// room), `OwnerOnly`, the admin and registration refusals, `ServiceUnavailable` for
/// any payload the room does not serve.
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
    let me = room.jid().as_str().to_string();
    // XEP-0045 §10.1: a locked room does not exist for anyone but its owners.
    if room.is_locked() && room.affiliation(&from.bare()) != Affiliation::Owner {
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
            if room.affiliation(&from.bare()) != Affiliation::Owner {
                return Err(Refusal::OwnerOnly);
            }
            let q = Element::new("query", ns::MUC_OWNER).with_child(room.config().form(room.jid().as_str()));
            out.send(from, result(Some(q)));
            Ok(RoomFate::Keep)
        }
        (IqType::Set, "query", ns::MUC_OWNER) => {
            if room.affiliation(&from.bare()) != Affiliation::Owner {
                return Err(Refusal::OwnerOnly);
            }
            super::owner::owner_set(room, ctx, from, st, query, out)
        }
        (IqType::Get, "query", ns::MUC_ADMIN) => {
            let q = super::admin::get(room, from, query)?;
            out.send(from, result(Some(q)));
            Ok(RoomFate::Keep)
        }
        (IqType::Set, "query", ns::MUC_ADMIN) => {
            super::admin::set(room, ctx, from, query, result(None), out)?;
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
            if let Err(r) = super::register::iq(room, ctx.cfg.faults(), from, st, ty, query, out) {
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
