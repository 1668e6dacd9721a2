//! Building and broadcasting occupant presence (XEP-0045 §7.2.3–§7.2.5), modelled on
//! Prosody's `publicise_occupant_status`: per recipient, one of three views — full
//! (real JIDs visible), anonymous, or the occupant's own — each built once and cloned.

use super::{Occupant, Room, StoredPresence};
use crate::muc::{Role, StatusCode};
use crate::ns;
use crate::outbox::Outbox;
use crate::xml::{Element, Node};
use jid::FullJid;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    Full,
    Anon,
    Own,
}

/// What a presence broadcast says besides the occupant's state.
#[derive(Default)]
pub(crate) struct Notice<'a> {
    /// Status codes everyone sees, before the item (301, 303, 307, 321, 322, 333).
    pub codes: Vec<StatusCode>,
    /// Status codes only the occupant sees, before the item (201, 100, 210).
    pub self_codes: Vec<StatusCode>,
    /// XEP-0045 §10.9 `<destroy/>`.
    pub destroy: Option<Element>,
    /// The real JID of whoever caused the change (kick, ban, revocation).
    pub actor: Option<&'a FullJid>,
    pub reason: Option<&'a str>,
    /// The new nick, on a 303 nick change.
    pub new_nick: Option<&'a str>,
    /// The role before the change (decides whether a now-hidden role is announced as gone).
    pub prev_role: Option<Role>,
    /// Send as unavailable even though the occupant keeps a role (303).
    pub unavailable: bool,
    /// The leave stanza to echo (status text, id); otherwise a bare unavailable presence.
    pub leave: Option<StoredPresence>,
}

pub(crate) fn occupant_id(id: &str) -> Element {
    Element::new("occupant-id", ns::OCCUPANT_ID).with_attr("id", id)
}

/// Why an occupant leaves the room: the cause decides the status code everyone is
/// told (XEP-0045 §15.6) and which leave presence is echoed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Its own unavailable presence (echoed), no status code.
    Left(StoredPresence),
    /// An error bounced by its client (333), with Prosody's status text.
    Bounced(StoredPresence),
    /// Banned: affiliation outcast (301).
    Banned,
    /// Kicked: role none (307).
    Kicked,
    /// An affiliation change took away its right to stay (321).
    AffiliationChanged,
    /// The room became members-only and it is not a member (322).
    MembersOnly,
}

impl Removal {
    /// The status code the removal is told with; `None` for a voluntary leave.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Removal::Left(_) => None,
            Removal::Bounced(_) => Some(StatusCode::TechnicalError),
            Removal::Banned => Some(StatusCode::Banned),
            Removal::Kicked => Some(StatusCode::Kicked),
            Removal::AffiliationChanged => Some(StatusCode::AffiliationChanged),
            Removal::MembersOnly => Some(StatusCode::MembersOnly),
        }
    }
}

impl Room {
    /// Evicts the occupant at `nick` (all its sessions): removes it, sets its role
    /// to none, and tells everyone, itself last, with the cause's status code, the
    /// actor and the reason (XEP-0045 §7.14, §8.2, §9.1, §9.4, §9.6). The one way an
    /// occupant leaves a room, whatever the cause. Returns the occupant as removed.
    pub(crate) fn evict(
        &mut self,
        nick: &str,
        cause: Removal,
        actor: Option<&FullJid>,
        reason: Option<&str>,
        out: &mut Outbox,
    ) -> Occupant {
        let mut occ = self.remove_occupant(nick).expect("evict: an occupant");
        let prev = std::mem::replace(&mut occ.role, Role::None);
        let codes = cause.status().into_iter().collect();
        let leave = match cause {
            Removal::Left(p) | Removal::Bounced(p) => Some(p),
            _ => None,
        };
        let notice = Notice {
            codes,
            actor,
            reason,
            prev_role: Some(prev),
            leave,
            ..Notice::default()
        };
        self.publicise(&occ, &notice, out);
        occ
    }

    /// XEP-0045 §10.9: empties the room, then tells each occupant (and only it,
    /// since the others are already gone, as in Prosody) that the room is destroyed,
    /// with `destroy` (the alternate venue and reason).
    pub(crate) fn evict_all(&mut self, destroy: &Element, out: &mut Outbox) {
        let nicks: Vec<String> = self.occupants.keys().cloned().collect();
        let mut removed = Vec::new();
        for nick in nicks {
            let mut occ = self.remove_occupant(&nick).expect("listed occupant");
            occ.role = Role::None;
            removed.push(occ);
        }
        for occ in &removed {
            let n = Notice {
                destroy: Some(destroy.clone()),
                ..Notice::default()
            };
            self.publicise_self(occ, &n, out);
        }
    }

