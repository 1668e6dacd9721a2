//! The simulated world: a virtual clock, one seeded PRNG, a home server (`localhost`)
//! with client connections, per-connection FIFO links, and the MUC service on
//! `conference.localhost`. Nothing here reads real time or real randomness, so one
//! seed gives one history.

use crate::disk::{SimDisk, Storage};
use crate::home::{HomeServer, Route};
use crate::transcript::{Event, Transcript};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server::jids::{FullJid, Jid};
use server::muc::Millis;
use server::xml::{Element, Limits, RefusedStanza, StreamEvent, StreamParser};
use server::{MucService, RoomRecord, ServiceConfig};
use std::collections::{BTreeMap, VecDeque};

fn describe(r: Option<&RoomRecord>) -> String {
    match r {
        None => "gone".to_string(),
        Some(r) => {
            let affs: Vec<String> = r
                .affiliations
                .iter()
                .map(|(j, a)| format!("{j}={}", a.as_str()))
                .collect();
            format!(
                "[{}; members-only {}; persistent {}]",
                affs.join(", "),
                r.config.members_only,
                r.config.persistent
            )
        }
    }
}

/// The PRNG every random choice in a world draws from: ChaCha8, seeded with the
/// world's seed (`ChaCha8Rng::seed_from_u64`). Fixed so that seeds replay across
/// versions of this crate.
pub type WorldRng = ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct WorldConfig {
    pub seed: u64,
    /// The home server's domain; clients' JIDs must be on it.
    pub home_domain: String,
    /// One-way link latency in virtual milliseconds, drawn uniformly per stanza.
    pub latency_ms: (u64, u64),
    pub service: ServiceConfig,
    /// Keep the transcript (off for long swarm runs; failing seeds are re-run with it).
    pub record_transcript: bool,
    /// The limits of the parser that reads what clients write with
    /// [`World::send_xml`]: a stanza over a per-stanza limit reaches the server as
    /// a refusal, as it reaches `mucsim serve` from its component stream.
    pub stanza_limits: Limits,
}

impl WorldConfig {
    /// Prosody's test setup: `localhost` and `conference.localhost`.
    pub fn new(seed: u64) -> WorldConfig {
        WorldConfig {
            seed,
            home_domain: "localhost".to_string(),
            latency_ms: (1, 5),
            service: ServiceConfig {
                // The world checks invariants itself and records the first violation
                // (a panic would lose the transcript).
                assert_invariants: false,
                // The corpus config's `admins = { "Admin@localhost" }` on the MUC.
                admins: vec![server::jids::BareJid::new("admin@localhost").expect("valid JID")],
                ..ServiceConfig::new("conference.localhost", seed)
            },
            record_transcript: true,
            stanza_limits: Limits::default(),
        }
    }
}

/// A connection, valid for the life of the world (a reconnect gets a new one);
/// defined beside scansion's `Backend`, which numbers connections with it.
pub use mucsim_scansion::ConnId;

/// The link to one client: what it has read and the FIFO bookkeeping of its two
/// directions. The session behind it (JID, presence state) is the home server's.
#[derive(Debug)]
pub(crate) struct Conn {
    pub label: String,
    /// Stanzas delivered to the client and not yet taken by whoever drives it.
    pub inbox: VecDeque<Delivery>,
    /// Latest delivery time scheduled on each direction, to keep each link FIFO.
    up_last: u64,
    down_last: u64,
    /// While set, deliveries to this client wait (a client that stops reading).
    pub paused_until: Option<u64>,
}

#[derive(Debug)]
enum Hop {
    /// Client to server.
    Up(ConnId, Element),
    /// Client to server: a stanza the parser skipped (over a per-stanza limit).
    UpRefused(ConnId, RefusedStanza),
    /// The client closes its stream after everything it sent before.
    Close(ConnId),
    /// Server to client.
    Down(ConnId, Delivery),
}

/// A stanza delivered to a client: whole, or one the service sent, whose body the
/// other recipients of a broadcast share ([`server::Outgoing`]: `to` beside the body).
#[derive(Debug)]
pub enum Delivery {
    Whole(Element),
    Service(server::Outgoing),
}

impl Delivery {
    /// The complete stanza, `to` included.
    pub fn into_element(self) -> Element {
        match self {
            Delivery::Whole(el) => el,
            Delivery::Service(o) => o.element(),
        }
    }

