//! The service: one entry point, [`MucService::handle`], that takes a stanza from a
//! real user's session and returns everything the service sends in answer.
//! Routing by address happens here, and only that: what rooms do lives in
//! [`crate::muc`], what the service sends in [`crate::outbox`], its settings in
//! [`crate::config`], what it keeps in [`crate::store`].

use crate::config::{ConfigError, Ctx, Mutant, ServiceConfig};
use crate::invariants::{check_room, room_violations, Violation};
use crate::jids::Bare;
use crate::muc::room::Room;
use crate::muc::{self, Affiliation, Millis, RoomFate};
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{IqType, Kind, MessageType, PresenceType, Stanza, StanzaError};
use crate::store::{RestoreError, RoomRecord, StoreOp, Tombstone};
use crate::xml::Element;
use jid::{BareJid, FullJid, Jid};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whether a stanza can change a kept room's record: an iq set (configuration,
/// affiliations, registration, destroy), or a message that changes the subject
/// (`muc::message::subject_change`, XEP-0045 §8.1) or carries a muc#user payload (an invitation into a members-only room grants membership).
/// Presence, iq gets and plain messages never do, so the hot paths (joins,
/// groupchat fan-out) do not copy records to compare them.
fn may_change_kept(el: &Element) -> bool {
    match &*el.name {
        "iq" => el.attr("type") == Some("set"),
        "message" => muc::message::subject_change(el).is_some() || el.child("x", ns::MUC_USER).is_some(),
        _ => false,
    }
}

/// The service's whole state is its rooms and the tombstones of destroyed kept rooms;
/// the configuration is shared (cloning a service for the model checker copies the
/// state only) and fixed for the service's life. Each room is shared too and copied
/// on write (`Arc::make_mut` where a stanza changes it): a clone of the service
/// copies the map of room addresses, and a step of the model checker copies only
/// the room it touches. A service that is never cloned (`mucsim serve`, the
/// simulator) holds the only reference to each room, so nothing is ever copied.
#[derive(Clone, Debug)]
pub struct MucService {
    cfg: Arc<ServiceConfig>,
    /// `cfg.domain` as a JID (checked at construction): the `to` of an unaddressed stanza.
    domain: Arc<Jid>,
    rooms: BTreeMap<BareJid, Arc<Room>>,
    /// Destroyed kept rooms whose address answers `gone` until the tombstone lapses
    /// (`ServiceConfig::tombstone_expiry`); never the address of a room.
    tombstones: BTreeMap<BareJid, Tombstone>,
}

impl PartialEq for MucService {
    fn eq(&self, other: &Self) -> bool {
        self.rooms == other.rooms
            && self.tombstones == other.tombstones
            && (Arc::ptr_eq(&self.cfg, &other.cfg) || self.cfg == other.cfg)
    }
}

impl Eq for MucService {}