    /// XEP-0045 §7.6: moves the single-session occupant at `cur` to `new`, with the
    /// presence it sent: everyone is told it left `cur` (303, the new nick in the
    /// item), then that it is at `new`. An occupant already at `new` is replaced
    /// (only the nick-uniqueness mutant lets that happen; the invariants catch it).
    pub(crate) fn move_occupant(&mut self, cur: &str, new: &str, presence: StoredPresence, out: &mut Outbox) {
        let old = self.remove_occupant(cur).expect("move_occupant: an occupant");
        let notice = Notice {
            codes: vec![StatusCode::NickChanged],
            new_nick: Some(new),
            unavailable: true,
            ..Notice::default()
        };
        self.publicise(&old, &notice, out);
        let mut moved = old;
        moved.nick = new.to_string();
        moved.sessions[0].presence = presence;
        self.admit(moved);
        self.publicise(&self.occupants[new], &Notice::default(), out);
    }

    pub(crate) fn occupant_jid_str(&self, nick: &str) -> String {
        let mut s = String::with_capacity(self.jid.as_str().len() + 1 + nick.len());
        s.push_str(self.jid.as_str());
        s.push('/');
        s.push_str(nick);
        s
    }

    fn item(&self, occ: &Occupant, jid: Option<&FullJid>, n: &Notice, actor: Option<Element>) -> Element {
        let mut item = Element::new("item", ns::MUC_USER)
            .with_attr("affiliation", self.affiliation(&occ.bare).as_str())
            .with_attr("role", occ.role.as_str());
        if let Some(j) = jid {
            item.set_attr("jid", j.as_str());
        }
        if let Some(nn) = n.new_nick {
            item.set_attr("nick", nn);
        }
        if let Some(a) = actor {
            item.push(a);
        }
        if let Some(r) = n.reason {
            item.push(Element::new("reason", ns::MUC_USER).with_text(r));
        }
        item
    }

    /// The `<x xmlns=muc#user>` for `occ` as seen in `view`.
    pub(crate) fn muc_x(&self, occ: &Occupant, view: View, n: &Notice) -> Element {
        let mut x = Element::new("x", ns::MUC_USER);
        if let Some(d) = &n.destroy {
            x.push(d.clone());
        }
        for c in &n.codes {
            x.push(c.element());
        }
        if view == View::Own {
            for c in &n.self_codes {
                x.push(c.element());
            }
        }
        let actor_nick = n.actor.and_then(|a| self.by_session.get(a));
        let actor = |with_jid: bool| -> Option<Element> {
            let jid = if with_jid { n.actor } else { None };
            if actor_nick.is_none() && jid.is_none() {
                return None;
            }
            Some(
                Element::new("actor", ns::MUC_USER)
                    .with_opt_attr("nick", actor_nick.map(String::as_str))
                    .with_opt_attr("jid", jid.map(|j| j.as_str())),
            )
        };
        match view {
            View::Anon => x.push(self.item(occ, None, n, actor(false))),
            View::Full | View::Own => {
                for s in &occ.sessions {
                    x.push(self.item(occ, Some(&s.jid), n, actor(view == View::Full)));
                }
            }
        }
        x
    }

    /// `<presence from=room/nick>` with the stored payload, the occupant-id and `x`.
    pub(crate) fn presence_stanza(
        &self,
        occ: &Occupant,
        nick: &str,
        base: &StoredPresence,
        unavailable: bool,
        x: Element,
    ) -> Element {
        let mut p = Element::new("presence", ns::CLIENT).with_attr("from", self.occupant_jid_str(nick));
        if let Some(id) = &base.id {
            p.set_attr("id", id.clone());
        }
        if unavailable {
            p.set_attr("type", "unavailable");
        }
        p.children.reserve(base.payload.len() + 2);
        p.children.extend(base.payload.iter().cloned().map(Node::Element));
        p.push(occupant_id(&occ.occupant_id));
        p.push(x);
        p
    }

    /// Tells every other occupant about `occ`, then `occ`'s own sessions (with 110).
    /// `occ` may already have been removed from the room (role none).
    pub(crate) fn publicise(&self, occ: &Occupant, n: &Notice, out: &mut Outbox) {
        self.publicise_others(occ, n, out);
        self.publicise_self(occ, n, out);
    }