    /// The stanza for a reader that does not look at its `to` (the client it reached
    /// knows its own address): a service stanza's shared body carries none.
    pub fn ignoring_to(&self) -> &Element {
        match self {
            Delivery::Whole(el) => el,
            Delivery::Service(o) => &o.body,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorldError {
    BadJid(String),
    WrongDomain(String),
    ResourceInUse(String),
    NotConnected(String),
    /// What a client wrote is not well-formed XML (a stream error in real life).
    BadXml(String),
}

impl std::fmt::Display for WorldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorldError::BadJid(j) => write!(f, "'{j}' is not a valid JID"),
            WorldError::WrongDomain(j) => write!(f, "'{j}' is not on this home server"),
            WorldError::ResourceInUse(j) => write!(f, "{j} is already connected"),
            WorldError::NotConnected(c) => write!(f, "{c} is not connected"),
            WorldError::BadXml(e) => write!(f, "not well-formed XML: {e}"),
        }
    }
}

impl std::error::Error for WorldError {}

/// Watches every input the service handles, as the service receives it: the swarm's
/// judge (`sim::swarm::judge`) snapshots the addressed room before and judges the
/// request after. It only reads; the world's behaviour does not depend on it.
pub trait ServiceTap: Send {
    /// The service as it stands when `el` from `from` reaches it.
    fn before(&mut self, svc: &MucService, from: &FullJid, el: &Element);
    /// The service once it handled `el`, and what it sent, in order.
    fn after(&mut self, svc: &MucService, from: &FullJid, el: &Element, out: &[server::Outgoing]);
    /// For the tap's owner to read what it found.
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}

pub struct World {
    cfg: WorldConfig,
    /// Watches the service's inputs, if set ([`World::set_tap`]).
    tap: Option<Box<dyn ServiceTap>>,
    now: u64,
    rng: WorldRng,
    service: MucService,
    home: HomeServer,
    pub(crate) conns: Vec<Conn>,
    in_flight: BTreeMap<(u64, u64), Hop>,
    seq: u64,
    transcript: Transcript,
    stats: Stats,
    /// The first service invariant broken, checked after every input to the service.
    violation: Option<server::Violation>,
    /// What reached the server, in order (kept with the transcript).
    arrivals: Vec<Arrival>,
    /// The service's storage, and what it told of.
    storage: Storage,
    /// The first promise a crash broke (a change told of but lost).
    lost: Option<String>,
    crashes: u64,
}

/// One thing that reached the server from a client, in the order it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A client logged in (label, full JID).
    Connect(String, String),
    /// A stanza as the client wrote it (label, stanza).
    Stanza(String, Element),
    /// The client's stream ended (label).
    Close(String),
}

/// Counters a world keeps as it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    pub delivered: u64,
    pub service_inputs: u64,
}

impl World {
    pub fn new(cfg: WorldConfig) -> World {
        let service =
            MucService::new(cfg.service.clone()).expect("the world's service configuration is valid");
        let home = HomeServer::new(&cfg.home_domain, &cfg.service.domain);
        World {
            rng: WorldRng::seed_from_u64(cfg.seed),
            cfg,
            now: 0,
            service,
            home,
            conns: Vec::new(),
            in_flight: BTreeMap::new(),
            seq: 0,
            transcript: Transcript::default(),
            stats: Stats::default(),
            violation: None,
            arrivals: Vec::new(),
            tap: None,
            storage: Storage::default(),
            lost: None,
            crashes: 0,
        }
    }

    pub fn disk(&self) -> &SimDisk {
        &self.storage.disk
    }

