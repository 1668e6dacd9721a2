//! Every reason the service refuses a stanza, and the one place each becomes an
//! RFC 6120 §8.3 error ([`error_element`], [`error_reply`] build it for any sender). The match in [`Refusal::wire`] has no wildcard arm: a new
//! reason cannot be added without deciding its type and condition.

use crate::ns;
use crate::xml::{Element, Node, StanzaLimit};

/// RFC 6120 §8.3.2 error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    Auth,
    Cancel,
    Continue,
    Modify,
    Wait,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Continue => "continue",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }
}

/// What a `gone` error says of a destroyed room (boxed in [`Refusal::Gone`]: most
/// refusals carry nothing, and every stanza error carries a refusal).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gone {
    /// The text: the reason the owner gave.
    pub reason: Option<String>,
    /// The content of `<gone/>`: the alternate venue as an XMPP URI.
    pub new_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The stanza is structurally wrong (missing id on an iq, bad type, wrong payload count).
    BadStanza(&'static str),
    /// A JID in `to` or in an item does not parse.
    JidMalformed(&'static str),
    /// Addressed to a domain this service does not host.
    WrongDomain,
    /// The room does not exist (iq or message to an unknown room).
    RoomNotFound,
    /// The room was destroyed and its tombstone holds (XEP-0045 §10.9, Prosody's
    /// tombstones): the owner's reason, and the alternate venue as an XMPP URI
    /// (`xmpp:room@service?join`, RFC 6120 §8.3.3.5).
    Gone(Box<Gone>),
    /// XEP-0045 §10.1.1: a new room is locked until its owner configures it.
    RoomLocked,
    /// Prosody: a presence to a room without `<x xmlns=muc>` from a non-occupant.
    JoinWithoutMucX,
    /// The sender is not an occupant but must be (message/probe/iq to occupant).
    NotInRoom,
    /// XEP-0045 §7.2.9: someone else holds the nickname.
    NickConflict,
    /// XEP-0045 §7.2.7: members-only room, sender has no membership.
    MembersOnly,
    /// XEP-0045 §7.2.8: sender is an outcast.
    Banned,
    /// XEP-0045 §7.2.6: password missing or wrong.
    PasswordRequired,
    /// XEP-0045 §7.2.10: the room is at its occupant limit.
    RoomFull,
    /// XEP-0045 §10.2: only owners may configure or destroy.
    OwnerOnly,
    /// The sender lacks the affiliation or role the use case needs: a list it may not
    /// retrieve (§9.5, §8.5), a role change by a non-moderator (§8), an affiliation
    /// change by a non-admin (§9), an owner-only change by an admin (§10.3–§10.8).
    Forbidden,
    /// XEP-0045 §5.2 permission matrix: the actor has the privilege for the use case
    /// but not over this target (e.g. a moderator kicking an admin, §8.2; an admin
    /// banning an admin or owner, §9.1).
    NotAllowed,
    /// XEP-0045 §9.1: an admin or owner banning themselves.
    SelfBan,
    /// XEP-0045 §7.8.2: a decline naming someone who neither invited the decliner
    /// here nor is in the room.
    UnknownInviter,
    /// XEP-0045 §7.13: a voice request from an occupant who is not a visitor (it
    /// has voice already).
    VoiceRequestNotVisitor,
    /// XEP-0045 §7.13: a voice request sooner than
    /// `ServiceConfig::voice_request_interval` after the user's last one.
    VoiceRequestTooSoon,
    /// XEP-0045 §8.6: a voice approval that names no occupant (no `muc#jid`, no
    /// `muc#roomnick`).
    VoiceApprovalNamesNoOne,
    /// XEP-0045 §6.7: a disco request to `room/nick` from a non-occupant.
    NonOccupantDisco,
    /// XEP-0045 §10.1.3: a configuration that switches on password protection
    /// with no password.
    EmptyRoomSecret,
    /// XEP-0045 §10.6: the last owner may not give up ownership.
    LastOwner,
    /// A submitted form is not a muc#roomconfig form, or not of type submit/cancel.
    BadForm(&'static str),
    /// A config field with a value of the wrong type or out of range.
    BadFieldValue(String),
    /// An admin item that names neither a jid nor a nick, or mixes role and affiliation.
    BadAdminItem,
    /// An unknown affiliation or role name.
    UnknownAffiliationOrRole,
    /// A role change for a nick that is not in the room.
    OccupantNotFound,
    /// A private message to a nick that is not in the room.
    RecipientNotInRoom,
    /// A visitor in a moderated room tried to speak.
    NoVoice,
    /// Changing the subject without the right to.
    SubjectChangeForbidden,
    /// Private messages not allowed by the room's policy.
    PrivateMessagesForbidden,
    /// Mediated invites not allowed for this sender.
    InviteForbidden,
    /// A message type not allowed for this address (groupchat to an occupant, chat to the room).
    WrongMessageType,
    /// A nick change this service does not perform (multi-session occupants).
    NickChangeUnsupported,
    /// More items, rooms or occupants than the service's limits allow.
    PolicyLimit(&'static str),
    /// An iq payload or feature this service does not offer.
    ServiceUnavailable,
    /// Iq to an occupant: not relayed by this service.
    FeatureNotImplemented,
    /// Prosody: a nickname that does not pass strict resourceprep.
    NickNotStrict,
    /// The stanza went over one of the parser's per-stanza limits and was skipped
    /// unread (`server::xml::StreamEvent::Refused`).
    StanzaLimit(StanzaLimit),
}

impl Refusal {
    /// The error type, defined condition and optional human-readable text.
    pub fn wire(&self) -> (ErrorType, &'static str, Option<String>) {
        use ErrorType::*;
        let s = |t: &str| Some(t.to_string());
        match self {
            Refusal::BadStanza(why) => (Modify, "bad-request", s(why)),
            Refusal::JidMalformed(why) => (Modify, "jid-malformed", s(why)),
            Refusal::WrongDomain => (Cancel, "item-not-found", s("Not hosted by this service")),
            Refusal::RoomNotFound => (Cancel, "item-not-found", None),
            Refusal::Gone(g) => (Cancel, "gone", g.reason.clone()),
            Refusal::RoomLocked => (Cancel, "item-not-found", None),
            Refusal::JoinWithoutMucX => (
                Cancel,
                "item-not-found",
                s("You are not currently connected to this chat"),
            ),
            Refusal::NotInRoom => (
                Cancel,
                "not-acceptable",
                s("You are not currently connected to this chat"),
            ),
            Refusal::NickConflict => (Cancel, "conflict", None),
            Refusal::MembersOnly => (Auth, "registration-required", None),
            Refusal::Banned => (Auth, "forbidden", None),
            Refusal::PasswordRequired => (Auth, "not-authorized", None),
            Refusal::RoomFull => (
                Wait,
                "service-unavailable",
                s("The room has reached its maximum number of occupants"),
            ),
            Refusal::OwnerOnly => (Auth, "forbidden", s("Only owners can configure rooms")),
            Refusal::Forbidden => (Auth, "forbidden", None),
            Refusal::NotAllowed => (Cancel, "not-allowed", None),
            Refusal::UnknownInviter => (
                Cancel,
                "item-not-found",
                s("No invitation from that user to decline"),
            ),
            // Prosody 0.12.3 sends nothing for these three; the conditions and texts
            // are ejabberd's (mod_muc_room's process_voice_request and
            // process_voice_approval), see docs/conformance.md.
            Refusal::VoiceRequestNotVisitor => (Cancel, "not-allowed", s("Only visitors can request voice")),
            Refusal::VoiceRequestTooSoon => (
                Wait,
                "resource-constraint",
                s("Please, wait for a while before sending new voice request"),
            ),
            Refusal::VoiceApprovalNamesNoOne => {
                (Modify, "bad-request", s("The voice approval names no occupant"))
            }
            Refusal::SelfBan => (Cancel, "conflict", s("You cannot ban yourself")),
            Refusal::NonOccupantDisco => (
                Modify,
                "bad-request",
                s("You are not currently connected to this chat"),
            ),
            Refusal::EmptyRoomSecret => (
                Modify,
                "not-acceptable",
                s("A password-protected room needs a password"),
            ),
            Refusal::LastOwner => (Cancel, "conflict", s("A room must keep at least one owner")),
            Refusal::BadForm(why) => (Cancel, "bad-request", s(why)),
            Refusal::BadFieldValue(field) => (
                Modify,
                "not-acceptable",
                Some(format!("Invalid value for {field}")),
            ),
            Refusal::BadAdminItem => (Cancel, "bad-request", None),
            Refusal::UnknownAffiliationOrRole => (Modify, "not-acceptable", None),
            Refusal::OccupantNotFound => (Modify, "item-not-found", None),
            Refusal::RecipientNotInRoom => (Cancel, "item-not-found", s("Recipient not in room")),
            Refusal::NoVoice => (
                Auth,
                "forbidden",
                s("You are not currently allowed to speak in this room"),
            ),
            Refusal::SubjectChangeForbidden => {
                (Auth, "forbidden", s("You are not allowed to change the subject"))
            }
            Refusal::PrivateMessagesForbidden => (
                Cancel,
                "policy-violation",
                s("Private messages are disabled in this room"),
            ),
            Refusal::InviteForbidden => (Auth, "forbidden", None),
            Refusal::WrongMessageType => (Modify, "bad-request", None),
            Refusal::NickChangeUnsupported => (
                Cancel,
                "not-acceptable",
                s("Nickname changes of an occupant with several sessions are not supported"),
            ),
            Refusal::PolicyLimit(what) => (Modify, "policy-violation", s(what)),
            Refusal::ServiceUnavailable => (Cancel, "service-unavailable", None),
            Refusal::FeatureNotImplemented => (Cancel, "feature-not-implemented", None),
            Refusal::NickNotStrict => (Modify, "jid-malformed", s("Nickname must pass strict validation")),
            // RFC 6120 §8.3.3.12: the stanza violates a local policy (its size); the
            // sender may send it again within the limit, hence `modify`.
            Refusal::StanzaLimit(limit) => (
                Modify,
                "policy-violation",
                Some(format!("Stanza refused unread: {limit}")),
            ),
        }
    }

    /// The `<error/>` element for this refusal. `by` is the entity that refused (the room).
    pub fn error_element(&self, by: Option<&str>) -> Element {
        let (ty, cond, text) = self.wire();
        let mut err = error_element(ty, cond, text, by);
        // RFC 6120 §8.3.3.5: <gone/> may carry the entity's new address.
        if let Refusal::Gone(g) = self {
            if let (Some(uri), Some(Node::Element(gone))) = (&g.new_address, err.children.first_mut()) {
                gone.children.push(Node::Text(uri.clone()));
            }
        }
        err
    }

    /// RFC 6120 §8.3.1: the error reply to `stanza` swaps from/to, keeps the id and
    /// carries the error. `from` is the address that refuses.
    pub fn reply_to(&self, stanza: &Element, from: &str, by: Option<&str>) -> Element {
        error_reply(stanza, from, self.error_element(by))
    }
}

/// RFC 6120 §8.3.2: `<error type=…><condition/><text/></error>`, for any sender's
/// reason (the service's are [`Refusal`]s; a simulated home server has its own).
pub fn error_element(ty: ErrorType, cond: &'static str, text: Option<String>, by: Option<&str>) -> Element {
    let mut err = Element::new("error", ns::CLIENT)
        .with_attr("type", ty.as_str())
        .with_opt_attr("by", by)
        .with_child(Element::new(cond, ns::STANZAS));
    if let Some(t) = text {
        // Like Prosody's error_reply: no xml:lang on the text.
        err.push(Element::new("text", ns::STANZAS).with_text(t));
    }
    err
}

/// RFC 6120 §8.3.1: the error reply to `stanza`, from `from`: same name and id, type
/// error, carrying `error` (from [`error_element`]). Like Prosody, the payload is not
/// echoed (RFC 6120 allows either).
pub fn error_reply(stanza: &Element, from: &str, error: Element) -> Element {
    let mut reply = Element::new(stanza.name.clone(), ns::CLIENT).with_attr("from", from);
    if let Some(id) = stanza.attr("id") {
        reply.set_attr("id", id);
    }
    reply.set_attr("type", "error");
    reply.push(error);
    reply
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ty, cond, text) = self.wire();
        write!(f, "{}/{}", ty.as_str(), cond)?;
        if let Some(t) = text {
            write!(f, " ({t})")?;
        }
        Ok(())
    }
}
