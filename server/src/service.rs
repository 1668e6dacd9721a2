//! The service: one entry point, [`MucService::handle`], that takes a stanza from a
//! real user's session and returns everything the service sends in answer.
//! Routing by address happens here; what rooms do lives in [`crate::muc`].

use crate::muc::room::Room;
use crate::muc::{self, Millis, RoomConfig};
use crate::ns;
use crate::refusal::Refusal;
use crate::stanza::{IqType, Kind, MessageType, PresenceType, Stanza, StanzaError};
use crate::store::StoreOp;
use crate::xml::Element;
use jid::{BareJid, FullJid, Jid};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One stanza the service sends. The body is shared by every recipient of a
/// broadcast; `to` is carried beside it and written in by [`Outgoing::element`] or
/// by the serializer (as Prosody does when it routes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// A session, or (for invitations) a bare JID the home server delivers.
    pub to: Jid,
    /// The stanza without its `to` attribute.
    pub body: Arc<Element>,
}

impl Outgoing {
    /// The complete stanza, `to` included.
    pub fn element(&self) -> Element {
        let mut e = (*self.body).clone();
        e.set_attr("to", self.to.as_str());
        e
    }

    /// Serializes the complete stanza with `jabber:client` as the default namespace.
    pub fn to_xml(&self) -> String {
        self.element().to_xml_in(crate::ns::CLIENT)
    }
}

/// The ordered batch of stanzas one input produced. Order matters: it is the order
/// a real server writes them (e.g. presences before the iq result).
#[must_use = "the outbox holds the stanzas the service sends; dropping it loses them"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    items: Vec<Outgoing>,
    /// Storage effects of this input (see [`crate::store`]).
    store: Vec<StoreOp>,
    /// How many of `items` go out before `store` is applied: 0, except under the
    /// durability mutant.
    store_at: usize,
}

impl Outbox {
    pub(crate) fn send(&mut self, to: &FullJid, stanza: Element) {
        self.share(to, Arc::new(stanza));
    }

    /// Sends one body to one more recipient without copying it.
    pub(crate) fn share(&mut self, to: &FullJid, body: Arc<Element>) {
        debug_assert!(body.attr("to").is_none(), "bodies carry no 'to'");
        self.items.push(Outgoing {
            to: Jid::from(to.clone()),
            body,
        });
    }

    pub(crate) fn send_to_jid(&mut self, to: &Jid, stanza: Element) {
        self.items.push(Outgoing {
            to: to.clone(),
            body: Arc::new(stanza),
        });
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        self.items.iter()
    }

    pub fn into_vec(self) -> Vec<Outgoing> {
        self.items
    }

    /// The storage effects, to apply in order (a `Sync` is a durability barrier).
    pub fn store_ops(&self) -> &[StoreOp] {
        &self.store
    }

    /// How many stanzas go out before the storage effects are applied. The service
    /// always says 0: a change is durable before anything that tells of it is sent.
    pub fn store_position(&self) -> usize {
        self.store_at
    }

    /// The stanzas and the storage effects, split where the effects apply.
    pub fn into_parts(self) -> (Vec<Outgoing>, Vec<StoreOp>, Vec<Outgoing>) {
        let mut before = self.items;
        let after = before.split_off(self.store_at.min(before.len()));
        (before, self.store, after)
    }
}

impl IntoIterator for Outbox {
    type Item = Outgoing;
    type IntoIter = std::vec::IntoIter<Outgoing>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Explicit bounds on everything a client can make the service hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceLimits {
    pub max_rooms: usize,
    /// Occupants per room, whatever the room's own `maxusers` says.
    pub max_occupants: usize,
    /// Sessions sharing one nick.
    pub max_sessions_per_occupant: usize,
    /// Items in one muc#admin set.
    pub max_admin_items: usize,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        ServiceLimits {
            max_rooms: 100_000,
            max_occupants: 5_000,
            max_sessions_per_occupant: 16,
            max_admin_items: 100,
        }
    }
}

/// Deliberately broken variants of the service, to prove the checkers can fail.
/// Only the `mutants` feature can switch one on; without it every check below is `false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutant {
    /// Revoking membership removes only the first session of the user.
    RevokeOneSession,
    /// Switching a room to members-only leaves non-members inside.
    MembersOnlyKeepsNonMembers,
    /// The members-only join check reads the affiliation before the latest change.
    StaleJoinCheck,
    /// A ban records the outcast but leaves the occupant in the room.
    BanKeepsOccupant,
    /// The last owner may give up ownership.
    LastOwnerMayLeave,
    /// A nick change does not check whether the nick is taken.
    NickChangeSkipsUniqueness,
    /// Answers (the iq result, the presences) before the change is durable: the write
    /// comes after the stanzas, without a sync, and lands on disk with a later sync.
    AnswerBeforeDurable,
}