    pub(crate) fn publicise_others(&self, occ: &Occupant, n: &Notice, out: &mut Outbox) {
        let unavailable = n.unavailable || occ.role == Role::None;
        let shown_now = self.config.broadcasts(occ.role);
        let shown_before = n.prev_role.is_some_and(|r| self.config.broadcasts(r));
        if !shown_now && !shown_before {
            return;
        }
        let as_unavailable = unavailable || !shown_now;
        let default_base = StoredPresence::default();
        let base = if unavailable {
            n.leave.as_ref().unwrap_or(&default_base)
        } else {
            &occ.primary().presence
        };
        let mut views: [Option<Arc<Element>>; 3] = [None, None, None];
        for other in self.occupants.values() {
            if other.nick == occ.nick {
                continue;
            }
            let view = if self.can_see_jids(other) {
                View::Full
            } else if other.bare == occ.bare {
                View::Own
            } else {
                View::Anon
            };
            let slot = &mut views[view as usize];
            let p = slot.get_or_insert_with(|| {
                let x = self.muc_x(occ, view, n);
                Arc::new(self.presence_stanza(occ, &occ.nick, base, as_unavailable, x))
            });
            for s in &other.sessions {
                out.share(&s.jid, p.clone());
            }
        }
    }

    pub(crate) fn publicise_self(&self, occ: &Occupant, n: &Notice, out: &mut Outbox) {
        let unavailable = n.unavailable || occ.role == Role::None;
        let mut x = self.muc_x(occ, View::Own, n);
        x.push(StatusCode::SelfPresence.element());
        let default_base = StoredPresence::default();
        for s in &occ.sessions {
            let base = if unavailable {
                n.leave.as_ref().unwrap_or(&default_base)
            } else {
                &s.presence
            };
            let mut p = self.presence_stanza(occ, &occ.nick, base, unavailable, x.clone());
            if n.new_nick.is_some() {
                // Prosody: a session's own 303 is a presence the room generates, not
                // the broadcast one, and carries no occupant-id (seen on a real 0.12.3).
                p.children
                    .retain(|c| !matches!(c, Node::Element(e) if e.is("occupant-id", ns::OCCUPANT_ID)));
            }
            out.send(&s.jid, p);
        }
    }

    /// Sends one message body to every session of every occupant that `to_whom` accepts.
    pub(crate) fn broadcast(&self, msg: Element, to_whom: impl Fn(&Occupant) -> bool, out: &mut Outbox) {
        let msg = Arc::new(msg);
        for o in self.occupants.values().filter(|o| to_whom(o)) {
            for s in &o.sessions {
                out.share(&s.jid, msg.clone());
            }
        }
    }

    /// Sends `to` the presence of every occupant except `skip_nick` (XEP-0045 §7.2.3).
    /// `reveal` shows real JIDs whatever the room's whois (only a deliberate bug
    /// sets it: `Mutant::JoinerSeesRealJids`).
    pub(crate) fn send_occupant_list(&self, to: &FullJid, skip_nick: &str, reveal: bool, out: &mut Outbox) {
        let anonymous = self.is_anonymous_for(to) && !reveal;
        let to_bare = to.to_bare();
        let n = Notice::default();
        for occ in self.occupants.values() {
            if occ.nick == skip_nick {
                continue;
            }
            let own = occ.bare == to_bare;
            if !own && !self.config.broadcasts(occ.role) {
                continue;
            }
            let view = if own || !anonymous { View::Full } else { View::Anon };
            let x = self.muc_x(occ, view, &n);
            out.send(
                to,
                self.presence_stanza(occ, &occ.nick, &occ.primary().presence, false, x),
            );
        }
        if self.config.broadcast_none {
            self.send_offline_members(to, anonymous, out);
        }
    }

    /// Prosody's "show offline members" (presence broadcast for role `none`): an
    /// unavailable presence for each affiliated user not in the room, from the nick
    /// they reserved; users without one are shown only where real JIDs are visible.
    fn send_offline_members(&self, to: &FullJid, anonymous: bool, out: &mut Outbox) {
        for (bare, aff) in self.affiliations() {
            if self.occupants.values().any(|o| &o.bare == bare) {
                continue;
            }
            let nick = self.reserved_nick(bare);
            if nick.is_none() && anonymous {
                continue;
            }
            let from = match nick {
                Some(n) => self.occupant_jid_str(n),
                None => self.jid.as_str().to_string(),
            };
            let item = Element::new("item", ns::MUC_USER)
                .with_attr("affiliation", aff.as_str())
                .with_attr("role", "none")
                .with_opt_attr("nick", nick)
                .with_opt_attr("jid", (!anonymous).then(|| bare.as_str()));
            let p = Element::new("presence", ns::CLIENT)
                .with_attr("from", from)
                .with_attr("type", "unavailable")
                .with_child(Element::new("x", ns::MUC_USER).with_child(item));
            out.send(to, p);
        }
    }
}
