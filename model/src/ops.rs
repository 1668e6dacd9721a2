//! The operations a client may perform, and the stanzas they are on the wire. The
//! model only builds stanzas: every MUC rule is the real service's.

use oracle::judge::{Flags, Request};
use server::muc::submitted_field as field;
use server::ns;
use server::xml::Element;
use server::{Affiliation, Role};

/// The rooms a scenario may use (`--rooms 1` uses the first).
pub const ROOMS: [&str; 2] = ["room@conference.localhost", "room2@conference.localhost"];

/// The room with index `room`.
pub fn room_jid(room: u8) -> &'static str {
    ROOMS[usize::from(room).min(ROOMS.len() - 1)]
}

/// The room with index `room`, parsed once (the server actor looks rooms up by it
/// on every input).
pub fn room_bare_jid(room: u8) -> &'static server::jids::BareJid {
    static JIDS: std::sync::OnceLock<Vec<server::jids::BareJid>> = std::sync::OnceLock::new();
    let jids = JIDS.get_or_init(|| {
        ROOMS
            .iter()
            .map(|r| server::jids::BareJid::new(r).expect("a room JID is valid"))
            .collect()
    });
    &jids[usize::from(room).min(ROOMS.len() - 1)]
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
    /// Admin/owner: set the affiliation of a whole domain (e.g. ban `localhost`),
    /// XEP-0045 §9.2.
    AffiliateDomain {
        domain: &'static str,
        affiliation: &'static str,
    },
    /// Moderator: set the role of client `target` (by its base nick): `visitor`
    /// (revoke voice), `participant` (grant voice), `moderator`, `none` (kick).
    SetRole {
        target: usize,
        role: &'static str,
    },
    /// Owner: switch one configuration field on or off (XEP-0045 §10.2).
    Configure {
        field: ConfigField,
        on: bool,
    },
    /// Change the subject (XEP-0045 §7.3, §8.1).
    Subject,
    /// Invite client `target`'s user (XEP-0045 §7.8.2).
    Invite {
        target: usize,
    },
    Destroy,
    Disconnect,
}

/// A room configuration field an [`Op::Configure`] switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigField {
    MembersOnly,
    /// On: protected with the secret `secret`; off: no password.
    Password,
    Moderated,
    /// On: non-anonymous (`anyone`); off: semi-anonymous (`moderators`).
    Whois,
    Persistent,
    AllowInvites,
    ChangeSubject,
}

impl ConfigField {
    /// The form fields that switch it.
    pub fn fields(self, on: bool) -> Vec<Element> {
        let b = if on { "1" } else { "0" };
        match self {
            ConfigField::MembersOnly => vec![field("muc#roomconfig_membersonly", b)],
            ConfigField::Password if on => vec![
                field("muc#roomconfig_passwordprotectedroom", "1"),
                field("muc#roomconfig_roomsecret", "secret"),
            ],
            ConfigField::Password => vec![field("muc#roomconfig_passwordprotectedroom", "0")],
            ConfigField::Moderated => vec![field("muc#roomconfig_moderatedroom", b)],
            ConfigField::Whois => vec![field(
                "muc#roomconfig_whois",
                if on { "anyone" } else { "moderators" },
            )],
            ConfigField::Persistent => vec![field("muc#roomconfig_persistentroom", b)],
            ConfigField::AllowInvites => vec![field("muc#roomconfig_allowinvites", b)],
            ConfigField::ChangeSubject => vec![field("muc#roomconfig_changesubject", b)],
        }
    }

    /// `flags` with this field switched as asked.
    fn applied(self, on: bool, mut flags: Flags) -> Flags {
        match self {
            ConfigField::MembersOnly => flags.members_only = on,
            ConfigField::Password => flags.password_protected = on,
            ConfigField::Moderated => flags.moderated = on,
            ConfigField::Whois => {
                flags.whois = if on {
                    oracle::spec::Whois::Anyone
                } else {
                    oracle::spec::Whois::Moderators
                }
            }
            ConfigField::Persistent => flags.persistent = on,
            ConfigField::AllowInvites => flags.allow_invites = on,
            ConfigField::ChangeSubject => flags.change_subject = on,
        }
        flags
    }
}

fn affiliation_named(name: &str) -> Option<Affiliation> {
    Some(match name {
        "outcast" => Affiliation::Outcast,
        "none" => Affiliation::None,
        "member" => Affiliation::Member,
        "admin" => Affiliation::Admin,
        "owner" => Affiliation::Owner,
        _ => return None,
    })
}