impl Mutant {
    pub const ALL: [Mutant; 7] = [
        Mutant::RevokeOneSession,
        Mutant::MembersOnlyKeepsNonMembers,
        Mutant::StaleJoinCheck,
        Mutant::BanKeepsOccupant,
        Mutant::LastOwnerMayLeave,
        Mutant::NickChangeSkipsUniqueness,
        Mutant::AnswerBeforeDurable,
    ];

    /// The command-line name, e.g. `revoke-one-session`.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::RevokeOneSession => "revoke-one-session",
            Mutant::MembersOnlyKeepsNonMembers => "members-only-keeps-non-members",
            Mutant::StaleJoinCheck => "stale-join-check",
            Mutant::BanKeepsOccupant => "ban-keeps-occupant",
            Mutant::LastOwnerMayLeave => "last-owner-may-leave",
            Mutant::NickChangeSkipsUniqueness => "nick-change-skips-uniqueness",
            Mutant::AnswerBeforeDurable => "answer-before-durable",
        }
    }

    pub fn parse(name: &str) -> Option<Mutant> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The key of the XEP-0421 occupant ids: `occupant-id = base64(SHA-256(key ‖ room ‖
/// 0x00 ‖ bare JID))`. XEP-0421 §4: the id must not reveal the real JID, so whoever
/// may not link nicks to users must not know the key.
///
/// The service never makes one: a harness hands it in. The simulator and the model
/// use [`OccupantIdKey::Seeded`] (the key is the run's seed, so ids are reproducible,
/// and public: fine for tests, never for users); `mucsim serve` uses
/// [`OccupantIdKey::Secret`], 256 random bits it keeps in its store.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum OccupantIdKey {
    /// A seed, hashed as its 8 little-endian bytes (byte-identical to the ids of
    /// earlier builds, so transcripts and pinned model state counts do not move).
    Seeded(u64),
    /// A secret key of 256 bits.
    Secret([u8; 32]),
}

impl OccupantIdKey {
    /// Feeds the key into `h`, in front of each (room, user).
    fn feed(&self, h: &mut Sha256) {
        match self {
            OccupantIdKey::Seeded(seed) => h.update(seed.to_le_bytes()),
            OccupantIdKey::Secret(key) => h.update(key),
        }
    }
}

/// Never prints a secret key (configurations end up in logs and panic messages).
impl std::fmt::Debug for OccupantIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OccupantIdKey::Seeded(seed) => write!(f, "Seeded({seed})"),
            OccupantIdKey::Secret(_) => write!(f, "Secret(..)"),
        }
    }
}

