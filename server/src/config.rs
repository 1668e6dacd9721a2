//! The service's configuration, fixed for a service's life: its domain, its bounds,
//! the defaults of new rooms, its administrators, and the deliberate bugs the
//! `mutants` feature can switch on. Below the rules: every room operation reads it
//! through [`Ctx`], none needs the dispatcher for it.

use crate::muc::{Millis, RoomConfig};
use jid::BareJid;
use sha2::{Digest, Sha256};

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
    /// A muc#admin set is answered on the wrong side of the removal it makes: a
    /// kick's answer before the kicked occupant is told (XEP-0045 §8.2 puts it
    /// after), a ban's after the banned occupant is told (§9.2 puts it before).
    RemovalAnswerSwapped,
    /// An admin may change another admin's or an owner's affiliation (the check
    /// reads only the affiliation asked for, not the target's current one).
    AdminMayChangeAdmins,
    /// A moderator may change the role of an occupant with a higher affiliation (a
    /// kick of an owner by an admin goes through).
    ModeratorOutranksAffiliation,
    /// A role change between equal affiliations is refused `not-allowed` (the
    /// affiliation comparison is `<=` instead of `<`).
    RoleCheckRefusesEqual,
    /// A second session of a user already in the room joins without the password
    /// (the password is checked for a new occupant only).
    SecondSessionSkipsPassword,
    /// A joining occupant receives the occupant list with real JIDs in a
    /// semi-anonymous room.
    JoinerSeesRealJids,
    /// An invitation into a members-only room makes the invitee a member even when
    /// it is an outcast.
    InviteLiftsBan,
}

impl Mutant {
    pub const ALL: [Mutant; 14] = [
        Mutant::RevokeOneSession,
        Mutant::MembersOnlyKeepsNonMembers,
        Mutant::StaleJoinCheck,
        Mutant::BanKeepsOccupant,
        Mutant::LastOwnerMayLeave,
        Mutant::NickChangeSkipsUniqueness,
        Mutant::AnswerBeforeDurable,
        Mutant::RemovalAnswerSwapped,
        Mutant::AdminMayChangeAdmins,
        Mutant::ModeratorOutranksAffiliation,
        Mutant::RoleCheckRefusesEqual,
        Mutant::SecondSessionSkipsPassword,
        Mutant::JoinerSeesRealJids,
        Mutant::InviteLiftsBan,
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
            Mutant::RemovalAnswerSwapped => "removal-answer-swapped",
            Mutant::AdminMayChangeAdmins => "admin-may-change-admins",
            Mutant::ModeratorOutranksAffiliation => "moderator-outranks-affiliation",
            Mutant::RoleCheckRefusesEqual => "role-check-refuses-equal",
            Mutant::SecondSessionSkipsPassword => "second-session-skips-password",
            Mutant::JoinerSeesRealJids => "joiner-sees-real-jids",
            Mutant::InviteLiftsBan => "invite-lifts-ban",
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

/// Why a [`ServiceConfig`] cannot make a service ([`crate::MucService::new`]).
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
    /// checked by [`crate::MucService::new`]).
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
    /// XEP-0045 §7.13: the least time between two voice requests of one user in one
    /// room; a request sooner is refused `wait`/`resource-constraint`. Prosody 0.12.3
    /// has no limit; the default, 30 minutes, is ejabberd's
    /// `voice_request_min_interval` (`Millis(0)`: no limit).
    pub voice_request_interval: Millis,
    /// How long a destroyed persistent room's tombstone answers `gone` (XEP-0045
    /// §10.9, RFC 6120 §8.3.3.5) before the room may be created again; `None` keeps
    /// no tombstones. Prosody's `muc_tombstones`/`muc_tombstone_expiry`, whose
    /// default, 31 days, this is.
    pub tombstone_expiry: Option<Millis>,
    #[cfg(feature = "mutants")]
    pub mutant: Option<Mutant>,
}

/// [`ServiceConfig::voice_request_interval`]'s default: 30 minutes (ejabberd's).
pub const DEFAULT_VOICE_REQUEST_INTERVAL: Millis = Millis(30 * 60 * 1000);

/// [`ServiceConfig::tombstone_expiry`]'s default: 31 days (Prosody's
/// `muc_tombstone_expiry`).
pub const DEFAULT_TOMBSTONE_EXPIRY: Millis = Millis(31 * 86_400 * 1000);

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
            voice_request_interval: DEFAULT_VOICE_REQUEST_INTERVAL,
            tombstone_expiry: Some(DEFAULT_TOMBSTONE_EXPIRY),
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    #[inline(always)]
    pub(crate) fn mutant(&self, m: Mutant) -> bool {
        self.faults().on(m)
    }

    /// The deliberate bugs switched on (none without the `mutants` feature).
    #[inline(always)]
    pub(crate) fn faults(&self) -> Faults {
        #[cfg(feature = "mutants")]
        return Faults(self.mutant);
        #[cfg(not(feature = "mutants"))]
        Faults
    }
}

/// The deliberate bugs a rule may consult, and nothing else of the configuration:
/// what a rule with a mutant takes instead of the whole [`Ctx`]. Zero-sized, and
/// every [`Faults::on`] `false`, without the `mutants` feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg(feature = "mutants")]
pub(crate) struct Faults(Option<Mutant>);

/// See the `mutants` build of this type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg(not(feature = "mutants"))]
pub(crate) struct Faults;

impl Faults {
    /// No deliberate bug on.
    #[cfg(feature = "mutants")]
    pub(crate) const NONE: Faults = Faults(None);
    /// No deliberate bug on.
    #[cfg(not(feature = "mutants"))]
    pub(crate) const NONE: Faults = Faults;

    /// Whether mutant `m` is on.
    #[inline(always)]
    pub(crate) fn on(self, m: Mutant) -> bool {
        #[cfg(feature = "mutants")]
        return self.0 == Some(m);
        #[cfg(not(feature = "mutants"))]
        {
            let _ = m;
            false
        }
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
