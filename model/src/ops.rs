//! The operations a client may perform, and the stanzas they are on the wire. The
//! model only builds stanzas: every MUC rule is the real service's.

use server::muc::submitted_field as field;
use server::ns;
use server::xml::Element;

/// The rooms a scenario may use (`--rooms 1` uses the first).
pub const ROOMS: [&str; 2] = ["room@conference.localhost", "room2@conference.localhost"];

/// The room with index `room`.
pub fn room_jid(room: u8) -> &'static str {
    ROOMS[usize::from(room).min(ROOMS.len() - 1)]
}

/// The index of a room by its bare JID.
pub fn room_index(bare: &str) -> Option<u8> {
    ROOMS.iter().position(|r| *r == bare).map(|i| i as u8)
}

/// An operation and the room it acts on (a disconnect acts on every room).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomOp {
    pub room: u8,
    pub op: Op,
}

impl std::fmt::Display for RoomOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.op {
            Op::Disconnect => write!(f, "{:?}", self.op),
            _ => write!(f, "{:?} in {}", self.op, room_jid(self.room)),
        }
    }
}

/// One thing a client can do. Each client has a bounded set of these; the checker
/// chooses the order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Join,
    JoinWithPassword,
    Leave,
    /// Switch between the base nick and its alternative (the base with `2`).
    ChangeNick,
    Groupchat,
    /// Owner: switch members-only on or off.
    MembersOnly(bool),
    /// Owner/admin: set the affiliation of client `target` (by index).
    Affiliate {
        target: usize,
        affiliation: &'static str,
    },
    /// Moderator: kick client `target` (role none).
    Kick {
        target: usize,
    },
    Destroy,
    Disconnect,
}

impl Op {
    /// The stanza this operation sends to `room` when the client's nick is `nick` (`alt` is
    /// the other nick of its pair), with `iq_id` for iqs. `None` for a disconnect.
    pub fn stanza(
        &self,
        room: &str,
        nick: &str,
        alt: &str,
        iq_id: &str,
        targets: &[(String, String)],
    ) -> Option<Element> {
        let join = |x: Element| {
            Element::new("presence", ns::CLIENT)
                .with_attr("to", format!("{room}/{nick}"))
                .with_child(x)
        };
        let iq = |child: Element| {
            Element::new("iq", ns::CLIENT)
                .with_attr("to", room)
                .with_attr("type", "set")
                .with_attr("id", iq_id)
                .with_child(child)
        };
        Some(match self {
            Op::Join => join(Element::new("x", ns::MUC)),
            Op::JoinWithPassword => join(
                Element::new("x", ns::MUC).with_child(Element::new("password", ns::MUC).with_text("secret")),
            ),
            Op::Leave => Element::new("presence", ns::CLIENT)
                .with_attr("to", format!("{room}/{nick}"))
                .with_attr("type", "unavailable"),
            Op::ChangeNick => Element::new("presence", ns::CLIENT).with_attr("to", format!("{room}/{alt}")),
            Op::Groupchat => Element::new("message", ns::CLIENT)
                .with_attr("to", room)
                .with_attr("type", "groupchat")
                .with_child(Element::new("body", ns::CLIENT).with_text("hi")),
            Op::MembersOnly(on) => iq(Element::new("query", ns::MUC_OWNER).with_child(
                Element::new("x", ns::DATA)
                    .with_attr("type", "submit")
                    .with_child(field("FORM_TYPE", ns::MUC_ROOMCONFIG))
                    .with_child(field("muc#roomconfig_membersonly", if *on { "1" } else { "0" })),
            )),
            Op::Affiliate { target, affiliation } => iq(Element::new("query", ns::MUC_ADMIN).with_child(
                Element::new("item", ns::MUC_ADMIN)
                    .with_attr("affiliation", *affiliation)
                    .with_attr("jid", targets[*target].0.as_str()),
            )),
            Op::Kick { target } => iq(Element::new("query", ns::MUC_ADMIN).with_child(
                Element::new("item", ns::MUC_ADMIN)
                    .with_attr("role", "none")
                    .with_attr("nick", targets[*target].1.as_str()),
            )),
            Op::Destroy => {
                iq(Element::new("query", ns::MUC_OWNER).with_child(Element::new("destroy", ns::MUC_OWNER)))
            }
            Op::Disconnect => return None,
        })
    }

    /// Whether the stanza is available presence to the room (RFC 6121 §4.6 directed
    /// presence, which the home server ends with unavailable on disconnect).
    pub fn is_directed_presence(&self) -> bool {
        matches!(self, Op::Join | Op::JoinWithPassword | Op::ChangeNick)
    }

    pub fn is_iq(&self) -> bool {
        matches!(
            self,
            Op::MembersOnly(_) | Op::Affiliate { .. } | Op::Kick { .. } | Op::Destroy
        )
    }
}
