//! XEP-0045's permission rules as data: who may change whose affiliation and role,
//! who sees real JIDs, who may change the subject, who may invite into a
//! members-only room, who is admitted. Each row cites the section it comes from;
//! where the XEP leaves a choice and the project follows Prosody, the row says so
//! ([`Source::Prosody`]).
//!
//! These tables are the independent statement the service is checked against: the
//! service (`mucsim-server`) never imports them (`scripts/check-layers.sh` forbids
//! the dependency), and they are written from the XEP, not from the service's code.
//! They take the service's `Affiliation` and `Role` types, nothing else of it.

use server::{Affiliation, Role};

/// Where a row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The XEP says so (MUST / SHOULD, or its tables).
    Xep,
    /// The XEP leaves a choice; the project does what Prosody does.
    Prosody,
    /// The XEP leaves a choice; the project departs from Prosody (ARCHITECTURE.md,
    /// "Where we follow Prosody rather than the XEP, and the reverse").
    Project,
}

/// One rule: its statement, the section it cites and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub says: &'static str,
    /// `XEP-0045 §…` with the section's title.
    pub cites: &'static str,
    pub source: Source,
}

// ---- affiliations ------------------------------------------------------------

/// Who may make an affiliation change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// No change (the same affiliation).
    Nobody,
    /// An admin or an owner.
    AdminOrOwner,
    /// An owner only.
    Owner,
}

impl Who {
    /// Whether an actor with `actor`'s affiliation is among these.
    pub fn includes(self, actor: Affiliation) -> bool {
        match self {
            Who::Nobody => false,
            Who::AdminOrOwner => matches!(actor, Affiliation::Admin | Affiliation::Owner),
            Who::Owner => actor == Affiliation::Owner,
        }
    }
}

/// The order of [`AFFILIATION_CHART`]'s rows and columns.
pub const AFFILIATIONS: [Affiliation; 5] = [
    Affiliation::Outcast,
    Affiliation::None,
    Affiliation::Member,
    Affiliation::Admin,
    Affiliation::Owner,
];

/// XEP-0045 §5.2.2 (Changing Affiliations), the affiliation state chart: row =
/// the affiliation now, column = the one asked for, cell = who may make the
/// change. The use cases say the same one change at a time: §9.1 (Banning a User),
/// §9.3/§9.4 (Granting/Revoking Membership) for admins and owners; §10.3/§10.4
/// (Granting/Revoking Owner Status) and §10.6/§10.7 (Granting/Revoking Admin
/// Status) for owners only.
pub const AFFILIATION_CHART: [[Who; 5]; 5] = {
    use Who::{AdminOrOwner as A, Nobody as N, Owner as O};
    [
        //  outcast none member admin owner
        [N, A, A, O, O], // from outcast
        [A, N, A, O, O], // from none
        [A, A, N, O, O], // from member
        [O, O, O, N, O], // from admin
        [O, O, O, O, N], // from owner
    ]
};

/// The rules around the chart.
pub const AFFILIATION_RULES: [Rule; 3] = [
    Rule {
        says: "only the owner list, the admin list, the member list and the ban list change affiliations; an occupant's role never does",
        cites: "XEP-0045 §5.2 (Affiliations)",
        source: Source::Xep,
    },
    Rule {
        says: "a room keeps at least one owner: removing the last one is refused with conflict",
        cites: "XEP-0045 §10.4 (Revoking Owner Status), §10.5 (Modifying the Owner List)",
        source: Source::Xep,
    },
    Rule {
        says: "a multi-item muc#admin set is judged item by item against the affiliations it would leave, and applied all or nothing",
        cites: "XEP-0045 §9.2, §9.5 (Modifying the Ban/Member List); Prosody applies only the first item, the project keeps the whole batch atomic",
        source: Source::Project,
    },
];

/// Whether an actor with affiliation `actor` may change a user's affiliation from
/// `from` to `to` (the chart alone; the last-owner rule needs the whole list:
/// [`leaves_an_owner`]).
pub fn may_set_affiliation(actor: Affiliation, from: Affiliation, to: Affiliation) -> bool {
    let i = |a: Affiliation| {
        AFFILIATIONS
            .iter()
            .position(|x| *x == a)
            .expect("every affiliation is charted")
    };
    AFFILIATION_CHART[i(from)][i(to)].includes(actor)
}

/// How a request for the affiliation a user already has is read.
pub const SAME_AFFILIATION_RULE: Rule = Rule {
    says: "asking for the affiliation a user already has changes nothing and is allowed to whoever may change that user's affiliation at all (the chart's '--' cells)",
    cites: "XEP-0045 §5.2.2 (Changing Affiliations: the chart's diagonal); Prosody answers such a set with a result",
    source: Source::Prosody,
};

