//! Service discovery (XEP-0030) for the service and its rooms (XEP-0045 §6).

use super::room::Room;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{iq_result, IqType, Kind, Stanza};
use crate::xml::Element;
use jid::FullJid;

fn feature(var: &str) -> Element {
    Element::new("feature", ns::DISCO_INFO).with_attr("var", var)
}

/// Stanzas addressed to the service's own domain `domain`, whose rooms are `rooms`:
/// disco#info and disco#items (XEP-0045 §6.1, §6.3); presence is ignored; anything
/// else is `ServiceUnavailable`.
pub(crate) fn service_stanza<'r>(
    domain: &str,
    rooms: impl Iterator<Item = &'r Room>,
    from: &FullJid,
    st: &Stanza,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    match st.kind {
        Kind::Iq(IqType::Get) => {
            let q = st.payload().expect("get has one payload");
            let payload = if q.is("query", ns::DISCO_INFO) {
                let mut r = Element::new("query", ns::DISCO_INFO).with_opt_attr("node", q.attr("node"));
                r.push(
                    Element::new("identity", ns::DISCO_INFO)
                        .with_attr("category", "conference")
                        .with_attr("type", "text")
                        .with_attr("name", "Chatrooms"),
                );
                for f in [ns::DISCO_INFO, ns::DISCO_ITEMS, ns::MUC, ns::OCCUPANT_ID] {
                    r.push(feature(f));
                }
                r
            } else if q.is("query", ns::DISCO_ITEMS) {
                let mut r = Element::new("query", ns::DISCO_ITEMS);
                for room in rooms.filter(|r| r.config().public && !r.is_locked()) {
                    let name = if room.config().name.is_empty() {
                        room.jid()
                            .node()
                            .map(|n| n.as_str().to_string())
                            .unwrap_or_default()
                    } else {
                        room.config().name.clone()
                    };
                    r.push(
                        Element::new("item", ns::DISCO_ITEMS)
                            .with_attr("jid", room.jid().as_str())
                            .with_attr("name", name),
                    );
                }
                r
            } else {
                return Err(Refusal::ServiceUnavailable);
            };
            out.send(from, iq_result(&st.el, domain).with_child(payload));
            Ok(())
        }
        Kind::Iq(_) => Err(Refusal::ServiceUnavailable),
        // Presence to the service itself means nothing; there is nothing to answer.
        Kind::Presence(_) => Ok(()),
        Kind::Message(_) => Err(Refusal::ServiceUnavailable),
    }
}

/// A room's disco#info (XEP-0045 §6.4): identity, features, muc#roominfo form.
pub(crate) fn room_info(room: &Room, query: &Element) -> Element {
    let c = &room.config();
    let mut r = Element::new("query", ns::DISCO_INFO).with_opt_attr("node", query.attr("node"));
    let name = if c.name.is_empty() {
        room.jid()
            .node()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default()
    } else {
        c.name.clone()
    };
    r.push(
        Element::new("identity", ns::DISCO_INFO)
            .with_attr("category", "conference")
            .with_attr("type", "text")
            .with_attr("name", name),
    );
    let flags = [
        ns::MUC,
        ns::OCCUPANT_ID,
        super::register::NS_REGISTER,
        // XEP-0045 §7.13: voice requests (advertised as Prosody does).
        ns::MUC_REQUEST,
        if c.members_only {
            "muc_membersonly"
        } else {
            "muc_open"
        },
        if c.moderated {
            "muc_moderated"
        } else {
            "muc_unmoderated"
        },
        if c.persistent {
            "muc_persistent"
        } else {
            "muc_temporary"
        },
        if c.password.is_some() {
            "muc_passwordprotected"
        } else {
            "muc_unsecured"
        },
        if c.public { "muc_public" } else { "muc_hidden" },
        match c.whois {
            super::Whois::Anyone => "muc_nonanonymous",
            super::Whois::Moderators => "muc_semianonymous",
        },
    ];
    for f in flags {
        r.push(feature(f));
    }
    let field = |var: &str, label: &str, val: String| {
        Element::new("field", ns::DATA)
            .with_attr("var", var)
            .with_attr("label", label)
            .with_child(Element::new("value", ns::DATA).with_text(val))
    };
    let form = Element::new("x", ns::DATA)
        .with_attr("type", "result")
        .with_child(
            Element::new("field", ns::DATA)
                .with_attr("var", "FORM_TYPE")
                .with_attr("type", "hidden")
                .with_child(Element::new("value", ns::DATA).with_text(ns::MUC_ROOMINFO)),
        )
        .with_child(field(
            "muc#roominfo_description",
            "Description",
            c.description.clone(),
        ))
        .with_child(field(
            "muc#roominfo_occupants",
            "Number of occupants",
            room.occupant_count().to_string(),
        ))
        .with_child(field(
            "muc#roominfo_subject",
            "Subject",
            room.subject()
                .as_ref()
                .map(|s| s.text.clone())
                .unwrap_or_default(),
        ));
    r.push(form);
    r
}
