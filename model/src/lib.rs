//! A stateright `ActorModel` over the real MUC service. Actor 0 wraps `MucService`
//! (no MUC rule is re-implemented here); actors 1.. are clients, each with a bounded
//! set of operations the checker interleaves with message deliveries. The network is
//! ordered per pair of actors, like TCP.

pub mod check;
pub mod client;
pub mod ops;
pub mod scenario;

use client::ClientState;
use ops::{Op, ROOM};
use server::jids::{BareJid, FullJid};
use server::xml::Element;
use server::{Millis, MucService, ServiceConfig};
use stateright::actor::{Actor, ActorModel, Id, Network, Out};
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    Stanza(Element),
    /// The client's stream ends; its home server sends unavailable to the room.
    Disconnect,
}

/// One client: a session of a user, with its operations.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    pub jid: FullJid,
    pub nick: String,
    pub ops: Vec<Op>,
}

#[derive(Clone, Debug)]
pub enum MucActor {
    Server {
        cfg: ServiceConfig,
        /// Stanzas the service handles before the checker starts (room creation).
        setup: Vec<(FullJid, Element)>,
        clients: Vec<FullJid>,
    },
    Client {
        spec: ClientSpec,
        /// Whether the client starts inside the room (the owner who created it).
        starts_in_room: bool,
        /// (bare JID, initial nick) of every client, for targeting operations.
        targets: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Server(MucService),
    Client(ClientState),
}

fn server_id() -> Id {
    Id::from(0)
}

impl MucActor {
    fn choose_next(spec: &ClientSpec, st: &ClientState, o: &mut Out<Self>) {
        if !st.connected {
            return;
        }
        let choices: Vec<usize> = (0..spec.ops.len())
            .filter(|i| st.remaining & (1 << i) != 0)
            .collect();
        if !choices.is_empty() {
            o.choose_random("op", choices);
        }
    }
}

impl Actor for MucActor {
    type Msg = Msg;
    type State = State;
    type Timer = ();
    type Random = usize;
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        match self {
            MucActor::Server { cfg, setup, .. } => {
                let mut svc = MucService::new(cfg.clone());
                for (from, el) in setup {
                    let _ = svc.handle(Millis(0), from.clone(), el.clone());
                }
                State::Server(svc)
            }
            MucActor::Client {
                spec, starts_in_room, ..
            } => {
                let mut st = ClientState::new(&spec.nick, spec.ops.len(), *starts_in_room);
                if *starts_in_room {
                    st.view
                        .insert(spec.nick.clone(), ("owner".into(), "moderator".into()));
                }
                Self::choose_next(spec, &st, o);
                State::Client(st)
            }
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<State>, random: &usize, o: &mut Out<Self>) {
        let MucActor::Client { spec, targets, .. } = self else {
            return;
        };
        let State::Client(st) = state.to_mut() else { return };
        st.remaining &= !(1 << random);
        let op = &spec.ops[*random];
        let iq_id = format!("op{random}");
        match op.stanza(&st.nick, &iq_id, targets) {
            Some(el) => {
                if op.is_iq() {
                    st.iqs.entry(iq_id).or_insert(0);
                }
                if *op == Op::Leave && st.in_room {
                    st.leaving = true;
                }
                o.send(server_id(), Msg::Stanza(el));
            }
            None => {
                st.connected = false;
                o.send(server_id(), Msg::Disconnect);
            }
        }
        Self::choose_next(spec, st, o);
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match self {
            MucActor::Server { clients, .. } => {
                let index = usize::from(src) - 1;
                let Some(from) = clients.get(index) else { return };
                let State::Server(svc) = state.to_mut() else {
                    return;
                };
                let inputs = match msg {
                    Msg::Stanza(el) => vec![el],
                    // The home server's unavailable for the directed presence: one room.
                    Msg::Disconnect => vec![Element::new("presence", server::ns::CLIENT)
                        .with_attr("to", ROOM)
                        .with_attr("type", "unavailable")],
                };
                for el in inputs {
                    let out = svc.handle(Millis(0), from.clone(), el);
                    for item in out.into_vec() {
                        if let Some(i) = clients.iter().position(|c| c.as_str() == item.to.as_str()) {
                            o.send(Id::from(i + 1), Msg::Stanza((*item.body).clone()));
                        }
                    }
                }
            }
            MucActor::Client { .. } => {
                let Msg::Stanza(el) = msg else { return };
                if let State::Client(st) = &**state {
                    if !st.connected {
                        return;
                    }
                }
                if let State::Client(st) = state.to_mut() {
                    st.observe(&el);
                }
            }
        }
    }
}

/// The room's occupants as nick -> (affiliation, role), the way clients see them.
pub fn room_view(svc: &MucService) -> std::collections::BTreeMap<String, (String, String)> {
    let room = BareJid::new(ROOM).expect("valid room JID");
    let mut v = std::collections::BTreeMap::new();
    if let Some(r) = svc.room(&room) {
        for occ in r.occupants() {
            let aff = r.affiliation(&occ.bare);
            v.insert(
                occ.nick.clone(),
                (aff.as_str().to_string(), occ.role.as_str().to_string()),
            );
        }
    }
    v
}

pub type Model = ActorModel<MucActor, (), ()>;

/// Builds the model for `scenario`, with all properties.
pub fn model(scenario: &scenario::Scenario) -> Model {
    let model = ActorModel::new((), ())
        .actors(scenario.actors())
        .init_network(Network::new_ordered([]));
    scenario::properties(model, scenario)
}
