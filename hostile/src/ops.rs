//! The `service_ops` target: an arbitrary sequence of operations by four clients on
//! two rooms, through the simulator (home server, links, disconnects), plus raw and
//! malformed stanzas. After every step the world must hold every invariant; every iq
//! get/set the harness sends is answered exactly once.

use arbitrary::{Arbitrary, Unstructured};
use server::ns;
use server::xml::{parse_stanza, Element, Limits};
use sim::{ConnId, World, WorldConfig};

const CLIENTS: [&str; 4] = [
    "romeo@localhost/pda",
    "juliet@localhost/phone",
    "juliet@localhost/laptop",
    "mercutio@localhost/pda",
];
const ROOMS: [&str; 2] = ["room@conference.localhost", "room2@conference.localhost"];
const NICKS: [&str; 6] = [
    "Romeo",
    "Juliet",
    "Mercutio",
    "Juliet2",
    "JULIET",
    "Jul\u{0131}et",
];
const AFFILIATIONS: [&str; 6] = ["owner", "admin", "member", "none", "outcast", "bogus"];
const ROLES: [&str; 5] = ["moderator", "participant", "visitor", "none", "bogus"];

#[derive(Arbitrary, Clone, Debug)]
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
    Disconnect {
        client: u8,
    },
    Reconnect {
        client: u8,
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
    /// One admin set with many items.
    ManyItems {
        client: u8,
        room: u8,
        n: u8,
    },
}

#[derive(Arbitrary, Clone, Debug)]
pub struct ConfigForm {
    pub members_only: Option<bool>,
    pub moderated: Option<bool>,
    pub password: Option<bool>,
    pub persistent: Option<bool>,
    pub public_jids: Option<bool>,
    pub max_users: Option<u8>,
    /// A field the service does not know, or a wrong type.
    pub junk: Option<u8>,
    pub cancel: bool,
}

fn pick<T>(xs: &[T], i: u8) -> &T {
    &xs[usize::from(i) % xs.len()]
}