/// Why a [`ServiceConfig`] cannot make a service ([`MucService::new`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `domain` is not a domain JID (RFC 7622 §3.2: no local part, no resource).
    Domain { domain: String, why: String },
    /// `domain` is a valid domain but not in its normalized form (RFC 7622 §3.2.2:
    /// the service compares the normalized domain of every `to` against it, so it
    /// would refuse every stanza); `normalized` is the form to use.
    DomainNotNormalized { domain: String, normalized: String },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Domain { domain, why } => write!(f, "'{domain}' is not a domain name: {why}"),
            ConfigError::DomainNotNormalized { domain, normalized } => {
                write!(f, "'{domain}' is not in normalized form (use '{normalized}')")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceConfig {
    /// The service's domain, e.g. `conference.localhost` (a normalized domain JID,
    /// checked by [`MucService::new`]).
    pub domain: String,
    /// Keys the XEP-0421 occupant ids; the service's only entropy.
    pub occupant_id_key: OccupantIdKey,
    pub limits: ServiceLimits,
    /// Configuration of a newly created room.
    pub room_defaults: RoomConfig,
    /// XEP-0045 §10.1: new rooms are locked until configured (Prosody's `muc_room_locking`).
    pub lock_new_rooms: bool,
    /// Check every invariant after every `handle` in debug builds (panics on violation).
    pub assert_invariants: bool,
    /// Service administrators (Prosody's `admins` on the MUC component): they may
    /// destroy any room by ad-hoc command.
    pub admins: Vec<BareJid>,
    #[cfg(feature = "mutants")]
    pub mutant: Option<Mutant>,
}

impl ServiceConfig {
    /// A configuration with the defaults and a seeded occupant-id key
    /// ([`OccupantIdKey::Seeded`]): for the simulator, the model and tests. A service
    /// facing real users sets [`ServiceConfig::occupant_id_key`] to a secret.
    pub fn new(domain: &str, seed: u64) -> ServiceConfig {
        ServiceConfig {
            domain: domain.to_string(),
            occupant_id_key: OccupantIdKey::Seeded(seed),
            limits: ServiceLimits::default(),
            room_defaults: RoomConfig::default(),
            lock_new_rooms: true,
            assert_invariants: true,
            admins: Vec::new(),
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    #[inline(always)]
    pub(crate) fn mutant(&self, m: Mutant) -> bool {
        #[cfg(feature = "mutants")]
        return self.mutant == Some(m);
        #[cfg(not(feature = "mutants"))]
        {
            let _ = m;
            false
        }
    }
}

/// Whether a stanza can change a kept room's record: an iq set (configuration,
/// affiliations, registration, destroy), or a message carrying a subject or a
/// muc#user payload (an invitation into a members-only room grants membership).
/// Presence, iq gets and plain messages never do, so the hot paths (joins,
/// groupchat fan-out) do not copy records to compare them.
fn may_change_kept(el: &Element) -> bool {
    match &*el.name {
        "iq" => el.attr("type") == Some("set"),
        "message" => el.child("subject", ns::CLIENT).is_some() || el.child("x", ns::MUC_USER).is_some(),
        _ => false,
    }
}

/// Everything a room operation needs besides the room.
pub(crate) struct Ctx<'a> {
    pub now: Millis,
    pub cfg: &'a ServiceConfig,
}

impl Ctx<'_> {
    /// XEP-0421: a stable id per (room, user), not reversible without the key.
    pub(crate) fn occupant_id(&self, room: &BareJid, user: &BareJid) -> String {
        use base64::Engine;
        let mut h = Sha256::new();
        self.cfg.occupant_id_key.feed(&mut h);
        h.update(room.as_str().as_bytes());
        h.update([0u8]);
        h.update(user.as_str().as_bytes());
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    }
}

/// The service's whole state is its rooms; the configuration is shared (cloning a
/// service for the model checker copies rooms only) and fixed for the service's life.
#[derive(Clone, Debug)]
pub struct MucService {
    cfg: Arc<ServiceConfig>,
    /// `cfg.domain` as a JID (checked at construction): the `to` of an unaddressed stanza.
    domain: Arc<Jid>,
    rooms: BTreeMap<BareJid, Room>,
}

impl PartialEq for MucService {
    fn eq(&self, other: &Self) -> bool {
        self.rooms == other.rooms && (Arc::ptr_eq(&self.cfg, &other.cfg) || self.cfg == other.cfg)
    }
}

impl Eq for MucService {}

/// Hashes the rooms only: two services compared by a model checker share one
/// configuration, and equal services hash equally either way.
impl std::hash::Hash for MucService {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rooms.hash(state);
    }
}

impl MucService {
    /// A service without rooms. Errors: [`ConfigError`] if `cfg.domain` is not a
    /// normalized domain JID (RFC 7622 §3.2); nothing else in `cfg` can be invalid.
    pub fn new(cfg: ServiceConfig) -> Result<MucService, ConfigError> {
        let bad = |why: String| ConfigError::Domain {
            domain: cfg.domain.clone(),
            why,
        };
        let domain = Jid::new(&cfg.domain).map_err(|e| bad(e.to_string()))?;
        if domain.node().is_some() || domain.resource().is_some() {
            return Err(bad("it has a local part or a resource".into()));
        }
        if domain.as_str() != cfg.domain {
            return Err(ConfigError::DomainNotNormalized {
                domain: cfg.domain.clone(),
                normalized: domain.to_string(),
            });
        }
        Ok(MucService {
            cfg: Arc::new(cfg),
            domain: Arc::new(domain),
            rooms: BTreeMap::new(),
        })
    }

    /// Renames real session JIDs everywhere the service holds them (`f` must be a
    /// bijection on sessions). A model checker uses it for symmetry reduction: two
    /// sessions that behave alike may swap names without changing what the service does.
    pub fn rename_sessions(&mut self, f: &dyn Fn(&FullJid) -> FullJid) {
        for room in self.rooms.values_mut() {
            room.rename_sessions(f);
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.cfg
    }

    pub fn domain(&self) -> &str {
        &self.cfg.domain
    }

    /// Read-only view of every room, in JID order.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    pub fn room(&self, jid: &BareJid) -> Option<&Room> {
        self.rooms.get(jid)
    }

