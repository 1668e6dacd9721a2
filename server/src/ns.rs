//! Namespace URIs used across the service.

pub const CLIENT: &str = "jabber:client";
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const MUC: &str = "http://jabber.org/protocol/muc";
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
pub const MUC_ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
/// XEP-0045 §7.13, §8.6: the voice request form.
pub const MUC_REQUEST: &str = "http://jabber.org/protocol/muc#request";
pub const MUC_ROOMINFO: &str = "http://jabber.org/protocol/muc#roominfo";
pub const DATA: &str = "jabber:x:data";
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
pub const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
pub const DELAY: &str = "urn:xmpp:delay";
pub const LEGACY_DELAY: &str = "jabber:x:delay";
/// XEP-0334 message processing hints (`<store/>`, `<no-store/>`, `<no-permanent-store/>`).
pub const HINTS: &str = "urn:xmpp:hints";
pub const PROSODY_MUC: &str = "http://prosody.im/protocol/muc";
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
