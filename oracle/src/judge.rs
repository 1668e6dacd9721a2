//! The judge: whether the service's answer to one request is one XEP-0045 allows,
//! computed from [`crate::spec`] alone.
//!
//! A harness takes a [`Snapshot`] of the room as it stood when the service received
//! a request (from the service's public read API, [`Snapshot::of`]), hands the
//! request to the service, classifies the answer ([`Answer`], e.g. with
//! [`Answer::of_reply`]) and snapshots the room afterwards; [`judge`] then says
//! which property, if any, the step broke ([`Violation`]). Real JIDs in presence are
//! judged one stanza at a time by [`real_jid_shown`].
//!
//! The API (stable; the model checker and the swarm both call it):
//! - [`Snapshot`] (`affiliations`, `occupants`, `flags`, `subject`, `locked`,
//!   `full`), [`Snapshot::of`], [`Snapshot::affiliation`];
//! - [`Request`], [`Answer`], [`Condition`];
//! - [`judge`]`(before, actor, request, answer, after) -> Option<Violation>`;
//! - [`real_jid_shown`]`(rooms, viewer, about_nick) -> Option<Violation>`;
//! - [`Violation`] and [`Property`] (`Violation::property`, `Property::sentence`).
//!
//! JIDs are strings as the service writes them (`jid` crate normal form): bare JIDs
//! for users and domains (`juliet@localhost`, `localhost`), full JIDs for sessions.

use crate::spec::{self, Whois};
use server::jids::BareJid;
use server::muc::Room;
use server::{Affiliation, Outgoing, Role};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A room's stored affiliations (never `None`), by bare JID or bare domain, in JID
/// order: the service's own map, shared ([`Room::shared_affiliations`]), so a
/// snapshot copies none of it and two snapshots of an unchanged room hold the same
/// map (`Arc::ptr_eq`).
pub type Affiliations = Arc<BTreeMap<BareJid, Affiliation>>;

/// The room configuration the rules read (XEP-0045 §10.2, `muc#roomconfig_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flags {
    pub members_only: bool,
    pub moderated: bool,
    pub whois: Whois,
    pub password_protected: bool,
    pub allow_invites: bool,
    pub change_subject: bool,
    pub persistent: bool,
}

/// One occupant as the room held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occupant {
    pub nick: String,
    /// The user's bare JID.
    pub bare: String,
    /// The full JIDs of its sessions (XEP-0045 §7.2.1: several may share a nick).
    pub sessions: Vec<String>,
    pub role: Role,
    pub affiliation: Affiliation,
}

/// A room at one moment: what the rules need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Stored affiliations (never `None`), by bare JID or bare domain: shared with
    /// the room it was taken of ([`Affiliations`]).
    pub affiliations: Affiliations,
    pub occupants: Vec<Occupant>,
    pub flags: Flags,
    /// The subject's text, if one is set.
    pub subject: Option<String>,
    /// Awaiting its initial configuration (XEP-0045 §10.1.1).
    pub locked: bool,
    /// Holds its configured maximum of occupants (XEP-0045 §7.2.9).
    pub full: bool,
}

impl Snapshot {
    /// The snapshot of a service room, through its public read API only.
    pub fn of(room: &Room) -> Snapshot {
        Snapshot::of_occupants(room).with_affiliations(room)
    }

    /// [`Snapshot::of`] without the stored affiliations (`affiliations` empty; each
    /// occupant's `affiliation` is still read): what [`real_jid_shown`] reads.
    /// (Since the map is shared, [`Snapshot::of`] costs hardly more.)
    pub fn of_occupants(room: &Room) -> Snapshot {
        let c = room.config();
        let occupants: Vec<Occupant> = room
            .occupants()
            .map(|o| Occupant {
                nick: o.nick.clone(),
                bare: o.bare.as_str().to_owned(),
                sessions: o.sessions.iter().map(|s| s.jid.as_str().to_owned()).collect(),
                role: o.role,
                affiliation: room.affiliation(&o.bare),
            })
            .collect();
        Snapshot {
            affiliations: Affiliations::default(),
            flags: Flags {
                members_only: c.members_only,
                moderated: c.moderated,
                whois: match c.whois {
                    server::muc::Whois::Anyone => Whois::Anyone,
                    server::muc::Whois::Moderators => Whois::Moderators,
                },
                password_protected: c.password.is_some(),
                allow_invites: c.allow_member_invites,
                change_subject: c.change_subject,
                persistent: c.persistent,
            },
            subject: room.subject().map(|s| s.text.clone()),
            locked: room.is_locked(),
            full: c.max_users.is_some_and(|m| occupants.len() >= m as usize),
            occupants,
        }
    }

    /// This snapshot with `room`'s stored affiliations (from [`Snapshot::of_occupants`]
    /// of the same room, to [`Snapshot::of`]): the room's map, shared.
    pub fn with_affiliations(mut self, room: &Room) -> Snapshot {
        self.affiliations = Arc::clone(room.shared_affiliations());
        self
    }