    /// Removes a room from the service (an administrator destroys it).
    pub(crate) fn take_room(&mut self, jid: &BareJid) -> Option<Room> {
        self.rooms.remove(jid)
    }

    /// Adds a room rebuilt from storage; returns the one it replaced, if any.
    pub(crate) fn insert_restored(&mut self, room: Room) -> Option<Room> {
        self.rooms.insert(room.jid.clone(), room)
    }

    /// Handles one stanza sent by the real session `from` at `now` (milliseconds,
    /// the caller's clock). Whatever the stanza, the service answers every iq get/set
    /// exactly once and never panics on input. The returned [`Outbox`] puts its
    /// [`StoreOp`]s (ending in a `Sync`) before the stanzas that tell of them.
    ///
    /// Invariant violations: in debug builds with `cfg.assert_invariants` (the
    /// default), every call ends with [`MucService::check_invariants`] and panics,
    /// naming the sender and the [`crate::Violation`], if a room breaks one; a debug
    /// assertion also panics if a stanza that `may_change_kept` skips changed a kept
    /// record. Both are bugs of the service, never of the input. Release builds check
    /// nothing here (the harnesses call `check_invariants` themselves).
    pub fn handle(&mut self, now: Millis, from: FullJid, stanza: Element) -> Outbox {
        let mut out = Outbox::default();
        // What is kept is compared before and after only for the stanzas that can
        // change it (see `may_change_kept`); an iq to the service itself may touch any
        // room (an administrator's destroy).
        let kept: Vec<(BareJid, Option<crate::RoomRecord>)> = if !may_change_kept(&stanza) {
            Vec::new()
        } else {
            match stanza.attr("to").and_then(|t| Jid::new(t).ok()) {
                Some(to) if to.node().is_none() && stanza.name == "iq" => self
                    .rooms
                    .values()
                    .filter_map(|r| r.record().map(|rec| (r.jid.clone(), Some(rec))))
                    .collect(),
                Some(to) => {
                    let room = to.to_bare();
                    let before = self.rooms.get(&room).and_then(Room::record);
                    vec![(room, before)]
                }
                None => Vec::new(),
            }
        };
        // Debug builds check the claim `may_change_kept` makes, on every stanza it skips.
        let unchecked = (cfg!(debug_assertions) && kept.is_empty())
            .then(|| stanza.attr("to").and_then(|t| Jid::new(t).ok()))
            .flatten()
            .map(|to| {
                let room = to.to_bare();
                let before = self.rooms.get(&room).and_then(Room::record);
                (room, before)
            });
        self.dispatch(now, &from, stanza, &mut out);
        if let Some((room, before)) = unchecked {
            debug_assert!(
                self.rooms.get(&room).and_then(Room::record) == before,
                "a stanza may_change_kept skips changed the kept record of {room}"
            );
        }
        let mut ops = Vec::new();
        for (room, before) in kept {
            let after = self.rooms.get(&room).and_then(Room::record);
            if before != after {
                ops.push(match after {
                    Some(r) => StoreOp::Put(Arc::new(r)),
                    None => StoreOp::Delete(room),
                });
            }
        }
        if !ops.is_empty() {
            if self.cfg.mutant(Mutant::AnswerBeforeDurable) {
                out.store = ops;
                out.store_at = out.items.len();
            } else {
                ops.push(StoreOp::Sync);
                out.store = ops;
            }
        }
        if cfg!(debug_assertions) && self.cfg.assert_invariants {
            if let Err(v) = self.check_invariants() {
                panic!("invariant violated after a stanza from {from}: {v}");
            }
        }
        out
    }

