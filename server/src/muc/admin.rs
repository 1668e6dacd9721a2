//! muc#admin: affiliation and role lists (XEP-0045 §8–§10), with the §5.2 permission
//! matrix as Prosody applies it. A multi-item set is checked whole before any item
//! takes effect, so it applies all-or-nothing (Prosody applies only the first item).

use super::presence::{Notice, Removal};
use super::room::Room;
use super::{Affiliation, Role};
use crate::config::{Ctx, Faults, Mutant};
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::xml::Element;
use jid::{BareJid, FullJid, Jid};

enum Change {
    Affiliation {
        jid: BareJid,
        to: Affiliation,
        reason: Option<String>,
        /// A nickname to reserve for the user (Prosody: `nick` beside `jid`).
        nick: Option<String>,
    },
    Role {
        nick: String,
        to: Role,
        reason: Option<String>,
    },
}

fn parse_item(room: &Room, item: &Element) -> Result<Change, Refusal> {
    let mut jid = match item.attr("jid") {
        None => None,
        Some(j) => match Jid::new(j) {
            Err(_) => return Err(Refusal::JidMalformed("invalid JID in item")),
            Ok(j) if j.resource().is_some() => {
                return Err(Refusal::JidMalformed("Bare JID expected, got full JID"))
            }
            Ok(j) => Some(j.bare()),
        },
    };
    let nick = match item.attr("nick") {
        None => None,
        Some(n) => match crate::jids::prep_nick(room.jid(), n) {
            Some(nick) => Some(nick),
            None => return Err(Refusal::JidMalformed("invalid nickname")),
        },
    };
    let reason = item.child_text("reason", ns::MUC_ADMIN);
    match (item.attr("affiliation"), item.attr("role")) {
        (Some(a), None) => {
            let to = Affiliation::parse(a).ok_or(Refusal::UnknownAffiliationOrRole)?;
            let reserve = if jid.is_some() { nick.clone() } else { None };
            if jid.is_none() {
                // Prosody's compatibility path: an affiliation by nick means that occupant.
                jid = nick
                    .as_deref()
                    .and_then(|n| room.occupant(n))
                    .map(|o| o.bare.clone());
            }
            let jid = jid.ok_or(Refusal::BadAdminItem)?;
            Ok(Change::Affiliation {
                jid,
                to,
                reason,
                nick: reserve,
            })
        }
        (None, Some(r)) => {
            let to = Role::parse(r).ok_or(Refusal::UnknownAffiliationOrRole)?;
            let nick = match (nick, jid) {
                (Some(n), _) => n,
                (None, Some(j)) => room
                    .occupants()
                    .find(|o| o.bare == j)
                    .map(|o| o.nick.clone())
                    .ok_or(Refusal::OccupantNotFound)?,
                (None, None) => return Err(Refusal::BadAdminItem),
            };
            Ok(Change::Role { nick, to, reason })
        }
        _ => Err(Refusal::BadAdminItem),
    }
}

/// Whether `actor` (with affiliation `actor_aff`) may move `target` from `target_now`
/// to `to`: the §5.2 permission matrix, with the errors XEP-0045 fixes.
/// Owners may do anything but ban themselves (the last-owner rule is checked on
/// the whole batch). Admins may move users below admin between member, none and
/// outcast. Errors: `Forbidden` for a non-admin (§9: admin use cases) and for an
/// admin granting or revoking owner or admin (§10.3–§10.8: owner use cases);
/// `NotAllowed` for an admin banning an admin or owner (§9.1); `SelfBan` for an
/// admin or owner banning themselves (§9.1).
fn may_set_affiliation(
    faults: Faults,
    actor: &BareJid,
    actor_aff: Affiliation,
    target: &BareJid,
    target_now: Affiliation,
    to: Affiliation,
) -> Result<(), Refusal> {
    if actor_aff < Affiliation::Admin {
        return Err(Refusal::Forbidden);
    }
    // XEP-0045 §9.1: an admin (or owner) banning themselves gets `conflict`, even
    // when another owner would remain (Prosody lets a non-last owner do it).
    if to == Affiliation::Outcast && actor == target {
        return Err(Refusal::SelfBan);
    }
    let target_below_admin = target_now < Affiliation::Admin || faults.on(Mutant::AdminMayChangeAdmins);
    if actor_aff == Affiliation::Owner || (to < Affiliation::Admin && target_below_admin) {
        return Ok(());
    }
    // An admin reaching at or above admin. Prosody answers every case `not-allowed`.
    if to == Affiliation::Outcast {
        Err(Refusal::NotAllowed)
    } else {
        Err(Refusal::Forbidden)
    }
}