    /// The affiliation stored for exactly `jid` (a user or a domain). A scan of the
    /// list: for many lookups, [`List::of`] once.
    pub fn stored(&self, jid: &str) -> Affiliation {
        self.affiliations
            .iter()
            .find(|(j, _)| j.as_str() == jid)
            .map_or(Affiliation::None, |(_, a)| *a)
    }

    /// A user's affiliation as the rules read it ([`spec::affiliation_of`]).
    pub fn affiliation(&self, bare: &str) -> Affiliation {
        let find = |jid: &str| {
            self.affiliations
                .iter()
                .find(|(j, _)| j.as_str() == jid)
                .map(|(_, a)| *a)
        };
        spec::affiliation_of(find(bare), bare.split_once('@').and_then(|(_, d)| find(d)))
    }

    /// The occupant one of whose sessions is `full`.
    pub fn occupant_of(&self, full: &str) -> Option<&Occupant> {
        self.occupants
            .iter()
            .find(|o| o.sessions.iter().any(|s| s == full))
    }

    pub fn occupant_named(&self, nick: &str) -> Option<&Occupant> {
        self.occupants.iter().find(|o| o.nick == nick)
    }
}

/// A request to a room, as its sender made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A muc#admin set of affiliations: (bare JID or bare domain, the one asked for),
    /// XEP-0045 §9, §10.3–§10.8.
    Affiliation(Vec<(String, Affiliation)>),
    /// A muc#admin set of one role by nick; `Role::None` is a kick (§8.2–§8.4,
    /// §9.6–§9.7).
    Role { nick: String, to: Role },
    /// A muc#owner configuration submission: the flags it asks for (§10.2).
    Config(Flags),
    /// A subject change (§7.3, §8.1).
    Subject,
    /// A mediated invitation of a user (bare JID), §7.8.2.
    Invite { invitee: String },
    /// A room destruction (§10.9).
    Destroy,
    /// Presence to `room/nick` with the MUC element, `password_given` when it
    /// carries the room's password (§7.2). A session already in the room is not
    /// entering: its presence is no admission and is not judged.
    Join { password_given: bool },
}

/// An error condition the service answered with (RFC 6120 §8.3.3), as far as the
/// rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    Forbidden,
    NotAllowed,
    NotAuthorized,
    RegistrationRequired,
    ServiceUnavailable,
    Conflict,
    ItemNotFound,
    Other,
}

impl Condition {
    /// The condition of an error stanza's element name.
    pub fn from_name(name: &str) -> Condition {
        match name {
            "forbidden" => Condition::Forbidden,
            "not-allowed" => Condition::NotAllowed,
            "not-authorized" => Condition::NotAuthorized,
            "registration-required" => Condition::RegistrationRequired,
            "service-unavailable" => Condition::ServiceUnavailable,
            "conflict" => Condition::Conflict,
            "item-not-found" => Condition::ItemNotFound,
            _ => Condition::Other,
        }
    }

    /// A refusal on grounds of permission: what an allowed request must not get.
    pub fn denies_permission(self) -> bool {
        matches!(self, Condition::Forbidden | Condition::NotAllowed)
    }
}

/// What the service answered the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answer {
    /// An iq result, a join admitted, a message accepted (no error came back).
    Accepted,
    /// An error reply.
    Refused(Condition),
}

impl Answer {
    /// Classifies the service's output for one request from `sender`: the first
    /// stanza to the sender of type `error` is a refusal with its condition;
    /// otherwise, the request was accepted. (For a join the harness may know better:
    /// admitted means its own presence with 110 came back.)
    pub fn of_reply(sender: &str, out: &[Outgoing]) -> Answer {
        for o in out {
            if o.to.as_str() != sender || o.body.attr("type") != Some("error") {
                continue;
            }
            let cond = o
                .body
                .child("error", server::ns::CLIENT)
                .and_then(|e| e.elements().find(|c| c.ns == server::ns::STANZAS))
                .map_or(Condition::Other, |c| Condition::from_name(&c.name));
            return Answer::Refused(cond);
        }
        Answer::Accepted
    }
}

/// The kind of a request, for naming what was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Affiliation,
    Role,
    Config,
    Subject,
    Invite,
    Destroy,
    Admission,
}

/// A property a step broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Violation {
    /// A request the XEP forbids succeeded (or changed the room anyway).
    ForbiddenSucceeded(Kind),
    /// A request the XEP allows, in a room that permits it, was refused with
    /// `forbidden` or `not-allowed` (for a join: with a bar's error though no bar held).
    AllowedRefused(Kind),
    /// A join without the room's password was admitted.
    AdmittedWithoutPassword,
    /// An outcast stopped being one other than by an allowed affiliation change.
    OutcastLifted,
    /// An occupant received another's real JID though whois does not let it.
    RealJidShown,
}

/// The properties [`Violation`]s break, one sentence each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    NoForbiddenSucceeds,
    AllowedNotRefused,
    RealJidOnlyByWhois,
    PasswordEveryJoin,
    OutcastOnlyByAllowedChange,
}

impl Property {
    pub const ALL: [Property; 5] = [
        Property::NoForbiddenSucceeds,
        Property::AllowedNotRefused,
        Property::RealJidOnlyByWhois,
        Property::PasswordEveryJoin,
        Property::OutcastOnlyByAllowedChange,
    ];