    fn dispatch(&mut self, now: Millis, from: &FullJid, el: Element, out: &mut Outbox) {
        let st = match Stanza::parse(el) {
            Ok(st) => st,
            Err((_, StanzaError::NotAStanza)) => return,
            Err((el, StanzaError::Refused(r))) => {
                // RFC 6120 §8.3.1: never answer an error with an error.
                if el.attr("type") != Some("error") {
                    let raw_to = el.attr("to").unwrap_or(&self.cfg.domain);
                    // Prosody: a nick that fails strict resourceprep, on a valid room
                    // address, is refused by the room.
                    if let (Some((room, nick)), "presence") = (raw_to.split_once('/'), &*el.name) {
                        if BareJid::new(room).is_ok() && !nick.is_empty() {
                            let me = format!("{room}/{}", crate::jids::map_to_nothing(nick));
                            out.send(from, Refusal::NickNotStrict.reply_to(&el, &me, Some(room)));
                            return;
                        }
                    }
                    out.send(from, r.reply_to(&el, raw_to, None));
                }
                return;
            }
        };
        let to = st.to.clone().unwrap_or_else(|| (*self.domain).clone());
        if to.domain().as_str() != self.cfg.domain {
            self.refuse(from, &st, Refusal::WrongDomain, None, out);
            return;
        }
        if st.kind.is_error() {
            self.handle_error_stanza(from, &st, &to, out);
            return;
        }
        if matches!(st.kind, Kind::Iq(IqType::Result)) {
            // The service sends no iq requests, so a result answers nothing.
            return;
        }
        if to.node().is_none() {
            let command = match st.kind {
                Kind::Iq(IqType::Set) => st.payload().filter(|p| p.is("command", ns::COMMANDS)).cloned(),
                _ => None,
            };
            let answered = match command {
                Some(cmd) => muc::adhoc::execute(self, from, &st, &cmd, out).map(|_| ()),
                None => muc::disco::service_stanza(self, from, &st, out),
            };
            if let Err(r) = answered {
                self.refuse(from, &st, r, None, out);
            }
            return;
        }
        let room_jid = to.to_bare();
        let nick = to.resource().map(|r| r.as_str().to_string());
        let ctx = Ctx { now, cfg: &self.cfg };
        let result = match self.rooms.get_mut(&room_jid) {
            Some(room) => route_to_room(room, &ctx, from, &st, nick.as_deref(), out),
            None => match (st.kind, nick.as_deref()) {
                (Kind::Presence(PresenceType::Available), Some(nick)) => {
                    if self.rooms.len() >= self.cfg.limits.max_rooms {
                        Err(Refusal::PolicyLimit("too many rooms"))
                    } else {
                        muc::join::create_room(&ctx, from, &st, room_jid.clone(), nick, out).map(|room| {
                            self.rooms.insert(room_jid.clone(), room);
                            RoomFate::Keep
                        })
                    }
                }
                // Leaving a room that does not exist: nothing to do, nothing to answer.
                (Kind::Presence(PresenceType::Unavailable), _) => Ok(RoomFate::Keep),
                _ => Err(Refusal::RoomNotFound),
            },
        };
        match result {
            Ok(fate) => {
                if let Some(room) = self.rooms.get(&room_jid) {
                    let gone = fate == RoomFate::Destroyed
                        || (room.occupants.is_empty() && (!room.config.persistent || room.locked));
                    if gone {
                        self.rooms.remove(&room_jid);
                    }
                }
            }
            Err(r) => {
                let by = room_jid.as_str().to_string();
                self.refuse(from, &st, r, Some(&by), out);
            }
        }
    }

    fn refuse(&self, from: &FullJid, st: &Stanza, r: Refusal, by: Option<&str>, out: &mut Outbox) {
        // RFC 6120 §8.3.1: never answer an error with an error (found by the `stanza`
        // fuzz target: an error addressed to another domain was answered).
        if st.kind.is_error() {
            return;
        }
        let me = st.el.attr("to").unwrap_or(&self.cfg.domain).to_string();
        out.send(from, r.reply_to(&st.el, &me, by));
    }

    /// Prosody's `handle_kickable`: an error bounced by an occupant's client means
    /// that session is gone; it is removed (status 333).
    fn handle_error_stanza(&mut self, from: &FullJid, st: &Stanza, to: &Jid, out: &mut Outbox) {
        if matches!(st.kind, Kind::Iq(_)) || to.node().is_none() {
            return;
        }
        let room_jid = to.to_bare();
        if let Some(room) = self.rooms.get_mut(&room_jid) {
            if let Some(nick) = room.by_session.get(from).cloned() {
                // Prosody's status text: the condition in words, plus the error's text
                // only where real JIDs are public anyway.
                let err = st.el.child("error", ns::CLIENT);
                let cond = err
                    .and_then(|e| e.elements().find(|c| c.ns == ns::STANZAS && c.name != "text"))
                    .map_or("presence error".to_string(), |c| c.name.replace('-', " "));
                let mut text = format!("Kicked: {cond}");
                if room.config.whois == muc::Whois::Anyone {
                    if let Some(t) = err.and_then(|e| e.child_text("text", ns::STANZAS)) {
                        text = format!("{text}: {t}");
                    }
                }
                let leave = muc::room::StoredPresence {
                    id: None,
                    payload: vec![Element::new("status", ns::CLIENT).with_text(text)],
                };
                muc::join::remove_session(room, from, &nick, vec!["333"], Some(leave), out);
                if room.occupants.is_empty() && !room.config.persistent {
                    self.rooms.remove(&room_jid);
                }
            }
        }
    }

