//! Presence to `room/nick`: create, join, leave, change nick, update (XEP-0045 §7).

use super::presence::{Notice, Removal};
use super::room::{Occupant, Room, Session, StoredPresence};
use super::{Affiliation, Millis, Role, StatusCode};
use crate::config::{Ctx, Mutant};
use crate::jids::Bare;
use crate::ns;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::stanza::{element_children, PresenceType, Stanza};
use crate::xml::Element;
use jid::{BareJid, FullJid};

fn stored(st: &Stanza) -> StoredPresence {
    let mut payload = element_children(&st.el);
    payload.retain(|e| !e.is("x", ns::MUC));
    StoredPresence {
        id: st.el.attr("id").map(str::to_string),
        payload,
    }
}

/// XEP-0045 §10.1.1: the first presence to a new room creates it, locked, with the
/// sender as owner.
pub(crate) fn create_room(
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    jid: BareJid,
    nick: &str,
    out: &mut Outbox,
) -> Result<Room, Refusal> {
    if st.el.child("x", ns::MUC).is_none() {
        return Err(Refusal::JoinWithoutMucX);
    }
    let mut room = Room::new(jid, ctx.cfg.room_defaults.clone(), ctx.cfg.lock_new_rooms);
    let bare = from.bare();
    room.set_affiliation(bare.clone(), Affiliation::Owner);
    let occ = Occupant {
        nick: nick.to_string(),
        occupant_id: ctx.occupant_id(room.jid(), &bare),
        bare,
        role: Role::Moderator,
        sessions: vec![Session {
            jid: from.clone(),
            presence: stored(st),
        }],
    };
    room.admit(occ);
    announce_join(&room, nick, true, out);
    send_subject(&room, from, out);
    Ok(room)
}

/// Tells the room about a new occupant (or session) and the occupant about itself:
/// 201 when it created the room, 100 when the room is non-anonymous (XEP-0045 §7.2.3).
fn announce_join(room: &Room, nick: &str, created: bool, out: &mut Outbox) {
    let mut self_codes = Vec::new();
    if created {
        self_codes.push(StatusCode::RoomCreated);
    }
    if room.config().whois == super::Whois::Anyone {
        self_codes.push(StatusCode::NonAnonymous);
    }
    let notice = Notice {
        self_codes,
        ..Notice::default()
    };
    room.publicise(room.occupant(nick).expect("announced occupant"), &notice, out);
}

pub(crate) fn presence(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    nick: &str,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let current = room.nick_of(from).map(str::to_string);
    let crate::stanza::Kind::Presence(ptype) = st.kind else {
        unreachable!("routed as presence")
    };
    match ptype {
        PresenceType::Unavailable => {
            // Unavailable from someone not in the room needs no answer (Prosody).
            if let Some(cur) = current {
                remove_session(room, from, &cur, Removal::Left(stored(st)), out);
            }
            Ok(())
        }
        PresenceType::Probe => probe(room, from, nick, current.as_deref(), out),
        PresenceType::Subscription => Err(Refusal::BadStanza("subscription presence to a room")),
        PresenceType::Error => Ok(()),
        PresenceType::Available => {
            let has_x = st.el.child("x", ns::MUC).is_some();
            match current {
                None if !has_x => Err(Refusal::JoinWithoutMucX),
                None => join(room, ctx, from, st, nick, out),
                Some(cur) if cur == nick => {
                    update(room, ctx, from, st, has_x, out);
                    Ok(())
                }
                Some(cur) => change_nick(room, ctx, from, st, &cur, nick, out),
            }
        }
    }
}