    /// The property as a sentence (what `mucsim check` prints after `always: `).
    pub fn sentence(self) -> &'static str {
        match self {
            Property::NoForbiddenSucceeds => "no request the XEP forbids succeeds (affiliation, role, config, subject, invitation, destroy, admission; judged against the room when the service received it)",
            Property::AllowedNotRefused => "a request the XEP allows, in a room that permits it, is not refused with forbidden or not-allowed",
            Property::RealJidOnlyByWhois => "a real JID reaches an occupant only when the room's whois setting lets that occupant see it",
            Property::PasswordEveryJoin => "nobody is admitted to a password-protected room without the password in that join, whichever session asks",
            Property::OutcastOnlyByAllowedChange => "an outcast stops being an outcast only by an allowed affiliation change",
        }
    }
}

impl Violation {
    pub fn property(self) -> Property {
        match self {
            Violation::ForbiddenSucceeded(_) => Property::NoForbiddenSucceeds,
            Violation::AllowedRefused(_) => Property::AllowedNotRefused,
            Violation::AdmittedWithoutPassword => Property::PasswordEveryJoin,
            Violation::OutcastLifted => Property::OutcastOnlyByAllowedChange,
            Violation::RealJidShown => Property::RealJidOnlyByWhois,
        }
    }
}

fn bare_of(full: &str) -> &str {
    full.split_once('/').map_or(full, |(b, _)| b)
}

/// Stored affiliations as borrowed (JID, affiliation) pairs sorted by JID, unique
/// JIDs: looked up by binary search, for the judge's many lookups in a long list.
pub struct List<'a>(Vec<(&'a str, Affiliation)>);

