//! What the service keeps across restarts, and how it says so.
//!
//! A persistent room's configuration, affiliations and subject (not its occupants:
//! after a restart rooms come back empty, as in Prosody) form its [`RoomRecord`]. The
//! service stays sans-IO: when an input changes a record, the outbox carries
//! [`StoreOp`]s — write this record, forget that room, and a [`StoreOp::Sync`]
//! barrier — placed *before* every stanza of that outbox, so a driver that applies
//! them in order has made the change durable before the iq result or any presence
//! leaves. [`crate::MucService::restore`] rebuilds a service from what is durable.
//!
//! A kept room that is destroyed leaves a [`Tombstone`] in its place (Prosody's
//! tombstones, XEP-0045 §10.9): for a room address the store holds a record, a
//! tombstone, or nothing.

use crate::muc::room::Subject;
use crate::muc::{Affiliation, Millis, RoomConfig};
use crate::xml::Element;
use jid::BareJid;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything about a persistent room that outlives the process.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomRecord {
    pub jid: BareJid,
    pub config: RoomConfig,
    /// Never holds `Affiliation::None`.
    pub affiliations: BTreeMap<BareJid, Affiliation>,
    /// Reserved nicknames, of affiliated users only.
    pub reserved: BTreeMap<BareJid, String>,
    /// The reason given with each ban (XEP-0045 §9.1), of outcasts only.
    pub ban_reasons: BTreeMap<BareJid, String>,
    pub subject: Option<Subject>,
}

/// What a destroyed kept room leaves at its address until `expires` (Prosody's
/// tombstone, `muc_tombstone_expiry`): a stanza to the room, or to one of its
/// occupant addresses, is answered `cancel`/`gone` (RFC 6120 §8.3.3.5) with the
/// reason the owner gave and the alternate venue (XEP-0045 §10.9), and the room
/// cannot be created again until then (except by a service administrator).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tombstone {
    pub jid: BareJid,
    /// The `<reason/>` of the owner's `<destroy/>`, if any.
    pub reason: Option<String>,
    /// The `jid` of the owner's `<destroy/>` (the alternate venue), if it was a JID.
    pub alternate: Option<BareJid>,
    /// When the tombstone lapses, on the service's clock (the `now` of
    /// [`crate::MucService::handle`]: milliseconds since the Unix epoch).
    pub expires: Millis,
}

impl Tombstone {
    /// Whether the tombstone has lapsed at `now` (it holds up to `expires`
    /// itself, as Prosody's `locked < os.time()` test).
    pub fn lapsed(&self, now: Millis) -> bool {
        self.expires < now
    }
}

/// What a store holds for one room address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stored {
    Room(Arc<RoomRecord>),
    Tombstone(Arc<Tombstone>),
}

impl Stored {
    pub fn jid(&self) -> &BareJid {
        match self {
            Stored::Room(r) => &r.jid,
            Stored::Tombstone(t) => &t.jid,
        }
    }
}

/// One storage effect of one input, applied by the driver in outbox order. Each
/// of `Put`, `Bury` and `Delete` replaces whatever the store held for the address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// Write (replace) a room's record.
    Put(Arc<RoomRecord>),
    /// The kept room was destroyed: its record gives way to its tombstone.
    Bury(Arc<Tombstone>),
    /// The room is gone (or no longer persistent), or its tombstone lapsed.
    Delete(BareJid),
    /// Everything written so far must be durable before anything after this.
    Sync,
}

/// Where a service's storage effects go: the one storage contract every driver
/// keeps (the simulated disk, the SQLite store of `mucsim serve`, and [`Memory`]).
/// A driver applies each outbox's [`StoreOp`]s, in order, before the stanzas that
/// follow them are sent ("durable before told", ARCHITECTURE.md).
pub trait RoomStore {
    /// Applies `ops` in order: `Put` writes a room's record, `Bury` replaces it with
    /// its tombstone, `Delete` forgets a room or tombstone, and `Sync` returns only
    /// once everything written before it is durable.
    /// Errors: [`StoreError`] — the store could not keep a promise; the driver must
    /// not send anything that tells of the change.
    fn apply(&mut self, ops: &[StoreOp]) -> Result<(), StoreError>;
}

/// A store that failed to apply an effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The storage technology refused or failed (disk full, I/O error, a locked or
    /// foreign file…), in its own words.
    Backend(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Backend(why) => write!(f, "backend error: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// No store: rooms live as long as the process (`mucsim serve --no-store`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory;

impl RoomStore for Memory {
    fn apply(&mut self, _: &[StoreOp]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Why a set of records cannot become a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// A room outside the service's domain.
    WrongDomain(String),
    /// A room without an owner (a service never writes one).
    NoOwner(String),
    /// Two records for one room (or a record and a tombstone).
    Duplicate(String),
    /// A nickname reserved by a user with no affiliation.
    StrayReservation(String),
    /// The configuration itself cannot make a service.
    Config(crate::config::ConfigError),
    /// A reserved nickname (XEP-0045 §7.10) that is not a valid nickname (strict
    /// resourceprep, RFC 7622 §3.4, as a registration requires): room, user, nick.
    BadReservedNick(String, String, String),
    /// A subject's author (`Subject::by`, a nick, XEP-0045 §8.1) that is not a valid
    /// nickname: room, value.
    BadSubjectBy(String, String),
    /// The rebuilt room breaks one of the service's invariants
    /// ([`crate::invariants`]); the violation names the room and the invariant.
    Invariant(crate::invariants::Violation),
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::WrongDomain(r) => write!(f, "room {r} is not on this service's domain"),
            RestoreError::NoOwner(r) => write!(f, "room {r} has no owner"),
            RestoreError::Duplicate(r) => write!(f, "room {r} is stored twice"),
            RestoreError::Config(e) => write!(f, "the service's configuration: {e}"),
            RestoreError::StrayReservation(r) => write!(
                f,
                "room {r} reserves a nickname for a user it has no affiliation with"
            ),
            RestoreError::BadReservedNick(r, user, nick) => write!(
                f,
                "room {r}: the nickname '{nick}' reserved for {user} is not a valid nickname"
            ),
            RestoreError::BadSubjectBy(r, by) => {
                write!(f, "room {r}: the subject's author '{by}' is not a valid nickname")
            }
            RestoreError::Invariant(v) => write!(
                f,
                "room {} breaks an invariant ({}): {}",
                v.room,
                v.invariant.sentence(),
                v.detail
            ),
        }
    }
}

impl std::error::Error for RestoreError {}

impl RoomConfig {
    /// The configuration as a submitted `muc#roomconfig` data form (XEP-0004): the
    /// format the store keeps, read back with [`RoomConfig::from_submission`] through
    /// the same validation an owner's submission gets.
    pub fn to_submission(&self) -> Element {
        let mut form = self.form("");
        form.set_attr("type", "submit");
        form.children.retain(|c| match c {
            crate::xml::Node::Element(e) => e.is("field", crate::ns::DATA) && e.attr("var").is_some(),
            crate::xml::Node::Text(_) => false,
        });
        for c in &mut form.children {
            if let crate::xml::Node::Element(f) = c {
                f.attrs.retain(|a| a.name == "var");
                f.children
                    .retain(|v| matches!(v, crate::xml::Node::Element(e) if e.is("value", crate::ns::DATA)));
            }
        }
        form
    }

    /// Reads back [`RoomConfig::to_submission`]; a bad value is refused, not guessed.
    pub fn from_submission(form: &Element) -> Result<RoomConfig, crate::Refusal> {
        RoomConfig::default().apply_form(form)
    }
}
