//! The actors: actor 0 wraps the real `MucService`; actors 1.. are clients that pick
//! their operations in any order. Clients put operation numbers on the network and the
//! server actor builds the stanzas (the same builder replays use), so the explored
//! state never holds XML.

use crate::notice::{Nick, Nicks, Notice, MAX_NICKS};
use crate::ops::{room_jid, Op, RoomOp};
use mucsim_sim::Storage;
use oracle::judge::{self, Answer, Property, Snapshot, Violation};
use oracle::{IqBits, Iqs, RemovalFault, RoomSide};
use server::jids::{FullJid, Jid};
use server::xml::Element;
use server::{Millis, MucService, ServiceConfig};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One client: a session of a user, with its operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    pub jid: FullJid,
    pub nick: String,
    pub ops: Vec<RoomOp>,
}

/// Everything fixed about a world: the service's configuration, the stanzas that set
/// it up before checking starts, and the clients. Shared by every actor and state.
#[derive(Debug)]
pub struct Cast {
    pub cfg: ServiceConfig,
    /// Rooms in use: the first `rooms` of [`crate::ops::ROOMS`].
    pub rooms: usize,
    pub setup: Vec<(FullJid, Element)>,
    pub clients: Vec<ClientSpec>,
    pub nicks: Nicks,
    /// (bare JID, base nick) of every client, for operations that target one.
    pub targets: Vec<(String, String)>,
    /// Clients that may swap places (same user, nick and operations), by class.
    pub symmetry_classes: Vec<Vec<usize>>,
    /// Service crashes (each an immediate restart from the disk) a path may hold.
    pub crashes: u8,
    /// By client: in every room once the setup is done (the owner always).
    pub present: Vec<bool>,
    /// Clients perform their operations in the order listed.
    pub in_order: bool,
    /// Each room's occupant list after the setup, as the clients present saw it.
    pub initial_views: Vec<View>,
}

/// A client's view of one room in the compact form the checker stores.
pub type View = oracle::SlotView<MAX_NICKS, Nick>;

/// Most rooms a scenario may use.
pub const MAX_ROOMS: usize = crate::ops::ROOMS.len();

/// What a client knows about one room: the oracle's side (view, in or out, leaves
/// in flight) and what the model's client needs to act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomState {
    /// The nick the client uses here (its base nick or the alternative), as the
    /// room last told it.
    pub nick: Nick,
    /// Sent available presence to the room and no unavailable since (RFC 6121
    /// §4.6): its home server tells the room when it disconnects.
    pub directed: bool,
    pub side: RoomSide<View>,
}

/// One client actor's state: small and `Copy`-sized fields, because the checker
/// stores one per client per state. Every judgement is the oracle's. Its hash is
/// computed once, on first use (see the `Hash` impl): a state the checker holds is
/// never changed (a step changes a copy, and a copy starts without a hash), and
/// most steps leave most clients as they were, shared between the states.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientState {
    pub connected: bool,
    /// Operations not yet performed (bits index the client's op list).
    pub remaining: u32,
    pub rooms: [RoomState; MAX_ROOMS],
    /// iq operations sent and answered (bits by op).
    pub iqs: IqBits,
    pub removal_fault: Option<RemovalFault>,
    pub saw_revocation: bool,
    pub saw_registration_required: bool,
    /// The hash, once computed. Not part of the state: equal, ordered and shown as
    /// nothing; a clone starts without one.
    hash: HashCache,
}

/// A client state's hash once computed (see [`ClientState`]).
#[derive(Default)]
struct HashCache(std::sync::OnceLock<u64>);

impl Clone for HashCache {
    fn clone(&self) -> Self {
        HashCache::default()
    }
}

impl PartialEq for HashCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HashCache {}

impl PartialOrd for HashCache {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HashCache {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// Every field but the hash.
impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field("connected", &self.connected)
            .field("remaining", &self.remaining)
            .field("rooms", &self.rooms)
            .field("iqs", &self.iqs)
            .field("removal_fault", &self.removal_fault)
            .field("saw_revocation", &self.saw_revocation)
            .field("saw_registration_required", &self.saw_registration_required)
            .finish()
    }
}

/// The bytes of one room's part of a client's hash: nick, directed, in room,
/// leaving, joining, then one byte per view slot.
const ROOM_BYTES: usize = 5 + MAX_NICKS;

