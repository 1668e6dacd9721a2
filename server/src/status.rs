//! XEP-0045 §15.6 status codes: the one list the service writes `muc#user`
//! `<status code=…/>` elements from and every observer (the model's notices, the
//! swarm driver) reads them back with, so what the service sends and what the
//! checkers accept cannot drift apart.

use crate::ns;
use crate::xml::Element;

/// A `muc#user` status code (XEP-0045 §15.6.2), named by its meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusCode {
    /// 100: the room is non-anonymous; any occupant may see real JIDs (§7.2.3).
    NonAnonymous,
    /// 104: a configuration change that does not touch privacy (§10.2.1).
    ConfigChanged,
    /// 110: this presence is about the recipient itself (§7.2.3).
    SelfPresence,
    /// 170: the room is logged (§7.2.12).
    LoggingEnabled,
    /// 172: the room became non-anonymous (§10.2.1).
    NowNonAnonymous,
    /// 173: the room became semi-anonymous (§10.2.1).
    NowSemiAnonymous,
    /// 201: the join created the room (§10.1.1).
    RoomCreated,
    /// 210: the service assigned or modified the nick (§7.2.13).
    NickModified,
    /// 301: removed because banned (§9.1).
    Banned,
    /// 303: the occupant changed nick; the new one is in the item (§7.6).
    NickChanged,
    /// 307: removed by a kick (§8.2).
    Kicked,
    /// 321: removed because an affiliation change took away the right to stay (§9.4).
    AffiliationChanged,
    /// 322: removed because the room became members-only (§9.6).
    MembersOnly,
    /// 332: removed because the service is shutting down (§15.6.2).
    SystemShutdown,
    /// 333: removed because of an error from the occupant's client (Prosody's
    /// `handle_kickable`; §15.6.2).
    TechnicalError,
}

impl StatusCode {
    /// Every code, in numeric order.
    pub const ALL: [StatusCode; 15] = [
        StatusCode::NonAnonymous,
        StatusCode::ConfigChanged,
        StatusCode::SelfPresence,
        StatusCode::LoggingEnabled,
        StatusCode::NowNonAnonymous,
        StatusCode::NowSemiAnonymous,
        StatusCode::RoomCreated,
        StatusCode::NickModified,
        StatusCode::Banned,
        StatusCode::NickChanged,
        StatusCode::Kicked,
        StatusCode::AffiliationChanged,
        StatusCode::MembersOnly,
        StatusCode::SystemShutdown,
        StatusCode::TechnicalError,
    ];

    /// The codes that tell an occupant why someone (or something) else removed it
    /// from the room; an unavailable self-presence with none of them (and no
    /// `<destroy/>`) is the answer to the occupant's own leave.
    pub const REMOVALS: [StatusCode; 6] = [
        StatusCode::Banned,
        StatusCode::Kicked,
        StatusCode::AffiliationChanged,
        StatusCode::MembersOnly,
        StatusCode::SystemShutdown,
        StatusCode::TechnicalError,
    ];

    /// The code's digits, as written in `code='…'`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::NonAnonymous => "100",
            StatusCode::ConfigChanged => "104",
            StatusCode::SelfPresence => "110",
            StatusCode::LoggingEnabled => "170",
            StatusCode::NowNonAnonymous => "172",
            StatusCode::NowSemiAnonymous => "173",
            StatusCode::RoomCreated => "201",
            StatusCode::NickModified => "210",
            StatusCode::Banned => "301",
            StatusCode::NickChanged => "303",
            StatusCode::Kicked => "307",
            StatusCode::AffiliationChanged => "321",
            StatusCode::MembersOnly => "322",
            StatusCode::SystemShutdown => "332",
            StatusCode::TechnicalError => "333",
        }
    }

    /// The code written as `code` (exactly its three digits), if it is one of ours.
    pub fn parse(code: &str) -> Option<StatusCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// Whether the code says the occupant was removed by someone or something else.
    pub fn is_removal(self) -> bool {
        Self::REMOVALS.contains(&self)
    }

    /// `<status xmlns='…muc#user' code='…'/>`.
    pub fn element(self) -> Element {
        Element::new("status", ns::MUC_USER).with_attr("code", self.as_str())
    }

    /// The codes of the `<status/>` children of a `muc#user` `<x/>`, in document
    /// order; codes this list does not know are skipped.
    pub fn read_all(x: &Element) -> Vec<StatusCode> {
        x.elements()
            .filter(|s| s.is("status", ns::MUC_USER))
            .filter_map(|s| s.attr("code").and_then(StatusCode::parse))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_in_numeric_order() {
        for c in StatusCode::ALL {
            assert_eq!(StatusCode::parse(c.as_str()), Some(c));
        }
        let nums: Vec<u16> = StatusCode::ALL
            .iter()
            .map(|c| c.as_str().parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
        assert_eq!(StatusCode::parse("999"), None);
        assert_eq!(StatusCode::parse(" 110"), None);
    }

    #[test]
    fn removal_causes_are_the_3xx_removals() {
        let removals: Vec<&str> = StatusCode::REMOVALS.iter().map(|c| c.as_str()).collect();
        assert_eq!(removals, ["301", "307", "321", "322", "332", "333"]);
        assert!(!StatusCode::NickChanged.is_removal() && !StatusCode::SelfPresence.is_removal());
    }
}