fn join(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    nick: &str,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let bare = from.bare();
    let aff = room.affiliation(&bare);
    // Prosody's muc_room_locking denies every join but the creating one, the owner's
    // other sessions included (found by `mucsim sim`: a second session of the
    // creator, under another nick, made a locked room hold two occupants).
    if room.is_locked() {
        return Err(Refusal::RoomLocked);
    }
    if aff == Affiliation::Outcast {
        return Err(Refusal::Banned);
    }
    if !room.admits(aff) && !ctx.cfg.mutant(Mutant::StaleJoinCheck) {
        return Err(Refusal::MembersOnly);
    }
    let second_session = room.occupant(nick).is_some_and(|o| o.bare == bare);
    let skip_password = second_session && ctx.cfg.mutant(Mutant::SecondSessionSkipsPassword);
    if let Some(pw) = room.config().password.as_ref().filter(|_| !skip_password) {
        let given = st
            .el
            .child("x", ns::MUC)
            .and_then(|x| x.child_text("password", ns::MUC));
        if given.as_deref() != Some(pw.as_str()) {
            return Err(Refusal::PasswordRequired);
        }
    }
    // XEP-0045 §7.10 / Prosody's enforce_nick_policy: a reserved nick is its owner's.
    if room.reserved_by(nick).is_some_and(|j| j != &bare) {
        return Err(Refusal::NickConflict);
    }
    // XEP-0045 §7.2.9 with RFC 8266's comparison: another spelling of a held nick
    // conflicts, even for its holder's other session (which joins under the nick
    // as held).
    match room.nick_holder(nick) {
        Some(existing) if existing.bare != bare || existing.nick != nick => {
            return Err(Refusal::NickConflict)
        }
        Some(existing) if existing.sessions.len() >= ctx.cfg.limits.max_sessions_per_occupant => {
            return Err(Refusal::PolicyLimit("too many sessions share this nickname"))
        }
        Some(_) => {}
        None => {
            let max = room
                .config()
                .max_users
                .map_or(usize::MAX, |m| m as usize)
                .min(ctx.cfg.limits.max_occupants);
            if room.occupant_count() >= max && aff < Affiliation::Admin {
                return Err(Refusal::RoomFull);
            }
        }
    }
    let mut role = room.default_role(aff);
    if ctx.cfg.mutant(Mutant::StaleJoinCheck) && role == Role::None {
        // The broken check let a non-member through; it gets the role it would have had.
        role = Role::Participant;
    }
    let session = Session {
        jid: from.clone(),
        presence: stored(st),
    };
    if room.occupant(nick).is_some() {
        room.admit_session(nick, session);
    } else {
        let occ = Occupant {
            nick: nick.to_string(),
            occupant_id: ctx.occupant_id(room.jid(), &bare),
            bare,
            role,
            sessions: vec![session],
        };
        room.admit(occ);
    }
    room.send_occupant_list(from, nick, ctx.cfg.mutant(Mutant::JoinerSeesRealJids), out);
    announce_join(room, nick, false, out);
    send_history(room, ctx, from, st, out);
    send_subject(room, from, out);
    Ok(())
}

/// A presence from an occupant to its own nick: new status, or (with `<x/>`) a
/// client that lost track and rejoins (XEP-0045 §7.2.1, §17.3), which gets, to that
/// session only, what a join gets: the occupant list, its own presence, the
/// discussion history (honouring its `<history/>`) and the subject.
fn update(room: &mut Room, ctx: &Ctx, from: &FullJid, st: &Stanza, has_x: bool, out: &mut Outbox) {
    let nick = room.nick_of(from).expect("indexed occupant").to_string();
    room.set_presence(from, stored(st));
    if has_x {
        room.send_occupant_list(from, &nick, ctx.cfg.mutant(Mutant::JoinerSeesRealJids), out);
    }
    room.publicise(
        room.occupant(&nick).expect("indexed occupant"),
        &Notice::default(),
        out,
    );
    if has_x {
        send_history(room, ctx, from, st, out);
        send_subject(room, from, out);
    }
}

/// XEP-0045 §7.6. Only an occupant with one session may change nick; Prosody's
/// session splitting and merging is not reproduced (documented deviation).
fn change_nick(
    room: &mut Room,
    ctx: &Ctx,
    from: &FullJid,
    st: &Stanza,
    cur: &str,
    new: &str,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let bare = from.bare();
    if room.reserved_by(new).is_some_and(|j| j != &bare) {
        return Err(Refusal::NickConflict);
    }
    if !ctx.cfg.mutant(Mutant::NickChangeSkipsUniqueness) {
        // RFC 8266's comparison: respelling one's own nick (`Romeo` to `romeo`) is a
        // nick change; taking another's spelling is a conflict.
        if let Some(holder) = room.nick_holder(new).filter(|h| h.nick != cur) {
            return Err(if holder.bare != bare {
                Refusal::NickConflict
            } else {
                Refusal::NickChangeUnsupported
            });
        }
    }
    if room.occupant(cur).is_some_and(|o| o.sessions.len() > 1) {
        return Err(Refusal::NickChangeUnsupported);
    }
    // Under the uniqueness mutant this silently replaces the other holder of the nick,
    // leaving its sessions in the index: the invariants catch exactly that.
    room.move_occupant(cur, new, stored(st), out);
    Ok(())
}