/// The cached hash of the fields (computed on first use; debug builds check that
/// the state was not changed since).
impl Hash for ClientState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let fields = || {
            let mut h = hasher();
            self.hash_fields(&mut h);
            h.finish()
        };
        let hash = *self.hash.0.get_or_init(fields);
        debug_assert_eq!(hash, fields(), "a client state changed after it was hashed");
        state.write_u64(hash);
    }
}

impl ClientState {
    /// Every field written as one run of bytes, each field and each slot of each
    /// view packed in a byte or a word (a slot: 0 when empty, else 1 + affiliation
    /// × 4 + role), instead of a derived field-by-field hash, which wrote every slot
    /// of every view separately (about a hundred writes per client). The packing is
    /// injective and a function of every field, so equal states hash equally (as
    /// `Eq` needs) and unequal ones are not made alike.
    fn hash_fields<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 1 + 4 + 12 + 2 + MAX_ROOMS * ROOM_BYTES];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            buf[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&[u8::from(self.connected)]);
        put(&self.remaining.to_le_bytes());
        put(&self.iqs.sent.to_le_bytes());
        put(&self.iqs.answered.to_le_bytes());
        put(&self.iqs.twice.to_le_bytes());
        put(&[
            u8::from(self.saw_revocation),
            u8::from(self.saw_registration_required),
        ]);
        for room in &self.rooms {
            put(&[
                room.nick.0,
                u8::from(room.directed),
                u8::from(room.side.in_room),
                room.side.leaving,
                room.side.joining,
            ]);
            let mut slots = [0u8; MAX_NICKS];
            for (byte, slot) in slots.iter_mut().zip(&room.side.view.0) {
                *byte = slot.map_or(0, |(a, r)| 1 + (a as u8) * 4 + r as u8);
            }
            put(&slots);
        }
        state.write(&buf);
        self.removal_fault.hash(state);
    }
}

impl ClientState {
    /// A client whose nick is `nick` in every room, inside the rooms in `in_rooms`
    /// (bits by room).
    pub fn new(nick: Nick, ops: usize, in_rooms: u8) -> ClientState {
        let side = |r: usize| {
            let inside = in_rooms & (1 << r) != 0;
            RoomState {
                nick,
                directed: inside,
                side: RoomSide::settled(inside, View::default()),
            }
        };
        ClientState {
            connected: true,
            remaining: if ops >= 32 { u32::MAX } else { (1u32 << ops) - 1 },
            rooms: [side(0), side(1)],
            iqs: IqBits::default(),
            removal_fault: None,
            saw_revocation: false,
            saw_registration_required: false,
            hash: HashCache::default(),
        }
    }

    pub fn room(&self, room: u8) -> &RoomState {
        &self.rooms[usize::from(room).min(MAX_ROOMS - 1)]
    }

    pub fn room_mut(&mut self, room: u8) -> &mut RoomState {
        &mut self.rooms[usize::from(room).min(MAX_ROOMS - 1)]
    }

    /// The client sends operation `index` (`op` in `room`): what the oracle must
    /// know of it (iqs, joins and leaves). A disconnect is not sent.
    pub fn sent(&mut self, index: u8, room: u8, op: &Op) {
        if op.is_iq() {
            self.iqs.sent(index);
        }
        let r = self.room_mut(room);
        match op {
            Op::Leave => {
                r.side.sent_leave();
                r.directed = false;
            }
            _ if op.is_directed_presence() => {
                r.side.sent_join();
                r.directed = true;
            }
            _ => {}
        }
    }

    /// Updates the client from one received notice.
    pub fn observe(&mut self, notice: &Notice) {
        match *notice {
            Notice::IqAnswer { op } => {
                self.iqs.answered(op);
            }
            Notice::PresenceError {
                room,
                registration_required,
            } => {
                self.room_mut(room).side.refused();
                self.saw_registration_required |= registration_required;
            }
            Notice::Presence { room, presence: p } => {
                let (unavailable, codes) = (p.unavailable, p.codes);
                let r = self.room_mut(room);
                let (fault, own) = r.side.observe(&p);
                if let Some(n) = own {
                    r.nick = n;
                }
                self.removal_fault = self.removal_fault.or(fault);
                use server::StatusCode::{AffiliationChanged, NickChanged, SelfPresence};
                if unavailable && codes.has(SelfPresence) && !codes.has(NickChanged) {
                    self.saw_revocation |= codes.has(AffiliationChanged);
                }
            }
        }
    }
}

