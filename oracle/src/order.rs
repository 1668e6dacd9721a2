//! XEP-0045's order rules as data: where the XEP fixes the order of the stanzas one
//! request is answered with ("the service MUST then …"), which part of the reply
//! comes before which. Each row cites its section; [`violations`] reads the
//! stanzas of one service reply, in the order the service sent them, and names the
//! rows it breaks.
//!
//! Like [`crate::spec`], these rows are written from the XEP, not from the service's
//! code, and the service never imports them. They read stanzas only: the request
//! and the reply's elements (`server::xml::Element`, `server::ns`, `StatusCode`).
//!
//! Order across recipients is what a server writes, one reply at a time; a client
//! sees only its own part of it, which is why this check judges the whole reply
//! (the model's server actor runs it on each outbox before splitting it into
//! messages).

use server::xml::Element;
use server::{ns, StatusCode};

/// The request a reply answers, as far as the order rules tell requests apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseCase {
    /// A muc#admin set of role items only, one at least to role `none` (§8.2).
    Kick,
    /// A muc#admin set of role items only, none to role `none`: voice granted or
    /// revoked (§8.3–§8.5), moderator granted or revoked (§9.6–§9.8).
    RoleChange,
    /// A muc#admin set of affiliation items, one at least to `outcast` (§9.1, §9.2).
    Ban,
    /// A muc#admin set of affiliation items, none to `outcast` (§9.3–§9.5,
    /// §10.3–§10.8).
    AffiliationChange,
    /// A muc#owner set with `<destroy/>` (§10.9).
    Destroy,
}

/// A part of one reply, as the stanzas show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The iq result to the request.
    Answer,
    /// A removed occupant told of its own removal: unavailable presence with 110
    /// and a removal status code (§15.6: 301, 307, 321, 322, 332, 333).
    RemovedSelf,
    /// Every other presence: the occupants that stay, told of the change.
    Others,
    /// Every presence of the reply.
    Presence,
}

/// Whether the service keeps a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// The service keeps it; the property checks it.
    Yes,
    /// The service does what Prosody 0.12.3 does instead, because Prosody's own test
    /// scripts (the corpus, which must pass) read the other order: the reason.
    ProsodyCorpus(&'static str),
}

/// One order rule: in a reply to `case`, every stanza of `first` comes before every
/// stanza of `then`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRule {
    pub case: UseCase,
    pub first: Part,
    pub then: Part,
    /// `XEP-0045 §…` and the words that fix the order.
    pub cites: &'static str,
    pub kept: Kept,
}

/// XEP-0045 1.35's order rules, row by row.
pub const RULES: [OrderRule; 8] = [
    OrderRule {
        case: UseCase::Kick,
        first: Part::RemovedSelf,
        then: Part::Answer,
        cites: "§8.2 Kicking an Occupant: \"After removing the kicked occupant(s), the service MUST then inform the moderator of success\"",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::Kick,
        first: Part::Answer,
        then: Part::Others,
        cites: "§8.2 Kicking an Occupant: \"After informing the moderator, the service MUST then inform all of the remaining occupants\"",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::RoleChange,
        first: Part::Answer,
        then: Part::Presence,
        cites: "§8.3, §8.4, §8.5, §9.6, §9.7, §9.8 (voice, moderator): \"The service MUST then inform the moderator of success\"; \"The service MUST then send updated presence … to all occupants\"",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::Ban,
        first: Part::Answer,
        then: Part::RemovedSelf,
        cites: "§9.2 Modifying the Ban List: \"After updating the ban list, the service MUST inform the admin of success\"; \"The service MUST then remove the affected occupants\" (§9.1 in the same order)",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::Ban,
        first: Part::Answer,
        then: Part::Others,
        cites: "§9.1 Banning a User, §9.2: the admin is informed of success, \"then\" the remaining occupants",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::Ban,
        first: Part::RemovedSelf,
        then: Part::Others,
        cites: "§9.1 Banning a User: the banned occupant is removed; \"The service MUST then inform all of the remaining occupants\"",
        kept: Kept::Yes,
    },
    OrderRule {
        case: UseCase::AffiliationChange,
        first: Part::Answer,
        then: Part::Presence,
        cites: "§9.3, §9.4, §10.3–§10.8: \"add the user to the member list and then inform the admin of success\"; \"the service MUST then send updated presence\"",
        kept: Kept::ProsodyCorpus(
            "Prosody 0.12.3 sends the presence first and the result last, and its scripts issue1224.scs, muc_register.scs and muc_members_only_change.scs read them in that order",
        ),
    },
    OrderRule {
        case: UseCase::Destroy,
        first: Part::Presence,
        then: Part::Answer,
        cites: "§10.9 Destroying a Room: the room removes all users; the examples inform the owner of success after the removals",
        kept: Kept::Yes,
    },
];