fn field(var: &str, value: &str) -> Element {
    Element::new("field", ns::DATA)
        .with_attr("var", var)
        .with_child(Element::new("value", ns::DATA).with_text(value))
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

struct Harness {
    world: World,
    conns: Vec<ConnId>,
    /// Nick each client last asked for, per room.
    nicks: Vec<[u8; 2]>,
    /// (connection, id) of every iq get/set sent, with its answers so far.
    iqs: Vec<(ConnId, String, u32)>,
    next_id: u32,
}

impl Harness {
    fn new() -> Harness {
        let mut world = World::new(WorldConfig::new(7));
        let conns = CLIENTS
            .iter()
            .map(|j| world.connect(j, j, None).expect("fresh world"))
            .collect();
        Harness {
            world,
            conns,
            nicks: vec![[0, 0], [1, 1], [1, 1], [2, 2]],
            iqs: Vec::new(),
            next_id: 0,
        }
    }

    fn send(&mut self, client: u8, el: Element) {
        let c = usize::from(client) % CLIENTS.len();
        let conn = self.conns[c];
        if !self.world.is_open(conn) {
            return;
        }
        if el.name == "iq" && matches!(el.attr("type"), Some("get") | Some("set")) {
            if let Some(id) = el.attr("id") {
                self.iqs.push((conn, id.to_string(), 0));
            }
        }
        let _ = self.world.send(conn, el);
    }

    fn iq(&mut self, client: u8, room: u8, ty: &str, query: Element) {
        self.next_id += 1;
        let el = Element::new("iq", ns::CLIENT)
            .with_attr("to", *pick(&ROOMS, room))
            .with_attr("type", ty)
            .with_attr("id", format!("h{}", self.next_id))
            .with_child(query);
        self.send(client, el);
    }

    fn presence(&mut self, client: u8, room: u8, nick: u8) -> Element {
        let c = usize::from(client) % CLIENTS.len();
        self.nicks[c][usize::from(room) % 2] = nick;
        Element::new("presence", ns::CLIENT)
            .with_attr("to", format!("{}/{}", pick(&ROOMS, room), pick(&NICKS, nick)))
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Join {
                client,
                room,
                nick,
                password,
            } => {
                let mut x = Element::new("x", ns::MUC);
                if *password {
                    x.push(Element::new("password", ns::MUC).with_text("secret"));
                }
                let el = self.presence(*client, *room, *nick).with_child(x);
                self.send(*client, el);
            }
            Op::Leave { client, room } => {
                let c = usize::from(*client) % CLIENTS.len();
                let nick = self.nicks[c][usize::from(*room) % 2];
                let el = self
                    .presence(*client, *room, nick)
                    .with_attr("type", "unavailable");
                self.send(*client, el);
            }
            Op::ChangeNick { client, room, nick } => {
                let el = self.presence(*client, *room, *nick);
                self.send(*client, el);
            }
            Op::Configure { client, room, form } => {
                let mut x = Element::new("x", ns::DATA)
                    .with_attr("type", if form.cancel { "cancel" } else { "submit" })
                    .with_child(field("FORM_TYPE", ns::MUC_ROOMCONFIG));
                let flags = [
                    ("muc#roomconfig_membersonly", form.members_only),
                    ("muc#roomconfig_moderatedroom", form.moderated),
                    ("muc#roomconfig_passwordprotectedroom", form.password),
                    ("muc#roomconfig_persistentroom", form.persistent),
                ];
                for (var, v) in flags {
                    if let Some(b) = v {
                        x.push(field(var, bool_str(b)));
                    }
                }
                if form.password == Some(true) {
                    x.push(field("muc#roomconfig_roomsecret", "secret"));
                }
                if let Some(b) = form.public_jids {
                    x.push(field(
                        "muc#roomconfig_whois",
                        if b { "anyone" } else { "moderators" },
                    ));
                }
                if let Some(n) = form.max_users {
                    x.push(field("muc#roomconfig_maxusers", &n.to_string()));
                }
                match form.junk {
                    Some(j) if j % 2 == 0 => x.push(field("muc#roomconfig_unknown", "x")),
                    Some(_) => x.push(field("muc#roomconfig_membersonly", "maybe")),
                    None => {}
                }
                self.iq(
                    *client,
                    *room,
                    "set",
                    Element::new("query", ns::MUC_OWNER).with_child(x),
                );
            }
            Op::Affiliate {
                client,
                room,
                target,
                affiliation,
            } => {
                let jid = pick(&CLIENTS, *target).split('/').next().unwrap_or("");
                let item = Element::new("item", ns::MUC_ADMIN)
                    .with_attr("affiliation", *pick(&AFFILIATIONS, *affiliation))
                    .with_attr("jid", jid);
                self.iq(
                    *client,
                    *room,
                    "set",
                    Element::new("query", ns::MUC_ADMIN).with_child(item),
                );
            }
            Op::Role {
                client,
                room,
                nick,
                role,
            } => {
                let item = Element::new("item", ns::MUC_ADMIN)
                    .with_attr("role", *pick(&ROLES, *role))
                    .with_attr("nick", *pick(&NICKS, *nick));
                self.iq(
                    *client,
                    *room,
                    "set",
                    Element::new("query", ns::MUC_ADMIN).with_child(item),
                );
            }
            Op::Groupchat { client, room } => {
                let el = Element::new("message", ns::CLIENT)
                    .with_attr("to", *pick(&ROOMS, *room))
                    .with_attr("type", "groupchat")
                    .with_child(Element::new("body", ns::CLIENT).with_text("hi"));
                self.send(*client, el);
            }
            Op::Private { client, room, nick } => {
                let el = Element::new("message", ns::CLIENT)
                    .with_attr("to", format!("{}/{}", pick(&ROOMS, *room), pick(&NICKS, *nick)))
                    .with_attr("type", "chat")
                    .with_child(Element::new("body", ns::CLIENT).with_text("psst"));
                self.send(*client, el);
            }
            Op::Subject { client, room } => {
                let el = Element::new("message", ns::CLIENT)
                    .with_attr("to", *pick(&ROOMS, *room))
                    .with_attr("type", "groupchat")
                    .with_child(Element::new("subject", ns::CLIENT).with_text("news"));
                self.send(*client, el);
            }
            Op::Invite { client, room, target } => {
                let jid = pick(&CLIENTS, *target).split('/').next().unwrap_or("");
                let el = Element::new("message", ns::CLIENT)
                    .with_attr("to", *pick(&ROOMS, *room))
                    .with_child(
                        Element::new("x", ns::MUC_USER)
                            .with_child(Element::new("invite", ns::MUC_USER).with_attr("to", jid)),
                    );
                self.send(*client, el);
            }
            Op::Destroy { client, room } => {
                let q =
                    Element::new("query", ns::MUC_OWNER).with_child(Element::new("destroy", ns::MUC_OWNER));
                self.iq(*client, *room, "set", q);
            }
            Op::AdminList {
                client,
                room,
                affiliation,
            } => {
                let item = Element::new("item", ns::MUC_ADMIN)
                    .with_attr("affiliation", *pick(&AFFILIATIONS, *affiliation));
                self.iq(
                    *client,
                    *room,
                    "get",
                    Element::new("query", ns::MUC_ADMIN).with_child(item),
                );
            }
            Op::Disco { client, room } => {
                self.iq(
                    *client,
                    *room,
                    "get",
                    Element::new("query", "http://jabber.org/protocol/disco#info"),
                );
            }
            Op::Disconnect { client } => {
                let conn = self.conns[usize::from(*client) % CLIENTS.len()];
                let _ = self.world.disconnect(conn);
            }
            Op::Reconnect { client } => {
                let c = usize::from(*client) % CLIENTS.len();
                if !self.world.is_open(self.conns[c]) {
                    if let Ok(conn) = self.world.connect(CLIENTS[c], CLIENTS[c], None) {
                        self.conns[c] = conn;
                    }
                }
            }
            Op::Raw { client, bytes } => {
                let limits = Limits::default();
                if let Ok(el) = parse_stanza(bytes, ns::CLIENT, &limits) {
                    let c = usize::from(*client) % CLIENTS.len();
                    let conn = self.conns[c];
                    if self.world.is_open(conn) {
                        let _ = self.world.send(conn, el);
                    }
                }
            }
            Op::IqWithoutId { client, room } => {
                let el = Element::new("iq", ns::CLIENT)
                    .with_attr("to", *pick(&ROOMS, *room))
                    .with_attr("type", "set")
                    .with_child(Element::new("query", ns::MUC_ADMIN));
                self.send(*client, el);
            }
            Op::InvalidJidItem { client, room } => {
                let item = Element::new("item", ns::MUC_ADMIN)
                    .with_attr("affiliation", "member")
                    .with_attr("jid", "@@bad@@/");
                self.iq(
                    *client,
                    *room,
                    "set",
                    Element::new("query", ns::MUC_ADMIN).with_child(item),
                );
            }
            Op::ManyItems { client, room, n } => {
                let mut q = Element::new("query", ns::MUC_ADMIN);
                for i in 0..(u32::from(*n) * 8) {
                    q.push(
                        Element::new("item", ns::MUC_ADMIN)
                            .with_attr("affiliation", "member")
                            .with_attr("jid", format!("user{i}@localhost")),
                    );
                }
                self.iq(*client, *room, "set", q);
            }
        }
    }

    /// Counts iq answers received since the last call.
    fn drain(&mut self) {
        for c in 0..self.conns.len() {
            let conn = self.conns[c];
            while let Some(el) = self.world.take_received(conn) {
                if el.name != "iq" || !matches!(el.attr("type"), Some("result") | Some("error")) {
                    continue;
                }
                if let Some(id) = el.attr("id") {
                    for (k, i, n) in self.iqs.iter_mut() {
                        if *k == conn && i == id {
                            *n += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Runs `ops` and asserts the properties after every step.
pub fn run(ops: &[Op]) {
    let mut h = Harness::new();
    for (step, op) in ops.iter().enumerate() {
        h.apply(op);
        h.world.run_until_quiet();
        h.drain();
        if let Some(v) = h.world.violation() {
            panic!("step {step} ({op:?}) broke an invariant: {v}");
        }
        for (conn, id, n) in &h.iqs {
            // Answered by now (the world ran until quiet), unless the client is gone.
            let open = h.world.is_open(*conn);
            assert!(*n <= 1, "step {step}: iq {id} answered {n} times");
            assert!(*n == 1 || !open, "step {step} ({op:?}): iq {id} not answered");
        }
    }
}

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(ops) = Vec::<Op>::arbitrary(&mut u) else {
        return;
    };
    if ops.len() > 64 {
        return;
    }
    run(&ops);
}