/// What one client puts on the network, and what arrives at the service for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// Client → server: operation `op` of the sender, sent while its nick in the
    /// operation's room was `nick`.
    Op { op: u8, nick: Nick },
    /// Client → server: the client's stream ended after it had sent available
    /// presence to the rooms in `rooms` (bits by room); its home server sends each
    /// unavailable (RFC 6121 §4.6.3).
    Disconnect { rooms: u8 },
    /// Server → client: what the client reads of the stanzas the service sent it in
    /// answer to one input, in order. The service writes one input's answers in one
    /// go, and the client reads them in one go. Shared: the checker copies every
    /// message in flight with each state, and a symmetry rewrite copies them again.
    Notices(Arc<[Notice]>),
}

/// What the service receives, in order, when client `index` sends `msg`.
pub fn service_input(cast: &Cast, index: usize, msg: &Msg) -> Vec<Element> {
    let Some(spec) = cast.clients.get(index) else {
        return Vec::new();
    };
    match msg {
        Msg::Op { op, nick } => {
            let Some(step) = spec.ops.get(usize::from(*op)) else {
                return Vec::new();
            };
            let name = cast.nicks.name(*nick);
            let alt = cast.nicks.name(cast.nicks.alternative(*nick));
            let room = room_jid(step.room);
            step.op
                .stanza(room, name, alt, &format!("op{op}"), &cast.targets)
                .into_iter()
                .collect()
        }
        Msg::Disconnect { rooms } => {
            // The home server's rule, not restated here (RFC 6121 §4.6.3).
            let directed: Vec<Jid> = (0..cast.rooms as u8)
                .filter(|r| rooms & (1 << r) != 0)
                .map(|r| Jid::new(room_jid(r)).expect("a room JID is valid"))
                .collect();
            mucsim_sim::home::unavailable_on_unbind(None, &directed)
        }
        Msg::Notices(_) => Vec::new(),
    }
}

impl Cast {
    /// Client `i` by name, for people: "Romeo", "Juliet's phone" (a user's resource
    /// is named only when the user has more than one session).
    pub fn client_name(&self, i: usize) -> String {
        let Some(spec) = self.clients.get(i) else {
            return format!("client {i}");
        };
        let bare = spec.jid.to_bare();
        if self.clients.iter().filter(|c| c.jid.to_bare() == bare).count() > 1 {
            format!("{}'s {}", spec.nick, spec.jid.resource())
        } else {
            spec.nick.clone()
        }
    }

    /// The client a stanza from the service goes to, by full JID.
    pub fn client_index(&self, to: &str) -> Option<usize> {
        self.clients.iter().position(|c| c.jid.as_str() == to)
    }

    /// Where the service's output goes in the model, in the order it was sent: the
    /// client (by index), the stanza, and the notice that travels for it — none for a
    /// stanza no property reads (it is not put on the model's network). Stanzas to
    /// anyone else are dropped.
    pub fn route(&self, out: Vec<server::Outgoing>) -> Vec<(usize, server::Outgoing, Option<Notice>)> {
        out.into_iter()
            .filter_map(|item| {
                let to = self.client_index(item.to.as_str())?;
                let notice = Notice::of(&item.body, &self.nicks);
                Some((to, item, notice))
            })
            .collect()
    }

    /// A fresh service with the setup applied.
    pub fn fresh_service(&self) -> MucService {
        let mut svc =
            MucService::new(self.cfg.clone()).expect("the scenario's service configuration is valid");
        for (from, el) in &self.setup {
            let _ = svc.handle(Millis(0), from.clone(), el.clone());
        }
        svc
    }
}

/// What the server keeps beyond its service when crashes are modelled: its storage
/// (the disk, and — a ghost, for the properties — what the service told of) and the
/// crashes so far. Within one model step the stanzas and the storage effects go
/// together; only the missing sync of a faulty service leaves a write a crash can lose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Durability {
    pub storage: Storage,
    pub crashes: u8,
}

/// The oracle's verdicts on the requests the service handled on this path: for each
/// of [`Property::ALL`], the first violation (a ghost the properties read; the
/// service never sees it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Judged(pub [Option<Violation>; Property::ALL.len()]);

