//! The oracle's judge in the swarm: the same properties as the model checker's
//! (`oracle::judge`: no forbidden request succeeds, and the converse; real JIDs
//! only as whois allows; the password on every join, whichever session; an outcast
//! lifted only by an allowed change), judged by the same code, on every input the
//! service handles, against the room as it stood when the service received it.
//!
//! [`Judge`] is the world's [`ServiceTap`]: before an input it snapshots the
//! addressed room through the service's public read API ([`Snapshot::of`]); after,
//! it names the request the stanza makes ([`request_of`]: this reads the stanza's
//! shape only, never a MUC rule), classifies the answer ([`Answer::of_reply`]) and
//! asks [`judge::judge`] and [`judge::real_jid_shown`]. What they find, with the
//! stanza a counterexample script must expect instead, waits in [`Judge::found`]
//! for the driver. It also reads each reply whole against `oracle::order` (XEP-0045's
//! "then"s, the model's reply-order property): [`Judge::order`].

use crate::world::ServiceTap;
use oracle::judge::{self, Answer, Request, Snapshot, Violation};
use server::jids::{bare_str, BareJid, FullJid};
use server::ns;
use server::xml::Element;
use server::{Affiliation, MucService, Outgoing, Role};

/// One violation the judge found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub violation: Violation,
    /// The full JID whose input broke the property, and the id of its stanza (the
    /// anchor of a counterexample's expectation).
    pub sender: String,
    pub id: Option<String>,
    /// What the property requires instead: a recipient (full JID) and a stanza it
    /// must receive from that input on; `None` when no stanza states it.
    pub expect: Option<(String, Element)>,
    /// What happened, in words.
    pub what: String,
    /// For an outcast lifted by a request no stanza answers (an invitation): the
    /// user (bare JID) and the room. The property requires that user's join be
    /// refused, so a script asks with [`probe_join`] from one of its sessions.
    pub probe: Option<(String, String)>,
}

/// The id of a probe's join.
pub const PROBE_ID: &str = "mucsim-probe";

/// The join a script sends from a session of a lifted outcast, to `room` under a
/// nick no one else uses, and the error the property requires for it (XEP-0045
/// §7.2.8: a banned user's join is refused).
pub fn probe_join(room: &str) -> (Element, Element) {
    let join = Element::new("presence", ns::CLIENT)
        .with_attr("to", format!("{room}/OutcastProbe"))
        .with_attr("id", PROBE_ID)
        .with_child(Element::new("x", ns::MUC));
    (join, answer("presence", "error", Some(PROBE_ID)))
}

/// The addressed room as an input reached the service.
#[derive(Debug)]
struct Before {
    jid: BareJid,
    /// `jid` as a string.
    room: String,
    /// Its snapshot, if it exists: whole for a request, else
    /// [`Snapshot::of_occupants`].
    snapshot: Option<Snapshot>,
    /// The request the input makes ([`request_of`], with the room's password then).
    request: Option<Request>,
}

/// The swarm's judge: a [`ServiceTap`] collecting [`Finding`]s.
#[derive(Debug, Default)]
pub struct Judge {
    /// The addressed room when the input arrived.
    before: Option<Before>,
    /// The violations found so far, oldest first (the driver takes them).
    pub found: Vec<Finding>,
    /// The first reply that broke one of XEP-0045's order rules (`oracle::order`,
    /// the model's reply-order property), in words; the driver takes it.
    pub order: Option<String>,
}

/// The room `el` is addressed to, as the service names it. A `to` whose bare part
/// is already some room's JID, byte for byte, is that room (JIDs are compared in
/// their normal form, which normalizing leaves alone) without parsing it again;
/// any other is parsed, as the service does.
fn room_of(svc: &MucService, el: &Element) -> Option<BareJid> {
    let to = el.attr("to")?;
    let bare = to.split('/').next()?;
    if let Some(room) = svc.rooms().find(|r| r.jid().as_str() == bare) {
        return Some(room.jid().clone());
    }
    BareJid::new(bare).ok()
}