fn role_named(name: &str) -> Option<Role> {
    Some(match name {
        "none" => Role::None,
        "visitor" => Role::Visitor,
        "participant" => Role::Participant,
        "moderator" => Role::Moderator,
        _ => return None,
    })
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
        let join = |x: Element| join_presence(room, nick, x);
        let iq = |child: Element| iq_set(room, iq_id, child);
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
            Op::AffiliateDomain { domain, affiliation } => iq(Element::new("query", ns::MUC_ADMIN)
                .with_child(
                    Element::new("item", ns::MUC_ADMIN)
                        .with_attr("affiliation", *affiliation)
                        .with_attr("jid", *domain),
                )),
            Op::SetRole { target, role } => iq(Element::new("query", ns::MUC_ADMIN).with_child(
                Element::new("item", ns::MUC_ADMIN)
                    .with_attr("role", *role)
                    .with_attr("nick", targets[*target].1.as_str()),
            )),
            Op::Configure { field: f, on } => {
                let mut x = Element::new("x", ns::DATA)
                    .with_attr("type", "submit")
                    .with_child(field("FORM_TYPE", ns::MUC_ROOMCONFIG));
                for el in f.fields(*on) {
                    x.push(el);
                }
                iq(Element::new("query", ns::MUC_OWNER).with_child(x))
            }
            Op::Subject => Element::new("message", ns::CLIENT)
                .with_attr("to", room)
                .with_attr("type", "groupchat")
                .with_attr("id", iq_id)
                .with_child(Element::new("subject", ns::CLIENT).with_text(format!("by {nick}"))),
            Op::Invite { target } => Element::new("message", ns::CLIENT)
                .with_attr("to", room)
                .with_attr("id", iq_id)
                .with_child(Element::new("x", ns::MUC_USER).with_child(
                    Element::new("invite", ns::MUC_USER).with_attr("to", targets[*target].0.as_str()),
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
            Op::MembersOnly(_)
                | Op::Affiliate { .. }
                | Op::Kick { .. }
                | Op::Destroy
                | Op::AffiliateDomain { .. }
                | Op::SetRole { .. }
                | Op::Configure { .. }
        )
    }

    /// The request this operation makes, as the oracle's judge reads it, in a room
    /// whose configuration was `flags` when it arrived (a configuration change asks
    /// for those flags with its one field switched). `None` for what no permission
    /// rule judges (leave, groupchat, disconnect). This only names what was sent;
    /// whether it is allowed is the oracle's to say.
    pub fn request(&self, targets: &[(String, String)], flags: Option<Flags>) -> Option<Request> {
        let aff = |jid: &str, a: &str| {
            Some(Request::Affiliation(vec![(
                jid.to_string(),
                affiliation_named(a)?,
            )]))
        };
        match self {
            Op::Join => Some(Request::Join {
                password_given: false,
            }),
            Op::JoinWithPassword => Some(Request::Join { password_given: true }),
            Op::ChangeNick => Some(Request::Join {
                password_given: false,
            }),
            Op::MembersOnly(on) => Some(Request::Config(ConfigField::MembersOnly.applied(*on, flags?))),
            Op::Configure { field, on } => Some(Request::Config(field.applied(*on, flags?))),
            Op::Affiliate { target, affiliation } => aff(&targets[*target].0, affiliation),
            Op::AffiliateDomain { domain, affiliation } => aff(domain, affiliation),
            Op::Kick { target } => Some(Request::Role {
                nick: targets[*target].1.clone(),
                to: Role::None,
            }),
            Op::SetRole { target, role } => Some(Request::Role {
                nick: targets[*target].1.clone(),
                to: role_named(role)?,
            }),
            Op::Subject => Some(Request::Subject),
            Op::Invite { target } => Some(Request::Invite {
                invitee: targets[*target].0.clone(),
            }),
            Op::Destroy => Some(Request::Destroy),
            Op::Leave | Op::Groupchat | Op::Disconnect => None,
        }
    }
}

/// The presence joining `room` (a room JID) as `nick`, carrying `x` (XEP-0045 §7.2:
/// the `muc` `<x/>`).
pub(crate) fn join_presence(room: &str, nick: &str, x: Element) -> Element {
    Element::new("presence", ns::CLIENT)
        .with_attr("to", format!("{room}/{nick}"))
        .with_child(x)
}

/// An iq of type set to `room` with id `id`, carrying `child` (a muc#admin or
/// muc#owner query).
pub(crate) fn iq_set(room: &str, id: &str, child: Element) -> Element {
    Element::new("iq", ns::CLIENT)
        .with_attr("to", room)
        .with_attr("type", "set")
        .with_attr("id", id)
        .with_child(child)
}
