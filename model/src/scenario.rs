//! Scenarios: who is in the world and what each client may do.
//!
//! Client 0 is the owner, Romeo, who created and configured the room before checking
//! starts. The others are users: Juliet with two sessions (phone and laptop, which
//! behave alike and so may swap under symmetry reduction), then Mercutio and Tybalt.

use crate::actor::{Cast, ClientSpec, MucActor};
use crate::notice::Nicks;
use crate::ops::{iq_set, join_presence, room_jid, ConfigField, Op, RoomOp, ROOMS};
use server::jids::FullJid;
use server::muc::submitted_field as field;
use server::ns;
use server::xml::Element;
use server::ServiceConfig;
use std::sync::Arc;

/// The kinds of operation a scenario may enable (`mucsim check --ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpKind {
    Join,
    Password,
    Leave,
    Nick,
    Groupchat,
    MembersOnly,
    /// The owner switches members-only off again.
    MembersOnlyOff,
    Grant,
    Revoke,
    Ban,
    Kick,
    Admin,
    Destroy,
    /// The owner makes itself a member (only the last-owner rule stops it).
    Abdicate,
    Disconnect,
}

impl OpKind {
    pub const ALL: [OpKind; 15] = [
        OpKind::Join,
        OpKind::Password,
        OpKind::Leave,
        OpKind::Nick,
        OpKind::Groupchat,
        OpKind::MembersOnly,
        OpKind::MembersOnlyOff,
        OpKind::Grant,
        OpKind::Revoke,
        OpKind::Ban,
        OpKind::Kick,
        OpKind::Admin,
        OpKind::Destroy,
        OpKind::Abdicate,
        OpKind::Disconnect,
    ];