impl<'a> List<'a> {
    /// The list of a snapshot's stored affiliations (the map's order is the JIDs'
    /// string order: `jid` compares normalized strings).
    pub fn of(s: &'a Snapshot) -> List<'a> {
        List(s.affiliations.iter().map(|(j, a)| (j.as_str(), *a)).collect())
    }

    fn find(&self, jid: &str) -> Option<Affiliation> {
        self.0
            .binary_search_by(|(j, _)| (*j).cmp(jid))
            .ok()
            .map(|i| self.0[i].1)
    }

    /// As [`Snapshot::stored`].
    pub fn stored(&self, jid: &str) -> Affiliation {
        self.find(jid).unwrap_or(Affiliation::None)
    }

    /// As [`Snapshot::affiliation`].
    pub fn affiliation(&self, bare: &str) -> Affiliation {
        let domain = bare.split_once('@').and_then(|(_, d)| self.find(d));
        spec::affiliation_of(self.find(bare), domain)
    }

    /// `jid` (a user or a domain) as the rules read it: a user's affiliation with
    /// its domain's, a domain's as stored.
    fn read(&self, jid: &str) -> Affiliation {
        if jid.contains('@') {
            self.affiliation(jid)
        } else {
            self.stored(jid)
        }
    }
}

/// Whether `req` from `actor` (a full JID) is allowed in `before` by
/// [`crate::spec`]; `None` when the rules do not decide it (a role change for a nick
/// nobody holds, a presence from a session already inside).
pub fn allowed(before: &Snapshot, actor: &str, req: &Request) -> Option<bool> {
    let actor_aff = before.affiliation(bare_of(actor));
    let actor_occ = before.occupant_of(actor);
    Some(match req {
        Request::Affiliation(items) => {
            let list = List::of(before);
            let mut after: BTreeMap<&str, Affiliation> = list.0.iter().copied().collect();
            for (jid, to) in items {
                if !spec::may_request_affiliation(actor_aff, list.read(jid), *to) {
                    return Some(false);
                }
                if *to == Affiliation::None {
                    after.remove(jid.as_str());
                } else {
                    after.insert(jid, *to);
                }
            }
            let owners = after.values().filter(|a| **a == Affiliation::Owner).count();
            if !spec::leaves_an_owner(owners) {
                return Some(false);
            }
            true
        }
        Request::Role { nick, to } => {
            let target = before.occupant_named(nick)?;
            spec::may_set_role(&spec::RoleChange {
                actor_role: actor_occ.map(|o| o.role),
                actor_affiliation: actor_aff,
                target_role: target.role,
                target_affiliation: target.affiliation,
                to: *to,
            })
        }
        Request::Config(_) => spec::may_configure(actor_aff),
        Request::Destroy => spec::may_destroy(actor_aff),
        Request::Subject => {
            actor_occ.is_some_and(|o| spec::may_change_subject(o.role, before.flags.change_subject))
        }
        Request::Invite { .. } => actor_occ.is_some_and(|o| {
            spec::may_invite(
                o.role,
                actor_aff,
                before.flags.members_only,
                before.flags.allow_invites,
            )
        }),
        Request::Join { password_given } => {
            if actor_occ.is_some() {
                return None;
            }
            spec::bars(&join_of(before, actor, *password_given)).is_empty()
        }
    })
}

fn join_of(before: &Snapshot, actor: &str, password_given: bool) -> spec::Join {
    spec::Join {
        affiliation: before.affiliation(bare_of(actor)),
        members_only: before.flags.members_only,
        password_protected: before.flags.password_protected,
        password_given,
        full: before.full,
        locked: before.locked,
    }
}

fn kind(req: &Request) -> Kind {
    match req {
        Request::Affiliation(_) => Kind::Affiliation,
        Request::Role { .. } => Kind::Role,
        Request::Config(_) => Kind::Config,
        Request::Subject => Kind::Subject,
        Request::Invite { .. } => Kind::Invite,
        Request::Destroy => Kind::Destroy,
        Request::Join { .. } => Kind::Admission,
    }
}

/// The stored affiliations' part of [`judge`]: an outcast lifted other than by
/// an allowed change, or stored affiliations that are not those asked for.
fn affiliations_judged(
    before: &Snapshot,
    actor: &str,
    req: &Request,
    k: Kind,
    asked: bool,
    after: &Snapshot,
) -> Option<Violation> {
    let (then, now) = (List::of(before), List::of(after));
    // Stored affiliations: only an allowed affiliation change alters them, as asked;
    // an accepted invitation into a members-only room may add the invitee as a member
    // (§7.8.2). Both sides sorted by JID, unique JIDs: compared as sets.
    let expected: Vec<(&str, Affiliation)> = match req {
        Request::Affiliation(items) if asked => {
            let mut e: BTreeMap<&str, Affiliation> = then.0.iter().copied().collect();
            for (jid, to) in items {
                if *to == Affiliation::None {
                    e.remove(jid.as_str());
                } else {
                    e.insert(jid, *to);
                }
            }
            e.into_iter().collect()
        }
        Request::Invite { invitee }
            if asked
                && before.flags.members_only
                && then.stored(invitee) == Affiliation::None
                && then.affiliation(invitee) == Affiliation::None
                && now.stored(invitee) == Affiliation::Member =>
        {
            let mut e = then.0.clone();
            let at = e.partition_point(|(j, _)| *j < invitee.as_str());
            e.insert(at, (invitee, Affiliation::Member));
            e
        }
        _ => then.0.clone(),
    };
    // Everyone the rules could have banned: the listed JIDs and domains, the
    // occupants, the sender and an invitee.
    let invitee = match req {
        Request::Invite { invitee } => Some(invitee.as_str()),
        _ => None,
    };
    let mut people = then
        .0
        .iter()
        .chain(&now.0)
        .map(|(j, _)| *j)
        .chain(
            before
                .occupants
                .iter()
                .chain(&after.occupants)
                .map(|o| o.bare.as_str()),
        )
        .chain(std::iter::once(bare_of(actor)))
        .chain(invitee);
    let lifted_by_ask = |jid: &str| match req {
        Request::Affiliation(items) if asked => items
            .iter()
            .any(|(j, _)| j == jid || jid.split_once('@').is_some_and(|(_, d)| d == j)),
        _ => false,
    };
    // Only a JID or domain listed as an outcast before can make anyone one: the
    // rest are passed over without a lookup.
    let outcasts: Vec<&str> = then
        .0
        .iter()
        .filter(|(_, a)| *a == Affiliation::Outcast)
        .map(|(j, _)| *j)
        .collect();
    let lifted = |j: &str| {
        let may_be_outcast =
            outcasts.contains(&j) || j.split_once('@').is_some_and(|(_, d)| outcasts.contains(&d));
        may_be_outcast && then.read(j) == Affiliation::Outcast && now.read(j) != Affiliation::Outcast
    };
    if !outcasts.is_empty() && people.any(|p| lifted(p) && !lifted_by_ask(p)) {
        return Some(Violation::OutcastLifted);
    }
    if expected != now.0 {
        return Some(Violation::ForbiddenSucceeded(if asked {
            k
        } else {
            Kind::Affiliation
        }));
    }
    None
}

/// Judges one step: `before` is the room when the service received `req` from
/// `actor` (a full JID), `answer` what it told the sender, `after` the room once it
/// had handled it (`None`: the room is gone). The first property broken, if any.
///
/// Besides the answer, the room itself is compared: a change to the stored
/// affiliations, the configuration or the subject that no allowed, accepted request
/// asked for is a forbidden change that succeeded, whatever the answer said; an
/// outcast (by its own entry or its domain's, [`spec::affiliation_of`]) who is one no
/// longer must have been named by an allowed, accepted affiliation change
/// ([`spec::INVITE_RULES`]: an invitation never lifts a ban).
pub fn judge(
    before: &Snapshot,
    actor: &str,
    req: &Request,
    answer: Answer,
    after: Option<&Snapshot>,
) -> Option<Violation> {
    let k = kind(req);
    let verdict = allowed(before, actor, req);
    let accepted = answer == Answer::Accepted;
    if let Request::Join { password_given } = req {
        verdict?;
        let bars = spec::bars(&join_of(before, actor, *password_given));
        let admitted = accepted && after.is_some_and(|a| a.occupant_of(actor).is_some());
        if admitted && bars.contains(&spec::Bar::WrongPassword) {
            return Some(Violation::AdmittedWithoutPassword);
        }
        if admitted && !bars.is_empty() {
            return Some(Violation::ForbiddenSucceeded(k));
        }
        if let Answer::Refused(c) = answer {
            if bars.is_empty() && spec::bar_of_condition(c).is_some() {
                return Some(Violation::AllowedRefused(k));
            }
        }
    } else {
        match (verdict, answer) {
            (Some(false), Answer::Accepted) => return Some(Violation::ForbiddenSucceeded(k)),
            (Some(true), Answer::Refused(c)) if c.denies_permission() => {
                return Some(Violation::AllowedRefused(k))
            }
            _ => {}
        }
    }
    let Some(after) = after else {
        // Only a destroy may make the room vanish with a request (an emptied room
        // vanishes on a leave, which is not a request judged here).
        return match req {
            Request::Destroy if !(verdict == Some(true) && accepted) => {
                Some(Violation::ForbiddenSucceeded(k))
            }
            _ => None,
        };
    };
    let asked = verdict == Some(true) && accepted;
    // The same map before and after (the room shares it until it changes one):
    // nothing stored changed, so no outcast was lifted, and that is right unless
    // an allowed, accepted affiliation change asked for a change (an invitation's
    // membership below needs a changed map too).
    let unchanged = Arc::ptr_eq(&before.affiliations, &after.affiliations);
    if !unchanged || (asked && matches!(req, Request::Affiliation(_))) {
        if let Some(v) = affiliations_judged(before, actor, req, k, asked, after) {
            return Some(v);
        }
    }
    if after.flags != before.flags && !(asked && matches!(req, Request::Config(_))) {
        return Some(Violation::ForbiddenSucceeded(Kind::Config));
    }
    if after.subject != before.subject && !(asked && *req == Request::Subject) {
        return Some(Violation::ForbiddenSucceeded(Kind::Subject));
    }
    None
}

/// The presences in `out` that carry an occupant's real JID (`<item jid=…/>` in
/// the muc#user element, XEP-0045 §7.2.3): (recipient, room bare JID, the nick the
/// presence is from).
pub fn shown_real_jids(out: &[Outgoing]) -> Vec<(&str, &str, &str)> {
    out.iter()
        .filter(|o| o.body.name == "presence")
        .filter(|o| {
            o.body
                .child("x", server::ns::MUC_USER)
                .and_then(|x| x.child("item", server::ns::MUC_USER))
                .is_some_and(|i| i.attr("jid").is_some())
        })
        .filter_map(|o| {
            let (room, nick) = o.body.attr("from")?.split_once('/')?;
            Some((o.to.as_str(), room, nick))
        })
        .collect()
}

/// Judges one presence that the service sent to `viewer` (a full JID) about the
/// occupant `about_nick`, carrying that occupant's real JID: a violation unless one
/// of `rooms` (the room before and after the input that caused it) lets the viewer
/// see it ([`spec::may_see_real_jid`]). An occupant always sees its own.
pub fn real_jid_shown(rooms: &[&Snapshot], viewer: &str, about_nick: &str) -> Option<Violation> {
    let may = rooms.iter().any(|r| {
        let me = r.occupant_of(viewer);
        if me.is_some_and(|o| o.nick == about_nick) {
            return true;
        }
        let about_me = r
            .occupant_named(about_nick)
            .is_some_and(|o| o.bare == bare_of(viewer));
        about_me || spec::may_see_real_jid(r.flags.whois, me.map_or(Role::None, |o| o.role))
    });
    (!may).then_some(Violation::RealJidShown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Affiliation::{Admin, Member, None as Unaffiliated, Outcast, Owner};

    const ROMEO: &str = "romeo@localhost/a";
    const NURSE: &str = "nurse@localhost/a";
    const JULIET: &str = "juliet@localhost/phone";
    const JULIET2: &str = "juliet@localhost/laptop";
    const TYBALT: &str = "tybalt@capulet.lit/a";

    fn occ(nick: &str, full: &str, role: Role, affiliation: Affiliation) -> Occupant {
        Occupant {
            nick: nick.into(),
            bare: bare_of(full).into(),
            sessions: vec![full.into()],
            role,
            affiliation,
        }
    }

    fn flags() -> Flags {
        Flags {
            members_only: false,
            moderated: false,
            whois: Whois::Moderators,
            password_protected: false,
            allow_invites: false,
            change_subject: false,
            persistent: false,
        }
    }

    /// Romeo owner, Nurse admin, Juliet member (all in), Tybalt outcast (out).
    fn room() -> Snapshot {
        Snapshot {
            affiliations: Arc::new(
                [
                    ("romeo@localhost", Owner),
                    ("nurse@localhost", Admin),
                    ("juliet@localhost", Member),
                    ("tybalt@capulet.lit", Outcast),
                ]
                .into_iter()
                .map(|(j, a)| (bare(j), a))
                .collect(),
            ),
            occupants: vec![
                occ("Romeo", ROMEO, Role::Moderator, Owner),
                occ("Nurse", NURSE, Role::Moderator, Admin),
                occ("Juliet", JULIET, Role::Participant, Member),
            ],
            flags: flags(),
            subject: None,
            locked: false,
            full: false,
        }
    }

    fn bare(jid: &str) -> BareJid {
        BareJid::new(jid).expect("a bare JID")
    }

    fn set(mut s: Snapshot, jid: &str, a: Affiliation) -> Snapshot {
        let map = Arc::make_mut(&mut s.affiliations);
        map.remove(&bare(jid));
        if a != Unaffiliated {
            map.insert(bare(jid), a);
        }
        s
    }

    fn aff(jid: &str, a: Affiliation) -> Request {
        Request::Affiliation(vec![(jid.into(), a)])
    }

    const NO: Answer = Answer::Refused(Condition::Forbidden);
    const OK: Answer = Answer::Accepted;

    fn forbidden(k: Kind) -> Option<Violation> {
        Some(Violation::ForbiddenSucceeded(k))
    }

    fn wrongly_refused(k: Kind) -> Option<Violation> {
        Some(Violation::AllowedRefused(k))
    }

    /// One judged request: in room `.0`, `.1` asks `.2`; the service answers `.3` and
    /// leaves the room as `.4` (`None`: gone); the judge must say `.5`.
    type Row<'a> = (
        &'a Snapshot,
        &'a str,
        &'a Request,
        Answer,
        Option<&'a Snapshot>,
        Option<Violation>,
    );

    /// Every row's verdict is as it says; a failure names the row.
    #[track_caller]
    fn check(rows: &[Row]) {
        for (i, &(before, actor, req, answer, after, want)) in rows.iter().enumerate() {
            let got = judge(before, actor, req, answer, after);
            assert_eq!(got, want, "row {i}: {actor} asks {req:?}, answered {answer:?}");
        }
    }

    #[test]
    fn affiliation_changes_follow_the_chart() {
        let r = room();
        let ban_juliet = aff("juliet@localhost", Outcast);
        let juliet_banned = set(r.clone(), "juliet@localhost", Outcast);
        let ban_romeo = aff("romeo@localhost", Outcast);
        let romeo_banned = set(r.clone(), "romeo@localhost", Outcast);
        let drop_juliet = aff("juliet@localhost", Unaffiliated);
        let juliet_dropped = set(r.clone(), "juliet@localhost", Unaffiliated);
        let conflict = Answer::Refused(Condition::Conflict);
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // An admin bans a member: allowed; done, nothing broken.
            (&r, NURSE, &ban_juliet, OK, Some(&juliet_banned), None),
            // Refused with forbidden: the converse.
            (&r, NURSE, &ban_juliet, NO, Some(&r), wrongly_refused(Kind::Affiliation)),
            // Refused with conflict is not a permission refusal.
            (&r, NURSE, &ban_juliet, conflict, Some(&r), None),
            // An admin bans an owner or demotes another admin: forbidden.
            (&r, NURSE, &ban_romeo, OK, Some(&romeo_banned), forbidden(Kind::Affiliation)),
            (&r, NURSE, &ban_romeo, NO, Some(&r), None),
            // A member changes nothing.
            (&r, JULIET, &aff("nurse@localhost", Member), OK, Some(&r), forbidden(Kind::Affiliation)),
            // Refused, yet the room changed: the change succeeded anyway.
            (&r, JULIET, &drop_juliet, NO, Some(&juliet_dropped), forbidden(Kind::Affiliation)),
        ];
        check(rows);
        // The last owner may not go: refusing it is no violation.
        assert_eq!(allowed(&r, ROMEO, &aff("romeo@localhost", Member)), Some(false));
    }

