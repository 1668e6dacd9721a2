//! Stream error conditions (RFC 6120 §4.9.3), typed, in one place: the parser maps
//! each refusal onto one ([`crate::xml::XmlError::stream_condition`]), and the
//! component front end (`live`) writes and reads them.

/// RFC 6120 §4.9.3 / §4.9.1: the namespace of the condition element.
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// A defined stream error condition (RFC 6120 §4.9.3.1–§4.9.3.25), plus RFC 3920's
/// `invalid-id`, which XEP-0114 components still use for a bad stream id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamCondition {
    BadFormat,
    BadNamespacePrefix,
    Conflict,
    ConnectionTimeout,
    HostGone,
    HostUnknown,
    ImproperAddressing,
    InternalServerError,
    InvalidFrom,
    /// RFC 3920 §4.7.3 (dropped by RFC 6120): the stream id is missing or wrong.
    InvalidId,
    InvalidNamespace,
    InvalidXml,
    NotAuthorized,
    NotWellFormed,
    PolicyViolation,
    RemoteConnectionFailed,
    Reset,
    ResourceConstraint,
    RestrictedXml,
    SeeOtherHost,
    SystemShutdown,
    UndefinedCondition,
    UnsupportedEncoding,
    UnsupportedFeature,
    UnsupportedStanzaType,
    UnsupportedVersion,
}

impl StreamCondition {
    /// Every condition, in the RFC's (alphabetical) order.
    pub const ALL: [StreamCondition; 26] = [
        StreamCondition::BadFormat,
        StreamCondition::BadNamespacePrefix,
        StreamCondition::Conflict,
        StreamCondition::ConnectionTimeout,
        StreamCondition::HostGone,
        StreamCondition::HostUnknown,
        StreamCondition::ImproperAddressing,
        StreamCondition::InternalServerError,
        StreamCondition::InvalidFrom,
        StreamCondition::InvalidId,
        StreamCondition::InvalidNamespace,
        StreamCondition::InvalidXml,
        StreamCondition::NotAuthorized,
        StreamCondition::NotWellFormed,
        StreamCondition::PolicyViolation,
        StreamCondition::RemoteConnectionFailed,
        StreamCondition::Reset,
        StreamCondition::ResourceConstraint,
        StreamCondition::RestrictedXml,
        StreamCondition::SeeOtherHost,
        StreamCondition::SystemShutdown,
        StreamCondition::UndefinedCondition,
        StreamCondition::UnsupportedEncoding,
        StreamCondition::UnsupportedFeature,
        StreamCondition::UnsupportedStanzaType,
        StreamCondition::UnsupportedVersion,
    ];

    /// The condition element's name, e.g. `not-well-formed`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamCondition::BadFormat => "bad-format",
            StreamCondition::BadNamespacePrefix => "bad-namespace-prefix",
            StreamCondition::Conflict => "conflict",
            StreamCondition::ConnectionTimeout => "connection-timeout",
            StreamCondition::HostGone => "host-gone",
            StreamCondition::HostUnknown => "host-unknown",
            StreamCondition::ImproperAddressing => "improper-addressing",
            StreamCondition::InternalServerError => "internal-server-error",
            StreamCondition::InvalidFrom => "invalid-from",
            StreamCondition::InvalidId => "invalid-id",
            StreamCondition::InvalidNamespace => "invalid-namespace",
            StreamCondition::InvalidXml => "invalid-xml",
            StreamCondition::NotAuthorized => "not-authorized",
            StreamCondition::NotWellFormed => "not-well-formed",
            StreamCondition::PolicyViolation => "policy-violation",
            StreamCondition::RemoteConnectionFailed => "remote-connection-failed",
            StreamCondition::Reset => "reset",
            StreamCondition::ResourceConstraint => "resource-constraint",
            StreamCondition::RestrictedXml => "restricted-xml",
            StreamCondition::SeeOtherHost => "see-other-host",
            StreamCondition::SystemShutdown => "system-shutdown",
            StreamCondition::UndefinedCondition => "undefined-condition",
            StreamCondition::UnsupportedEncoding => "unsupported-encoding",
            StreamCondition::UnsupportedFeature => "unsupported-feature",
            StreamCondition::UnsupportedStanzaType => "unsupported-stanza-type",
            StreamCondition::UnsupportedVersion => "unsupported-version",
        }
    }

    /// The condition named `name` (an element name in [`NS_STREAM_ERRORS`]), if defined.
    pub fn parse(name: &str) -> Option<StreamCondition> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for StreamCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let names: std::collections::BTreeSet<&str> =
            StreamCondition::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names.len(),
            StreamCondition::ALL.len(),
            "two conditions share a name"
        );
        assert!(StreamCondition::ALL
            .iter()
            .all(|c| StreamCondition::parse(c.as_str()) == Some(*c)));
        assert_eq!(StreamCondition::parse("text"), None);
    }
}