/// Prosody's `may_set_role`, with XEP-0045's errors: `Forbidden` when the actor is
/// not a moderator (§8.2–§8.4), or a moderator below admin granting or revoking
/// moderator (§9.6, §9.7: admin use cases); `NotAllowed` for a target with a higher
/// affiliation than the actor's (§8.2); `OccupantNotFound` for an absent nick.
/// Prosody answers every refusal here `not-allowed`.
fn may_set_role(faults: Faults, room: &Room, actor: &FullJid, nick: &str, to: Role) -> Result<(), Refusal> {
    let target = room.occupant(nick).ok_or(Refusal::OccupantNotFound)?;
    let actor_aff = room.affiliation(&actor.bare());
    match room.occupant_by_session(actor) {
        Some(a) if a.role == Role::Moderator => {}
        _ => return Err(Refusal::Forbidden),
    }
    let target_aff = room.affiliation(&target.bare);
    let outranked = if faults.on(Mutant::RoleCheckRefusesEqual) {
        actor_aff <= target_aff
    } else {
        actor_aff < target_aff
    };
    if outranked && !faults.on(Mutant::ModeratorOutranksAffiliation) {
        return Err(Refusal::NotAllowed);
    }
    if (target.role == Role::Moderator || to == Role::Moderator) && actor_aff < Affiliation::Admin {
        return Err(Refusal::Forbidden);
    }
    Ok(())
}

/// Where the answer to a muc#admin set goes among the stanzas its changes send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnswerAt {
    /// Role changes (XEP-0045 §8.2–§8.5, §9.6–§9.8): a removed (kicked) occupant
    /// is told first, then the requester is answered, then everyone else is told
    /// ("after removing the kicked occupant(s), the service MUST then inform the
    /// moderator of success"; "the service MUST then send updated presence").
    AfterRemoved,
    /// A ban (§9.1, §9.2): the requester is answered first ("after updating the ban
    /// list, the service MUST inform the admin of success. The service MUST then
    /// remove the affected occupants"), then the removed occupant, then the others.
    First,
    /// Any other affiliation change (§9.3–§9.5, §10.3–§10.8): answered after every
    /// stanza it sends, as Prosody 0.12.3 does and its own scripts expect
    /// (`issue1224.scs`, `muc_register.scs`, `muc_members_only_change.scs` read the
    /// presence before the result). The XEP says "then inform the admin of success
    /// ... then send updated presence": a recorded deviation (docs/conformance.md).
    Last,
}

