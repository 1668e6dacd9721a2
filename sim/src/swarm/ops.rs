//! What a swarm client (or a fuzzer) can do, and the stanzas each operation is. Shared
//! by `mucsim sim` (operations drawn from a seed) and the `service_ops` fuzz target
//! (operations drawn by `arbitrary`).

use arbitrary::Arbitrary;
use server::muc::submitted_field as field;
use server::ns;
use server::xml::Element;

/// Users, two sessions each: client `i` is a session of user `i / 2`.
const USERS: [&str; 8] = [
    "romeo", "juliet", "mercutio", "tybalt", "nurse", "benvolio", "paris", "rosaline",
];
const AFFILIATIONS: [&str; 6] = ["owner", "admin", "member", "none", "outcast", "bogus"];
const ROLES: [&str; 5] = ["moderator", "participant", "visitor", "none", "bogus"];

/// Who and what is in a swarm world: `clients` sessions and `rooms` rooms; every
/// number in an [`Op`] is taken modulo these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cast {
    pub clients: Vec<String>,
    pub rooms: Vec<String>,
    /// Every user's nick and its alternative (`Juliet`, `Juliet2`), then two that
    /// differ only by case or normalisation.
    pub nicks: Vec<String>,
}

impl Cast {
    /// `clients` sessions (1–16) and `rooms` rooms (1–16). Romeo's sessions
    /// (clients 0 and 1) own every room.
    pub fn new(clients: usize, rooms: usize) -> Result<Cast, String> {
        if !(1..=2 * USERS.len()).contains(&clients) {
            return Err(format!(
                "{clients} clients: 1 to {} are possible",
                2 * USERS.len()
            ));
        }
        if !(1..=16).contains(&rooms) {
            return Err(format!("{rooms} rooms: 1 to 16 are possible"));
        }
        let clients = (0..clients)
            .map(|i| format!("{}@localhost/{}", USERS[i / 2], ["a", "b"][i % 2]))
            .collect();
        let rooms = (0..rooms)
            .map(|i| {
                if i == 0 {
                    "room@conference.localhost".to_string()
                } else {
                    format!("room{}@conference.localhost", i + 1)
                }
            })
            .collect();
        let mut nicks = Vec::new();
        for u in USERS {
            let name = format!("{}{}", u[..1].to_uppercase(), &u[1..]);
            nicks.push(name.clone());
            nicks.push(format!("{name}2"));
        }
        nicks.push("JULIET".into());
        nicks.push("Rome\u{301}o".into());
        Ok(Cast {
            clients,
            rooms,
            nicks,
        })
    }

    pub fn client(&self, i: u8) -> usize {
        usize::from(i) % self.clients.len()
    }

    pub fn room(&self, i: u8) -> &str {
        &self.rooms[usize::from(i) % self.rooms.len()]
    }

    pub fn nick(&self, i: u8) -> &str {
        &self.nicks[usize::from(i) % self.nicks.len()]
    }

    /// Client `i`'s own nick (its user's).
    pub fn own_nick(&self, client: usize) -> u8 {
        (2 * (client / 2)) as u8
    }

