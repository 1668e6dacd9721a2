//! Status codes as a bit set.

use server::StatusCode;

/// The MUC status codes (XEP-0045 §15.6) of one presence, as bits (one per code, by
/// its place in [`StatusCode::ALL`]; 15 codes fit in 16 bits). `Copy` and two bytes,
/// because the model checker stores them in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Codes(u16);

impl Codes {
    fn bit(code: StatusCode) -> u16 {
        let i = StatusCode::ALL
            .iter()
            .position(|c| *c == code)
            .expect("every code is in ALL");
        1 << i
    }

    /// The set of `codes`.
    pub fn of(codes: impl IntoIterator<Item = StatusCode>) -> Codes {
        let mut set = Codes::default();
        for c in codes {
            set.insert(c);
        }
        set
    }

    pub fn has(self, code: StatusCode) -> bool {
        self.0 & Self::bit(code) != 0
    }

    pub fn insert(&mut self, code: StatusCode) {
        self.0 |= Self::bit(code);
    }

    /// Whether these codes explain a removal by someone else
    /// ([`StatusCode::REMOVALS`]: ban, kick, revocation, members-only, shutdown,
    /// technical error; XEP-0045 §9.1, §8.2, §9.4, §9.6, §15.6).
    pub fn has_removal_cause(self) -> bool {
        StatusCode::REMOVALS.iter().any(|c| self.has(*c))
    }
}

impl std::fmt::Display for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set: Vec<&str> = StatusCode::ALL
            .iter()
            .filter(|c| self.has(**c))
            .map(|c| c.as_str())
            .collect();
        write!(f, "[{}]", set.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_in_order_and_know_the_removal_causes() {
        let c = Codes::of([StatusCode::AffiliationChanged, StatusCode::SelfPresence]);
        assert_eq!(c.to_string(), "[110 321]");
        assert!(c.has_removal_cause());
        assert!(!Codes::of([StatusCode::SelfPresence]).has_removal_cause());
        for code in StatusCode::REMOVALS {
            assert!(Codes::of([code]).has_removal_cause(), "{}", code.as_str());
        }
    }
}