/// The use case of `request`, when it is one the rules speak of: an iq set to a
/// room with a muc#admin or muc#owner query.
pub fn use_case(request: &Element) -> Option<UseCase> {
    if request.name != "iq" || request.attr("type") != Some("set") {
        return None;
    }
    let query = request.elements().next()?;
    if query.is("query", ns::MUC_OWNER) {
        return query
            .elements()
            .next()
            .filter(|c| c.is("destroy", ns::MUC_OWNER))
            .map(|_| UseCase::Destroy);
    }
    if !query.is("query", ns::MUC_ADMIN) {
        return None;
    }
    let items: Vec<&Element> = query.elements().filter(|e| e.is("item", ns::MUC_ADMIN)).collect();
    if items.is_empty() {
        return None;
    }
    let roles: Vec<&str> = items.iter().filter_map(|i| i.attr("role")).collect();
    let affs: Vec<&str> = items.iter().filter_map(|i| i.attr("affiliation")).collect();
    if roles.len() == items.len() && affs.is_empty() {
        Some(if roles.contains(&"none") {
            UseCase::Kick
        } else {
            UseCase::RoleChange
        })
    } else if affs.len() == items.len() && roles.is_empty() {
        Some(if affs.contains(&"outcast") {
            UseCase::Ban
        } else {
            UseCase::AffiliationChange
        })
    } else {
        None
    }
}

/// The parts `stanza` belongs to, in a reply to `request`.
fn parts(request: &Element, stanza: &Element) -> [bool; 4] {
    let mut p = [false; 4];
    match &*stanza.name {
        "iq" => {
            p[Part::Answer as usize] =
                stanza.attr("type") == Some("result") && stanza.attr("id") == request.attr("id");
        }
        "presence" => {
            p[Part::Presence as usize] = true;
            let codes = stanza
                .child("x", ns::MUC_USER)
                .map(StatusCode::read_all)
                .unwrap_or_default();
            let removed_self = stanza.attr("type") == Some("unavailable")
                && codes.contains(&StatusCode::SelfPresence)
                && codes.iter().any(|c| c.is_removal());
            p[Part::RemovedSelf as usize] = removed_self;
            p[Part::Others as usize] = !removed_self;
        }
        _ => {}
    }
    p
}

