//! What a client learns from a stanza, in the few bytes the model's network carries.
//!
//! The service speaks full stanzas; the explored state must stay small (no
//! serialized XML, no element trees in flight). So the server actor projects each
//! outgoing stanza onto a [`Notice`] — only what some client-side property reads —
//! and transcripts get the full stanzas back by replaying the path through the
//! service (see [`crate::replay`]). A stanza no property reads (groupchat messages,
//! the subject) is not put on the model's network at all.

use server::ns;
use server::xml::Element;
use server::{Affiliation, Role, StatusCode};

/// Most nicks a scenario may use (two per distinct base nick), plus one slot for a
/// nick the scenario does not know.
pub const MAX_NICKS: usize = 16;

/// A nick, as an index into the scenario's [`Nicks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nick(pub u8);

/// A client's view keys its slots by the nick's index.
impl oracle::SlotKey for Nick {
    fn slot(&self) -> usize {
        usize::from(self.0)
    }
}

impl Nick {
    /// A nick the scenario never uses (a bug would have to invent it).
    pub const UNKNOWN: Nick = Nick(MAX_NICKS as u8 - 1);
}

/// Every nick a scenario can produce: each base nick and its alternative (the base
/// with `2` appended), which a nick change switches to and back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nicks(Vec<String>);

impl Nicks {
    /// The table for these base nicks. More than `(MAX_NICKS - 1) / 2` distinct
    /// bases is refused.
    pub fn new<'a>(bases: impl IntoIterator<Item = &'a str>) -> Result<Nicks, String> {
        let mut names: Vec<String> = Vec::new();
        for b in bases {
            if !names.iter().any(|n| n == b) {
                names.push(b.to_string());
                names.push(format!("{b}2"));
            }
        }
        if names.len() >= MAX_NICKS {
            return Err(format!(
                "{} distinct nicks; the model holds at most {}",
                names.len() / 2,
                (MAX_NICKS - 1) / 2
            ));
        }
        Ok(Nicks(names))
    }

    pub fn get(&self, name: &str) -> Nick {
        match self.0.iter().position(|n| n == name) {
            Some(i) => Nick(i as u8),
            None => Nick::UNKNOWN,
        }
    }

    pub fn name(&self, nick: Nick) -> &str {
        self.0.get(usize::from(nick.0)).map_or("?", String::as_str)
    }

    /// The other nick of the pair: what a nick change moves to.
    pub fn alternative(&self, nick: Nick) -> Nick {
        if nick == Nick::UNKNOWN {
            nick
        } else {
            Nick(nick.0 ^ 1)
        }
    }
}

/// The MUC status codes (XEP-0045 §15.6) a client reads, as bits: the oracle's.
pub use oracle::Codes;

/// One stanza, as much of it as the model's clients read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Notice {
    /// Occupant presence in `room` (which indexes [`crate::ops::ROOMS`]), as the
    /// client oracle reads it: its nicks are [`Nick`]s.
    Presence {
        room: u8,
        presence: oracle::Presence<Nick>,
    },
    /// A presence error from room `room` (a refused join or nick change).
    PresenceError { room: u8, registration_required: bool },
    /// The answer (result or error) to the client's iq for operation `op`.
    IqAnswer { op: u8 },
}

impl Notice {
    /// The notice for `el`, or `None` for a stanza no property reads.
    pub fn of(el: &Element, nicks: &Nicks) -> Option<Notice> {
        match &*el.name {
            "iq" => {
                let id = el.attr("id")?;
                let op = id.strip_prefix("op")?.parse().ok()?;
                Some(Notice::IqAnswer { op })
            }
            "presence" => Self::of_presence(el, nicks),
            _ => None,
        }
    }

