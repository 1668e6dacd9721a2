use mucsim_model::check::{run, verdicts, CheckOptions};
use mucsim_model::scenario::Scenario;

fn opts(dfs: bool, symmetry: bool) -> CheckOptions {
    CheckOptions {
        dfs,
        symmetry,
        ..CheckOptions::default()
    }
}

fn unique_states(s: &Scenario, o: &CheckOptions) -> usize {
    let checker = run(s, o).expect("valid scenario");
    for v in verdicts(&*checker, s) {
        if v.expectation != stateright::Expectation::Sometimes {
            assert!(
                v.holds,
                "{}: {:?}",
                v.name,
                v.counterexample.map(|c| c.transcript)
            );
        }
    }
    checker.unique_state_count()
}

// Pinned: a change in any of these is a change in the explored space and must be
// explained in the commit that makes it.
#[test]
fn revocation_scenario_state_counts_with_and_without_symmetry() {
    let s = Scenario::revocation();
    assert_eq!(unique_states(&s, &opts(false, false)), 15_263, "BFS");
    assert_eq!(unique_states(&s, &opts(true, false)), 15_263, "DFS");
    assert_eq!(unique_states(&s, &opts(true, true)), 7_908, "DFS with symmetry");
}

#[test]
fn small_scenarios_state_counts() {
    let nick = Scenario::nick_clash();
    assert_eq!(unique_states(&nick, &opts(false, false)), 1_307);
    let abdicate = Scenario::named("owner-abdicates").unwrap();
    assert_eq!(unique_states(&abdicate, &opts(false, false)), 127);
}

#[test]
fn two_rooms_are_checked_separately() {
    use mucsim_model::scenario::OpKind;
    let s = Scenario::generate(
        2,
        2,
        &[
            OpKind::Join,
            OpKind::MembersOnly,
            OpKind::Leave,
            OpKind::Disconnect,
        ],
    )
    .unwrap();
    assert_eq!(
        s.clients[1].ops.len(),
        5,
        "join and leave per room, one disconnect"
    );
    assert_eq!(unique_states(&s, &opts(false, false)), 130_589);
}

#[test]
fn revocation_scenario_reaches_every_interesting_state() {
    let s = Scenario::revocation();
    let checker = run(&s, &CheckOptions::default()).unwrap();
    let vs = verdicts(&*checker, &s);
    // One `always` per service invariant, the model's own ten (the durable
    // tombstones' and the reply order's included), and the oracle judge's five.
    assert_eq!(
        vs.len(),
        server::Invariant::ALL.len() + 10 + oracle::judge::Property::ALL.len()
    );
    for v in &vs {
        assert!(v.holds, "{}", v.name);
    }
}

#[test]
fn bad_scenarios_are_refused_with_a_reason() {
    assert!(Scenario::generate(5, 1, &[]).unwrap_err().contains("2 to 4"));
    assert!(Scenario::generate(3, 3, &[]).unwrap_err().contains("1 to 2"));
    assert!(mucsim_model::scenario::OpKind::parse_list("join,fly")
        .unwrap_err()
        .contains("unknown operation 'fly'"));
    // An empty entry is a typo, not "nothing": it is refused, not skipped.
    assert!(mucsim_model::scenario::OpKind::parse_list("join,,leave")
        .unwrap_err()
        .contains("empty operation name"));
    assert!(Scenario::named("nope").unwrap_err().contains("known:"));
}

#[test]
fn durability_scenario_holds_every_property_across_a_crash() {
    let s = Scenario::durability();
    assert_eq!(s.crashes, 1);
    let checker = mucsim_model::check::run(&s, &CheckOptions::default()).unwrap();
    let vs = mucsim_model::check::verdicts(&*checker, &s);
    assert_eq!(
        vs.len(),
        server::Invariant::ALL.len() + 11 + oracle::judge::Property::ALL.len(),
        "the crash scenario adds its 'sometimes'"
    );
    for v in &vs {
        assert!(v.holds, "{}", v.name);
    }
    assert!(vs
        .iter()
        .any(|v| v.name == mucsim_model::properties::SOMETIMES_CRASH_KEEPS_ROOM));
    assert_eq!(checker.unique_state_count(), 173_726);
}

// Pinned: the focused scenarios of the default set (issue 20), each with every
// property holding (see `unique_states`).
#[test]
fn focused_scenarios_state_counts() {
    let pinned = [
        ("permissions-owner", 11_758),
        ("permissions-admin", 7_332),
        ("permissions-member", 562),
        ("permissions-outsider", 698),
        ("permissions-outcast", 460),
        ("privacy", 30_799),
        ("password", 7_055),
        ("invitations", 43_552),
        ("domain-bans", 11_880),
    ];
    for (name, count) in pinned {
        assert!(Scenario::DEFAULT_SET.contains(&name), "{name}");
        let s = Scenario::named(name).expect("a named scenario");
        assert_eq!(unique_states(&s, &opts(true, true)), count, "{name}");
    }
}

/// The real service keeps XEP-0045's reply order on every path of a kick, a voice
/// and moderator-free role scenario, and a destroy (the default scenario covers the
/// ban; `unique_states` asserts every `always` property).
#[test]
fn kicks_and_destroys_keep_the_reply_order() {
    use mucsim_model::scenario::OpKind;
    for kinds in [
        &[OpKind::Join, OpKind::Kick][..],
        &[OpKind::Join, OpKind::Ban, OpKind::Destroy][..],
    ] {
        let s = Scenario::generate(3, 1, kinds).unwrap();
        let checker = run(&s, &CheckOptions::default()).unwrap();
        let v = verdicts(&*checker, &s)
            .into_iter()
            .find(|v| v.name == mucsim_model::properties::REPLY_ORDER)
            .expect("the order property");
        assert!(v.holds, "{kinds:?}: {:?}", v.counterexample.map(|c| c.transcript));
    }
}
