use mucsim_model::check::{run, verdicts, CheckOptions};
use mucsim_model::scenario::Scenario;

#[test]
fn default_scenario_holds_and_reaches_the_interesting_states() {
    let checker = run(&Scenario::default_check(), &CheckOptions::default());
    let vs = verdicts(&*checker);
    for v in &vs {
        assert!(v.holds, "{}: {:?}", v.name, v.counterexample);
    }
    assert_eq!(vs.len(), 14);
    // Pinned: a change here is a change in the explored space and must be explained.
    assert_eq!(checker.unique_state_count(), 61_379);
}

#[cfg(feature = "mutants")]
#[test]
fn revoking_only_one_session_is_caught() {
    let mut s = Scenario::default_check();
    s.mutant = Some(server::Mutant::RevokeOneSession);
    let checker = run(&s, &CheckOptions::default());
    let vs = verdicts(&*checker);
    let failed: Vec<_> = vs.iter().filter(|v| !v.holds).map(|v| v.name).collect();
    assert!(
        failed.contains(&"always: no non-member occupies a members-only room"),
        "{failed:?}"
    );
}