    /// Crashes handled so far.
    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    /// A change the service told of and lost in a crash, if any.
    pub fn lost_on_crash(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// The service crashes and restarts at once: unsynced writes and every room's
    /// occupants are gone; kept rooms come back from the disk. Stanzas already on
    /// the wire still arrive (at the new service, or at their clients).
    pub fn crash_service(&mut self) {
        self.crashes += 1;
        let (svc, report) = match self.storage.disk.crash_and_restart(self.cfg.service.clone()) {
            Ok(r) => r,
            Err(e) => {
                self.lost
                    .get_or_insert(format!("the service cannot restart from its disk: {e}"));
                return;
            }
        };
        self.service = svc;
        if self.cfg.record_transcript {
            let text = format!("crashes: {report}");
            self.transcript
                .push(self.now(), &self.cfg.service.domain.clone(), Event::Note(text));
        }
        if self.lost.is_none() {
            if let Some((room, now, told)) = self.storage.broken_promise(&self.service, |a, b| a == b) {
                self.lost = Some(format!(
                    "after a crash {room} is {} but the service had told of {}",
                    describe(now.as_ref()),
                    describe(told)
                ));
            }
        }
        if self.lost.is_none() {
            if let Some((room, now, told)) = self.storage.broken_tombstone(&self.service) {
                let show = |t: Option<&server::Tombstone>| match t {
                    Some(t) => format!("a tombstone until {}", t.expires.to_xep0082()),
                    None => "no tombstone".to_string(),
                };
                self.lost = Some(format!(
                    "after a crash {room} has {} but the service had told of {}",
                    show(now),
                    show(told)
                ));
            }
        }
    }

    pub fn now(&self) -> Millis {
        Millis(self.now)
    }

    pub fn rng(&mut self) -> &mut WorldRng {
        &mut self.rng
    }

    pub fn service(&self) -> &MucService {
        &self.service
    }

    /// Everything that reached the server, in arrival order (when the transcript is
    /// kept): played one at a time, it gives the service the same inputs.
    /// Sets the tap that watches every input the service handles.
    pub fn set_tap(&mut self, tap: Box<dyn ServiceTap>) {
        self.tap = Some(tap);
    }

    /// The tap, if one is set.
    pub fn tap(&mut self) -> Option<&mut (dyn ServiceTap + 'static)> {
        self.tap.as_deref_mut()
    }

    pub fn arrivals(&self) -> &[Arrival] {
        &self.arrivals
    }

    /// The first invariant violation the service showed, if any.
    pub fn violation(&self) -> Option<&server::Violation> {
        self.violation.as_ref()
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn config(&self) -> &WorldConfig {
        &self.cfg
    }

    /// Records a remark in the transcript (e.g. a stanza the runner skipped).
    pub fn note(&mut self, conn: ConnId, text: impl Into<String>) {
        let label = self.conns[conn.0].label.clone();
        self.transcript.push(self.now(), &label, Event::Note(text.into()));
    }

    /// Logs `label` in as `jid` and binds `resource`, or one derived from the seed.
    /// Like the scripts' Prosody, any password is accepted and no presence is sent.
    pub fn connect(&mut self, label: &str, jid: &str, resource: Option<&str>) -> Result<ConnId, WorldError> {
        // The JID may carry the resource itself (`jid: romeo@localhost/abc`).
        let given = Jid::new(jid).map_err(|_| WorldError::BadJid(jid.to_string()))?;
        let bare = given.to_bare();
        if bare.domain().as_str() != self.cfg.home_domain || bare.node().is_none() {
            return Err(WorldError::WrongDomain(jid.to_string()));
        }
        let resource = match (resource, given.resource()) {
            (Some(r), _) => r.to_string(),
            (None, Some(r)) => r.to_string(),
            (None, None) => format!("sim-{:08x}", self.rng.next_u32()),
        };
        let full = bare
            .with_resource_str(&resource)
            .map_err(|_| WorldError::BadJid(format!("{jid}/{resource}")))?;
        let Some(id) = self.home.bind(full.clone()) else {
            return Err(WorldError::ResourceInUse(full.to_string()));
        };
        self.conns.push(Conn {
            label: label.to_string(),
            inbox: VecDeque::new(),
            up_last: self.now,
            down_last: self.now,
            paused_until: None,
        });
        if self.cfg.record_transcript {
            self.transcript.push(
                self.now(),
                label,
                Event::Connect {
                    full_jid: full.to_string(),
                },
            );
            self.arrivals
                .push(Arrival::Connect(label.to_string(), full.to_string()));
        }
        debug_assert_eq!(id.0, self.conns.len() - 1, "one link per session");
        Ok(id)
    }

    pub fn full_jid(&self, conn: ConnId) -> &FullJid {
        &self.home.session(conn).jid
    }

    pub fn label(&self, conn: ConnId) -> &str {
        &self.conns[conn.0].label
    }

    pub fn is_open(&self, conn: ConnId) -> bool {
        self.home.session(conn).open
    }

    /// The client writes a stanza; it reaches the server after the link's latency,
    /// after everything this client wrote before.
    pub fn send(&mut self, conn: ConnId, stanza: Element) -> Result<(), WorldError> {
        let c = &self.conns[conn.0];
        if !self.home.session(conn).open {
            return Err(WorldError::NotConnected(c.label.clone()));
        }
        if self.cfg.record_transcript {
            let label = c.label.clone();
            self.transcript
                .push(self.now(), &label, Event::Send(stanza.clone()));
        }
        self.stats.sent += 1;
        let at = self.up_time(conn);
        self.schedule(at, Hop::Up(conn, stanza));
        Ok(())
    }

    /// The client writes stanzas as bytes, read by a parser with
    /// `WorldConfig::stanza_limits`: each stanza is sent as by [`World::send`]; one
    /// over a per-stanza limit travels the same link as a refusal, and the server
    /// answers it (`MucService::refuse_stanza` for the MUC domain). A fault of the
    /// stream (not well-formed, over the stream budget) is `BadXml`, and nothing
    /// after it is sent.
    pub fn send_xml(&mut self, conn: ConnId, xml: &str) -> Result<(), WorldError> {
        let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
        let mut p = StreamParser::new(self.cfg.stanza_limits);
        let mut events = Vec::new();
        let parsed = p
            .feed_into(header.as_bytes(), &mut events)
            .and_then(|()| p.feed_into(xml.as_bytes(), &mut events));
        for ev in events {
            match ev {
                StreamEvent::Stanza(el) => self.send(conn, el)?,
                StreamEvent::Refused(r) => self.send_refused(conn, *r)?,
                StreamEvent::Open(_) | StreamEvent::Close => {}
            }
        }
        parsed.map_err(|e| WorldError::BadXml(e.to_string()))
    }

    fn send_refused(&mut self, conn: ConnId, r: RefusedStanza) -> Result<(), WorldError> {
        let c = &self.conns[conn.0];
        if !self.home.session(conn).open {
            return Err(WorldError::NotConnected(c.label.clone()));
        }
        if self.cfg.record_transcript {
            let label = c.label.clone();
            let note = format!("sent a <{}> the parser refused: {}", r.name, r.limit);
            self.transcript.push(self.now(), &label, Event::Note(note));
        }
        self.stats.sent += 1;
        let at = self.up_time(conn);
        self.schedule(at, Hop::UpRefused(conn, r));
        Ok(())
    }

    /// The client closes its stream (after what it already wrote).
    pub fn disconnect(&mut self, conn: ConnId) -> Result<(), WorldError> {
        let c = &self.conns[conn.0];
        if !self.home.session(conn).open {
            return Err(WorldError::NotConnected(c.label.clone()));
        }
        let label = c.label.clone();
        self.transcript.push(self.now(), &label, Event::Disconnect);
        let at = self.up_time(conn);
        self.schedule(at, Hop::Close(conn));
        Ok(())
    }

    /// Stops delivering to `conn` until `until` (a client that stops reading).
    pub fn pause_reading(&mut self, conn: ConnId, until: Millis) {
        self.conns[conn.0].paused_until = Some(until.0);
    }

    /// Takes the next stanza the client has read, if any.
    pub fn take_received(&mut self, conn: ConnId) -> Option<Element> {
        self.conns[conn.0].inbox.pop_front().map(Delivery::into_element)
    }

    /// Takes the next stanza the client has read, if any, without writing its `to`
    /// into a service stanza's shared body ([`Delivery::ignoring_to`]).
    pub fn take_delivery(&mut self, conn: ConnId) -> Option<Delivery> {
        self.conns[conn.0].inbox.pop_front()
    }

    pub fn has_received(&self, conn: ConnId) -> bool {
        !self.conns[conn.0].inbox.is_empty()
    }

    /// True when nothing is in flight.
    pub fn is_quiet(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Virtual time of the next delivery.
    pub fn next_event_at(&self) -> Option<Millis> {
        self.in_flight.keys().next().map(|(t, _)| Millis(*t))
    }

    /// Delivers the next hop, advancing the clock to it. False when quiet.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), hop)) = self.in_flight.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        match hop {
            Hop::Up(conn, el) => self.arrive_at_server(conn, el),
            Hop::UpRefused(conn, r) => {
                if self.home.session(conn).open {
                    let routes = self.home.client_refused(conn, r);
                    self.route_all(routes);
                }
            }
            Hop::Close(conn) => {
                if self.cfg.record_transcript && self.home.session(conn).open {
                    let label = self.conns[conn.0].label.clone();
                    self.arrivals.push(Arrival::Close(label));
                }
                self.close(conn, None)
            }
            Hop::Down(conn, el) => self.arrive_at_client(conn, el),
        }
        true
    }

    /// Runs until nothing is in flight.
    pub fn run_until_quiet(&mut self) {
        while self.step() {}
    }

    /// Runs until `conn` has something to read, the world is quiet, or `deadline`.
    /// True when there is something to read.
    pub fn run_until_received(&mut self, conn: ConnId, deadline: Millis) -> bool {
        loop {
            if self.has_received(conn) {
                return true;
            }
            match self.next_event_at() {
                Some(t) if t <= deadline => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(deadline.0);
                    return false;
                }
            }
        }
    }