/// Whether an actor with `actor` may ask to set a user's affiliation from `from` to
/// `to`: the chart, and for `from == to` [`SAME_AFFILIATION_RULE`].
pub fn may_request_affiliation(actor: Affiliation, from: Affiliation, to: Affiliation) -> bool {
    if from == to {
        AFFILIATIONS
            .iter()
            .any(|other| may_set_affiliation(actor, from, *other))
    } else {
        may_set_affiliation(actor, from, to)
    }
}

/// XEP-0045 §10.4, §10.5: whether the owners after a change are not none.
pub fn leaves_an_owner(owners_after: usize) -> bool {
    owners_after > 0
}

/// How a domain-wide entry applies to a user.
pub const DOMAIN_RULE: Rule = Rule {
    says: "an affiliation set on a bare domain (e.g. an outcast entry for 'localhost') applies to every user at that domain who has no entry of their own; a user's own entry takes precedence; of domain entries only outcast is applied",
    cites: "XEP-0045 §9.1 (Banning a User), §9.2 (Modifying the Ban List: 'the service SHOULD allow a JID of the form <domain>'); the precedence and outcast-only reading are Prosody's get_affiliation",
    source: Source::Prosody,
};

/// A user's affiliation from its own entry (`own`) and its domain's (`domain`), by
/// [`DOMAIN_RULE`].
pub fn affiliation_of(own: Option<Affiliation>, domain: Option<Affiliation>) -> Affiliation {
    match (own, domain) {
        (Some(a), _) => a,
        (None, Some(Affiliation::Outcast)) => Affiliation::Outcast,
        _ => Affiliation::None,
    }
}

// ---- owner requests ----------------------------------------------------------

pub const OWNER_RULES: [Rule; 2] = [
    Rule {
        says: "only an owner may change the room's configuration",
        cites: "XEP-0045 §5.2.1 (Affiliations: Privileges, 'change room configuration'), §10.2 (Subsequent Room Configuration)",
        source: Source::Xep,
    },
    Rule {
        says: "only an owner may destroy the room",
        cites: "XEP-0045 §5.2.1 (Affiliations: Privileges, 'destroy room'), §10.9 (Destroying a Room)",
        source: Source::Xep,
    },
];

/// XEP-0045 §10.2: whether a user with `actor` may configure the room.
pub fn may_configure(actor: Affiliation) -> bool {
    actor == Affiliation::Owner
}

/// XEP-0045 §10.9: whether a user with `actor` may destroy the room.
pub fn may_destroy(actor: Affiliation) -> bool {
    actor == Affiliation::Owner
}

// ---- roles -------------------------------------------------------------------

/// The rules of a role change (a kick is a change to role none), all of which must
/// hold.
pub const ROLE_RULES: [Rule; 4] = [
    Rule {
        says: "the actor is an occupant whose role is moderator",
        cites: "XEP-0045 §5.1.1 (Roles: Privileges), §8.2 (Kicking an Occupant), §8.3/§8.4 (Granting/Revoking Voice)",
        source: Source::Xep,
    },
    Rule {
        says: "granting or revoking the moderator role (the target is a moderator, or is to become one) takes an admin or an owner",
        cites: "XEP-0045 §5.2.1 (Affiliations: Privileges, 'assign and remove moderator role'), §9.6/§9.7 (Granting/Revoking Moderator Status)",
        source: Source::Xep,
    },
    Rule {
        says: "the actor's affiliation is at least the target's: a moderator with a lower affiliation may not kick, silence or demote",
        cites: "XEP-0045 §8.2 (Kicking an Occupant: 'a user cannot be kicked by a moderator with a lower affiliation'), §8.4",
        source: Source::Xep,
    },
    Rule {
        says: "an admin may change another admin's role and an owner another owner's (§5.2.1's note against revoking moderation from a higher affiliation is read as between lower and higher affiliations; §9.7's stricter 'an admin MUST NOT revoke moderator status from an admin' is not followed)",
        cites: "XEP-0045 §5.2.1 note, §9.7 (Revoking Moderator Status); Prosody's may_set_role compares affiliations the same way",
        source: Source::Prosody,
    },
];

/// The actor and target of a role change, as the room saw them when the request
/// arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleChange {
    /// The actor's role, or `None` if it is not an occupant.
    pub actor_role: Option<Role>,
    pub actor_affiliation: Affiliation,
    pub target_role: Role,
    pub target_affiliation: Affiliation,
    /// The role asked for (`Role::None` is a kick).
    pub to: Role,
}