/// Applies a muc#admin set and answers it with `answer`, placed where XEP-0045 puts
/// it ([`AnswerAt`]). Errors: the whole batch is refused (nothing sent, nothing
/// changed) with the first item's refusal, or `LastOwner` (§10.6).
pub(crate) fn set(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    query: &Element,
    answer: Element,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let items: Vec<&Element> = query.elements().filter(|e| e.is("item", ns::MUC_ADMIN)).collect();
    if items.is_empty() {
        return Err(Refusal::BadAdminItem);
    }
    if items.len() > ctx.cfg.limits.max_admin_items {
        return Err(Refusal::PolicyLimit("too many items in one request"));
    }
    let changes = items
        .iter()
        .map(|i| parse_item(room, i))
        .collect::<Result<Vec<_>, _>>()?;

    // Check the whole batch against the state it would see, item by item.
    let actor_bare = from.bare();
    let mut planned = room.affiliation_table().clone();
    let aff_in = |m: &std::collections::BTreeMap<BareJid, Affiliation>, j: &BareJid| {
        m.get(j).copied().unwrap_or(Affiliation::None)
    };
    for c in &changes {
        match c {
            Change::Affiliation { jid, to, .. } => {
                let actor_aff = aff_in(&planned, &actor_bare);
                may_set_affiliation(
                    ctx.cfg.faults(),
                    &actor_bare,
                    actor_aff,
                    jid,
                    aff_in(&planned, jid),
                    *to,
                )?;
                if *to == Affiliation::None {
                    planned.remove(jid);
                } else {
                    planned.insert(jid.clone(), *to);
                }
            }
            Change::Role { nick, to, .. } => may_set_role(ctx.cfg.faults(), room, from, nick, *to)?,
        }
    }
    // XEP-0045 §10.6: a room keeps at least one owner.
    if !planned.values().any(|a| *a == Affiliation::Owner) && !ctx.cfg.mutant(Mutant::LastOwnerMayLeave) {
        return Err(Refusal::LastOwner);
    }
    let at = if changes.iter().any(|c| {
        matches!(
            c,
            Change::Affiliation {
                to: Affiliation::Outcast,
                ..
            }
        )
    }) {
        AnswerAt::First
    } else if changes.iter().all(|c| matches!(c, Change::Role { .. })) {
        AnswerAt::AfterRemoved
    } else {
        AnswerAt::Last
    };
    let sessions_before: Vec<FullJid> = room
        .occupants()
        .flat_map(|o| o.sessions.iter().map(|s| s.jid.clone()))
        .collect();
    // What the changes send, in the order they send it; placed with the answer below.
    let mut told = Outbox::default();
    for c in changes {
        let out = &mut told;
        match c {
            Change::Affiliation {
                jid,
                to,
                reason,
                nick,
            } => {
                if let Some(nick) = nick {
                    reserve_nick(room, &jid, nick, out);
                }
                apply_affiliation(
                    room,
                    ctx.cfg.faults(),
                    Some(from),
                    &jid,
                    to,
                    reason.as_deref(),
                    out,
                )
            }
            Change::Role { nick, to, reason } => {
                apply_role(room, Some(from), &nick, to, reason.as_deref(), out)
            }
        }
    }
    let told = told.into_vec();
    let at = match at {
        // A deliberate bug: the answer on the wrong side of the removal.
        AnswerAt::AfterRemoved if ctx.cfg.mutant(Mutant::RemovalAnswerSwapped) => AnswerAt::First,
        AnswerAt::First if ctx.cfg.mutant(Mutant::RemovalAnswerSwapped) => AnswerAt::AfterRemoved,
        at => at,
    };
    if at == AnswerAt::Last {
        out.extend(told);
        out.send(from, answer);
        return Ok(());
    }
    // The removed: sessions that were in the room and are not any more. What tells
    // them of their own removal (their self-presence, 110) is "the removal"; what
    // else they are sent (another removed occupant of the same user leaving, found
    // by `mucsim sim` seed 6 with one user under two nicks) goes with the others, so
    // every removed occupant is told before anyone is told of the removals.
    let removed_sessions: Vec<Jid> = sessions_before
        .into_iter()
        .filter(|s| room.nick_of(s).is_none())
        .map(Jid::from)
        .collect();
    let (removed, others): (Vec<_>, Vec<_>) = told.into_iter().partition(|o| {
        removed_sessions.contains(&o.to)
            && o.body.child("x", ns::MUC_USER).is_some_and(|x| {
                crate::status::StatusCode::read_all(x).contains(&crate::status::StatusCode::SelfPresence)
            })
    });
    if at == AnswerAt::AfterRemoved {
        out.extend(removed);
        out.send(from, answer);
    } else {
        out.send(from, answer);
        out.extend(removed);
    }
    out.extend(others);
    Ok(())
}