impl Judged {
    fn note(&mut self, v: Option<Violation>) {
        let Some(v) = v else { return };
        let i = Property::ALL
            .iter()
            .position(|p| *p == v.property())
            .expect("every violation names a property");
        self.0[i] = self.0[i].or(Some(v));
    }

    /// The first violation of `p` on this path.
    pub fn of(&self, p: Property) -> Option<Violation> {
        let i = Property::ALL.iter().position(|q| *q == p)?;
        self.0[i]
    }
}

/// Judges one input of client `index` (the oracle decides; this only gathers what
/// it needs): the request the input makes, with the room snapshotted through the
/// service's public read API before and after, and every real JID the service's
/// answer shows.
fn judge_input(
    cast: &Cast,
    index: usize,
    msg: &Msg,
    before: &[Option<Snapshot>],
    after: &[Option<Snapshot>],
    out: &[server::Outgoing],
    judged: &mut Judged,
) {
    let sender = cast.clients[index].jid.as_str();
    if let Msg::Op { op, .. } = msg {
        if let Some(step) = cast.clients[index].ops.get(usize::from(*op)) {
            let r = usize::from(step.room);
            if let Some(room_before) = &before[r] {
                let flags = Some(room_before.flags);
                if let Some(req) = step.op.request(&cast.targets, flags) {
                    let answer = Answer::of_reply(sender, out);
                    judged.note(judge::judge(room_before, sender, &req, answer, after[r].as_ref()));
                }
            }
        }
    }
    for (viewer, room, nick) in judge::shown_real_jids(out) {
        let Some(r) = crate::ops::room_index(room).map(usize::from) else {
            continue;
        };
        let rooms: Vec<&Snapshot> = before[r].iter().chain(after[r].iter()).collect();
        judged.note(judge::real_jid_shown(&rooms, viewer, nick));
    }
}

/// Each of the cast's rooms as the service holds it now.
fn snapshots(cast: &Cast, svc: &MucService) -> Vec<Option<Snapshot>> {
    (0..cast.rooms as u8)
        .map(|r| svc.room(crate::ops::room_bare_jid(r)).map(Snapshot::of))
        .collect()
}

/// The service with its hash computed once, when it changes: a state is hashed every
/// time the checker meets it, and the service is by far its largest part. The cast
/// rides along (not hashed) so a symmetry rewrite can rename sessions. A state is
/// never changed once built (a new step builds a new one), so the invariants the
/// service breaks are also computed once, on the first property that asks.
#[derive(Clone)]
pub struct ServerState {
    hash: u64,
    /// Bit `i`: the service breaks [`server::Invariant::ALL`]`[i]`
    /// ([`MucService::violations`]); filled on the first [`ServerState::violates`].
    violated: std::sync::OnceLock<u32>,
    pub svc: MucService,
    pub durability: Durability,
    pub judged: Judged,
    /// A ghost, for the order property: the first XEP-0045 order rule a reply of
    /// the service broke on this path (`oracle::order`, judged on each outbox before
    /// it is split into notices, which cannot show order across clients), by its
    /// citation. `None` on every path of a correct service, so it adds no states.
    pub order_fault: Option<&'static str>,
    pub cast: Arc<Cast>,
}

impl ServerState {
    pub fn new(svc: MucService, cast: Arc<Cast>) -> ServerState {
        ServerState::with(svc, Durability::default(), Judged::default(), cast)
    }

    pub fn with(svc: MucService, durability: Durability, judged: Judged, cast: Arc<Cast>) -> ServerState {
        ServerState::judged(svc, durability, judged, None, cast)
    }

    /// A state carrying the oracle's verdicts and an order fault (see
    /// [`ServerState::order_fault`]).
    pub fn judged(
        svc: MucService,
        durability: Durability,
        judged: Judged,
        order_fault: Option<&'static str>,
        cast: Arc<Cast>,
    ) -> ServerState {
        let mut h = hasher();
        svc.hash(&mut h);
        durability.hash(&mut h);
        judged.hash(&mut h);
        if order_fault.is_some() {
            order_fault.hash(&mut h);
        }
        ServerState {
            hash: h.finish(),
            violated: std::sync::OnceLock::new(),
            svc,
            durability,
            judged,
            order_fault,
            cast,
        }
    }