/// Whether the XEP allows `c` ([`ROLE_RULES`]).
pub fn may_set_role(c: &RoleChange) -> bool {
    let moderator = c.actor_role == Some(Role::Moderator);
    let touches_moderator = c.target_role == Role::Moderator || c.to == Role::Moderator;
    let admin = matches!(c.actor_affiliation, Affiliation::Admin | Affiliation::Owner);
    moderator && (!touches_moderator || admin) && c.actor_affiliation >= c.target_affiliation
}

/// XEP-0045 §5.1.2 (Default Roles): the role an affiliation enters with; `None`
/// for an outcast, who does not enter.
pub fn default_role(affiliation: Affiliation, moderated: bool) -> Option<Role> {
    match affiliation {
        Affiliation::Owner | Affiliation::Admin => Some(Role::Moderator),
        Affiliation::Member => Some(Role::Participant),
        Affiliation::None if moderated => Some(Role::Visitor),
        Affiliation::None => Some(Role::Participant),
        Affiliation::Outcast => None,
    }
}

// ---- real JIDs ---------------------------------------------------------------

/// Who may discover occupants' real JIDs (`muc#roomconfig_whois`, XEP-0045 §10.2,
/// §16.5.3 (the muc#roomconfig FORM_TYPE)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Whois {
    /// Non-anonymous (`anyone`).
    Anyone,
    /// Semi-anonymous (`moderators`).
    Moderators,
}

pub const WHOIS_RULES: [Rule; 2] = [
    Rule {
        says: "in a non-anonymous room every occupant receives every occupant's full JID in the item's jid attribute",
        cites: "XEP-0045 §7.2.2 (Presence Broadcast), §7.2.3 (Non-Anonymous Rooms)",
        source: Source::Xep,
    },
    Rule {
        says: "in a semi-anonymous room only moderators receive other occupants' full JIDs",
        cites: "XEP-0045 §7.2.2, §7.2.4 (Semi-Anonymous Rooms), §10.2 (muc#roomconfig_whois)",
        source: Source::Xep,
    },
];

/// Whether an occupant whose role is `viewer` may see another occupant's real JID.
pub fn may_see_real_jid(whois: Whois, viewer: Role) -> bool {
    match whois {
        Whois::Anyone => true,
        Whois::Moderators => viewer == Role::Moderator,
    }
}

// ---- subject -----------------------------------------------------------------

pub const SUBJECT_RULE: Rule = Rule {
    says: "a moderator may change the subject; a participant only if the room lets occupants change it; a visitor never",
    cites: "XEP-0045 §5.1.1 (Roles: Privileges, 'modify subject'), §8.1 (Modifying the Room Subject), §10.2 (muc#roomconfig_changesubject)",
    source: Source::Xep,
};

/// Whether an occupant whose role is `role` may change the subject.
pub fn may_change_subject(role: Role, changesubject: bool) -> bool {
    match role {
        Role::Moderator => true,
        Role::Participant => changesubject,
        Role::Visitor | Role::None => false,
    }
}

// ---- invitations -------------------------------------------------------------

pub const INVITE_RULES: [Rule; 4] = [
    Rule {
        says: "in a members-only room an occupant may invite only if it is an admin or an owner, or the room allows occupants to invite",
        cites: "XEP-0045 §7.8.2 (Mediated Invitation: 'invitation privileges in members-only rooms SHOULD be restricted to room admins'), §10.2 (muc#roomconfig_allowinvites)",
        source: Source::Xep,
    },
    Rule {
        says: "in an open room any occupant may invite",
        cites: "XEP-0045 §5.1.1 (Roles: Privileges, 'invite other users'), §7.8",
        source: Source::Xep,
    },
    Rule {
        says: "an invitation never lifts a ban: an outcast stays an outcast whoever invites it",
        cites: "XEP-0045 §7.8.2 (Mediated Invitation), §9.1 (Banning a User)",
        source: Source::Xep,
    },
    Rule {
        says: "an accepted invitation into a members-only room may add an unaffiliated invitee to the member list (and only that); Prosody does",
        cites: "XEP-0045 §7.8.2 (Mediated Invitation: 'the service MAY also add the invitee to the member list')",
        source: Source::Prosody,
    },
];

/// Whether an occupant with `affiliation` (and role `role`) may invite someone.
pub fn may_invite(role: Role, affiliation: Affiliation, members_only: bool, allowinvites: bool) -> bool {
    if role == Role::None {
        return false;
    }
    !members_only || allowinvites || matches!(affiliation, Affiliation::Admin | Affiliation::Owner)
}

// ---- admission ---------------------------------------------------------------