    /// The bare JID of client `i`.
    pub fn bare(&self, i: u8) -> &str {
        let c = &self.clients[self.client(i)];
        c.split('/').next().unwrap_or(c)
    }
}

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Join {
        client: u8,
        room: u8,
        nick: u8,
        password: bool,
    },
    Leave {
        client: u8,
        room: u8,
    },
    ChangeNick {
        client: u8,
        room: u8,
        nick: u8,
    },
    Configure {
        client: u8,
        room: u8,
        form: ConfigForm,
    },
    Affiliate {
        client: u8,
        room: u8,
        target: u8,
        affiliation: u8,
    },
    Role {
        client: u8,
        room: u8,
        nick: u8,
        role: u8,
    },
    Groupchat {
        client: u8,
        room: u8,
    },
    Private {
        client: u8,
        room: u8,
        nick: u8,
    },
    Subject {
        client: u8,
        room: u8,
    },
    Invite {
        client: u8,
        room: u8,
        target: u8,
    },
    /// XEP-0045 §7.8.2: declining an invitation, to the room, naming client `target`
    /// as the inviter.
    Decline {
        client: u8,
        room: u8,
        target: u8,
    },
    /// A domain-wide affiliation (XEP-0045 §9.1, §10.3: an item naming a bare
    /// domain, here `localhost`, every user's), e.g. the whole domain banned.
    AffiliateDomain {
        client: u8,
        room: u8,
        affiliation: u8,
    },
    Destroy {
        client: u8,
        room: u8,
    },
    AdminList {
        client: u8,
        room: u8,
        affiliation: u8,
    },
    Disco {
        client: u8,
        room: u8,
    },
    /// The client's stream ends (its home server tells the rooms).
    Disconnect {
        client: u8,
    },
    /// A disconnected client logs in again with the same full JID.
    Reconnect {
        client: u8,
    },
    /// Fault: the client stops reading for `ms` virtual milliseconds.
    StopReading {
        client: u8,
        ms: u16,
    },
    /// Bytes parsed as a stanza; sent if they parse.
    Raw {
        client: u8,
        bytes: Vec<u8>,
    },
    /// An iq set without an id.
    IqWithoutId {
        client: u8,
        room: u8,
    },
    /// An affiliation item naming a JID that does not parse.
    InvalidJidItem {
        client: u8,
        room: u8,
    },
    /// One admin set with `8 n` items.
    ManyItems {
        client: u8,
        room: u8,
        n: u8,
    },
}

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct ConfigForm {
    pub members_only: Option<bool>,
    pub moderated: Option<bool>,
    pub password: Option<bool>,
    pub persistent: Option<bool>,
    pub public_jids: Option<bool>,
    /// `muc#roomconfig_changesubject`: occupants may change the subject.
    pub change_subject: Option<bool>,
    /// Prosody's `roomconfig_allowmemberinvites` (XEP-0045 §10.2's `allowinvites`).
    pub allow_invites: Option<bool>,
    pub max_users: Option<u8>,
    /// A field the service does not know (even), or a wrong type (odd).
    pub junk: Option<u8>,
    pub cancel: bool,
}