    pub(crate) fn rooms_map(&self) -> &BTreeMap<BareJid, Room> {
        &self.rooms
    }

    #[cfg(test)]
    pub(crate) fn rooms_mut(&mut self) -> &mut BTreeMap<BareJid, Room> {
        &mut self.rooms
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoomFate {
    Keep,
    Destroyed,
}

fn route_to_room(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    nick: Option<&str>,
    out: &mut Outbox,
) -> Result<RoomFate, Refusal> {
    match (st.kind, nick) {
        (Kind::Presence(_), Some(nick)) => {
            muc::join::presence(room, ctx, from, st, nick, out).map(|_| RoomFate::Keep)
        }
        // Prosody: presence to the bare room from an occupant is presence to its own
        // occupant JID (e.g. leaving with `to='room@service'`).
        (Kind::Presence(_), None) if room.by_session.contains_key(from) => {
            let current = room.by_session[from].clone();
            muc::join::presence(room, ctx, from, st, &current, out).map(|_| RoomFate::Keep)
        }
        // XEP-0045 §7.2.1: joining needs a nick.
        (Kind::Presence(PresenceType::Unavailable), None) => Ok(RoomFate::Keep),
        (Kind::Presence(_), None) => Err(Refusal::JidMalformed("a nickname is required")),
        (Kind::Message(MessageType::Groupchat), None) => {
            muc::message::groupchat(room, ctx, from, st, out).map(|_| RoomFate::Keep)
        }
        (Kind::Message(_), None) => muc::message::to_room(room, ctx, from, st, out).map(|_| RoomFate::Keep),
        (Kind::Message(_), Some(nick)) => {
            muc::message::private(room, from, st, nick, out).map(|_| RoomFate::Keep)
        }
        (Kind::Iq(IqType::Get | IqType::Set), None) => muc::owner::iq_to_room(room, ctx, from, st, out),
        // Prosody forwards iqs to occupants; we do not (yet). To a nick nobody holds
        // the answer is Prosody's "Recipient not in room".
        (Kind::Iq(_), Some(nick)) => {
            if !room.by_session.contains_key(from) {
                Err(Refusal::NotInRoom)
            } else if !room.occupants.contains_key(nick) {
                Err(Refusal::RecipientNotInRoom)
            } else {
                Err(Refusal::FeatureNotImplemented)
            }
        }
        (Kind::Iq(IqType::Result | IqType::Error), None) => Ok(RoomFate::Keep),
    }
}

/// Stanzas the parser did not read.
impl MucService {
    /// Answers a stanza the parser skipped for going over a per-stanza limit
    /// (`server::xml::StreamEvent::Refused`), sent by `from` (the sender as the driver
    /// knows it: the home server's stamp, not trusted from the stanza alone when the
    /// driver can do better). RFC 6120 §8.3.3.12: a `policy-violation` error of type
    /// `modify`, carrying the stanza's id, from the address it was sent to when that
    /// is on this service's domain (else from the domain). Nothing answers an
    /// error, an iq result (RFC 6120 §8.3.1, §8.2.3) or an element that is not a
    /// stanza. No room is read or changed: the outbox holds at most that one error
    /// and no storage effects.
    pub fn refuse_stanza(&self, from: &Jid, refused: &crate::xml::RefusedStanza) -> Outbox {
        let mut out = Outbox::default();
        let ty = refused.stanza_type.as_deref();
        let answered = matches!(&*refused.name, "message" | "presence" | "iq")
            && ty != Some("error")
            && !(refused.name == "iq" && ty == Some("result"));
        if answered {
            let me = refused
                .to
                .as_deref()
                .filter(|to| Jid::new(to).is_ok_and(|j| j.domain().as_str() == self.cfg.domain))
                .unwrap_or(&self.cfg.domain);
            let reply = Refusal::StanzaLimit(refused.limit).reply_to(&refused.head(), me, None);
            out.send_to_jid(from, reply);
        }
        out
    }
}