/// Why a join is refused, each with the error the XEP names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bar {
    /// XEP-0045 §7.2.7 (Banned Users): `forbidden`.
    Outcast,
    /// XEP-0045 §7.2.6 (Members-Only Rooms): `registration-required`.
    NotAMember,
    /// XEP-0045 §7.2.5 (Password-Protected Rooms): `not-authorized`. Every join
    /// carries the password, a second session of an occupant's user included.
    WrongPassword,
    /// XEP-0045 §7.2.9 (Max Users): `service-unavailable`; owners and admins are
    /// still admitted.
    Full,
    /// XEP-0045 §7.2.10 (Locked Room), §10.1.1: only the owner enters a room
    /// awaiting its configuration (`item-not-found`, as Prosody).
    Locked,
}

/// A join as the room saw it when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Join {
    pub affiliation: Affiliation,
    pub members_only: bool,
    /// The room has a password.
    pub password_protected: bool,
    /// This join carries the room's password.
    pub password_given: bool,
    /// The room holds its maximum number of occupants.
    pub full: bool,
    pub locked: bool,
}

pub const ADMISSION_RULES: [Rule; 2] = [
    Rule {
        says:
            "a join is admitted only when no bar holds; when several hold, the service may name any of them",
        cites: "XEP-0045 §7.2.5–§7.2.10 (the XEP orders no checks)",
        source: Source::Xep,
    },
    Rule {
        says: "an owner is admitted to a locked room; nobody else is",
        cites: "XEP-0045 §10.1.1 (Creating a Room); the error item-not-found as Prosody",
        source: Source::Prosody,
    },
];

/// The bar whose error condition a refused join names, if it is one of theirs
/// (XEP-0045 §7.2.5–§7.2.10).
pub fn bar_of_condition(c: crate::judge::Condition) -> Option<Bar> {
    use crate::judge::Condition as C;
    match c {
        C::Forbidden => Some(Bar::Outcast),
        C::RegistrationRequired => Some(Bar::NotAMember),
        C::NotAuthorized => Some(Bar::WrongPassword),
        C::ServiceUnavailable => Some(Bar::Full),
        _ => None,
    }
}

