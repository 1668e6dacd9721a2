//! Service administration by ad-hoc command (XEP-0050), as Prosody's MUC offers it:
//! `http://prosody.im/protocol/muc#destroy` lets a service administrator destroy
//! rooms. Two stages: execute without a form gets the form (the rooms to choose
//! from); execute with the submitted form destroys them.

use super::form::{field, values};
use super::owner::destroy;
use super::room::Room;
use crate::config::ServiceConfig;
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{iq_result, Stanza};
use crate::xml::Element;
use jid::{BareJid, FullJid};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NODE_DESTROY: &str = "http://prosody.im/protocol/muc#destroy";

fn command(node: &str, status: &str, session: &str) -> Element {
    Element::new("command", ns::COMMANDS)
        .with_attr("node", node)
        .with_attr("status", status)
        .with_attr("sessionid", session)
}

/// An ad-hoc command to the service (configured by `cfg`, holding `rooms`). Returns
/// the rooms it destroyed (emptied), which it has taken out of `rooms`. Errors:
/// `ServiceUnavailable` (an unknown node), `Forbidden` (not in `cfg.admins`),
/// `JidMalformed` (a room in the form is not a JID).
pub(crate) fn execute(
    cfg: &ServiceConfig,
    rooms: &mut BTreeMap<BareJid, Arc<Room>>,
    from: &FullJid,
    st: &Stanza,
    cmd: &Element,
    out: &mut Outbox,
) -> Result<Vec<Room>, Refusal> {
    if cmd.attr("node") != Some(NODE_DESTROY) {
        return Err(Refusal::ServiceUnavailable);
    }
    if !cfg.admins.contains(&from.bare()) {
        return Err(Refusal::Forbidden);
    }
    // A session id that names the request, deterministically.
    let session = format!("destroy-{}", st.id().unwrap_or_default());
    let me = cfg.domain.clone();
    if cmd.attr("action") == Some("cancel") {
        out.send(
            from,
            iq_result(&st.el, &me).with_child(command(NODE_DESTROY, "canceled", &session)),
        );
        return Ok(Vec::new());
    }
    let Some(form) = cmd.child("x", ns::DATA) else {
        let mut field = field("rooms", "list-multi", Some("Rooms to destroy"), &[]);
        for room in rooms.values() {
            field.push(
                Element::new("option", ns::DATA)
                    .with_child(Element::new("value", ns::DATA).with_text(room.jid().as_str())),
            );
        }
        let x = Element::new("x", ns::DATA)
            .with_attr("type", "form")
            .with_child(Element::new("title", ns::DATA).with_text("Destroy rooms"))
            .with_child(field);
        out.send(
            from,
            iq_result(&st.el, &me).with_child(command(NODE_DESTROY, "executing", &session).with_child(x)),
        );
        return Ok(Vec::new());
    };
    let wanted: Vec<BareJid> = form
        .elements()
        .filter(|f| f.is("field", ns::DATA) && f.attr("var") == Some("rooms"))
        .flat_map(values)
        .map(|v| BareJid::new(v.trim()).map_err(|_| Refusal::JidMalformed("invalid room JID")))
        .collect::<Result<_, _>>()?;
    let mut destroyed = Vec::new();
    for jid in wanted {
        if let Some(room) = rooms.remove(&jid) {
            let mut room = Arc::unwrap_or_clone(room);
            destroy(&mut room, &Element::new("destroy", ns::MUC_OWNER), out);
            destroyed.push(room);
        }
    }
    let list: Vec<&str> = destroyed.iter().map(|r| r.jid().as_str()).collect();
    let note = Element::new("note", ns::COMMANDS)
        .with_attr("type", "info")
        .with_text(format!(
            "The following rooms were destroyed:\n{}",
            list.join("\n")
        ));
    out.send(
        from,
        iq_result(&st.el, &me).with_child(command(NODE_DESTROY, "completed", &session).with_child(note)),
    );
    Ok(destroyed)
}