/// Hashes the rooms and tombstones only: two services compared by a model checker
/// share one configuration, and equal services hash equally either way.
impl std::hash::Hash for MucService {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rooms.hash(state);
        self.tombstones.hash(state);
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
            tombstones: BTreeMap::new(),
        })
    }

    /// Renames real session JIDs everywhere the service holds them: `f` gives a
    /// session's new name, or `None` for a session that keeps its name (together a
    /// bijection on sessions). A model checker uses it for symmetry reduction: two
    /// sessions that behave alike may swap names without changing what the service
    /// does. Rooms that hold no renamed session stay shared (not copied).
    pub fn rename_sessions(&mut self, f: &dyn Fn(&FullJid) -> Option<FullJid>) {
        for room in self.rooms.values_mut() {
            if room.holds_session(|j| f(j).is_some()) {
                Arc::make_mut(room).rename_sessions(f);
            }
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
        self.rooms.values().map(|r| &**r)
    }

    pub fn room(&self, jid: &BareJid) -> Option<&Room> {
        self.rooms.get(jid).map(|r| &**r)
    }

    /// Every tombstone held (lapsed ones included until a stanza to their address,
    /// or the room limit, clears them), in JID order.
    pub fn tombstones(&self) -> impl Iterator<Item = &Tombstone> {
        self.tombstones.values()
    }

    pub fn tombstone(&self, jid: &BareJid) -> Option<&Tombstone> {
        self.tombstones.get(jid)
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
                    .filter_map(|r| r.record().map(|rec| (r.jid().clone(), Some(rec))))
                    .collect(),
                Some(to) => {
                    let room = to.bare();
                    let before = self.rooms.get(&room).and_then(|r| r.record());
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
                let room = to.bare();
                let before = self.rooms.get(&room).and_then(|r| r.record());
                (room, before)
            });
        let mut unburied = Vec::new();
        self.dispatch(now, &from, stanza, &mut out, &mut unburied);
        if let Some((room, before)) = unchecked {
            debug_assert!(
                self.rooms.get(&room).and_then(|r| r.record()) == before,
                "a stanza may_change_kept skips changed the kept record of {room}"
            );
        }
        let mut ops = Vec::new();
        for (room, before) in kept {
            let after = self.rooms.get(&room).and_then(|r| r.record());
            if before != after {
                ops.push(match (after, self.tombstones.get(&room)) {
                    (Some(r), _) => StoreOp::Put(Arc::new(r)),
                    // A kept room destroyed by this input: its tombstone takes its place.
                    (None, Some(t)) => StoreOp::Bury(Arc::new(t.clone())),
                    (None, None) => StoreOp::Delete(room),
                });
            }
        }
        // Tombstones cleared by this input (lapsed, or an administrator re-creating
        // the room): forgotten, unless a record written above replaces them.
        for room in unburied {
            let written = ops
                .iter()
                .any(|op| matches!(op, StoreOp::Put(r) if r.jid == room));
            if !written {
                ops.push(StoreOp::Delete(room));
            }
        }
        if !ops.is_empty() {
            if self.cfg.mutant(Mutant::AnswerBeforeDurable) {
                let at = out.len();
                out.place_store(ops, at);
            } else {
                ops.push(StoreOp::Sync);
                out.place_store(ops, 0);
            }
        }
        if cfg!(debug_assertions) && self.cfg.assert_invariants {
            if let Err(v) = self.check_invariants() {
                panic!("invariant violated after a stanza from {from}: {v}");
            }
        }
        // A room address holds a room or a tombstone, never both: routing answers a
        // tombstone before it looks for a room, so a room there would be unreachable.
        debug_assert!(
            self.tombstones.keys().all(|j| !self.rooms.contains_key(j)),
            "a room and a tombstone at one address after a stanza from {from}"
        );
        out
    }

    /// Routes one stanza; the tombstones it clears are pushed onto `unburied`.
    fn dispatch(
        &mut self,
        now: Millis,
        from: &FullJid,
        el: Element,
        out: &mut Outbox,
        unburied: &mut Vec<BareJid>,
    ) {
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
        if to.node().is_some() {
            let room_jid = to.bare();
            if let Some(t) = self.tombstones.get(&room_jid) {
                // Prosody: a lapsed tombstone, or a service administrator's join,
                // clears it and the room may be created again.
                let admin_joins = st.kind == Kind::Presence(PresenceType::Available)
                    && self.cfg.admins.contains(&from.bare());
                if t.lapsed(now) || admin_joins {
                    self.tombstones.remove(&room_jid);
                    unburied.push(room_jid);
                } else {
                    // XEP-0045 §10.9, RFC 6120 §8.3.3.5: the room is gone; Prosody
                    // answers every stanza to it so, by the service's domain.
                    let gone = Refusal::Gone(Box::new(crate::refusal::Gone {
                        reason: t.reason.clone(),
                        new_address: t.alternate.as_ref().map(|j| format!("xmpp:{j}?join")),
                    }));
                    let by = self.cfg.domain.clone();
                    self.refuse(from, &st, gone, Some(&by), out);
                    return;
                }
            }
        }
        if to.node().is_none() {
            let command = match st.kind {
                Kind::Iq(IqType::Set) => st.payload().filter(|p| p.is("command", ns::COMMANDS)).cloned(),
                _ => None,
            };
            let answered = match command {
                Some(cmd) => {
                    muc::adhoc::execute(&self.cfg, &mut self.rooms, from, &st, &cmd, out).map(|destroyed| {
                        for room in destroyed {
                            self.bury(&room, None, now);
                        }
                    })
                }
                None => muc::disco::service_stanza(
                    &self.cfg.domain,
                    self.rooms.values().map(|r| &**r),
                    from,
                    &st,
                    out,
                ),
            };
            if let Err(r) = answered {
                self.refuse(from, &st, r, None, out);
            }
            return;
        }
        let room_jid = to.bare();
        let nick = to.resource().map(|r| r.as_str().to_string());
        // XEP-0045 §7.2.9 → RFC 8266: a nick the PRECIS Nickname profile refuses
        // (empty once its rules apply, e.g. only spaces) cannot be taken: not by a
        // join, a room's creation or a nick change. Prosody 0.12.3 applies
        // resourceprep only, and lets such a nick in.
        if let (Kind::Presence(PresenceType::Available), Some(n)) = (st.kind, nick.as_deref()) {
            if let Err(e) = crate::jids::nick_key(n) {
                let by = room_jid.as_str().to_string();
                self.refuse(from, &st, Refusal::JidMalformed(e.reason()), Some(&by), out);
                return;
            }
        }
        let ctx = Ctx { now, cfg: &self.cfg };
        let result = match self.rooms.get_mut(&room_jid) {
            Some(room) => route_to_room(Arc::make_mut(room), &ctx, from, &st, nick.as_deref(), out),
            None => match (st.kind, nick.as_deref()) {
                (Kind::Presence(PresenceType::Available), Some(nick)) => {
                    if self.rooms.len() + self.tombstones.len() >= self.cfg.limits.max_rooms {
                        // Tombstones count against the room limit; lapsed ones go first.
                        self.tombstones.retain(|jid, t| {
                            let lapsed = t.lapsed(now);
                            if lapsed {
                                unburied.push(jid.clone());
                            }
                            !lapsed
                        });
                    }
                    if self.rooms.len() + self.tombstones.len() >= self.cfg.limits.max_rooms {
                        Err(Refusal::PolicyLimit("too many rooms"))
                    } else {
                        muc::join::create_room(&ctx, from, &st, room_jid.clone(), nick, out).map(|room| {
                            self.rooms.insert(room_jid.clone(), Arc::new(room));
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
                    if fate == RoomFate::Destroyed || room.vanishes() {
                        let room = self.rooms.remove(&room_jid).expect("present");
                        if fate == RoomFate::Destroyed {
                            self.bury(&room, muc::owner::destroy_request(&st), now);
                        }
                    }
                }
            }
            Err(r) => {
                let by = room_jid.as_str().to_string();
                self.refuse(from, &st, r, Some(&by), out);
            }
        }
    }

    /// Leaves the tombstone of `room`, just destroyed at `now` by `destroy_req` (none
    /// for an administrator's ad-hoc destroy), if it was kept and tombstones are on.
    fn bury(&mut self, room: &Room, destroy_req: Option<&Element>, now: Millis) {
        let Some(expiry) = self.cfg.tombstone_expiry else {
            return;
        };
        let expires = Millis(now.0.saturating_add(expiry.0));
        if let Some(t) = muc::owner::tombstone(room, destroy_req, expires) {
            self.tombstones.insert(t.jid.clone(), t);
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
    /// that session is gone (see [`muc::join::bounced_error`]).
    fn handle_error_stanza(&mut self, from: &FullJid, st: &Stanza, to: &Jid, out: &mut Outbox) {
        if matches!(st.kind, Kind::Iq(_)) || to.node().is_none() {
            return;
        }
        let room_jid = to.bare();
        if let Some(room) = self.rooms.get_mut(&room_jid) {
            let room = Arc::make_mut(room);
            muc::join::bounced_error(room, from, st, out);
            if room.vanishes() {
                self.rooms.remove(&room_jid);
            }
        }
    }

    /// Checks every invariant of every room (see [`crate::invariants`]); the first
    /// violation found is returned.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        for room in self.rooms.values() {
            check_room(room)?;
        }
        Ok(())
    }

    /// Every violation, for reports that want them all.
    pub fn violations(&self) -> Vec<Violation> {
        self.rooms().flat_map(room_violations).collect()
    }

    /// The records of every kept room, in JID order (what a full store holds).
    pub fn records(&self) -> Vec<RoomRecord> {
        self.rooms().filter_map(Room::record).collect()
    }

    /// A service whose rooms are `records` and which holds no tombstones; see
    /// [`MucService::restore_with_tombstones`].
    pub fn restore(
        cfg: ServiceConfig,
        records: impl IntoIterator<Item = RoomRecord>,
    ) -> Result<MucService, RestoreError> {
        MucService::restore_with_tombstones(cfg, records, [])
    }

    /// A service whose rooms are `records`, empty and unlocked, as after a restart,
    /// holding `tombstones` (lapsed ones too: the first stanza to their address
    /// clears them). A tombstone outside the domain or at the address of a record or
    /// another tombstone is refused like a record.
    /// Errors ([`RestoreError`], each naming the room): a record outside the domain,
    /// without an owner, stored twice, with a reservation for an unaffiliated user, a
    /// reserved nick or subject author that is not a valid nickname (XEP-0045 §7.10,
    /// RFC 7622 §3.4), or any other record that would break one of the service's
    /// invariants ([`MucService::check_invariants`], run on every rebuilt room): a
    /// record set is accepted only if the service could have written it.
    pub fn restore_with_tombstones(
        cfg: ServiceConfig,
        records: impl IntoIterator<Item = RoomRecord>,
        tombstones: impl IntoIterator<Item = Tombstone>,
    ) -> Result<MucService, RestoreError> {
        let mut svc = MucService::new(cfg).map_err(RestoreError::Config)?;
        for r in records {
            if r.jid.domain().as_str() != svc.domain() || r.jid.node().is_none() {
                return Err(RestoreError::WrongDomain(r.jid.to_string()));
            }
            if !r.affiliations.values().any(|a| *a == Affiliation::Owner) {
                return Err(RestoreError::NoOwner(r.jid.to_string()));
            }
            if r.reserved.keys().any(|j| !r.affiliations.contains_key(j)) {
                return Err(RestoreError::StrayReservation(r.jid.to_string()));
            }
            for (user, nick) in &r.reserved {
                if !crate::jids::is_strict_nick(&r.jid, nick) {
                    return Err(RestoreError::BadReservedNick(
                        r.jid.to_string(),
                        user.to_string(),
                        nick.clone(),
                    ));
                }
            }
            if let Some(by) = r.subject.as_ref().and_then(|s| s.by.as_ref()) {
                if !crate::jids::is_strict_nick(&r.jid, by) {
                    return Err(RestoreError::BadSubjectBy(r.jid.to_string(), by.clone()));
                }
            }
            let jid = r.jid.clone();
            let room = Room::from_record(r);
            check_room(&room).map_err(RestoreError::Invariant)?;
            if svc.rooms.insert(jid.clone(), Arc::new(room)).is_some() {
                return Err(RestoreError::Duplicate(jid.to_string()));
            }
        }
        for t in tombstones {
            if t.jid.domain().as_str() != svc.domain() || t.jid.node().is_none() {
                return Err(RestoreError::WrongDomain(t.jid.to_string()));
            }
            if svc.rooms.contains_key(&t.jid) || svc.tombstones.contains_key(&t.jid) {
                return Err(RestoreError::Duplicate(t.jid.to_string()));
            }
            svc.tombstones.insert(t.jid.clone(), t);
        }
        Ok(svc)
    }

    #[cfg(test)]
    pub(crate) fn rooms_mut(&mut self) -> &mut BTreeMap<BareJid, Arc<Room>> {
        &mut self.rooms
    }
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
        (Kind::Presence(_), None) if room.nick_of(from).is_some() => {
            let current = room.nick_of(from).expect("an occupant").to_string();
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
        (Kind::Iq(IqType::Get | IqType::Set), None) => muc::room_iq::iq_to_room(room, ctx, from, st, out),
        (Kind::Iq(_), Some(nick)) => {
            muc::room_iq::iq_to_occupant(room, from, st, nick).map(|_| RoomFate::Keep)
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