/// Removes one session; the occupant leaves (is evicted with `cause`) when it was
/// its last. Otherwise the leaving session alone is told, with the cause, and
/// everyone else sees the remaining sessions.
fn remove_session(room: &mut Room, from: &FullJid, nick: &str, cause: Removal, out: &mut Outbox) {
    let sessions = room.occupant(nick).map_or(0, |o| o.sessions.len());
    if sessions == 1 {
        room.evict(nick, cause, None, None, out);
        return;
    }
    let gone = room.drop_session(nick, from).expect("session of occupant");
    let mut leaving = room.occupant(nick).expect("occupant").clone();
    leaving.sessions = vec![gone];
    leaving.role = Role::None;
    let n = Notice {
        codes: cause.status().into_iter().collect(),
        leave: match cause {
            Removal::Left(p) | Removal::Bounced(p) => Some(p),
            _ => None,
        },
        ..Notice::default()
    };
    room.publicise_self(&leaving, &n, out);
    room.publicise(room.occupant(nick).expect("occupant"), &Notice::default(), out);
}

/// Prosody's `handle_kickable`: an error bounced by the client of session `from`
/// means that session is gone; it is removed with status 333 and Prosody's status
/// text (the condition in words, plus the error's text only where real JIDs are
/// public anyway). An error from a non-occupant changes nothing.
pub(crate) fn bounced_error(room: &mut Room, from: &FullJid, st: &Stanza, out: &mut Outbox) {
    let Some(nick) = room.nick_of(from).map(str::to_string) else {
        return;
    };
    let err = st.el.child("error", ns::CLIENT);
    let cond = err
        .and_then(|e| e.elements().find(|c| c.ns == ns::STANZAS && c.name != "text"))
        .map_or("presence error".to_string(), |c| c.name.replace('-', " "));
    let mut text = format!("Kicked: {cond}");
    if room.config().whois == super::Whois::Anyone {
        if let Some(t) = err.and_then(|e| e.child_text("text", ns::STANZAS)) {
            text = format!("{text}: {t}");
        }
    }
    let leave = StoredPresence {
        id: None,
        payload: vec![Element::new("status", ns::CLIENT).with_text(text)],
    };
    remove_session(room, from, &nick, Removal::Bounced(leave), out);
}

/// Presence probe (XEP-0045 §7.2.x, Prosody's `respond_to_probe`).
fn probe(
    room: &Room,
    from: &FullJid,
    nick: &str,
    current: Option<&str>,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    if current.is_none() {
        return Err(Refusal::NotInRoom);
    }
    if let Some(occ) = room.occupant(nick) {
        let viewer = room.occupant_by_session(from).expect("prober is an occupant");
        let view = if room.can_see_jids(viewer) || viewer.bare == occ.bare {
            super::presence::View::Full
        } else {
            super::presence::View::Anon
        };
        let x = room.muc_x(occ, view, &Notice::default());
        out.send(
            from,
            room.presence_stanza(occ, nick, &occ.primary().presence, false, x),
        );
    } else if let Some(owner) = room.reserved_by(nick) {
        // Prosody's build_unavailable_presence: a probe for a reserved nick whose user
        // is away is answered as that user, offline; the real JID only for those who
        // may see real JIDs.
        let viewer = room.occupant_by_session(from).expect("prober is an occupant");
        let mut item = Element::new("item", ns::MUC_USER)
            .with_attr("affiliation", room.affiliation(owner).as_str())
            .with_attr("role", "none")
            .with_attr("nick", nick);
        if room.can_see_jids(viewer) {
            item.set_attr("jid", owner.as_str());
        }
        let p = Element::new("presence", ns::CLIENT)
            .with_attr("from", room.occupant_jid_str(nick))
            .with_attr("type", "unavailable")
            .with_child(Element::new("x", ns::MUC_USER).with_child(item));
        out.send(from, p);
    }
    // A probe for a nick nobody holds or reserved gets no answer (Prosody).
    Ok(())
}