    /// Advances the clock without delivering anything due later.
    pub fn advance_to(&mut self, t: Millis) {
        while matches!(self.next_event_at(), Some(n) if n <= t) {
            self.step();
        }
        self.now = self.now.max(t.0);
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.cfg.latency_ms;
        if hi <= lo {
            return lo;
        }
        lo + u64::from(self.rng.next_u32()) % (hi - lo + 1)
    }

    fn up_time(&mut self, conn: ConnId) -> u64 {
        let at = self.now + self.latency();
        let c = &mut self.conns[conn.0];
        c.up_last = c.up_last.max(at);
        c.up_last
    }

    fn down_time(&mut self, conn: ConnId) -> u64 {
        let mut at = self.now + self.latency();
        let c = &mut self.conns[conn.0];
        if let Some(p) = c.paused_until {
            at = at.max(p);
        }
        c.down_last = c.down_last.max(at);
        c.down_last
    }

    fn schedule(&mut self, at: u64, hop: Hop) {
        self.seq += 1;
        self.in_flight.insert((at, self.seq), hop);
    }

    fn arrive_at_server(&mut self, conn: ConnId, el: Element) {
        if !self.home.session(conn).open {
            return;
        }
        if self.cfg.record_transcript {
            let label = self.conns[conn.0].label.clone();
            self.arrivals.push(Arrival::Stanza(label, el.clone()));
        }
        let routes = self.home.client_stanza(conn, el);
        self.route_all(routes);
    }