    fn of_presence(el: &Element, nicks: &Nicks) -> Option<Notice> {
        if el.attr("type") == Some("error") {
            let room = crate::ops::room_index(el.attr("from")?.split('/').next()?)?;
            let registration_required = el
                .child("error", ns::CLIENT)
                .is_some_and(|e| e.child("registration-required", ns::STANZAS).is_some());
            return Some(Notice::PresenceError {
                room,
                registration_required,
            });
        }
        let (room, from) = el.attr("from")?.split_once('/')?;
        let room = crate::ops::room_index(room)?;
        let x = el.child("x", ns::MUC_USER)?;
        let mut codes = Codes::default();
        for code in StatusCode::read_all(x) {
            codes.insert(code);
        }
        let item = x.child("item", ns::MUC_USER);
        let attr = |name| item.and_then(|i| i.attr(name));
        let affiliation = attr("affiliation")
            .and_then(Affiliation::parse)
            .unwrap_or(Affiliation::None);
        let role = attr("role").and_then(Role::parse).unwrap_or(Role::None);
        Some(Notice::Presence {
            room,
            presence: oracle::Presence {
                from: nicks.get(from),
                unavailable: el.attr("type") == Some("unavailable"),
                codes,
                destroyed: x.child("destroy", ns::MUC_USER).is_some(),
                seat: (affiliation, role),
                new_nick: attr("nick").map(|n| nicks.get(n)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::xml::{parse_stanza, Limits};

    fn parse(xml: &[u8]) -> Element {
        parse_stanza(xml, ns::CLIENT, &Limits::default()).unwrap()
    }

    fn nicks() -> Nicks {
        Nicks::new(["Romeo", "Juliet"]).unwrap()
    }

    #[test]
    fn nick_table_pairs_each_base_with_its_alternative() {
        let n = nicks();
        assert_eq!(n.name(n.get("Juliet")), "Juliet");
        assert_eq!(n.name(n.alternative(n.get("Juliet"))), "Juliet2");
        assert_eq!(n.alternative(n.get("Juliet2")), n.get("Juliet"));
        assert_eq!(n.get("Mercutio"), Nick::UNKNOWN);
        let many: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
        assert!(Nicks::new(many.iter().map(String::as_str)).is_err());
    }

    #[test]
    fn the_removal_property_names_every_removal_cause() {
        // The property's name is what a reader of `mucsim check` sees; it must list
        // the causes `Codes::has_removal_cause` accepts (it once omitted 332).
        for c in StatusCode::REMOVALS {
            assert!(
                crate::properties::REMOVAL_TOLD_ONCE.contains(c.as_str()),
                "{} missing from: {}",
                c.as_str(),
                crate::properties::REMOVAL_TOLD_ONCE
            );
        }
    }

    #[test]
    fn presence_becomes_its_codes_item_and_nick() {
        let el = parse(
            br#"<presence xmlns="jabber:client" from="room@conference.localhost/Juliet" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="none"/><status code="110"/><status code="321"/></x></presence>"#,
        );
        let Some(Notice::Presence {
            presence:
                oracle::Presence {
                    from,
                    unavailable,
                    codes,
                    seat: (affiliation, role),
                    ..
                },
            ..
        }) = Notice::of(&el, &nicks())
        else {
            panic!("not a presence notice");
        };
        assert_eq!(from, nicks().get("Juliet"));
        assert!(
            unavailable
                && codes.has(StatusCode::SelfPresence)
                && codes.has(StatusCode::AffiliationChanged)
                && !codes.has(StatusCode::Kicked)
        );
        assert!(codes.has_removal_cause());
        assert_eq!((affiliation, role), (Affiliation::None, Role::None));
        assert_eq!(codes.to_string(), "[110 321]");
    }

    #[test]
    fn iq_answers_carry_the_operation_and_messages_are_not_noticed() {
        let iq = parse(br#"<iq xmlns="jabber:client" type="result" id="op3"/>"#);
        assert_eq!(Notice::of(&iq, &nicks()), Some(Notice::IqAnswer { op: 3 }));
        let msg = parse(br#"<message xmlns="jabber:client" type="groupchat"><body>hi</body></message>"#);
        assert_eq!(Notice::of(&msg, &nicks()), None);
        let err = parse(br#"<presence xmlns="jabber:client" type="error" from="room@conference.localhost/Juliet"><error xmlns="jabber:client" type="auth"><registration-required xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>"#);
        assert_eq!(
            Notice::of(&err, &nicks()),
            Some(Notice::PresenceError {
                room: 0,
                registration_required: true
            })
        );
    }
}
