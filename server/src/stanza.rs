//! Typed views of `<presence/>`, `<message/>` and `<iq/>` (RFC 6120 §8). The view
//! keeps the element for payload access and adds what every handler needs: kind,
//! type, parsed `to`, id.

use crate::ns;
use crate::refusal::Refusal;
use crate::xml::{Element, Node};
use jid::Jid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PresenceType {
    Available,
    Unavailable,
    Probe,
    Error,
    /// Subscription management types; meaningless for a MUC room.
    Subscription,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Normal,
    Chat,
    Groupchat,
    Headline,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IqType {
    Get,
    Set,
    Result,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Presence(PresenceType),
    Message(MessageType),
    Iq(IqType),
}

impl Kind {
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Kind::Presence(PresenceType::Error) | Kind::Message(MessageType::Error) | Kind::Iq(IqType::Error)
        )
    }
}

/// Why an element is not a stanza the service can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StanzaError {
    /// Not `presence`/`message`/`iq` in `jabber:client`: no stanza error can answer it.
    NotAStanza,
    /// A stanza the service answers with an error (see [`Refusal`]).
    Refused(Refusal),
}

/// A parsed stanza. `el` is the element as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    pub kind: Kind,
    pub to: Option<Jid>,
    pub el: Element,
}

impl Stanza {
    pub fn parse(el: Element) -> Result<Stanza, (Element, StanzaError)> {
        if el.ns != ns::CLIENT {
            return Err((el, StanzaError::NotAStanza));
        }
        let ty = el.attr("type");
        let kind = match &*el.name {
            "presence" => Kind::Presence(match ty {
                None => PresenceType::Available,
                Some("unavailable") => PresenceType::Unavailable,
                Some("probe") => PresenceType::Probe,
                Some("error") => PresenceType::Error,
                Some("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed") => {
                    PresenceType::Subscription
                }
                Some(_) => {
                    return Err((
                        el,
                        StanzaError::Refused(Refusal::BadStanza("unknown presence type")),
                    ))
                }
            }),
            "message" => Kind::Message(match ty {
                None | Some("normal") => MessageType::Normal,
                Some("chat") => MessageType::Chat,
                Some("groupchat") => MessageType::Groupchat,
                Some("headline") => MessageType::Headline,
                Some("error") => MessageType::Error,
                // RFC 6121 §5.2.2: an unknown message type is treated as normal.
                Some(_) => MessageType::Normal,
            }),
            "iq" => {
                let t = match ty {
                    Some("get") => IqType::Get,
                    Some("set") => IqType::Set,
                    Some("result") => IqType::Result,
                    Some("error") => IqType::Error,
                    _ => {
                        return Err((
                            el,
                            StanzaError::Refused(Refusal::BadStanza(
                                "iq type must be get, set, result or error",
                            )),
                        ))
                    }
                };
                if el.attr("id").is_none() {
                    return Err((el, StanzaError::Refused(Refusal::BadStanza("iq without id"))));
                }
                // RFC 6120 §8.2.3: get and set carry exactly one payload element.
                if matches!(t, IqType::Get | IqType::Set) && el.elements().count() != 1 {
                    return Err((
                        el,
                        StanzaError::Refused(Refusal::BadStanza("iq get/set must have exactly one child")),
                    ));
                }
                Kind::Iq(t)
            }
            _ => return Err((el, StanzaError::NotAStanza)),
        };
        let to = match el.attr("to") {
            None => None,
            Some(t) => match Jid::new(t) {
                Ok(j) => Some(j),
                Err(_) => {
                    return Err((
                        el,
                        StanzaError::Refused(Refusal::JidMalformed("bad 'to' address")),
                    ))
                }
            },
        };
        Ok(Stanza { kind, to, el })
    }

    pub fn id(&self) -> Option<&str> {
        self.el.attr("id")
    }

    /// The first child element (an iq's payload).
    pub fn payload(&self) -> Option<&Element> {
        self.el.elements().next()
    }
}

/// `<iq type='result'/>` answering `req`, from `from`.
pub fn iq_result(req: &Element, from: &str) -> Element {
    Element::new("iq", ns::CLIENT)
        .with_attr("type", "result")
        .with_opt_attr("id", req.attr("id"))
        .with_attr("from", from)
}

/// Keeps only element children (drops whitespace text), e.g. for stored payloads.
pub fn element_children(el: &Element) -> Vec<Element> {
    el.children
        .iter()
        .filter_map(|n| match n {
            Node::Element(e) => Some(e.clone()),
            Node::Text(_) => None,
        })
        .collect()
}