    /// Whether the service breaks `inv` (one of [`MucService::violations`]). The
    /// `always` property of each invariant asks this; the service's rooms are walked
    /// once per state, not once per invariant.
    pub fn violates(&self, inv: server::Invariant) -> bool {
        let bits = *self.violated.get_or_init(|| {
            self.svc.violations().iter().fold(0, |bits, v| {
                bits | server::Invariant::ALL
                    .iter()
                    .position(|i| *i == v.invariant)
                    .map_or(0, |i| 1 << i)
            })
        });
        server::Invariant::ALL
            .iter()
            .position(|i| *i == inv)
            .is_some_and(|i| bits & (1 << i) != 0)
    }
}

/// The hasher of a server state's cached hash: aHash with fixed keys (stateright
/// fingerprints states with the same), several times faster than SipHash on the
/// service's many short strings. Only equal states must hash equally within one
/// run; the keys are fixed so that runs are alike too.
fn hasher() -> impl Hasher {
    use std::hash::BuildHasher;
    ahash::RandomState::with_seeds(
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
    .build_hasher()
}

/// The rooms only: the configuration and the cast are the same in every state.
impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.svc.rooms()).finish()
    }
}

impl Hash for ServerState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for ServerState {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.svc == other.svc
            && self.durability == other.durability
            && self.judged == other.judged
            && self.order_fault == other.order_fault
    }
}

impl Eq for ServerState {}