/// The kinds of operation, for swarm testing (each seed enables some) and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Join,
    Leave,
    Nick,
    Configure,
    Affiliate,
    Role,
    Message,
    Destroy,
    Query,
    Disconnect,
    StopReading,
    Malformed,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Join,
        Kind::Leave,
        Kind::Nick,
        Kind::Configure,
        Kind::Affiliate,
        Kind::Role,
        Kind::Message,
        Kind::Destroy,
        Kind::Query,
        Kind::Disconnect,
        Kind::StopReading,
        Kind::Malformed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Join => "join",
            Kind::Leave => "leave",
            Kind::Nick => "nick",
            Kind::Configure => "configure",
            Kind::Affiliate => "affiliate",
            Kind::Role => "role",
            Kind::Message => "message",
            Kind::Destroy => "destroy",
            Kind::Query => "query",
            Kind::Disconnect => "disconnect",
            Kind::StopReading => "stop-reading",
            Kind::Malformed => "malformed",
        }
    }

    /// A fault the world suffers rather than a request a client makes.
    pub fn is_fault(self) -> bool {
        matches!(self, Kind::Disconnect | Kind::StopReading)
    }
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Join { .. } => Kind::Join,
            Op::Leave { .. } => Kind::Leave,
            Op::ChangeNick { .. } => Kind::Nick,
            Op::Configure { .. } => Kind::Configure,
            Op::Affiliate { .. } => Kind::Affiliate,
            Op::Role { .. } => Kind::Role,
            Op::Groupchat { .. }
            | Op::Private { .. }
            | Op::Subject { .. }
            | Op::Invite { .. }
            | Op::Decline { .. } => Kind::Message,
            Op::AffiliateDomain { .. } => Kind::Affiliate,
            Op::Destroy { .. } => Kind::Destroy,
            Op::AdminList { .. } | Op::Disco { .. } => Kind::Query,
            Op::Disconnect { .. } | Op::Reconnect { .. } => Kind::Disconnect,
            Op::StopReading { .. } => Kind::StopReading,
            Op::Raw { .. } | Op::IqWithoutId { .. } | Op::InvalidJidItem { .. } | Op::ManyItems { .. } => {
                Kind::Malformed
            }
        }
    }

    /// The client the operation is for.
    pub fn client(&self) -> u8 {
        match self {
            Op::Join { client, .. }
            | Op::Leave { client, .. }
            | Op::ChangeNick { client, .. }
            | Op::Configure { client, .. }
            | Op::Affiliate { client, .. }
            | Op::Role { client, .. }
            | Op::Groupchat { client, .. }
            | Op::Private { client, .. }
            | Op::Subject { client, .. }
            | Op::Invite { client, .. }
            | Op::Decline { client, .. }
            | Op::AffiliateDomain { client, .. }
            | Op::Destroy { client, .. }
            | Op::AdminList { client, .. }
            | Op::Disco { client, .. }
            | Op::Disconnect { client }
            | Op::Reconnect { client }
            | Op::StopReading { client, .. }
            | Op::Raw { client, .. }
            | Op::IqWithoutId { client, .. }
            | Op::InvalidJidItem { client, .. }
            | Op::ManyItems { client, .. } => *client,
        }
    }

    /// The stanza the operation sends, `iq_id` for an iq; `None` for what is not a
    /// stanza (disconnect, reconnect, stop reading, raw bytes that do not parse).
    /// `current_nick` is the client's nick in the operation's room, for leaving.
    pub fn stanza(&self, cast: &Cast, iq_id: &str, current_nick: u8) -> Option<Element> {
        let iq = |room: u8, ty: &str, q: Element| {
            Element::new("iq", ns::CLIENT)
                .with_attr("to", cast.room(room))
                .with_attr("type", ty)
                .with_attr("id", iq_id)
                .with_child(q)
        };
        // Presences carry the id too, so that an error answering one can be told
        // apart (a counterexample script expects it by id).
        let presence = |room: u8, nick: u8| {
            Element::new("presence", ns::CLIENT)
                .with_attr("to", format!("{}/{}", cast.room(room), cast.nick(nick)))
                .with_attr("id", iq_id)
        };
        let admin_item = |attr: &str, value: &str, key: &str, who: &str| {
            Element::new("query", ns::MUC_ADMIN).with_child(
                Element::new("item", ns::MUC_ADMIN)
                    .with_attr(attr, value)
                    .with_attr(key, who),
            )
        };
        // An affiliation (by its index) for `jid`, a bare JID or a domain.
        let affiliation_item = |affiliation: u8, jid: &str| {
            admin_item(
                "affiliation",
                AFFILIATIONS[usize::from(affiliation) % 6],
                "jid",
                jid,
            )
        };
        Some(match self {
            Op::Join {
                room, nick, password, ..
            } => {
                let mut x = Element::new("x", ns::MUC);
                if *password {
                    x.push(Element::new("password", ns::MUC).with_text("secret"));
                }
                presence(*room, *nick).with_child(x)
            }
            Op::Leave { room, .. } => presence(*room, current_nick).with_attr("type", "unavailable"),
            Op::ChangeNick { room, nick, .. } => presence(*room, *nick),
            Op::Configure { room, form, .. } => iq(*room, "set", form.element()),
            Op::Affiliate {
                room,
                target,
                affiliation,
                ..
            } => iq(*room, "set", affiliation_item(*affiliation, cast.bare(*target))),
            Op::Role { room, nick, role, .. } => iq(
                *room,
                "set",
                admin_item("role", ROLES[usize::from(*role) % 5], "nick", cast.nick(*nick)),
            ),
            Op::Groupchat { room, .. } => Element::new("message", ns::CLIENT)
                .with_attr("id", iq_id)
                .with_attr("to", cast.room(*room))
                .with_attr("type", "groupchat")
                .with_child(Element::new("body", ns::CLIENT).with_text("hi")),
            Op::Private { room, nick, .. } => Element::new("message", ns::CLIENT)
                .with_attr("to", format!("{}/{}", cast.room(*room), cast.nick(*nick)))
                .with_attr("type", "chat")
                .with_child(Element::new("body", ns::CLIENT).with_text("psst")),
            Op::Subject { room, .. } => Element::new("message", ns::CLIENT)
                .with_attr("id", iq_id)
                .with_attr("to", cast.room(*room))
                .with_attr("type", "groupchat")
                .with_child(Element::new("subject", ns::CLIENT).with_text("news")),
            Op::Invite { room, target, .. } => Element::new("message", ns::CLIENT)
                .with_attr("id", iq_id)
                .with_attr("to", cast.room(*room))
                .with_child(
                    Element::new("x", ns::MUC_USER)
                        .with_child(Element::new("invite", ns::MUC_USER).with_attr("to", cast.bare(*target))),
                ),
            Op::Decline { room, target, .. } => {
                Element::new("message", ns::CLIENT)
                    .with_attr("to", cast.room(*room))
                    .with_child(Element::new("x", ns::MUC_USER).with_child(
                        Element::new("decline", ns::MUC_USER).with_attr("to", cast.bare(*target)),
                    ))
            }
            Op::AffiliateDomain {
                room, affiliation, ..
            } => iq(*room, "set", affiliation_item(*affiliation, "localhost")),
            Op::Destroy { room, .. } => iq(
                *room,
                "set",
                Element::new("query", ns::MUC_OWNER).with_child(Element::new("destroy", ns::MUC_OWNER)),
            ),
            Op::AdminList {
                room, affiliation, ..
            } => iq(
                *room,
                "get",
                Element::new("query", ns::MUC_ADMIN).with_child(
                    Element::new("item", ns::MUC_ADMIN)
                        .with_attr("affiliation", AFFILIATIONS[usize::from(*affiliation) % 6]),
                ),
            ),
            Op::Disco { room, .. } => iq(
                *room,
                "get",
                Element::new("query", "http://jabber.org/protocol/disco#info"),
            ),
            Op::Raw { bytes, .. } => {
                server::xml::parse_stanza(bytes, ns::CLIENT, &server::xml::Limits::default()).ok()?
            }
            Op::IqWithoutId { room, .. } => Element::new("iq", ns::CLIENT)
                .with_attr("to", cast.room(*room))
                .with_attr("type", "set")
                .with_child(Element::new("query", ns::MUC_ADMIN)),
            Op::InvalidJidItem { room, .. } => iq(
                *room,
                "set",
                admin_item("affiliation", "member", "jid", "@@bad@@/"),
            ),
            Op::ManyItems { room, n, .. } => {
                let mut q = Element::new("query", ns::MUC_ADMIN);
                for i in 0..(u32::from(*n) * 8) {
                    q.push(
                        Element::new("item", ns::MUC_ADMIN)
                            .with_attr("affiliation", "member")
                            .with_attr("jid", format!("user{i}@localhost")),
                    );
                }
                iq(*room, "set", q)
            }
            Op::Disconnect { .. } | Op::Reconnect { .. } | Op::StopReading { .. } => return None,
        })
    }

    /// The room the operation acts on, if it is one room.
    pub fn room(&self) -> Option<u8> {
        match self {
            Op::Join { room, .. }
            | Op::Leave { room, .. }
            | Op::ChangeNick { room, .. }
            | Op::Configure { room, .. }
            | Op::Affiliate { room, .. }
            | Op::Role { room, .. }
            | Op::Groupchat { room, .. }
            | Op::Private { room, .. }
            | Op::Subject { room, .. }
            | Op::Invite { room, .. }
            | Op::Decline { room, .. }
            | Op::AffiliateDomain { room, .. }
            | Op::Destroy { room, .. }
            | Op::AdminList { room, .. }
            | Op::Disco { room, .. }
            | Op::IqWithoutId { room, .. }
            | Op::InvalidJidItem { room, .. }
            | Op::ManyItems { room, .. } => Some(*room),
            Op::Disconnect { .. } | Op::Reconnect { .. } | Op::StopReading { .. } | Op::Raw { .. } => None,
        }
    }
}