/// The rules (that the service keeps, [`Kept::Yes`]) a reply to `request` breaks,
/// given the reply's stanzas in the order they were sent. A refused request (no
/// result in the reply) breaks none: the rules speak of success.
pub fn violations<'a>(
    request: &Element,
    reply: impl IntoIterator<Item = &'a Element>,
) -> Vec<&'static OrderRule> {
    let Some(case) = use_case(request) else {
        return Vec::new();
    };
    let tagged: Vec<[bool; 4]> = reply.into_iter().map(|s| parts(request, s)).collect();
    if !tagged.iter().any(|p| p[Part::Answer as usize]) {
        return Vec::new();
    }
    RULES
        .iter()
        .filter(|r| r.case == case && r.kept == Kept::Yes)
        .filter(|r| {
            let last_first = tagged.iter().rposition(|p| p[r.first as usize]);
            let first_then = tagged.iter().position(|p| p[r.then as usize]);
            matches!((last_first, first_then), (Some(a), Some(b)) if a > b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        server::xml::parse_stanza(xml.as_bytes(), ns::CLIENT, &Default::default()).expect("a stanza")
    }

    const KICK: &str = "<iq type='set' id='k' to='r@c'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='J' role='none'/></query></iq>";
    const BAN: &str = "<iq type='set' id='b' to='r@c'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='j@l' affiliation='outcast'/></query></iq>";
    const VOICE: &str = "<iq type='set' id='v' to='r@c'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='J' role='participant'/></query></iq>";
    const DESTROY: &str = "<iq type='set' id='d' to='r@c'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>";

    fn own(code: &str) -> Element {
        el(&format!("<presence type='unavailable' from='r@c/J'><x xmlns='http://jabber.org/protocol/muc#user'><status code='{code}'/><item affiliation='none' role='none'/><status code='110'/></x></presence>"))
    }
    fn other(code: &str) -> Element {
        el(&format!("<presence type='unavailable' from='r@c/J'><x xmlns='http://jabber.org/protocol/muc#user'><status code='{code}'/><item affiliation='none' role='none'/></x></presence>"))
    }
    fn result(id: &str) -> Element {
        el(&format!("<iq type='result' id='{id}' from='r@c'/>"))
    }

    fn broken(request: &str, reply: &[Element]) -> Vec<&'static str> {
        violations(&el(request), reply.iter())
            .iter()
            .map(|r| r.cites)
            .collect()
    }

    /// Each row: a request, its reply in order, how many rules the reply breaks and
    /// how the first broken rule's citation begins.
    #[track_caller]
    fn check(rows: &[(&str, &[Element], usize, &str)]) {
        for (i, &(request, reply, n, first)) in rows.iter().enumerate() {
            let cites = broken(request, reply);
            assert_eq!(cites.len(), n, "row {i}: {cites:?}");
            assert!(
                cites.first().is_none_or(|c| c.starts_with(first)),
                "row {i}: {cites:?}"
            );
        }
    }

    #[test]
    fn a_kick_is_removed_then_answered_then_told() {
        // Prosody 0.12.3's order (the others, the kicked, then the answer) answers
        // after the remaining occupants are told.
        let after_informing = "§8.2 Kicking an Occupant: \"After informing the moderator";
        check(&[
            (KICK, &[own("307"), result("k"), other("307")], 0, ""),
            (KICK, &[result("k"), own("307"), other("307")], 1, "§8.2"),
            (KICK, &[other("307"), own("307"), result("k")], 1, after_informing),
        ]);
    }

    #[test]
    fn a_ban_is_answered_then_removed_then_told() {
        check(&[
            (BAN, &[result("b"), own("301"), other("301")], 0, ""),
            (BAN, &[own("301"), result("b"), other("301")], 1, "§9.2"),
            (BAN, &[other("301"), own("301"), result("b")], 3, ""),
        ]);
    }

    #[test]
    fn a_role_change_is_answered_before_any_presence() {
        let p = el("<presence from='r@c/J'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>");
        check(&[
            (VOICE, &[result("v"), p.clone()], 0, ""),
            (VOICE, &[p, result("v")], 1, ""),
        ]);
    }

    #[test]
    fn a_destroy_removes_before_answering() {
        let gone = el("<presence type='unavailable' from='r@c/J'><x xmlns='http://jabber.org/protocol/muc#user'><destroy/><item affiliation='none' role='none'/><status code='110'/></x></presence>");
        check(&[
            (DESTROY, &[gone.clone(), result("d")], 0, ""),
            (DESTROY, &[result("d"), gone], 1, ""),
        ]);
    }

    #[test]
    fn refusals_other_requests_and_unkept_rows_break_nothing() {
        let err = el("<iq type='error' id='k' from='r@c'/>");
        assert!(broken(KICK, &[other("307"), err]).is_empty());
        let msg = "<message type='groupchat' to='r@c'><body>x</body></message>";
        assert!(broken(msg, &[other("307"), own("307")]).is_empty());
        // Affiliation changes keep Prosody's order (the corpus reads it): not checked.
        let grant = "<iq type='set' id='g' to='r@c'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='j@l' affiliation='member'/></query></iq>";
        assert_eq!(use_case(&el(grant)), Some(UseCase::AffiliationChange));
        assert!(broken(grant, &[other("321"), result("g")]).is_empty());
        // Every row cites a section.
        assert!(RULES.iter().all(|r| r.cites.starts_with('§')));
    }
}
