//! The room configuration (XEP-0045 §10.2, the fields Prosody 0.12 offers) and its
//! data form (XEP-0004): building the form an owner sees, and applying a submitted one.

use super::form::{field, option, values};
use super::{Role, StatusCode};
use crate::ns;
use crate::refusal::Refusal;
use crate::xml::Element;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Whois {
    /// Semi-anonymous: only moderators see real JIDs.
    Moderators,
    /// Non-anonymous: everyone sees real JIDs.
    Anyone,
}

/// Who may send private messages (Prosody's `muc#roomconfig_allowpm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllowPm {
    Anyone,
    Participants,
    Moderators,
    Nobody,
}

impl AllowPm {
    fn as_str(self) -> &'static str {
        match self {
            AllowPm::Anyone => "anyone",
            AllowPm::Participants => "participants",
            AllowPm::Moderators => "moderators",
            AllowPm::Nobody => "none",
        }
    }

    /// Whether an occupant with `role` may send a private message.
    pub fn allows(self, role: Role) -> bool {
        match self {
            AllowPm::Anyone => true,
            AllowPm::Participants => role >= Role::Participant,
            AllowPm::Moderators => role >= Role::Moderator,
            AllowPm::Nobody => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomConfig {
    pub name: String,
    pub description: String,
    pub language: String,
    pub persistent: bool,
    pub public: bool,
    pub members_only: bool,
    pub allow_member_invites: bool,
    pub moderated: bool,
    pub whois: Whois,
    pub password: Option<String>,
    pub change_subject: bool,
    pub history_length: u32,
    pub default_history_messages: u32,
    /// `None`: no limit beyond the service's own.
    pub max_users: Option<u32>,
    /// Roles whose presence is broadcast (XEP-0045 §10.2 presencebroadcast).
    /// `none` is Prosody's "show offline members": joiners also get an unavailable
    /// presence for each affiliated user who is not in the room.
    pub broadcast_none: bool,
    pub broadcast_visitor: bool,
    pub broadcast_participant: bool,
    pub broadcast_moderator: bool,
    pub allow_pm: AllowPm,
}

impl Default for RoomConfig {
    /// Prosody 0.12's defaults for a new room.
    fn default() -> Self {
        RoomConfig {
            name: String::new(),
            description: String::new(),
            language: String::new(),
            persistent: false,
            public: true,
            members_only: false,
            allow_member_invites: false,
            moderated: false,
            whois: Whois::Moderators,
            password: None,
            change_subject: false,
            history_length: 20,
            default_history_messages: 20,
            max_users: None,
            broadcast_none: false,
            broadcast_visitor: true,
            broadcast_participant: true,
            broadcast_moderator: true,
            allow_pm: AllowPm::Anyone,
        }
    }
}

/// The largest history a room may be configured to keep.
pub const MAX_HISTORY_LENGTH: u32 = 100;
const MAX_USERS_OPTIONS: [u32; 8] = [5, 10, 20, 30, 50, 100, 200, 500];
const MAX_TEXT_FIELD: usize = 1024;

impl RoomConfig {
    pub fn broadcasts(&self, role: Role) -> bool {
        match role {
            Role::None => false,
            Role::Visitor => self.broadcast_visitor,
            Role::Participant => self.broadcast_participant,
            Role::Moderator => self.broadcast_moderator,
        }
    }

    /// The owner's configuration form (XEP-0045 §10.2, example 163), current values filled in.
    pub fn form(&self, room: &str) -> Element {
        let mut x = Element::new("x", ns::DATA).with_attr("type", "form");
        x.push(Element::new("title", ns::DATA).with_text(format!("Configuration for {room}")));
        x.push(
            Element::new("instructions", ns::DATA)
                .with_text("Complete and submit this form to configure the room."),
        );
        x.push(field("FORM_TYPE", "hidden", None, &[ns::MUC_ROOMCONFIG]));
        x.push(field(
            "muc#roomconfig_roomname",
            "text-single",
            Some("Title"),
            &[&self.name],
        ));
        x.push(field(
            "muc#roomconfig_roomdesc",
            "text-single",
            Some("Description"),
            &[&self.description],
        ));
        x.push(field(
            "muc#roomconfig_lang",
            "text-single",
            Some("Language tag for room (e.g. 'en', 'de', 'fr')"),
            &[&self.language],
        ));
        x.push(bool_field(
            "muc#roomconfig_persistentroom",
            "Persistent (room should remain even when it is empty)",
            self.persistent,
        ));
        x.push(bool_field(
            "muc#roomconfig_publicroom",
            "Include room information in public lists",
            self.public,
        ));
        x.push(bool_field(
            "muc#roomconfig_changesubject",
            "Allow anyone to set the room's subject",
            self.change_subject,
        ));
        x.push(bool_field(
            "muc#roomconfig_membersonly",
            "Only allow members to join",
            self.members_only,
        ));
        x.push(bool_field(
            "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites",
            "Allow members to invite new members",
            self.allow_member_invites,
        ));
        x.push(bool_field(
            "muc#roomconfig_moderatedroom",
            "Moderated (require permission to speak)",
            self.moderated,
        ));
        let mut whois = field(
            "muc#roomconfig_whois",
            "list-single",
            Some("Addresses (JIDs) of room occupants may be viewed by:"),
            &[match self.whois {
                Whois::Moderators => "moderators",
                Whois::Anyone => "anyone",
            }],
        );
        whois.push(option("Moderators only", "moderators"));
        whois.push(option("Anyone", "anyone"));
        x.push(whois);
        x.push(field(
            "muc#roomconfig_roomsecret",
            "text-private",
            Some("Password"),
            &[self.password.as_deref().unwrap_or("")],
        ));
        x.push(field(
            "muc#roomconfig_historylength",
            "text-single",
            Some("Maximum number of history messages returned by room"),
            &[&self.history_length.to_string()],
        ));
        x.push(field(
            "muc#roomconfig_defaulthistorymessages",
            "text-single",
            Some("Default number of history messages returned by room"),
            &[&self.default_history_messages.to_string()],
        ));
        let roles: Vec<&str> = [Role::None, Role::Visitor, Role::Participant, Role::Moderator]
            .into_iter()
            .filter(|r| *r == Role::None && self.broadcast_none || self.broadcasts(*r))
            .map(Role::as_str)
            .collect();
        let mut pb = field(
            "muc#roomconfig_presencebroadcast",
            "list-multi",
            Some("Only show participants with roles:"),
            &roles,
        );
        for r in ["none", "visitor", "participant", "moderator"] {
            pb.push(option(r, r));
        }
        x.push(pb);
        let mut pm = field(
            "muc#roomconfig_allowpm",
            "list-single",
            Some("Allow private messages from"),
            &[self.allow_pm.as_str()],
        );
        for v in ["anyone", "participants", "moderators", "none"] {
            pm.push(option(v, v));
        }
        x.push(pm);
        let max = self
            .max_users
            .map(|m| m.to_string())
            .unwrap_or_else(|| "none".into());
        let mut mu = field(
            "muc#roomconfig_maxusers",
            "list-single",
            Some("Maximum number of occupants"),
            &[&max],
        );
        mu.push(option("No limit", "none"));
        for m in MAX_USERS_OPTIONS {
            mu.push(option(&m.to_string(), &m.to_string()));
        }
        x.push(mu);
        x
    }

    /// Applies a submitted form to a copy of this configuration. Unknown fields are
    /// ignored (XEP-0004 §3.2, and what Prosody does); a known field with a bad value
    /// refuses the whole form, so a refused submission changes nothing. The room is
    /// password-protected exactly when it has a non-empty `muc#roomconfig_roomsecret`;
    /// `muc#roomconfig_passwordprotectedroom` false clears the secret, and true with
    /// no secret is refused (`EmptyRoomSecret`, XEP-0045 §10.1.3).
    pub fn apply_form(&self, form: &Element) -> Result<RoomConfig, Refusal> {
        let mut c = self.clone();
        let fields: Vec<&Element> = form.elements().filter(|e| e.is("field", ns::DATA)).collect();
        if !fields.is_empty() {
            let form_type = fields
                .iter()
                .find(|f| f.attr("var") == Some("FORM_TYPE"))
                .and_then(|f| values(f).into_iter().next());
            if form_type.as_deref() != Some(ns::MUC_ROOMCONFIG) {
                return Err(Refusal::BadForm("Form is not of type room configuration"));
            }
        }
        // XEP-0045 §10.1.3's muc#roomconfig_passwordprotectedroom, decided once every
        // field is read (the secret may come after it).
        let mut protected = None;
        for f in fields {
            let Some(var) = f.attr("var") else { continue };
            let vals = values(f);
            let bad = || Refusal::BadFieldValue(var.to_string());
            let one = || -> Result<Option<String>, Refusal> {
                match vals.len() {
                    0 => Ok(None),
                    1 => Ok(Some(vals[0].clone())),
                    _ => Err(Refusal::BadFieldValue(var.to_string())),
                }
            };
            let text = || -> Result<Option<String>, Refusal> {
                let v = one()?;
                match v {
                    Some(s) if s.len() > MAX_TEXT_FIELD => Err(Refusal::BadFieldValue(var.to_string())),
                    v => Ok(v),
                }
            };
            let boolean = || -> Result<Option<bool>, Refusal> {
                match one()?.as_deref() {
                    None => Ok(None),
                    Some("1" | "true") => Ok(Some(true)),
                    Some("0" | "false") => Ok(Some(false)),
                    Some(_) => Err(Refusal::BadFieldValue(var.to_string())),
                }
            };
            let number = |max: u32| -> Result<Option<u32>, Refusal> {
                match one()? {
                    None => Ok(None),
                    Some(s) => match s.trim().parse::<u32>() {
                        Ok(n) if n <= max => Ok(Some(n)),
                        _ => Err(Refusal::BadFieldValue(var.to_string())),
                    },
                }
            };
            match var {
                "FORM_TYPE" => {}
                "muc#roomconfig_roomname" => set(&mut c.name, text()?),
                "muc#roomconfig_roomdesc" => set(&mut c.description, text()?),
                "muc#roomconfig_lang" => set(&mut c.language, text()?),
                "muc#roomconfig_persistentroom" => set(&mut c.persistent, boolean()?),
                "muc#roomconfig_publicroom" => set(&mut c.public, boolean()?),
                "muc#roomconfig_changesubject" => set(&mut c.change_subject, boolean()?),
                "muc#roomconfig_membersonly" => set(&mut c.members_only, boolean()?),
                "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites" => {
                    set(&mut c.allow_member_invites, boolean()?)
                }
                "muc#roomconfig_moderatedroom" => set(&mut c.moderated, boolean()?),
                "muc#roomconfig_whois" => match one()?.as_deref() {
                    None => {}
                    Some("moderators") => c.whois = Whois::Moderators,
                    Some("anyone") => c.whois = Whois::Anyone,
                    Some(_) => return Err(bad()),
                },
                // Prosody: a submitted secret field without a value clears the password.
                "muc#roomconfig_roomsecret" => c.password = text()?.filter(|p| !p.is_empty()),
                "muc#roomconfig_passwordprotectedroom" => set(&mut protected, boolean()?.map(Some)),
                "muc#roomconfig_historylength" => set(&mut c.history_length, number(MAX_HISTORY_LENGTH)?),
                "muc#roomconfig_defaulthistorymessages" => {
                    set(&mut c.default_history_messages, number(MAX_HISTORY_LENGTH)?)
                }
                "muc#roomconfig_presencebroadcast" => {
                    let (mut n, mut v, mut p, mut m) = (false, false, false, false);
                    for val in &vals {
                        match val.as_str() {
                            "none" => n = true,
                            "visitor" => v = true,
                            "participant" => p = true,
                            "moderator" => m = true,
                            _ => return Err(bad()),
                        }
                    }
                    (
                        c.broadcast_none,
                        c.broadcast_visitor,
                        c.broadcast_participant,
                        c.broadcast_moderator,
                    ) = (n, v, p, m);
                }
                "muc#roomconfig_allowpm" => match one()?.as_deref() {
                    None => {}
                    Some("anyone") => c.allow_pm = AllowPm::Anyone,
                    Some("participants") => c.allow_pm = AllowPm::Participants,
                    Some("moderators") => c.allow_pm = AllowPm::Moderators,
                    Some("none") => c.allow_pm = AllowPm::Nobody,
                    Some(_) => return Err(bad()),
                },
                "muc#roomconfig_maxusers" => match one()?.as_deref() {
                    None => {}
                    Some("none" | "") => c.max_users = None,
                    Some(s) => match s.parse::<u32>() {
                        Ok(n) if n > 0 => c.max_users = Some(n),
                        _ => return Err(bad()),
                    },
                },
                _ => {}
            }
        }
        match protected {
            // XEP-0045 §10.1.3: protection switched on with no secret is refused
            // (Prosody does not know the field and keeps the room open).
            Some(true) if c.password.is_none() => return Err(Refusal::EmptyRoomSecret),
            Some(false) => c.password = None,
            _ => {}
        }
        Ok(c)
    }

    /// A configuration in which every field differs from the default: what tests of
    /// anything that stores or transmits a configuration round-trip.
    #[doc(hidden)]
    pub fn every_field_changed() -> RoomConfig {
        RoomConfig {
            name: "Capulet <hall> & 'garden' \u{1F339}".into(),
            description: "for the family\nonly".into(),
            language: "it".into(),
            persistent: true,
            public: false,
            members_only: true,
            allow_member_invites: true,
            moderated: true,
            whois: Whois::Anyone,
            password: Some("rosemary".into()),
            change_subject: true,
            history_length: 7,
            default_history_messages: 3,
            max_users: Some(30),
            broadcast_none: true,
            broadcast_visitor: false,
            broadcast_participant: true,
            broadcast_moderator: false,
            allow_pm: AllowPm::Moderators,
        }
    }

    /// Status codes for the change from `self` to `new` (XEP-0045 §10.2.1): 104 for
    /// a change of anything but whois, 172/173 when the room becomes non-/semi-anonymous.
    /// Like Prosody (whois.lib.lua sets only its own code; a real Prosody 0.12.3 sends
    /// `172` alone for a whois-only change, recorded by `scripts/e2e.sh` on issue978).
    pub fn change_codes(&self, new: &RoomConfig) -> Vec<StatusCode> {
        let mut codes = Vec::new();
        let others_changed = RoomConfig {
            whois: self.whois,
            ..new.clone()
        } != *self;
        if others_changed {
            codes.push(StatusCode::ConfigChanged);
        }
        if self.whois != new.whois {
            codes.push(match new.whois {
                Whois::Anyone => StatusCode::NowNonAnonymous,
                Whois::Moderators => StatusCode::NowSemiAnonymous,
            });
        }
        codes
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

fn bool_field(var: &str, label: &str, v: bool) -> Element {
    field(var, "boolean", Some(label), &[if v { "1" } else { "0" }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whois_alone_sends_its_own_code_without_104() {
        let old = RoomConfig::default();
        let whois = RoomConfig {
            whois: Whois::Anyone,
            ..old.clone()
        };
        assert_eq!(old.change_codes(&whois), [StatusCode::NowNonAnonymous]);
        assert_eq!(whois.change_codes(&old), [StatusCode::NowSemiAnonymous]);
        let both = RoomConfig {
            members_only: !old.members_only,
            ..whois.clone()
        };
        assert_eq!(
            old.change_codes(&both),
            [StatusCode::ConfigChanged, StatusCode::NowNonAnonymous]
        );
        let other = RoomConfig {
            members_only: !old.members_only,
            ..old.clone()
        };
        assert_eq!(old.change_codes(&other), [StatusCode::ConfigChanged]);
        assert!(old.change_codes(&old).is_empty());
    }
}
