//! Room registration (XEP-0045 §7.10), as Prosody's `register.lib.lua` does it:
//! affiliated users register a nickname, which is then reserved for them; nobody
//! else may join or change to it. Unaffiliated users may not register (Prosody's
//! default `allow_unaffiliated_register = false`).

use super::form::{field, values};
use super::room::Room;
use super::Affiliation;
use crate::config::Faults;
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{iq_result, IqType, Stanza};
use crate::xml::Element;
use jid::FullJid;

pub const NS_REGISTER: &str = "jabber:iq:register";
pub const FORM_REGISTER: &str = "http://jabber.org/protocol/muc#register";
const NICK_FIELD: &str = "muc#register_roomnick";

/// The blank registration form.
fn form() -> Element {
    let mut nick = field(NICK_FIELD, "text-single", Some("Nickname"), &[]);
    nick.push(Element::new("required", ns::DATA));
    Element::new("x", ns::DATA)
        .with_attr("type", "form")
        .with_child(field("FORM_TYPE", "hidden", None, &[FORM_REGISTER]))
        .with_child(nick)
}

/// The first value of the field `var` of a submitted form.
fn field_value(form: &Element, var: &str) -> Option<String> {
    form.elements()
        .find(|f| f.is("field", ns::DATA) && f.attr("var") == Some(var))
        .and_then(|f| values(f).into_iter().next())
}

pub(crate) fn iq(
    room: &mut Room,
    faults: Faults,
    from: &FullJid,
    st: &Stanza,
    ty: IqType,
    query: &Element,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let user = from.bare();
    let affiliation = room.affiliation(&user);
    match affiliation {
        Affiliation::Outcast => return Err(Refusal::Banned),
        Affiliation::None => return Err(Refusal::MembersOnly),
        _ => {}
    }
    let me = room.jid().as_str().to_string();
    if ty == IqType::Get {
        let mut q = Element::new("query", NS_REGISTER);
        match room.reserved_nick(&user) {
            Some(nick) => {
                q.push(Element::new("registered", NS_REGISTER));
                q.push(Element::new("username", NS_REGISTER).with_text(nick));
            }
            None => q.push(form()),
        }
        out.send(from, iq_result(&st.el, &me).with_child(q));
        return Ok(());
    }
    if query.child("remove", NS_REGISTER).is_some() {
        // Prosody: members lose their membership; owners and admins keep their
        // affiliation but lose the reservation.
        if affiliation == Affiliation::Member {
            super::admin::apply_affiliation(room, faults, None, &user, Affiliation::None, None, out);
        } else {
            room.unreserve(&user);
        }
        out.send(from, iq_result(&st.el, &me));
        return Ok(());
    }
    let form = query
        .child("x", ns::DATA)
        .ok_or(Refusal::BadStanza("Missing dataform"))?;
    let form_type = field_value(form, "FORM_TYPE");
    if form_type.as_deref() != Some(FORM_REGISTER) {
        return Err(Refusal::BadStanza("Error in form"));
    }
    let wanted = field_value(form, NICK_FIELD).ok_or(Refusal::BadStanza(
        "Error in form: muc#register_roomnick: Required value missing",
    ))?;
    // Strict resourceprep and the PRECIS Nickname profile, as for a join's nick.
    if !crate::jids::is_strict_nick(room.jid(), &wanted) {
        return Err(Refusal::BadStanza("Invalid Nickname"));
    }
    let nick = wanted;
    if room.nick_holder(&nick).is_some_and(|o| o.bare != user) {
        return Err(Refusal::NickConflict);
    }
    if room.reserved_by(&nick).is_some_and(|j| j != &user) {
        return Err(Refusal::NickConflict);
    }
    if room.reserved_nick(&user) != Some(nick.as_str()) {
        room.reserve(&user, nick);
        // Prosody sets the affiliation again with the new data, which tells the room.
        super::admin::apply_affiliation(room, faults, None, &user, affiliation, None, out);
    }
    out.send(from, iq_result(&st.el, &me));
    Ok(())
}

/// disco#info on the node `x-roomuser-item` (XEP-0045 §7.12): the sender's reserved
/// nickname, if any.
pub(crate) fn reserved_nick_info(room: &Room, from: &FullJid, node: &str) -> Element {
    let mut q = Element::new("query", ns::DISCO_INFO).with_attr("node", node);
    if let Some(nick) = room.reserved_nick(&from.bare()) {
        q.push(
            Element::new("identity", ns::DISCO_INFO)
                .with_attr("category", "conference")
                .with_attr("name", nick)
                .with_attr("type", "text"),
        );
    }
    q
}
