//! The state of one room and read-only queries over it. Everything here is small,
//! `Clone + Eq + Hash` and cache-free, because the model checker stores it.

use super::{Affiliation, Millis, Role, RoomConfig};
use crate::store::RoomRecord;
use crate::xml::Element;
use jid::{BareJid, FullJid};
use std::collections::{BTreeMap, VecDeque};

/// What a session last said in its presence: the id (echoed in broadcasts, as
/// Prosody does) and the payload children, minus the `<x xmlns=muc>` join element
/// (it may carry the room password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoredPresence {
    pub id: Option<String>,
    pub payload: Vec<Element>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    pub jid: FullJid,
    pub presence: StoredPresence,
}

/// One nick in the room. Several sessions of the same bare JID may share it
/// (Prosody's multi-session occupants); the first is the primary one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Occupant {
    pub nick: String,
    pub bare: BareJid,
    pub role: Role,
    pub sessions: Vec<Session>,
    /// XEP-0421 id: a keyed hash of room and bare JID (derived, stored to keep
    /// broadcasts cheap).
    pub occupant_id: String,
}

impl Occupant {
    pub fn primary(&self) -> &Session {
        &self.sessions[0]
    }

    pub fn session(&self, jid: &FullJid) -> Option<&Session> {
        self.sessions.iter().find(|s| &s.jid == jid)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The nick that set it; `None` when set by the room itself.
    pub by: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistoryEntry {
    pub nick: String,
    pub at: Millis,
    /// The message as broadcast, without `to`.
    pub stanza: Element,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Room {
    pub(crate) jid: BareJid,
    pub(crate) config: RoomConfig,
    /// XEP-0045 §10.1: created but not yet configured.
    pub(crate) locked: bool,
    pub(crate) subject: Option<Subject>,
    /// Never holds `Affiliation::None`: absence means none.
    pub(crate) affiliations: BTreeMap<BareJid, Affiliation>,
    /// How many keys of `affiliations` are bare domains; while none are, a user's
    /// affiliation is one map lookup (no domain-wide ban to look for).
    domain_affiliations: usize,
    /// Reserved nicknames (XEP-0045 §7.10 registration; Prosody's affiliation data
    /// `reserved_nickname`), only ever for affiliated users.
    pub(crate) reserved: BTreeMap<BareJid, String>,
    pub(crate) occupants: BTreeMap<String, Occupant>,
    /// Real session JID → nick: the index every "who is this sender" question uses.
    pub(crate) by_session: BTreeMap<FullJid, String>,
    pub(crate) history: VecDeque<HistoryEntry>,
}

impl Room {
    pub(crate) fn new(jid: BareJid, config: RoomConfig) -> Room {
        Room {
            jid,
            config,
            locked: false,
            subject: None,
            affiliations: BTreeMap::new(),
            domain_affiliations: 0,
            reserved: BTreeMap::new(),
            occupants: BTreeMap::new(),
            by_session: BTreeMap::new(),
            history: VecDeque::new(),
        }
    }

    pub fn jid(&self) -> &BareJid {
        &self.jid
    }

    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// The nickname `bare` has reserved, if any.
    pub fn reserved_nick(&self, bare: &BareJid) -> Option<&str> {
        self.reserved.get(bare).map(String::as_str)
    }

    /// Who reserved `nick`, if anyone.
    pub fn reserved_by(&self, nick: &str) -> Option<&BareJid> {
        self.reserved
            .iter()
            .find(|(_, n)| n.as_str() == nick)
            .map(|(j, _)| j)
    }

    /// Whether the room is kept (its [`Room::record`] is stored): persistent and
    /// configured. A locked room (XEP-0045 §10.1) is not yet configured, so it is
    /// never kept, whatever `persistent` says.
    pub fn is_kept(&self) -> bool {
        self.config.persistent && !self.locked
    }

    /// Whether the room disappears now: it is empty and not kept. The one rule every
    /// path that empties a room follows (leaving, kicks, bans, a bounced error);
    /// a kept room outlives its occupants, a locked one never does.
    pub fn vanishes(&self) -> bool {
        self.occupants.is_empty() && !self.is_kept()
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    pub fn subject(&self) -> Option<&Subject> {
        self.subject.as_ref()
    }

    /// Occupants by nick, in nick order (the order broadcasts go out in).
    pub fn occupants(&self) -> impl Iterator<Item = &Occupant> {
        self.occupants.values()
    }

    pub fn occupant(&self, nick: &str) -> Option<&Occupant> {
        self.occupants.get(nick)
    }

    pub fn occupant_count(&self) -> usize {
        self.occupants.len()
    }

    /// The occupant a real session belongs to.
    pub fn occupant_by_session(&self, jid: &FullJid) -> Option<&Occupant> {
        self.by_session.get(jid).and_then(|n| self.occupants.get(n))
    }

    /// Explicitly stored affiliations (never `None`), in JID order.
    pub fn affiliations(&self) -> impl Iterator<Item = (&BareJid, Affiliation)> {
        self.affiliations.iter().map(|(j, a)| (j, *a))
    }

    /// A user's affiliation; a domain-wide ban (`outcast` on a bare domain) applies to
    /// everyone at that domain, as in Prosody.
    pub fn affiliation(&self, bare: &BareJid) -> Affiliation {
        if let Some(a) = self.affiliations.get(bare) {
            return *a;
        }
        if self.domain_affiliations > 0 && bare.node().is_some() {
            let domain = BareJid::from_parts(None, bare.domain());
            if self.affiliations.get(&domain) == Some(&Affiliation::Outcast) {
                return Affiliation::Outcast;
            }
        }
        Affiliation::None
    }

    /// How many stored affiliations are for bare domains (domain-wide bans); kept
    /// so that [`Room::affiliation`] looks for one only when there is one.
    pub(crate) fn domain_affiliations(&self) -> usize {
        self.domain_affiliations
    }

    pub fn owners(&self) -> impl Iterator<Item = &BareJid> {
        self.affiliations
            .iter()
            .filter(|(_, a)| **a == Affiliation::Owner)
            .map(|(j, _)| j)
    }

    /// XEP-0045 §5.1.2 default roles; Prosody's members-only rule gives non-members none.
    pub fn default_role(&self, aff: Affiliation) -> Role {
        match aff {
            Affiliation::Owner | Affiliation::Admin => Role::Moderator,
            Affiliation::Member => Role::Participant,
            Affiliation::None if self.config.members_only => Role::None,
            Affiliation::None if self.config.moderated => Role::Visitor,
            Affiliation::None => Role::Participant,
            Affiliation::Outcast => Role::None,
        }
    }

    /// Whether `viewer` (an occupant) sees real JIDs of others (XEP-0045 §4.1 whois).
    pub(crate) fn can_see_jids(&self, viewer: &Occupant) -> bool {
        match self.config.whois {
            super::Whois::Anyone => true,
            super::Whois::Moderators => viewer.role == Role::Moderator,
        }
    }

    /// Whether a real JID is anonymous-for in Prosody's sense (owners/admins and
    /// moderators see real JIDs even before they are occupants).
    pub(crate) fn is_anonymous_for(&self, jid: &FullJid) -> bool {
        if self.config.whois == super::Whois::Anyone {
            return false;
        }
        let aff = self.affiliation(&jid.to_bare());
        if aff >= Affiliation::Admin {
            return false;
        }
        self.occupant_by_session(jid)
            .is_none_or(|o| o.role != Role::Moderator)
    }

    pub(crate) fn set_affiliation_raw(&mut self, bare: BareJid, aff: Affiliation) {
        let domain_only = usize::from(bare.node().is_none());
        if aff == Affiliation::None {
            self.reserved.remove(&bare);
            if self.affiliations.remove(&bare).is_some() {
                self.domain_affiliations -= domain_only;
            }
        } else if self.affiliations.insert(bare, aff).is_none() {
            self.domain_affiliations += domain_only;
        }
    }

    /// Removes a whole occupant and its index entries.
    pub(crate) fn remove_occupant(&mut self, nick: &str) -> Option<Occupant> {
        let occ = self.occupants.remove(nick)?;
        for s in &occ.sessions {
            self.by_session.remove(&s.jid);
        }
        Some(occ)
    }

    /// See [`crate::MucService::rename_sessions`].
    pub(crate) fn rename_sessions(&mut self, f: &dyn Fn(&FullJid) -> FullJid) {
        for occ in self.occupants.values_mut() {
            for s in &mut occ.sessions {
                s.jid = f(&s.jid);
            }
        }
        self.by_session = std::mem::take(&mut self.by_session)
            .into_iter()
            .map(|(j, n)| (f(&j), n))
            .collect();
    }

    pub(crate) fn insert_occupant(&mut self, occ: Occupant) {
        for s in &occ.sessions {
            self.by_session.insert(s.jid.clone(), occ.nick.clone());
        }
        self.occupants.insert(occ.nick.clone(), occ);
    }

    /// The record to keep, if this room is kept at all: persistent and configured.
    pub fn record(&self) -> Option<RoomRecord> {
        if !self.is_kept() {
            return None;
        }
        Some(RoomRecord {
            jid: self.jid.clone(),
            config: self.config.clone(),
            affiliations: self.affiliations.clone(),
            reserved: self.reserved.clone(),
            subject: self.subject.clone(),
        })
    }

    /// A room rebuilt from its record: empty and unlocked, as after a restart
    /// (`None` affiliations in the record are dropped).
    pub(crate) fn from_record(r: RoomRecord) -> Room {
        let mut room = Room::new(r.jid, r.config);
        for (jid, aff) in r.affiliations {
            if aff != Affiliation::None {
                room.set_affiliation_raw(jid, aff);
            }
        }
        room.reserved = r.reserved;
        room.subject = r.subject;
        room
    }
}