/// Every bar that holds for `j` (empty: admitted).
pub fn bars(j: &Join) -> Vec<Bar> {
    let mut out = Vec::new();
    if j.affiliation == Affiliation::Outcast {
        out.push(Bar::Outcast);
    }
    if j.members_only && j.affiliation < Affiliation::Member {
        out.push(Bar::NotAMember);
    }
    if j.password_protected && !j.password_given {
        out.push(Bar::WrongPassword);
    }
    if j.full && j.affiliation < Affiliation::Admin {
        out.push(Bar::Full);
    }
    if j.locked && j.affiliation != Affiliation::Owner {
        out.push(Bar::Locked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Affiliation::{Admin, Member, None as Unaffiliated, Outcast, Owner};

    #[test]
    fn the_chart_matches_the_use_cases() {
        // §9.1: an admin bans a member or an unaffiliated user…
        assert!(may_set_affiliation(Admin, Member, Outcast));
        assert!(may_set_affiliation(Admin, Unaffiliated, Outcast));
        // …but not another admin or an owner (issue 20's first blind spot).
        assert!(!may_set_affiliation(Admin, Admin, Outcast));
        assert!(!may_set_affiliation(Admin, Owner, Outcast));
        assert!(!may_set_affiliation(Admin, Admin, Member));
        // §10.6: only an owner grants admin; §10.3 owner.
        assert!(!may_set_affiliation(Admin, Member, Admin));
        assert!(may_set_affiliation(Owner, Member, Admin));
        assert!(may_set_affiliation(Owner, Admin, Outcast));
        // Members and the unaffiliated change nothing.
        for actor in [Outcast, Unaffiliated, Member] {
            for from in AFFILIATIONS {
                for to in AFFILIATIONS {
                    assert!(!may_set_affiliation(actor, from, to), "{actor:?} {from:?}→{to:?}");
                }
            }
        }
        // The diagonal is no change.
        for a in AFFILIATIONS {
            assert!(!may_set_affiliation(Owner, a, a));
        }
        assert!(!leaves_an_owner(0) && leaves_an_owner(1));
        // Asking for what one has: an owner always, an admin below admin only.
        assert!(may_request_affiliation(Owner, Owner, Owner));
        assert!(may_request_affiliation(Admin, Member, Member));
        assert!(!may_request_affiliation(Admin, Admin, Admin));
        assert!(!may_request_affiliation(Member, Member, Member));
    }

    fn change(actor: (Role, Affiliation), target: (Role, Affiliation), to: Role) -> RoleChange {
        RoleChange {
            actor_role: Some(actor.0),
            actor_affiliation: actor.1,
            target_role: target.0,
            target_affiliation: target.1,
            to,
        }
    }

    #[test]
    fn role_changes_follow_sections_8_and_9() {
        let unaffiliated_moderator = (Role::Moderator, Unaffiliated);
        let admin = (Role::Moderator, Admin);
        let owner = (Role::Moderator, Owner);
        // (actor, target, new role, allowed)
        #[rustfmt::skip]
        let rows = [
            // §8.2: an unaffiliated moderator kicks a participant, not a member or an owner.
            (unaffiliated_moderator, (Role::Participant, Unaffiliated), Role::None, true),
            (unaffiliated_moderator, (Role::Participant, Member), Role::None, false),
            (unaffiliated_moderator, (Role::Moderator, Owner), Role::None, false),
            // §8.3: voice; §9.6: moderator takes an admin.
            (unaffiliated_moderator, (Role::Visitor, Unaffiliated), Role::Participant, true),
            (unaffiliated_moderator, (Role::Participant, Unaffiliated), Role::Moderator, false),
            (admin, (Role::Participant, Member), Role::Moderator, true),
            // An admin may not touch an owner; an owner may kick an admin.
            (admin, (Role::Moderator, Owner), Role::Participant, false),
            (owner, (Role::Moderator, Admin), Role::None, true),
            // Not a moderator, or not an occupant: nothing.
            ((Role::Participant, Owner), (Role::Visitor, Unaffiliated), Role::None, false),
        ];
        for (i, (actor, target, to, want)) in rows.into_iter().enumerate() {
            assert_eq!(may_set_role(&change(actor, target, to)), want, "row {i}");
        }
        let mut outsider = change(owner, (Role::Visitor, Unaffiliated), Role::None);
        outsider.actor_role = None;
        assert!(!may_set_role(&outsider));
        assert_eq!(default_role(Unaffiliated, true), Some(Role::Visitor));
        assert_eq!(default_role(Outcast, false), None);
    }

    #[test]
    fn whois_subject_and_invitations() {
        assert!(may_see_real_jid(Whois::Anyone, Role::Visitor));
        assert!(!may_see_real_jid(Whois::Moderators, Role::Participant));
        assert!(may_see_real_jid(Whois::Moderators, Role::Moderator));
        assert!(!may_change_subject(Role::Participant, false));
        assert!(may_change_subject(Role::Participant, true));
        assert!(!may_change_subject(Role::Visitor, true));
        assert!(!may_invite(Role::Participant, Member, true, false));
        assert!(may_invite(Role::Participant, Member, true, true));
        assert!(may_invite(Role::Moderator, Admin, true, false));
        assert!(may_invite(Role::Participant, Unaffiliated, false, false));
    }

    #[test]
    fn admission_names_every_bar() {
        let open = Join {
            affiliation: Unaffiliated,
            members_only: false,
            password_protected: false,
            password_given: false,
            full: false,
            locked: false,
        };
        assert_eq!(bars(&open), vec![]);
        let j = Join {
            affiliation: Outcast,
            members_only: true,
            password_protected: true,
            full: true,
            locked: true,
            ..open
        };
        assert_eq!(
            bars(&j),
            vec![
                Bar::Outcast,
                Bar::NotAMember,
                Bar::WrongPassword,
                Bar::Full,
                Bar::Locked
            ]
        );
        // A second session of a member still needs the password.
        let second = Join {
            affiliation: Member,
            members_only: true,
            password_protected: true,
            ..open
        };
        assert_eq!(bars(&second), vec![Bar::WrongPassword]);
        // Owners and admins enter a full room; the owner a locked one.
        let owner = Join {
            affiliation: Owner,
            full: true,
            locked: true,
            ..open
        };
        assert_eq!(bars(&owner), vec![]);
    }

    #[test]
    fn every_rule_cites_a_section() {
        let all = AFFILIATION_RULES
            .iter()
            .chain(&ROLE_RULES)
            .chain(&WHOIS_RULES)
            .chain(std::iter::once(&SUBJECT_RULE))
            .chain(&INVITE_RULES)
            .chain(&OWNER_RULES)
            .chain([&DOMAIN_RULE, &SAME_AFFILIATION_RULE])
            .chain(&ADMISSION_RULES);
        for r in all {
            assert!(r.cites.starts_with("XEP-0045 §"), "{r:?}");
            if r.source == Source::Prosody {
                assert!(r.cites.contains("Prosody") || r.says.contains("Prosody"), "{r:?}");
            }
        }
    }
}