/// The room subject (XEP-0045 §7.2.15), sent last on every join, even when empty.
pub(crate) fn send_subject(room: &Room, to: &FullJid, out: &mut Outbox) {
    let (from, text) = match &room.subject() {
        Some(s) => (
            s.by.as_deref()
                .map(|n| room.occupant_jid_str(n))
                .unwrap_or_else(|| room.jid().as_str().to_string()),
            s.text.clone(),
        ),
        None => (room.jid().as_str().to_string(), String::new()),
    };
    let msg = Element::new("message", ns::CLIENT)
        .with_attr("type", "groupchat")
        .with_attr("from", from)
        .with_child(Element::new("subject", ns::CLIENT).with_text(text));
    out.send(to, msg);
}

/// What a joiner's `<history/>` asks for (XEP-0045 §7.2.14): every limit it gives;
/// the history sent is the newest run of messages that keeps within all of them
/// (the least wins).
#[derive(Debug, Default, PartialEq, Eq)]
struct HistoryRequest {
    /// The total characters of the history stanzas as sent (`maxchars`).
    max_chars: Option<usize>,
    /// How many messages (`maxstanzas`).
    max_stanzas: Option<usize>,
    /// Messages no older than this (`since`, and `seconds` counted back from now;
    /// the later of the two).
    since: Option<Millis>,
}

impl HistoryRequest {
    /// Reads the `<history/>` of a join presence. A value that does not parse (a
    /// negative number, a date-time that is not XEP-0082) is ignored, as in Prosody.
    fn read(st: &Stanza, now: Millis) -> HistoryRequest {
        let Some(h) = st
            .el
            .child("x", ns::MUC)
            .and_then(|x| x.child("history", ns::MUC))
        else {
            return HistoryRequest::default();
        };
        let number = |name: &str| h.attr(name).and_then(|v| v.trim().parse::<u64>().ok());
        let since = h.attr("since").and_then(parse_xep0082);
        let seconds = number("seconds").map(|s| Millis(now.0.saturating_sub(s.saturating_mul(1000))));
        HistoryRequest {
            max_chars: number("maxchars").map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_stanzas: number("maxstanzas").map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            since: since.max(seconds),
        }
    }

    fn is_empty(&self) -> bool {
        *self == HistoryRequest::default()
    }
}

/// A XEP-0082 DateTime (`CCYY-MM-DDThh:mm:ss[.sss]TZD`, an RFC 3339 profile) as
/// milliseconds since the epoch; `None` if it does not parse. A time before the
/// epoch is the epoch (the service's clock starts there).
fn parse_xep0082(s: &str) -> Option<Millis> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    Some(Millis(u64::try_from(ms).unwrap_or(0)))
}

/// Discussion history (XEP-0045 §7.2.14, §7.2.15), to one session: the newest
/// messages within every limit the joiner's `<history/>` gives (`maxchars`,
/// `maxstanzas`, `seconds`, `since`: the least wins), or, when it gives none, the
/// room's `default_history_messages`. `maxchars` counts the characters of each
/// stanza as sent (with its `to` and `<delay/>`), as the XEP says and Prosody does;
/// `maxchars='0'` and a `since` in the future give no history.
fn send_history(room: &Room, ctx: &Ctx, to: &FullJid, st: &Stanza, out: &mut Outbox) {
    let req = HistoryRequest::read(st, ctx.now);
    let max_stanzas = if req.is_empty() {
        room.config().default_history_messages as usize
    } else {
        req.max_stanzas.unwrap_or(usize::MAX)
    };
    let mut chars = 0usize;
    let mut picked = Vec::new();
    for e in room.history().rev() {
        if picked.len() >= max_stanzas || req.since.is_some_and(|t| e.at < t) {
            break;
        }
        let mut m = e.stanza.clone();
        m.push(
            Element::new("delay", ns::DELAY)
                .with_attr("stamp", e.at.to_xep0082())
                .with_attr("from", room.jid().as_str()),
        );
        if let Some(max) = req.max_chars {
            let mut sent = m.clone();
            sent.set_attr("to", to.as_str());
            chars = chars.saturating_add(sent.to_xml_in(ns::CLIENT).chars().count());
            if chars > max {
                break;
            }
        }
        picked.push(m);
    }
    for m in picked.into_iter().rev() {
        out.send(to, m);
    }
}