    #[test]
    fn an_outcast_is_lifted_only_by_an_allowed_change() {
        let r = room();
        let lift = aff("tybalt@capulet.lit", Member);
        let lifted = set(r.clone(), "tybalt@capulet.lit", Member);
        // An invitation that lifts the ban.
        let invite = Request::Invite {
            invitee: "tybalt@capulet.lit".into(),
        };
        // A domain ban lifted by a user's own entry is an allowed change for an admin…
        let mut d = set(room(), "capulet.lit", Outcast);
        d = set(d, "tybalt@capulet.lit", Unaffiliated);
        assert_eq!(d.affiliation("tybalt@capulet.lit"), Outcast);
        let own = set(d.clone(), "tybalt@capulet.lit", Member);
        // …but lifting the domain by a member's request is not.
        let drop_domain = aff("capulet.lit", Unaffiliated);
        let domain_gone = set(d.clone(), "capulet.lit", Unaffiliated);
        // An invitation into a members-only room may make an unaffiliated invitee a member.
        let mut m = room();
        m.flags.members_only = true;
        let invite_mercutio = Request::Invite {
            invitee: "mercutio@localhost".into(),
        };
        let mercutio_member = set(m.clone(), "mercutio@localhost", Member);
        // A member may not invite there unless allowinvites.
        let mut open = m.clone();
        open.flags.allow_invites = true;
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&r, NURSE, &lift, OK, Some(&lifted), None),
            (&r, ROMEO, &invite, OK, Some(&lifted), Some(Violation::OutcastLifted)),
            (&d, NURSE, &lift, OK, Some(&own), None),
            (&d, JULIET, &drop_domain, OK, Some(&domain_gone), forbidden(Kind::Affiliation)),
            (&m, NURSE, &invite_mercutio, OK, Some(&mercutio_member), None),
            (&m, JULIET, &invite_mercutio, OK, Some(&mercutio_member), forbidden(Kind::Invite)),
            (&open, JULIET, &invite_mercutio, NO, Some(&open), wrongly_refused(Kind::Invite)),
        ];
        check(rows);
    }

    #[test]
    fn roles_follow_sections_8_and_9() {
        let r = room();
        let kick = |nick: &str| Request::Role {
            nick: nick.into(),
            to: Role::None,
        };
        // An admin kicks a member; not the owner.
        assert_eq!(allowed(&r, NURSE, &kick("Juliet")), Some(true));
        let not_allowed = Answer::Refused(Condition::NotAllowed);
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&r, NURSE, &kick("Romeo"), OK, Some(&r), forbidden(Kind::Role)),
            (&r, NURSE, &kick("Juliet"), not_allowed, Some(&r), wrongly_refused(Kind::Role)),
            // Nobody holds the nick: the rules do not decide.
            (&r, ROMEO, &kick("Mercutio"), NO, Some(&r), None),
        ];
        check(rows);
        // A participant grants nothing; an outsider neither.
        let voice = Request::Role {
            nick: "Nurse".into(),
            to: Role::Participant,
        };
        assert_eq!(allowed(&r, JULIET, &voice), Some(false));
        assert_eq!(allowed(&r, TYBALT, &voice), Some(false));
        assert_eq!(allowed(&r, ROMEO, &kick("Mercutio")), None);
    }

    #[test]
    fn config_destroy_and_subject() {
        let r = room();
        let mut f = flags();
        f.whois = Whois::Anyone;
        let mut after = r.clone();
        after.flags = f;
        let config = Request::Config(f);
        let mut said = r.clone();
        said.subject = Some("hi".into());
        let mut open = r.clone();
        open.flags.change_subject = true;
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&r, ROMEO, &config, OK, Some(&after), None),
            (&r, NURSE, &config, OK, Some(&after), forbidden(Kind::Config)),
            (&r, ROMEO, &config, NO, Some(&r), wrongly_refused(Kind::Config)),
            // A refused config that changed the room anyway.
            (&r, NURSE, &config, NO, Some(&after), forbidden(Kind::Config)),
            (&r, ROMEO, &Request::Destroy, OK, None, None),
            (&r, NURSE, &Request::Destroy, OK, None, forbidden(Kind::Destroy)),
            (&r, ROMEO, &Request::Destroy, NO, Some(&r), wrongly_refused(Kind::Destroy)),
            (&r, NURSE, &Request::Subject, OK, Some(&said), None),
            (&r, JULIET, &Request::Subject, OK, Some(&said), forbidden(Kind::Subject)),
            // Refused, and the subject did not change: fine.
            (&r, JULIET, &Request::Subject, NO, Some(&r), None),
            (&open, JULIET, &Request::Subject, NO, Some(&open), wrongly_refused(Kind::Subject)),
        ];
        check(rows);
    }

    #[test]
    fn admission_and_the_password() {
        let mut r = room();
        r.flags.password_protected = true;
        let mut inside = r.clone();
        inside.occupants[2].sessions.push(JULIET2.into());
        let bare = Request::Join {
            password_given: false,
        };
        let pw = Request::Join { password_given: true };
        let nope = Answer::Refused(Condition::NotAuthorized);
        let mut with_tybalt = r.clone();
        with_tybalt
            .occupants
            .push(occ("Tybalt", TYBALT, Role::Participant, Outcast));
        let conflict = Answer::Refused(Condition::Conflict);
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // Juliet's second session without the password: admitted is a violation…
            (&r, JULIET2, &bare, OK, Some(&inside), Some(Violation::AdmittedWithoutPassword)),
            // …refused is right; with the password, admitted is right and refused wrong.
            (&r, JULIET2, &bare, nope, Some(&r), None),
            (&r, JULIET2, &pw, OK, Some(&inside), None),
            (&r, JULIET2, &pw, nope, Some(&r), wrongly_refused(Kind::Admission)),
            // An outcast admitted.
            (&r, TYBALT, &pw, OK, Some(&with_tybalt), forbidden(Kind::Admission)),
            // Presence from a session already inside is not an admission.
            (&r, JULIET, &bare, OK, Some(&r), None),
            // A conflict (nick taken) is not a bar's refusal.
            (&r, JULIET2, &pw, conflict, Some(&r), None),
        ];
        check(rows);
    }

    #[test]
    fn real_jids_follow_whois() {
        let mut r = room();
        // Semi-anonymous: Juliet (participant) may not see the Nurse's JID; the
        // Nurse (moderator) may see Juliet's; Juliet sees her own.
        assert_eq!(
            real_jid_shown(&[&r], JULIET, "Nurse"),
            Some(Violation::RealJidShown)
        );
        assert_eq!(real_jid_shown(&[&r], NURSE, "Juliet"), None);
        assert_eq!(real_jid_shown(&[&r], JULIET, "Juliet"), None);
        // A second session sees its user's occupant.
        let mut two = r.clone();
        two.occupants[2].sessions.push(JULIET2.into());
        assert_eq!(real_jid_shown(&[&two], JULIET2, "Juliet"), None);
        // Non-anonymous: everyone. Either side of a switch suffices.
        let semi = r.clone();
        r.flags.whois = Whois::Anyone;
        assert_eq!(real_jid_shown(&[&semi, &r], JULIET, "Nurse"), None);
        assert_eq!(Violation::RealJidShown.property(), Property::RealJidOnlyByWhois);
    }

    #[test]
    fn a_reply_is_classified_by_its_error() {
        use server::xml::Element;
        use std::sync::Arc;
        let err = Element::new("iq", server::ns::CLIENT)
            .with_attr("type", "error")
            .with_child(
                Element::new("error", server::ns::CLIENT)
                    .with_attr("type", "cancel")
                    .with_child(Element::new("not-allowed", server::ns::STANZAS)),
            );
        let to = |j: &str| server::jids::Jid::new(j).expect("jid");
        let out = vec![
            Outgoing {
                to: to(JULIET),
                body: Arc::new(Element::new("iq", server::ns::CLIENT).with_attr("type", "result")),
            },
            Outgoing {
                to: to(NURSE),
                body: Arc::new(err),
            },
        ];
        assert_eq!(Answer::of_reply(JULIET, &out), Answer::Accepted);
        assert_eq!(
            Answer::of_reply(NURSE, &out),
            Answer::Refused(Condition::NotAllowed)
        );
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use server::jids::{BareJid, FullJid};
    use server::xml::Element;
    use server::{Millis, MucService, ServiceConfig};

    fn full(s: &str) -> FullJid {
        FullJid::new(s).expect("a full JID")
    }

    /// `Snapshot::of` reads a real room through the service's public API: who is in
    /// it, with which role and affiliation, the stored and domain affiliations, the
    /// configuration flags.
    #[test]
    fn a_snapshot_of_a_service_room() {
        let mut svc = MucService::new(ServiceConfig::new("conference.localhost", 0)).expect("a service");
        let romeo = full("romeo@localhost/pda");
        let room = "room@conference.localhost";
        let presence = |nick: &str| {
            Element::new("presence", server::ns::CLIENT)
                .with_attr("to", format!("{room}/{nick}"))
                .with_child(Element::new("x", server::ns::MUC))
        };
        let iq = |ns: &'static str, child: Element| {
            Element::new("iq", server::ns::CLIENT)
                .with_attr("to", room)
                .with_attr("type", "set")
                .with_attr("id", "i")
                .with_child(Element::new("query", ns).with_child(child))
        };
        let _ = svc.handle(Millis(0), romeo.clone(), presence("Romeo"));
        let form = Element::new("x", server::ns::DATA)
            .with_attr("type", "submit")
            .with_child(server::muc::submitted_field(
                "FORM_TYPE",
                server::ns::MUC_ROOMCONFIG,
            ))
            .with_child(server::muc::submitted_field("muc#roomconfig_whois", "anyone"))
            .with_child(server::muc::submitted_field("muc#roomconfig_changesubject", "1"));
        let _ = svc.handle(Millis(0), romeo.clone(), iq(server::ns::MUC_OWNER, form));
        let ban = Element::new("item", server::ns::MUC_ADMIN)
            .with_attr("affiliation", "outcast")
            .with_attr("jid", "capulet.lit");
        let _ = svc.handle(Millis(0), romeo.clone(), iq(server::ns::MUC_ADMIN, ban));
        let _ = svc.handle(Millis(0), full("juliet@localhost/phone"), presence("Juliet"));
        let s = Snapshot::of(svc.room(&BareJid::new(room).expect("a room")).expect("the room"));
        assert_eq!(s.flags.whois, Whois::Anyone);
        assert!(s.flags.change_subject && !s.flags.members_only && !s.flags.password_protected);
        assert_eq!(s.affiliation("romeo@localhost"), Affiliation::Owner);
        assert_eq!(s.affiliation("tybalt@capulet.lit"), Affiliation::Outcast);
        assert_eq!(s.stored("capulet.lit"), Affiliation::Outcast);
        let juliet = s.occupant_of("juliet@localhost/phone").expect("Juliet is in");
        assert_eq!((juliet.nick.as_str(), juliet.role), ("Juliet", Role::Participant));
        assert_eq!(s.occupant_named("Romeo").map(|o| o.role), Some(Role::Moderator));
        assert!(!s.locked && !s.full);
        // A join of a capulet is barred; the judge says the service was right to refuse.
        let answer = Answer::Refused(Condition::Forbidden);
        let req = Request::Join {
            password_given: false,
        };
        assert_eq!(judge(&s, "tybalt@capulet.lit/a", &req, answer, Some(&s)), None);
    }
}