impl PartialOrd for ServerState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders by hash (the order is used to sort clients, never servers, so its only
/// job is to be a total order that agrees with `Eq`); two unequal states whose hashes
/// collide are told apart by their debug form, which shows every room field and the
/// durability (the configuration and cast are the same in every state).
impl Ord for ServerState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.hash.cmp(&other.hash).then_with(|| {
            if self == other {
                std::cmp::Ordering::Equal
            } else {
                let show = |s: &ServerState| {
                    format!(
                        "{:?} {:?} {:?} {:?}",
                        s.svc, s.durability, s.judged, s.order_fault
                    )
                };
                show(self).cmp(&show(other))
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Server(ServerState),
    Client(ClientState),
}

#[derive(Clone, Debug)]
pub enum MucActor {
    Server(Arc<Cast>),
    Client { index: usize, cast: Arc<Cast> },
}

/// The server's one random choice: crash now.
pub const CRASH: usize = 0;

fn server_id() -> Id {
    Id::from(0)
}

impl MucActor {
    fn choose_next(spec: &ClientSpec, cast_in_order: bool, st: &ClientState, o: &mut Out<Self>) {
        if !st.connected {
            return;
        }
        let choices: Vec<usize> = (0..spec.ops.len())
            .filter(|i| st.remaining & (1 << i) != 0)
            .collect();
        if let (true, Some(first)) = (cast_in_order, choices.first()) {
            o.choose_random("op", vec![*first]);
        } else if !choices.is_empty() {
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

    /// The name the Explorer's sequence diagrams label the actor with.
    fn name(&self) -> String {
        match self {
            MucActor::Server(_) => "the service".into(),
            MucActor::Client { index, cast } => cast.client_name(*index),
        }
    }

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        match self {
            MucActor::Server(cast) => {
                let svc = cast.fresh_service();
                let mut durability = Durability::default();
                if cast.crashes > 0 {
                    // The setup's rooms are on disk, and told of.
                    durability.storage = Storage::with_records(svc.records());
                    o.choose_random("crash", vec![CRASH]);
                }
                State::Server(ServerState::with(
                    svc,
                    durability,
                    Judged::default(),
                    cast.clone(),
                ))
            }
            MucActor::Client { index, cast } => {
                let spec = &cast.clients[*index];
                let present = cast.present.get(*index).copied().unwrap_or(false);
                let nick = cast.nicks.get(&spec.nick);
                let in_rooms = if present { (1u8 << cast.rooms) - 1 } else { 0 };
                let mut st = ClientState::new(nick, spec.ops.len(), in_rooms);
                if present {
                    // The owner created the rooms in the setup, the others present
                    // joined them; each saw the room as it then stood.
                    for (room, view) in st.rooms.iter_mut().zip(&cast.initial_views) {
                        room.side.view = *view;
                    }
                }
                Self::choose_next(spec, cast.in_order, &st, o);
                State::Client(st)
            }
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<State>, random: &usize, o: &mut Out<Self>) {
        let (index, cast) = match self {
            MucActor::Client { index, cast } => (index, cast),
            MucActor::Server(cast) => {
                // The service crashes and restarts at once from its disk.
                let State::Server(server) = &**state else { return };
                let mut durability = server.durability.clone();
                let Ok((svc, _)) = durability.storage.disk.crash_and_restart(cast.cfg.clone()) else {
                    return;
                };
                durability.crashes += 1;
                if durability.crashes < cast.crashes {
                    o.choose_random("crash", vec![CRASH]);
                }
                *state = Cow::Owned(State::Server(ServerState::judged(
                    svc,
                    durability,
                    server.judged,
                    server.order_fault,
                    cast.clone(),
                )));
                return;
            }
        };
        let spec = &cast.clients[*index];
        let State::Client(st) = state.to_mut() else { return };
        st.remaining &= !(1 << random);
        let RoomOp { room, op } = &spec.ops[*random];
        if *op == Op::Disconnect {
            st.connected = false;
            for r in &mut st.rooms {
                r.side.closed();
            }
            let rooms = (0..cast.rooms as u8)
                .filter(|r| st.room(*r).directed)
                .fold(0u8, |m, r| m | (1 << r));
            if rooms != 0 {
                o.send(server_id(), Msg::Disconnect { rooms });
            }
            return;
        }
        st.sent(*random as u8, *room, op);
        let nick = st.room(*room).nick;
        o.send(
            server_id(),
            Msg::Op {
                op: *random as u8,
                nick,
            },
        );
        Self::choose_next(spec, cast.in_order, st, o);
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match self {
            MucActor::Server(cast) => {
                let index = usize::from(src) - 1;
                let inputs = service_input(cast, index, &msg);
                if inputs.is_empty() {
                    return;
                }
                let State::Server(server) = &**state else { return };
                let mut svc = server.svc.clone();
                let mut durability = server.durability.clone();
                let mut judged = server.judged;
                let before = snapshots(cast, &svc);
                let mut out = Vec::new();
                let mut order_fault = server.order_fault;
                for el in inputs {
                    // Only requests the order rules speak of are kept to judge by.
                    let request = oracle::order::use_case(&el).map(|_| el.clone());
                    let outbox = svc.handle(Millis(0), cast.clients[index].jid.clone(), el);
                    if let (Some(req), None) = (&request, order_fault) {
                        let broken = oracle::order::violations(req, outbox.iter().map(|o| &*o.body));
                        order_fault = broken.first().map(|r| r.cites);
                    }
                    if cast.crashes > 0 {
                        durability.storage.absorb(outbox.store_ops());
                        durability.storage.note_tombstones(&svc);
                    }
                    out.extend(outbox);
                }
                judge_input(
                    cast,
                    index,
                    &msg,
                    &before,
                    &snapshots(cast, &svc),
                    &out,
                    &mut judged,
                );
                let mut batches: Vec<Vec<Notice>> = vec![Vec::new(); cast.clients.len()];
                for (to, _, notice) in cast.route(out) {
                    batches[to].extend(notice);
                }
                for (to, batch) in batches.into_iter().enumerate() {
                    if !batch.is_empty() {
                        o.send(Id::from(to + 1), Msg::Notices(batch.into()));
                    }
                }
                *state = Cow::Owned(State::Server(ServerState::judged(
                    svc,
                    durability,
                    judged,
                    order_fault,
                    cast.clone(),
                )));
            }
            MucActor::Client { .. } => {
                let Msg::Notices(batch) = msg else { return };
                match &**state {
                    State::Client(st) if st.connected => {}
                    _ => return,
                }
                if let State::Client(st) = state.to_mut() {
                    for n in batch.iter() {
                        st.observe(n);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_state_order_agrees_with_equality_on_a_hash_collision() {
        let scenario = crate::scenario::Scenario::revocation();
        let cast = Arc::new(scenario.cast().expect("a valid scenario"));
        let a = ServerState::new(
            MucService::new(cast.cfg.clone()).expect("a valid domain"),
            cast.clone(),
        );
        let mut b = ServerState::new(
            MucService::new(cast.cfg.clone()).expect("a valid domain"),
            cast.clone(),
        );
        b.durability.crashes = 1;
        // Forge a collision: the order must still see two different states.
        b.hash = a.hash;
        assert_ne!(a, b);
        assert_ne!(a.cmp(&b), std::cmp::Ordering::Equal);
        assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        assert_eq!(a.cmp(&a.clone()), std::cmp::Ordering::Equal);
    }

    /// The packed, cached hash of a client state tells apart states that differ in
    /// any one field (a packing that dropped a field would merge states the checker
    /// must keep apart), and a changed copy does not keep its original's hash.
    #[test]
    fn a_client_state_hash_sees_every_field() {
        use server::{Affiliation, Role};
        let hash = |c: &ClientState| {
            let mut h = std::hash::DefaultHasher::new();
            c.hash(&mut h);
            h.finish()
        };
        let base = ClientState::new(Nick(1), 3, 1);
        let h0 = hash(&base);
        type Change = Box<dyn Fn(&mut ClientState)>;
        let changes: Vec<(&str, Change)> = vec![
            ("connected", Box::new(|c| c.connected = false)),
            ("remaining", Box::new(|c| c.remaining = 1)),
            ("iqs", Box::new(|c| c.iqs.sent(2))),
            ("saw_revocation", Box::new(|c| c.saw_revocation = true)),
            (
                "saw_registration_required",
                Box::new(|c| c.saw_registration_required = true),
            ),
            ("nick", Box::new(|c| c.rooms[1].nick = Nick(2))),
            ("directed", Box::new(|c| c.rooms[1].directed = true)),
            ("in_room", Box::new(|c| c.rooms[1].side.in_room = true)),
            ("leaving", Box::new(|c| c.rooms[0].side.leaving = 1)),
            ("joining", Box::new(|c| c.rooms[0].side.joining = 1)),
            (
                "view",
                Box::new(|c| c.rooms[0].side.view.0[15] = Some((Affiliation::Outcast, Role::None))),
            ),
            (
                "seat",
                Box::new(|c| {
                    c.rooms[0].side.view.0[3] = Some((Affiliation::Member, Role::Visitor));
                }),
            ),
            (
                "removal_fault",
                Box::new(|c| {
                    c.removal_fault = Some(RemovalFault::NoCause(oracle::Codes::default()));
                }),
            ),
        ];
        let mut seat = base.clone();
        seat.rooms[0].side.view.0[3] = Some((Affiliation::None, Role::Participant));
        for (field, change) in &changes {
            let mut c = base.clone();
            change(&mut c);
            assert_ne!(c, base, "{field}");
            assert_ne!(hash(&c), h0, "{field} is not in the hash");
            if *field == "seat" {
                assert_ne!(
                    hash(&c),
                    hash(&seat),
                    "the seat's affiliation and role are packed apart"
                );
            }
        }
        assert_eq!(hash(&base.clone()), h0, "a copy hashes as its original");
    }

    fn notice(xml: &str, nicks: &Nicks) -> Notice {
        let el = server::xml::parse_stanza(xml.as_bytes(), server::ns::CLIENT, &Default::default())
            .expect("a stanza");
        Notice::of(&el, nicks).expect("a notice")
    }

    /// The leave-in-flight case of issue 20, the same sequence as the swarm's test
    /// `swarm::driver::tests::a_kick_overtaking_a_leave_cancels_it`: Juliet leaves,
    /// a kick overtakes the leave, she rejoins, and a removal without cause then
    /// arrives. The same verdict: removed without a cause.
    #[test]
    fn a_kick_overtaking_a_leave_cancels_it() {
        let nicks = Nicks::new(["Romeo", "Juliet"]).expect("nicks");
        let entered = notice(
            "<presence from='room@conference.localhost/Juliet'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/>\
             <status code='110'/></x></presence>",
            &nicks,
        );
        let kicked = notice(
            "<presence from='room@conference.localhost/Juliet' type='unavailable'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/>\
             <status code='307'/><status code='110'/></x></presence>",
            &nicks,
        );
        let gone = notice(
            "<presence from='room@conference.localhost/Juliet' type='unavailable'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/>\
             <status code='110'/></x></presence>",
            &nicks,
        );
        let mut st = ClientState::new(nicks.get("Juliet"), 3, 0);
        st.sent(0, 0, &Op::Join);
        st.observe(&entered);
        st.sent(1, 0, &Op::Leave);
        st.observe(&kicked);
        assert_eq!(st.removal_fault, None, "the kick overtakes the leave");
        st.sent(2, 0, &Op::Join);
        st.observe(&entered);
        st.observe(&gone);
        assert!(
            matches!(st.removal_fault, Some(RemovalFault::NoCause(_))),
            "{:?}",
            st.removal_fault
        );
    }
}