    /// The default scenario's kinds.
    pub const DEFAULT: [OpKind; 6] = [
        OpKind::Join,
        OpKind::MembersOnly,
        OpKind::Grant,
        OpKind::Revoke,
        OpKind::Ban,
        OpKind::Disconnect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Join => "join",
            OpKind::Password => "password",
            OpKind::Leave => "leave",
            OpKind::Nick => "nick",
            OpKind::Groupchat => "groupchat",
            OpKind::MembersOnly => "members-only",
            OpKind::MembersOnlyOff => "members-only-off",
            OpKind::Grant => "grant",
            OpKind::Revoke => "revoke",
            OpKind::Ban => "ban",
            OpKind::Kick => "kick",
            OpKind::Admin => "admin",
            OpKind::Destroy => "destroy",
            OpKind::Abdicate => "abdicate",
            OpKind::Disconnect => "disconnect",
        }
    }

    /// Parses a comma-separated list such as `join,members-only,revoke`.
    pub fn parse_list(s: &str) -> Result<Vec<OpKind>, String> {
        let mut out = Vec::new();
        for word in s.split(',').map(str::trim) {
            if word.is_empty() {
                return Err(format!(
                    "'{s}': an empty operation name (operations are separated by single commas)"
                ));
            }
            match OpKind::ALL.iter().find(|k| k.name() == word) {
                Some(k) if !out.contains(k) => out.push(*k),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
                    return Err(format!(
                        "unknown operation '{word}' (known: {})",
                        known.join(", ")
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err("no operations given".into());
        }
        Ok(out)
    }
}

/// A world to check.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// Rooms (1–2), all created and configured by the owner before checking starts.
    pub rooms: usize,
    pub clients: Vec<ClientSpec>,
    /// Service crashes per path (0: none). With crashes, the setup makes the rooms
    /// persistent, so that there is something to keep.
    pub crashes: u8,
    /// Affiliations the owner sets in the setup: (bare JID or domain, affiliation).
    pub setup_affiliations: Vec<(String, &'static str)>,
    /// Configuration fields the owner's initial form switches.
    pub setup_config: Vec<(ConfigField, bool)>,
    /// Clients besides the owner who join every room in the setup (with the
    /// password when the room has one).
    pub present: Vec<usize>,
    /// Each client performs its operations in the order listed (the checker still
    /// interleaves clients and deliveries); otherwise in any order.
    pub in_order: bool,
    #[cfg(feature = "mutants")]
    pub mutant: Option<server::Mutant>,
}

fn full(s: &str) -> FullJid {
    FullJid::new(s).expect("valid full JID")
}

/// The users clients 1.. belong to, in order.
const USERS: [(&str, &str); 3] = [
    ("juliet@localhost/phone", "Juliet"),
    ("juliet@localhost/laptop", "Juliet"),
    ("mercutio@localhost/pda", "Mercutio"),
];

/// The household of the permission scenarios, by client index: the owner, an admin,
/// a member, an outsider, an outcast.
const PEOPLE: [(&str, &str); 5] = [
    ("romeo@localhost/pda", "Romeo"),
    ("nurse@localhost/pda", "Nurse"),
    ("juliet@localhost/phone", "Juliet"),
    ("mercutio@localhost/pda", "Mercutio"),
    ("tybalt@localhost/pda", "Tybalt"),
];
const NURSE: usize = 1;
const JULIET: usize = 2;
const MERCUTIO: usize = 3;
const TYBALT: usize = 4;

impl Scenario {
    /// The default: the owner switches members-only on, grants Juliet membership,
    /// revokes it and bans her; Juliet's two sessions each join and disconnect, in
    /// any order against the owner's operations.
    pub fn default_check() -> Scenario {
        Scenario::generate(3, 1, &OpKind::DEFAULT).expect("the default scenario is valid")
    }

    /// The founding scenario, small: members-only on, grant and revoke Juliet; her
    /// two sessions join. (The first version of the default.)
    pub fn revocation() -> Scenario {
        Scenario::generate(
            3,
            1,
            &[OpKind::Join, OpKind::MembersOnly, OpKind::Grant, OpKind::Revoke],
        )
        .expect("valid")
    }

    /// Mercutio joins as `Juliet2`, the nick Juliet's nick change moves to, and may
    /// change to `Juliet`: every nick change can clash.
    pub fn nick_clash() -> Scenario {
        let mut s = Scenario::generate(3, 1, &[OpKind::Join, OpKind::Nick]).expect("valid");
        s.clients[2] = ClientSpec {
            jid: full("mercutio@localhost/pda"),
            nick: "Juliet2".into(),
            ops: in_room(0, [Op::Join, Op::ChangeNick]),
        };
        s.name = "nick clash: Juliet and Mercutio (as Juliet2) join and change nick".into();
        s
    }

    /// The named scenarios `mucsim check --scenario` knows besides
    /// [`Scenario::DEFAULT_SET`]: smaller or older ones, each with its own focus.
    pub const OTHERS: [&'static str; 3] = ["revocation", "nick-clash", "owner-abdicates"];

    /// Every name `mucsim check --scenario` knows: the default set, then the others.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Scenario::DEFAULT_SET.into_iter().chain(Scenario::OTHERS)
    }

    /// What `mucsim check` runs with no options, in order: the default
    /// (members-only revocation), the five permission scenarios, privacy, password,
    /// invitations, domain bans, durability.
    pub const DEFAULT_SET: [&'static str; 11] = [
        "default",
        "permissions-owner",
        "permissions-admin",
        "permissions-member",
        "permissions-outsider",
        "permissions-outcast",
        "privacy",
        "password",
        "invitations",
        "domain-bans",
        "durability",
    ];

    /// A scenario over [`PEOPLE`] with no operations yet: Romeo owns the room,
    /// Nurse is an admin and Juliet a member (both inside), Mercutio an outsider and
    /// Tybalt an outcast (both outside).
    fn household(name: &str) -> Scenario {
        Scenario {
            name: name.into(),
            rooms: 1,
            clients: PEOPLE
                .iter()
                .map(|(jid, nick)| ClientSpec {
                    jid: full(jid),
                    nick: (*nick).into(),
                    ops: Vec::new(),
                })
                .collect(),
            crashes: 0,
            setup_affiliations: vec![
                ("nurse@localhost".into(), "admin"),
                ("juliet@localhost".into(), "member"),
                ("tybalt@localhost".into(), "outcast"),
            ],
            setup_config: Vec::new(),
            present: vec![NURSE, JULIET],
            in_order: true,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    /// Permissions: client `actor` of [`PEOPLE`] (owner, admin, member, outsider,
    /// outcast) tries every request in turn, the others stay put: revoke, grant
    /// voice and grant moderator to Juliet; change the subject; invite Tybalt;
    /// unban Tybalt; demote the Nurse to member; kick Romeo; ban the domain
    /// `localhost`; make the room non-anonymous; ban Juliet; join; destroy.
    pub fn permissions(actor: usize) -> Scenario {
        let who = ["owner", "admin", "member", "outsider", "outcast"][actor.min(4)];
        let mut s = Scenario::household(&format!(
            "permissions: the {who} ({}) tries every request",
            PEOPLE[actor.min(4)].1
        ));
        s.clients[actor].ops = in_room(
            0,
            [
                Op::SetRole {
                    target: JULIET,
                    role: "visitor",
                },
                Op::SetRole {
                    target: JULIET,
                    role: "participant",
                },
                Op::SetRole {
                    target: JULIET,
                    role: "moderator",
                },
                Op::Subject,
                Op::Invite { target: TYBALT },
                Op::Affiliate {
                    target: TYBALT,
                    affiliation: "none",
                },
                Op::Affiliate {
                    target: NURSE,
                    affiliation: "member",
                },
                Op::Kick { target: 0 },
                Op::AffiliateDomain {
                    domain: "localhost",
                    affiliation: "outcast",
                },
                Op::Configure {
                    field: ConfigField::Whois,
                    on: true,
                },
                Op::Affiliate {
                    target: JULIET,
                    affiliation: "outcast",
                },
                Op::Join,
                Op::Destroy,
            ],
        );
        s
    }

    /// Privacy: the owner, in this order, makes the room non-anonymous, makes
    /// Mercutio a moderator and makes the room semi-anonymous again, while Juliet's
    /// two sessions and Mercutio join.
    pub fn privacy() -> Scenario {
        let mut s = Scenario::generate(4, 1, &[OpKind::Join]).expect("valid");
        s.clients[0].ops = in_room(
            0,
            [
                Op::Configure {
                    field: ConfigField::Whois,
                    on: true,
                },
                Op::SetRole {
                    target: 3,
                    role: "moderator",
                },
                Op::Configure {
                    field: ConfigField::Whois,
                    on: false,
                },
            ],
        );
        s.in_order = true;
        s.name = "privacy: whois switched while Juliet's two sessions and Mercutio join".into();
        s
    }

    /// Password: the room has a password; each of Juliet's two sessions joins
    /// without it and with it, and the owner removes the password.
    pub fn password() -> Scenario {
        let mut s = Scenario::generate(3, 1, &[OpKind::Join, OpKind::Password]).expect("valid");
        s.setup_config = vec![(ConfigField::Password, true)];
        s.clients[0].ops = in_room(
            0,
            [Op::Configure {
                field: ConfigField::Password,
                on: false,
            }],
        );
        s.name = "password: two sessions of Juliet join with and without it; it is removed".into();
        s
    }

    /// Invitations: a members-only room; Juliet (a member, inside) invites Mercutio
    /// and Tybalt (an outcast) and changes the subject; the owner invites Tybalt,
    /// lets members invite and lets participants change the subject; Mercutio and
    /// Tybalt try to join.
    pub fn invitations() -> Scenario {
        let mut s =
            Scenario::household("invitations: into a members-only room, an outcast among the invitees");
        s.clients.remove(NURSE);
        s.present = vec![1];
        s.setup_affiliations.remove(0);
        s.setup_config = vec![(ConfigField::MembersOnly, true)];
        s.in_order = false;
        // Indices now: 0 Romeo, 1 Juliet, 2 Mercutio, 3 Tybalt.
        s.clients[0].ops = in_room(
            0,
            [
                Op::Invite { target: 3 },
                Op::Configure {
                    field: ConfigField::AllowInvites,
                    on: true,
                },
                Op::Configure {
                    field: ConfigField::ChangeSubject,
                    on: true,
                },
            ],
        );
        // Juliet also changes the subject: the two switches the owner flips are
        // told apart (a permission check reading one for the other is caught).
        s.clients[1].ops = in_room(
            0,
            [Op::Invite { target: 2 }, Op::Invite { target: 3 }, Op::Subject],
        );
        s.clients[2].ops = in_room(0, [Op::Join]);
        s.clients[3].ops = in_room(0, [Op::Join]);
        s
    }

    /// Domain bans: the owner bans the domain `localhost` and lifts it, and makes
    /// Mercutio a member, while Juliet (a member) and Mercutio join.
    pub fn domain_bans() -> Scenario {
        let mut s = Scenario::household(
            "domain bans: localhost banned and lifted while a member and an outsider join",
        );
        s.clients.truncate(4);
        s.clients.remove(NURSE);
        s.present = Vec::new();
        s.setup_affiliations = vec![("juliet@localhost".into(), "member")];
        s.in_order = false;
        // Indices now: 0 Romeo, 1 Juliet, 2 Mercutio.
        s.clients[0].ops = in_room(
            0,
            [
                Op::AffiliateDomain {
                    domain: "localhost",
                    affiliation: "outcast",
                },
                Op::AffiliateDomain {
                    domain: "localhost",
                    affiliation: "none",
                },
                Op::Affiliate {
                    target: 2,
                    affiliation: "member",
                },
            ],
        );
        s.clients[1].ops = in_room(0, [Op::Join]);
        s.clients[2].ops = in_room(0, [Op::Join]);
        s
    }

    /// The owner switches members-only on, grants Juliet membership, revokes it and
    /// bans Mercutio while Juliet's sessions join; the service may crash once,
    /// anywhere, and restart from its disk.
    pub fn durability() -> Scenario {
        let mut s = Scenario::generate(
            3,
            1,
            &[
                OpKind::Join,
                OpKind::MembersOnly,
                OpKind::Grant,
                OpKind::Revoke,
                OpKind::Ban,
            ],
        )
        .expect("valid");
        s.crashes = 1;
        s.name = format!("durability ({}), one crash", s.name);
        s
    }

    pub fn named(name: &str) -> Result<Scenario, String> {
        match name {
            "default" => Ok(Scenario::default_check()),
            "revocation" => Ok(Scenario::revocation()),
            "nick-clash" => Ok(Scenario::nick_clash()),
            "owner-abdicates" => Scenario::generate(2, 1, &[OpKind::Join, OpKind::Abdicate, OpKind::Leave]),
            "durability" => Ok(Scenario::durability()),
            "permissions-owner" => Ok(Scenario::permissions(0)),
            "permissions-admin" => Ok(Scenario::permissions(NURSE)),
            "permissions-member" => Ok(Scenario::permissions(JULIET)),
            "permissions-outsider" => Ok(Scenario::permissions(MERCUTIO)),
            "permissions-outcast" => Ok(Scenario::permissions(TYBALT)),
            "privacy" => Ok(Scenario::privacy()),
            "password" => Ok(Scenario::password()),
            "invitations" => Ok(Scenario::invitations()),
            "domain-bans" => Ok(Scenario::domain_bans()),
            _ => Err(format!(
                "unknown scenario '{name}' (known: {})",
                Scenario::names().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// A scenario with `clients` clients (2–4: Romeo the owner, then Juliet's phone,
    /// Juliet's laptop, Mercutio), `rooms` rooms (1–2) and the given kinds of
    /// operation. The owner does the room-wide operations in every room; every other
    /// client does the occupant ones in every room, and disconnects at most once.
    pub fn generate(clients: usize, rooms: usize, kinds: &[OpKind]) -> Result<Scenario, String> {
        if !(2..=4).contains(&clients) {
            return Err(format!("{clients} clients: the model takes 2 to 4"));
        }
        if !(1..=ROOMS.len()).contains(&rooms) {
            return Err(format!("{rooms} rooms: the model takes 1 to {}", ROOMS.len()));
        }
        let has = |k| kinds.contains(&k);
        let aff = |target, affiliation| Op::Affiliate { target, affiliation };
        // Targets: Juliet (client 1) for membership; Mercutio when present, else
        // Juliet, for bans, kicks and admin grants.
        let other = if clients == 4 { 3 } else { 1 };
        let mut owner = Vec::new();
        if has(OpKind::MembersOnly) {
            owner.push(Op::MembersOnly(true));
        }
        if has(OpKind::Grant) {
            owner.push(aff(1, "member"));
        }
        if has(OpKind::Revoke) {
            owner.push(aff(1, "none"));
        }
        if has(OpKind::Ban) {
            owner.push(aff(other, "outcast"));
        }
        if has(OpKind::Kick) {
            owner.push(Op::Kick { target: other });
        }
        if has(OpKind::MembersOnlyOff) {
            owner.push(Op::MembersOnly(false));
        }
        if has(OpKind::Admin) {
            // Grant admin, and take it back.
            owner.push(aff(other, "admin"));
            owner.push(aff(other, "none"));
        }
        if has(OpKind::Destroy) {
            owner.push(Op::Destroy);
        }
        if has(OpKind::Abdicate) {
            owner.push(aff(0, "member"));
        }
        let mut user = Vec::new();
        let kinds_ops = [
            (OpKind::Join, Op::Join),
            (OpKind::Password, Op::JoinWithPassword),
            (OpKind::Nick, Op::ChangeNick),
            (OpKind::Groupchat, Op::Groupchat),
            (OpKind::Leave, Op::Leave),
            (OpKind::Disconnect, Op::Disconnect),
        ];
        for (k, op) in kinds_ops {
            if has(k) {
                user.push(op);
            }
        }
        let every_room = |ops: &[Op]| -> Vec<RoomOp> {
            let mut out: Vec<RoomOp> = Vec::new();
            for room in 0..rooms as u8 {
                for op in ops {
                    let once = *op == Op::Disconnect;
                    if !(once && out.iter().any(|s| s.op == *op)) {
                        out.push(RoomOp { room, op: op.clone() });
                    }
                }
            }
            out
        };
        let mut specs = vec![ClientSpec {
            jid: full("romeo@localhost/pda"),
            nick: "Romeo".into(),
            ops: every_room(&owner),
        }];
        for (jid, nick) in USERS.iter().take(clients - 1) {
            specs.push(ClientSpec {
                jid: full(jid),
                nick: (*nick).into(),
                ops: every_room(&user),
            });
        }
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let in_rooms = if rooms > 1 {
            format!(", {rooms} rooms")
        } else {
            String::new()
        };
        Ok(Scenario {
            name: format!("{clients} clients{in_rooms}: {}", names.join(", ")),
            rooms,
            clients: specs,
            crashes: 0,
            setup_affiliations: Vec::new(),
            setup_config: Vec::new(),
            present: Vec::new(),
            in_order: false,
            #[cfg(feature = "mutants")]
            mutant: None,
        })
    }

    pub fn service_config(&self) -> ServiceConfig {
        let mut cfg = ServiceConfig::new("conference.localhost", 0);
        // The checker reports violations as properties instead of panicking.
        cfg.assert_invariants = false;
        #[cfg(feature = "mutants")]
        {
            cfg.mutant = self.mutant;
        }
        cfg
    }

    /// The owner's stanzas before checking starts: create each room, accept the
    /// default configuration (an instant room). A password room when any client
    /// joins it with the password.
    pub fn setup(&self) -> Vec<(FullJid, Element)> {
        let owner = &self.clients[0];
        let mut out = Vec::new();
        for r in 0..self.rooms as u8 {
            let room = room_jid(r);
            let mut form = Element::new("x", ns::DATA).with_attr("type", "submit");
            let with_password = RoomOp {
                room: r,
                op: Op::JoinWithPassword,
            };
            let password = self.clients.iter().any(|c| c.ops.contains(&with_password))
                || self.setup_config.contains(&(ConfigField::Password, true));
            if password || self.crashes > 0 || !self.setup_config.is_empty() {
                form = form.with_child(field("FORM_TYPE", ns::MUC_ROOMCONFIG));
            }
            for (f, on) in &self.setup_config {
                if *f != ConfigField::Password {
                    for el in f.fields(*on) {
                        form.push(el);
                    }
                }
            }
            if password {
                form = form
                    .with_child(field("muc#roomconfig_passwordprotectedroom", "1"))
                    .with_child(field("muc#roomconfig_roomsecret", "secret"));
            }
            if self.crashes > 0 {
                form = form.with_child(field("muc#roomconfig_persistentroom", "1"));
            }
            let owner_sends = |stanza| (owner.jid.clone(), stanza);
            out.push(owner_sends(join_presence(
                room,
                &owner.nick,
                Element::new("x", ns::MUC),
            )));
            let config = Element::new("query", ns::MUC_OWNER).with_child(form);
            out.push(owner_sends(iq_set(room, &format!("setup{r}"), config)));
            for (i, (jid, aff)) in self.setup_affiliations.iter().enumerate() {
                let item = Element::new("item", ns::MUC_ADMIN)
                    .with_attr("affiliation", *aff)
                    .with_attr("jid", jid.as_str());
                let query = Element::new("query", ns::MUC_ADMIN).with_child(item);
                out.push(owner_sends(iq_set(room, &format!("setup{r}-{i}"), query)));
            }
            for c in &self.present {
                let client = &self.clients[*c];
                let mut x = Element::new("x", ns::MUC);
                if password {
                    x.push(Element::new("password", ns::MUC).with_text("secret"));
                }
                out.push((client.jid.clone(), join_presence(room, &client.nick, x)));
            }
        }
        out
    }

    /// The shared, fixed part of the world.
    pub fn cast(&self) -> Result<Cast, String> {
        if self.clients.is_empty() {
            return Err("a scenario needs an owner".into());
        }
        if let Some(c) = self.clients.iter().find(|c| c.ops.len() > 31) {
            return Err(format!("{} has {} operations; at most 31", c.jid, c.ops.len()));
        }
        let nicks = Nicks::new(self.clients.iter().map(|c| c.nick.as_str()))?;
        let targets = self
            .clients
            .iter()
            .map(|c| (c.jid.to_bare().to_string(), c.nick.clone()))
            .collect();
        // Clients other than the owner that differ only by resource are alike.
        let mut classes: Vec<Vec<usize>> = Vec::new();
        for (i, c) in self.clients.iter().enumerate().skip(1) {
            let alike = |j: &usize| {
                let d: &ClientSpec = &self.clients[*j];
                d.jid.to_bare() == c.jid.to_bare() && d.nick == c.nick && d.ops == c.ops
            };
            match classes.iter_mut().find(|cl| alike(&cl[0])) {
                Some(cl) => cl.push(i),
                None => classes.push(vec![i]),
            }
        }
        classes.retain(|cl| cl.len() > 1);
        if !(1..=ROOMS.len()).contains(&self.rooms) {
            return Err(format!(
                "{} rooms: the model takes 1 to {}",
                self.rooms,
                ROOMS.len()
            ));
        }
        if let Some(c) = self
            .clients
            .iter()
            .find(|c| c.ops.iter().any(|s| usize::from(s.room) >= self.rooms))
        {
            return Err(format!("{} acts on a room the scenario does not have", c.jid));
        }
        if let Some(c) = self
            .present
            .iter()
            .find(|c| **c == 0 || **c >= self.clients.len())
        {
            return Err(format!(
                "client {c} cannot join in the setup (the owner always does)"
            ));
        }
        let mut present = vec![false; self.clients.len()];
        present[0] = true;
        for c in &self.present {
            present[*c] = true;
        }
        let mut cast = Cast {
            rooms: self.rooms,
            cfg: self.service_config(),
            setup: self.setup(),
            clients: self.clients.clone(),
            nicks,
            targets,
            symmetry_classes: classes,
            crashes: self.crashes,
            present,
            in_order: self.in_order,
            initial_views: Vec::new(),
        };
        let svc = cast.fresh_service();
        cast.initial_views = (0..self.rooms as u8)
            .map(|r| crate::room_view(&svc, r, &cast.nicks))
            .collect();
        Ok(cast)
    }

    pub fn actors(&self) -> Result<Vec<MucActor>, String> {
        let cast = Arc::new(self.cast()?);
        let mut actors = vec![MucActor::Server(cast.clone())];
        for index in 0..self.clients.len() {
            actors.push(MucActor::Client {
                index,
                cast: cast.clone(),
            });
        }
        Ok(actors)
    }

    /// Total operations over all clients.
    pub fn op_count(&self) -> usize {
        self.clients.iter().map(|c| c.ops.len()).sum()
    }
}

/// Operations all on room `room`.
fn in_room(room: u8, ops: impl IntoIterator<Item = Op>) -> Vec<RoomOp> {
    ops.into_iter().map(|op| RoomOp { room, op }).collect()
}