    fn route_all(&mut self, mut routes: Vec<Route>) {
        // Breadth-first, preserving the order each producer emitted.
        let mut queue: VecDeque<Route> = routes.drain(..).collect();
        while let Some(r) = queue.pop_front() {
            match r {
                Route::ToClient(conn, el) => {
                    if self.home.session(conn).open {
                        let at = self.down_time(conn);
                        self.schedule(at, Hop::Down(conn, Delivery::Whole(el)));
                    }
                }
                Route::ServiceToClient(conn, o) => {
                    if self.home.session(conn).open {
                        let at = self.down_time(conn);
                        self.schedule(at, Hop::Down(conn, Delivery::Service(o)));
                    }
                }
                Route::ToService(from, el) => {
                    self.stats.service_inputs += 1;
                    let watched = self.tap.as_mut().map(|tap| {
                        tap.before(&self.service, &from, &el);
                        (from.clone(), el.clone())
                    });
                    let out = self.service.handle(self.now(), from, el);
                    if let (Some(tap), Some((from, el))) = (self.tap.as_mut(), watched) {
                        tap.after(&self.service, &from, &el, out.as_slice());
                    }
                    if self.violation.is_none() {
                        self.violation = self.service.check_invariants().err();
                    }
                    let (before, store, after) = out.into_parts();
                    if self.cfg.record_transcript && !store.is_empty() {
                        let text = crate::disk::describe_effects(&store, before.len(), after.len());
                        let domain = self.cfg.service.domain.clone();
                        self.transcript.push(self.now(), &domain, Event::Note(text));
                    }
                    for o in before {
                        queue.extend(self.home.deliver_outgoing(o));
                    }
                    self.storage.absorb(&store);
                    self.storage.note_tombstones(&self.service);
                    for o in after {
                        queue.extend(self.home.deliver_outgoing(o));
                    }
                }
                Route::RefusedToService(from, r) => {
                    self.stats.service_inputs += 1;
                    let out = self.service.refuse_stanza(&Jid::from(from), &r);
                    for o in out {
                        queue.extend(self.home.deliver_outgoing(o));
                    }
                }
                Route::CloseStream(conn, condition) => {
                    self.close(conn, Some(condition));
                }
            }
        }
    }

    fn arrive_at_client(&mut self, conn: ConnId, d: Delivery) {
        if !self.home.session(conn).open {
            return;
        }
        let c = &mut self.conns[conn.0];
        self.stats.delivered += 1;
        if self.cfg.record_transcript {
            let el = d.into_element();
            c.inbox.push_back(Delivery::Whole(el.clone()));
            let label = c.label.clone();
            self.transcript.push(self.now(), &label, Event::Receive(el));
        } else {
            c.inbox.push_back(d);
        }
    }

    /// The stream ends: by the client (`None`) or by the server with a stream error.
    fn close(&mut self, conn: ConnId, condition: Option<String>) {
        if !self.home.session(conn).open {
            return;
        }
        if let Some(cond) = &condition {
            let label = self.conns[conn.0].label.clone();
            self.transcript
                .push(self.now(), &label, Event::StreamError(cond.clone()));
        }
        let routes = self.home.unbind(conn);
        self.conns[conn.0].inbox.clear();
        self.route_all(routes);
    }
}