/// Records an affiliation and applies its consequences to occupants (Prosody's
/// `set_affiliation`): role changes, removals with 301/321, or, when the user is
/// not in the room, a notice to moderators (XEP-0045 example 195).
pub(crate) fn apply_affiliation(
    room: &mut Room,
    faults: Faults,
    actor: Option<&FullJid>,
    jid: &BareJid,
    to: Affiliation,
    reason: Option<&str>,
    out: &mut Outbox,
) {
    let before = room.stored_affiliation(jid);
    let downgrade = before > to;
    room.set_affiliation(jid.clone(), to);
    // XEP-0045 §9.1, §9.2: a ban's reason is kept and listed (Prosody 13 does too).
    if let Some(r) = reason {
        room.set_ban_reason(jid, r);
    }
    // The affiliation now in force: a user's own affiliation set to none leaves a
    // domain-wide ban in force (`Room::affiliation`), and the user is then banned
    // (found by `mucsim sim` seed 3: an admin revoked while `localhost` was banned
    // stayed in the room as an outcast).
    let effective = if jid.node().is_some() {
        room.affiliation(jid)
    } else {
        to
    };
    let role = room.default_role(effective);
    let domain_ban = jid.node().is_none() && to == Affiliation::Outcast;
    // A domain-wide ban reaches the users of that domain whose affiliation it now
    // is: a user's own (bare-JID) affiliation takes precedence over it
    // (`Room::affiliation`), so an owner banning his own domain stays owner and stays.
    let affected: Vec<String> = room
        .occupants()
        .filter(|o| {
            &o.bare == jid
                || (domain_ban
                    && o.bare.domain() == jid.domain()
                    && room.affiliation(&o.bare) == Affiliation::Outcast)
        })
        .map(|o| o.nick.clone())
        .collect();
    let removal = if effective == Affiliation::Outcast {
        Removal::Banned
    } else {
        Removal::AffiliationChanged
    };
    if affected.is_empty() {
        let mut x = Element::new("x", ns::MUC_USER);
        if role == Role::None {
            x.push(removal.status().expect("a removal cause").element());
        }
        let mut item = Element::new("item", ns::MUC_USER)
            .with_attr("affiliation", to.as_str())
            .with_attr("jid", jid.as_str());
        if let Some(r) = reason {
            item.push(Element::new("reason", ns::MUC_USER).with_text(r));
        }
        x.push(item);
        let msg = Element::new("message", ns::CLIENT)
            .with_attr("from", room.jid().as_str())
            .with_child(x);
        let min = if room.config().whois == super::Whois::Anyone {
            Role::None
        } else {
            Role::Moderator
        };
        room.broadcast(msg, |o| o.role >= min, out);
        return;
    }
    for nick in affected {
        let occ = room.occupant(&nick).expect("affected occupant");
        let old_role = occ.role;
        let new_role = if occ.role != role && (downgrade || occ.role < role) {
            role
        } else {
            occ.role
        };
        if new_role == Role::None {
            if to == Affiliation::Outcast && faults.on(Mutant::BanKeepsOccupant) {
                continue;
            }
            if effective != Affiliation::Outcast
                && occ.sessions.len() > 1
                && faults.on(Mutant::RevokeOneSession)
            {
                // Removes the first session only; the others stay, with role none.
                let first = occ.sessions[0].jid.clone();
                room.set_role(&nick, Role::None);
                room.drop_session(&nick, &first);
                continue;
            }
            room.evict(&nick, removal.clone(), actor, reason, out);
        } else {
            room.set_role(&nick, new_role);
            let notice = Notice {
                actor,
                reason,
                prev_role: Some(old_role),
                ..Notice::default()
            };
            let occ = room.occupant(&nick).expect("affected occupant");
            room.publicise(occ, &notice, out);
            let moderator_changed = (old_role == Role::Moderator) != (occ.role == Role::Moderator);
            if moderator_changed && room.config().whois == super::Whois::Moderators {
                // Real-JID visibility changed: resend everyone else's presence.
                for s in &occ.sessions {
                    room.send_occupant_list(&s.jid, &nick, false, out);
                }
            }
        }
    }
}