impl ConfigForm {
    /// The muc#owner query submitting (or cancelling) this form.
    pub fn element(&self) -> Element {
        let bit = |b: bool| if b { "1" } else { "0" };
        let mut x = Element::new("x", ns::DATA)
            .with_attr("type", if self.cancel { "cancel" } else { "submit" })
            .with_child(field("FORM_TYPE", ns::MUC_ROOMCONFIG));
        let flags = [
            ("muc#roomconfig_membersonly", self.members_only),
            ("muc#roomconfig_moderatedroom", self.moderated),
            ("muc#roomconfig_passwordprotectedroom", self.password),
            ("muc#roomconfig_persistentroom", self.persistent),
            ("muc#roomconfig_changesubject", self.change_subject),
            (
                "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites",
                self.allow_invites,
            ),
        ];
        for (var, v) in flags {
            if let Some(b) = v {
                x.push(field(var, bit(b)));
            }
        }
        if self.password == Some(true) {
            x.push(field("muc#roomconfig_roomsecret", "secret"));
        }
        if let Some(b) = self.public_jids {
            x.push(field(
                "muc#roomconfig_whois",
                if b { "anyone" } else { "moderators" },
            ));
        }
        if let Some(n) = self.max_users {
            x.push(field("muc#roomconfig_maxusers", &n.to_string()));
        }
        match self.junk {
            Some(j) if j % 2 == 0 => x.push(field("muc#roomconfig_unknown", "x")),
            Some(_) => x.push(field("muc#roomconfig_membersonly", "maybe")),
            None => {}
        }
        Element::new("query", ns::MUC_OWNER).with_child(x)
    }
}
