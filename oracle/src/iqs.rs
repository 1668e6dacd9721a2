//! Every iq get/set is answered exactly once (RFC 6120 §8.2.3: "the entity that
//! receives an IQ request of type get or set MUST reply with an IQ response of type
//! result or error").

/// A client's iq requests and the answers it received.
pub trait Iqs {
    /// How a request is named (an operation number, an `id` attribute).
    type Id;
    /// The client sent request `id`.
    fn sent(&mut self, id: Self::Id);
    /// An answer (result or error) to `id` arrived. Returns how many answers `id`
    /// has had, this one included (more than 1 is a fault), or 0 for an `id` the
    /// client never sent (not its business).
    fn answered(&mut self, id: Self::Id) -> u32;
    /// Whether some answer came twice.
    fn answered_twice(&self) -> bool;
    /// Whether every request sent has its answer (judged at quiescence).
    fn all_answered(&self) -> bool;
}

/// The compact form: requests are operation numbers below 32 (the model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IqBits {
    pub sent: u32,
    pub answered: u32,
    pub twice: u32,
}

impl Iqs for IqBits {
    type Id = u8;
    fn sent(&mut self, op: u8) {
        self.sent |= 1u32.checked_shl(u32::from(op)).unwrap_or(0);
    }
    fn answered(&mut self, op: u8) -> u32 {
        let bit = 1u32.checked_shl(u32::from(op)).unwrap_or(0);
        if self.sent & bit == 0 {
            return 0;
        }
        let n = if self.answered & bit != 0 { 2 } else { 1 };
        self.twice |= self.answered & bit;
        self.answered |= bit;
        n
    }
    fn answered_twice(&self) -> bool {
        self.twice != 0
    }
    fn all_answered(&self) -> bool {
        self.sent & !self.answered == 0
    }
}

/// The roomy form: requests by `id` attribute, with the number of answers (the
/// swarm).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IqLedger(pub std::collections::BTreeMap<String, u32>);

impl IqLedger {
    /// The first request with no answer yet.
    pub fn first_unanswered(&self) -> Option<&str> {
        self.0.iter().find(|(_, n)| **n == 0).map(|(id, _)| id.as_str())
    }
}

impl Iqs for IqLedger {
    type Id = String;
    fn sent(&mut self, id: String) {
        self.0.insert(id, 0);
    }
    fn answered(&mut self, id: String) -> u32 {
        match self.0.get_mut(&id) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => 0,
        }
    }
    fn answered_twice(&self) -> bool {
        self.0.values().any(|n| *n > 1)
    }
    fn all_answered(&self) -> bool {
        self.first_unanswered().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exactly_once<I: Iqs>(mut iqs: I, a: I::Id, a2: I::Id, stranger: I::Id) {
        iqs.sent(a);
        assert!(!iqs.all_answered());
        assert_eq!(iqs.answered(stranger), 0, "not ours");
        assert_eq!(iqs.answered(a2), 1);
        assert!(iqs.all_answered() && !iqs.answered_twice());
    }

    #[test]
    fn both_forms_count_answers_alike() {
        exactly_once(IqBits::default(), 3, 3, 4);
        exactly_once(IqLedger::default(), "q".into(), "q".into(), "r".into());
        let mut b = IqBits::default();
        b.sent(1);
        b.answered(1);
        assert_eq!(b.answered(1), 2);
        assert!(b.answered_twice());
        let mut l = IqLedger::default();
        l.sent("q".into());
        l.answered("q".into());
        assert_eq!(l.answered("q".into()), 2);
        assert!(l.answered_twice());
    }
}