/// Reserves `nick` for `jid` (Prosody's admin set with `nick`): whoever else sits
/// under that nick is kicked first (307, "This nickname is reserved", no actor).
/// The reservation lasts while the user has an affiliation.
pub(crate) fn reserve_nick(room: &mut Room, jid: &BareJid, nick: String, out: &mut Outbox) {
    // The holder under RFC 8266's comparison: reserving `romeo` evicts a `Romeo`.
    let holder = room
        .nick_holder(&nick)
        .filter(|o| &o.bare != jid)
        .map(|o| o.nick.clone());
    if let Some(held) = holder {
        apply_role(
            room,
            None,
            &held,
            Role::None,
            Some("This nickname is reserved"),
            out,
        );
    }
    // One user per reserved nick: the newest reservation wins (Prosody keeps both and
    // picks one by hash order).
    room.reserve(jid, nick);
}

fn apply_role(
    room: &mut Room,
    actor: Option<&FullJid>,
    nick: &str,
    to: Role,
    reason: Option<&str>,
    out: &mut Outbox,
) {
    if to == Role::None {
        room.evict(nick, Removal::Kicked, actor, reason, out);
    } else {
        let prev = room.set_role(nick, to);
        let n = Notice {
            actor,
            reason,
            prev_role: Some(prev),
            ..Notice::default()
        };
        room.publicise(room.occupant(nick).expect("checked occupant"), &n, out);
    }
}

/// `actor` gives `nick` the role `to`, as a muc#admin item would (the same
/// permission checks, [`may_set_role`], and the same presence broadcast): what an
/// approved voice request does (XEP-0045 §8.6).
pub(crate) fn set_role_as(
    room: &mut Room,
    faults: Faults,
    actor: &FullJid,
    nick: &str,
    to: Role,
    reason: Option<&str>,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    may_set_role(faults, room, actor, nick, to)?;
    apply_role(room, Some(actor), nick, to, reason, out);
    Ok(())
}

/// Retrieving a list (XEP-0045 §9.5, §8.5), with Prosody's permissions.
pub(crate) fn get(room: &Room, from: &FullJid, query: &Element) -> Result<Element, Refusal> {
    let item = query.child("item", ns::MUC_ADMIN).ok_or(Refusal::BadAdminItem)?;
    let actor_aff = room.affiliation(&from.bare());
    let mut reply = Element::new("query", ns::MUC_ADMIN);
    match (item.attr("affiliation"), item.attr("role")) {
        (Some(a), None) => {
            let want = Affiliation::parse(a).ok_or(Refusal::UnknownAffiliationOrRole)?;
            let may = (actor_aff >= Affiliation::Admin && actor_aff >= want)
                || (room.config().members_only
                    && room.config().whois == super::Whois::Anyone
                    && actor_aff >= Affiliation::Member);
            if !may {
                return Err(Refusal::Forbidden);
            }
            for (jid, aff) in room.affiliations() {
                if aff == want {
                    let mut item = Element::new("item", ns::MUC_ADMIN)
                        .with_attr("affiliation", aff.as_str())
                        .with_attr("jid", jid.as_str())
                        .with_opt_attr("nick", room.reserved_nick(jid));
                    // XEP-0045 §9.2, example 89: the outcast list gives each ban's reason.
                    if let Some(r) = room.ban_reason(jid) {
                        item.push(Element::new("reason", ns::MUC_ADMIN).with_text(r));
                    }
                    reply.push(item);
                }
            }
        }
        (None, Some(r)) => {
            let want = Role::parse(r).ok_or(Refusal::UnknownAffiliationOrRole)?;
            let actor_role = room
                .occupant_by_session(from)
                .map(|o| o.role)
                .unwrap_or_else(|| room.default_role(actor_aff));
            if actor_role < Role::Moderator {
                return Err(Refusal::Forbidden);
            }
            for o in room.occupants().filter(|o| o.role == want) {
                for s in &o.sessions {
                    reply.push(
                        Element::new("item", ns::MUC_ADMIN)
                            .with_attr("affiliation", room.affiliation(&o.bare).as_str())
                            .with_attr("role", o.role.as_str())
                            .with_attr("jid", s.jid.as_str())
                            .with_attr("nick", o.nick.as_str()),
                    );
                }
            }
        }
        _ => return Err(Refusal::BadAdminItem),
    }
    Ok(reply)
}
