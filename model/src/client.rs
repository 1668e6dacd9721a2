//! What a client knows: its view of the room, built only from the stanzas it
//! received, and the facts the properties ask about.

use server::ns;
use server::xml::Element;
use std::collections::BTreeMap;

/// Status codes that explain why an occupant was removed by someone else.
const REMOVAL_CAUSES: [&str; 5] = ["301", "307", "321", "322", "333"];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientState {
    pub connected: bool,
    /// Operations not yet performed (indices into the client's op list).
    pub remaining: u32,
    pub nick: String,
    /// Between a self-presence with 110 and an unavailable one with 110.
    pub in_room: bool,
    /// The client asked to leave and has not yet been told it left.
    pub leaving: bool,
    /// nick -> (affiliation, role), from the presences received.
    pub view: BTreeMap<String, (String, String)>,
    /// iq id -> answers received (results and errors).
    pub iqs: BTreeMap<String, u8>,
    /// Told of its own removal while not in the room, or without a cause.
    pub bad_removal_notice: Option<String>,
    pub saw_revocation: bool,
    pub saw_registration_required: bool,
}

impl ClientState {
    pub fn new(nick: &str, ops: usize, in_room: bool) -> ClientState {
        ClientState {
            connected: true,
            remaining: if ops >= 32 { u32::MAX } else { (1u32 << ops) - 1 },
            nick: nick.to_string(),
            in_room,
            leaving: false,
            view: BTreeMap::new(),
            iqs: BTreeMap::new(),
            bad_removal_notice: None,
            saw_revocation: false,
            saw_registration_required: false,
        }
    }

    /// Updates the view from one received stanza.
    pub fn observe(&mut self, el: &Element) {
        match &*el.name {
            "iq" => {
                if let Some(id) = el.attr("id") {
                    *self.iqs.entry(id.to_string()).or_default() += 1;
                }
            }
            "presence" => self.observe_presence(el),
            _ => {}
        }
    }

    fn observe_presence(&mut self, el: &Element) {
        let Some(from_nick) = el
            .attr("from")
            .and_then(|f| f.split_once('/'))
            .map(|(_, n)| n.to_string())
        else {
            return;
        };
        if el.attr("type") == Some("error") {
            let registration_required = el
                .child("error", ns::CLIENT)
                .is_some_and(|e| e.child("registration-required", ns::STANZAS).is_some());
            self.saw_registration_required |= registration_required;
            return;
        }
        let Some(x) = el.child("x", ns::MUC_USER) else {
            return;
        };
        let codes: Vec<String> = x
            .elements()
            .filter(|c| c.is("status", ns::MUC_USER))
            .filter_map(|c| c.attr("code").map(str::to_string))
            .collect();
        let has = |c: &str| codes.iter().any(|x| x == c);
        let item = x.child("item", ns::MUC_USER);
        let aff = item
            .and_then(|i| i.attr("affiliation"))
            .unwrap_or("none")
            .to_string();
        let role = item.and_then(|i| i.attr("role")).unwrap_or("none").to_string();
        let is_self = has("110");
        if el.attr("type") == Some("unavailable") {
            self.view.remove(&from_nick);
            if has("303") {
                if let Some(new) = item.and_then(|i| i.attr("nick")) {
                    if is_self {
                        self.nick = new.to_string();
                    }
                    // The new nick's presence follows; nothing to add yet.
                }
                return;
            }
            if is_self {
                let destroyed = x.child("destroy", ns::MUC_USER).is_some();
                let caused = destroyed || REMOVAL_CAUSES.iter().any(|c| has(c));
                if !self.in_room {
                    self.bad_removal_notice = Some(format!("told of leaving twice: codes {codes:?}"));
                } else if !caused && !self.leaving {
                    self.bad_removal_notice = Some(format!("removed without a cause: codes {codes:?}"));
                }
                self.saw_revocation |= has("321");
                self.in_room = false;
                self.leaving = false;
                self.view.clear();
            }
        } else {
            if is_self {
                self.in_room = true;
                self.nick = from_nick.clone();
            }
            self.view.insert(from_nick, (aff, role));
        }
    }
}