fn is_true(v: &str) -> Option<bool> {
    match v {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// The request `el` makes of a room, as the oracle's judge names requests; `None`
/// for what is no request it judges (a leave, a groupchat message, a query, a
/// malformed item). `password` is the room's password when the stanza arrived
/// (whether a join carries it). Reads the stanza's shape only.
pub fn request_of(el: &Element, before: &Snapshot, password: Option<&str>) -> Option<Request> {
    match (&*el.name, el.attr("type")) {
        ("presence", None) => {
            el.attr("to")?.split_once('/')?;
            let given = el
                .child("x", ns::MUC)
                .and_then(|x| x.child_text("password", ns::MUC));
            Some(Request::Join {
                password_given: password.is_some() && given.as_deref() == password,
            })
        }
        ("iq", Some("set")) => {
            if let Some(q) = el.child("query", ns::MUC_ADMIN) {
                let items: Vec<&Element> = q.elements().filter(|i| i.is("item", ns::MUC_ADMIN)).collect();
                if let [item] = items.as_slice() {
                    if let (Some(role), Some(nick)) = (item.attr("role"), item.attr("nick")) {
                        return Some(Request::Role {
                            nick: nick.to_string(),
                            to: Role::parse(role)?,
                        });
                    }
                }
                let mut out = Vec::new();
                for i in &items {
                    let to = Affiliation::parse(i.attr("affiliation")?)?;
                    let jid = BareJid::new(i.attr("jid")?).ok()?;
                    out.push((jid.into_inner(), to));
                }
                return (!out.is_empty()).then_some(Request::Affiliation(out));
            }
            let q = el.child("query", ns::MUC_OWNER)?;
            if q.child("destroy", ns::MUC_OWNER).is_some() {
                return Some(Request::Destroy);
            }
            let x = q.child("x", ns::DATA)?;
            if x.attr("type") != Some("submit") {
                return None;
            }
            // The judge reads a configuration's flags only to see what changed;
            // the fields it knows are applied here, the rest left as they were.
            let mut f = before.flags;
            for field in x.elements().filter(|e| e.is("field", ns::DATA)) {
                let value = field.child_text("value", ns::DATA).unwrap_or_default();
                let b = is_true(value.trim());
                match (field.attr("var").unwrap_or(""), b) {
                    ("muc#roomconfig_membersonly", Some(b)) => f.members_only = b,
                    ("muc#roomconfig_moderatedroom", Some(b)) => f.moderated = b,
                    ("muc#roomconfig_persistentroom", Some(b)) => f.persistent = b,
                    ("muc#roomconfig_changesubject", Some(b)) => f.change_subject = b,
                    ("{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites", Some(b)) => {
                        f.allow_invites = b
                    }
                    ("muc#roomconfig_whois", _) => match value.trim() {
                        "anyone" => f.whois = oracle::spec::Whois::Anyone,
                        "moderators" => f.whois = oracle::spec::Whois::Moderators,
                        _ => {}
                    },
                    _ => {}
                }
            }
            Some(Request::Config(f))
        }
        ("message", Some("groupchat")) if el.child("subject", ns::CLIENT).is_some() => Some(Request::Subject),
        ("message", ty) if ty != Some("groupchat") && ty != Some("error") => {
            let invite = el.child("x", ns::MUC_USER)?.child("invite", ns::MUC_USER)?;
            let invitee = BareJid::new(invite.attr("to")?).ok()?;
            Some(Request::Invite {
                invitee: invitee.into_inner(),
            })
        }
        _ => None,
    }
}

/// `<NAME type='TYPE' id='ID'/>` in `jabber:client`: matched by scansion's
/// non-strict rules, any stanza of that kind, type and id (any id without one: a
/// judging script reads what came before the request first, so it matches only
/// what came from the request on).
fn answer(name: &str, ty: &str, id: Option<&str>) -> Element {
    Element::new(name.to_string(), ns::CLIENT)
        .with_attr("type", ty)
        .with_opt_attr("id", id)
}

/// The stanza an allowed request's sender must receive: its iq's result, or for a
/// join its own presence (110); `None` for a message (no stanza answers an accepted
/// invitation).
fn accepted(el: &Element, id: Option<&str>) -> Option<Element> {
    match &*el.name {
        "iq" => Some(answer("iq", "result", id)),
        "presence" => {
            let mut x = Element::new("x", ns::MUC_USER)
                .with_child(Element::new("status", ns::MUC_USER).with_attr("code", "110"));
            x.set_attr_ns(mucsim_scansion::NS_SCANSION, "strict", "false");
            Some(
                Element::new("presence", ns::CLIENT)
                    .with_opt_attr("id", id)
                    .with_child(x),
            )
        }
        _ => None,
    }
}

/// The presence `leaked` (to a viewer who may not see real JIDs) as the property
/// requires it: from the same occupant, with the same item but no `jid` (the item
/// is matched strictly, so a `jid` fails it).
fn without_jid(leaked: &Element) -> Option<Element> {
    let x = leaked.child("x", ns::MUC_USER)?;
    let mut item = x.child("item", ns::MUC_USER)?.clone();
    item.remove_attr("jid");
    let mut want = Element::new("x", ns::MUC_USER).with_child(item);
    want.set_attr_ns(mucsim_scansion::NS_SCANSION, "strict", "false");
    Some(
        Element::new("presence", ns::CLIENT)
            .with_opt_attr("from", leaked.attr("from"))
            .with_opt_attr("type", leaked.attr("type"))
            .with_child(want),
    )
}

impl ServiceTap for Judge {
    fn before(&mut self, svc: &MucService, _from: &FullJid, el: &Element) {
        self.before = room_of(svc, el).map(|jid| {
            let room = svc.room(&jid);
            // Only a request is judged against the stored affiliations; any other
            // input's snapshot serves `real_jid_shown`, which reads none.
            // (`request_of` reads the snapshot's flags only.)
            let (snapshot, request) = match room {
                Some(r) => {
                    let password = r.config().password.as_deref();
                    let s = Snapshot::of_occupants(r);
                    match request_of(el, &s, password) {
                        Some(req) => (Some(s.with_affiliations(r)), Some(req)),
                        None => (Some(s), None),
                    }
                }
                None => (None, None),
            };
            Before {
                room: jid.to_string(),
                jid,
                snapshot,
                request,
            }
        });
    }

    fn after(&mut self, svc: &MucService, from: &FullJid, el: &Element, out: &[Outgoing]) {
        // The reply as a whole, in the order the service sent it: what no client's
        // own stanzas show (each reads only its part of it).
        if self.order.is_none() {
            if let Some(rule) = oracle::order::violations(el, out.iter().map(|o| &*o.body)).first() {
                self.order = Some(format!(
                    "{from}'s {} was answered out of order: {}",
                    el.to_xml_in(ns::CLIENT),
                    rule.cites
                ));
            }
        }
        let Some(Before {
            jid,
            room,
            snapshot: before,
            request,
        }) = self.before.take()
        else {
            return;
        };
        let now = svc.room(&jid);
        let shown = judge::shown_real_jids(out);
        // The room after a request, whole; after any other input, only when a real
        // JID from it was shown, as `real_jid_shown` reads it (no affiliations).
        let after = if request.is_some() {
            now.map(Snapshot::of)
        } else if shown.iter().any(|(_, r, _)| *r == room) {
            now.map(Snapshot::of_occupants)
        } else {
            None
        };
        let sender = from.to_string();
        let id = el.attr("id").map(str::to_string);
        if let Some(before) = &before {
            // XEP-0045 §7.2.9 counts occupants: a session joining its user's
            // occupant (same nick, §7.2.1 several sessions) adds none, so a full
            // room does not bar it. (The judge's `join_of` reads `full` as is; this
            // belongs there, and is asked for in issue 20's report.)
            let rejoin = before.full
                && &*el.name == "presence"
                && el
                    .attr("to")
                    .and_then(|t| t.split_once('/'))
                    .and_then(|(_, nick)| before.occupant_named(nick))
                    .is_some_and(|o| o.bare == bare_str(from));
            let not_full;
            let before = if rejoin {
                not_full = Snapshot {
                    full: false,
                    ..before.clone()
                };
                &not_full
            } else {
                before
            };
            // Named before the input, against the same flags.
            if let Some(req) = &request {
                let reply = Answer::of_reply(&sender, out);
                if let Some(v) = judge::judge(before, &sender, req, reply, after.as_ref()) {
                    let forbidden = judge::allowed(before, &sender, req) == Some(false);
                    let id = id.as_deref();
                    let expect = match v {
                        Violation::ForbiddenSucceeded(_) | Violation::AdmittedWithoutPassword => {
                            Some(answer(&el.name, "error", id))
                        }
                        Violation::OutcastLifted if forbidden => Some(answer(&el.name, "error", id)),
                        Violation::AllowedRefused(_) => accepted(el, id),
                        _ => None,
                    };
                    let probe = match (v, &after, expect.is_none()) {
                        (Violation::OutcastLifted, Some(after), true) => before
                            .affiliations
                            .keys()
                            .map(|j| j.as_str())
                            .chain(std::iter::once(match req {
                                Request::Invite { invitee } => invitee.as_str(),
                                _ => "",
                            }))
                            .find(|j| {
                                j.contains('@')
                                    && before.affiliation(j) == Affiliation::Outcast
                                    && after.affiliation(j) != Affiliation::Outcast
                            })
                            .map(|j| (j.to_string(), room.clone())),
                        _ => None,
                    };
                    self.found.push(Finding {
                        violation: v,
                        sender: sender.clone(),
                        id: id.map(str::to_string),
                        probe,
                        expect: expect.map(|e| (sender.clone(), e)),
                        what: format!(
                            "{}: {sender}'s {req:?} in {room} was answered {reply:?} ({})",
                            v.property().sentence(),
                            el.to_xml_in(ns::CLIENT)
                        ),
                    });
                }
            }
        }
        // A configuration that empties a non-persistent room (members-only) makes
        // it vanish: the removals it tells of are sent under the new configuration,
        // so the room after it is the one asked for, empty.
        let vanished = match (&before, &after, el.child("query", ns::MUC_OWNER)) {
            (Some(b), None, Some(_)) => match request {
                Some(Request::Config(flags)) => Some(Snapshot {
                    flags,
                    occupants: Vec::new(),
                    ..b.clone()
                }),
                _ => None,
            },
            _ => None,
        };
        let rooms: Vec<&Snapshot> = before.iter().chain(after.iter()).chain(vanished.iter()).collect();
        for (viewer, from_room, nick) in shown {
            if from_room != room {
                continue;
            }
            if let Some(v) = judge::real_jid_shown(&rooms, viewer, nick) {
                let leaked = out
                    .iter()
                    .find(|o| {
                        o.to.as_str() == viewer && o.body.attr("from") == Some(&format!("{room}/{nick}"))
                    })
                    .and_then(|o| without_jid(&o.body));
                self.found.push(Finding {
                    violation: v,
                    sender: sender.clone(),
                    id: id.clone(),
                    probe: None,
                    expect: leaked.map(|e| (viewer.to_string(), e)),
                    what: format!(
                        "{}: {viewer} was shown {room}/{nick}'s real JID after {sender}'s {}",
                        v.property().sentence(),
                        el.to_xml_in(ns::CLIENT)
                    ),
                });
            }
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
