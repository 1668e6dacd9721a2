//! The Explorer's view of the model: actions, actors and properties in MUC terms.

use mucsim_model::explore::Explorable;
use mucsim_model::scenario::Scenario;
use stateright::Model as _;

fn explorable() -> Explorable {
    Explorable::new(mucsim_model::model(&Scenario::default_check()).unwrap()).unwrap()
}

/// The default scenario, its initial state and the actions open there.
fn at_start() -> (
    Explorable,
    <Explorable as stateright::Model>::State,
    Vec<<Explorable as stateright::Model>::Action>,
) {
    let m = explorable();
    let state = m.init_states().remove(0);
    let mut actions = Vec::new();
    m.actions(&state, &mut actions);
    (m, state, actions)
}

/// Walks `steps` by always taking the first action whose description contains
/// `pick`, collecting every description seen on the way.
fn walk(m: &Explorable, picks: &[&str]) -> Vec<String> {
    let mut state = m.init_states().remove(0);
    let mut seen = Vec::new();
    for pick in picks {
        let mut actions = Vec::new();
        m.actions(&state, &mut actions);
        let described: Vec<String> = actions.iter().map(|a| m.format_action(a)).collect();
        seen.extend(described.iter().cloned());
        let i = described
            .iter()
            .position(|d| d.contains(pick))
            .unwrap_or_else(|| panic!("no action with {pick:?} among {described:#?}"));
        state = m.next_state(&state, actions[i].clone()).unwrap();
    }
    seen
}

#[test]
fn actions_read_in_muc_terms() {
    let m = explorable();
    let seen = walk(
        &m,
        &[
            "Juliet's phone joins room",
            "the service receives Juliet's phone's stanza: joins room",
            "the service delivers to Juliet's phone: presence of Romeo in room (owner, moderator); presence of Juliet",
            "Romeo sets Juliet's affiliation to member in room",
        ],
    );
    for d in &seen {
        assert!(
            !d.contains("Id(") && !d.contains("Op {") && !d.contains("select random"),
            "{d}"
        );
    }
    assert!(
        seen.iter().any(|d| d == "Romeo makes room members-only"),
        "{seen:#?}"
    );
}

#[test]
fn property_names_carry_no_expectation_prefix() {
    let m = explorable();
    let inner = mucsim_model::model(&Scenario::default_check())
        .unwrap()
        .properties();
    let props = m.properties();
    assert_eq!(props.len(), inner.len());
    for (p, q) in props.iter().zip(&inner) {
        assert!(
            !p.name.starts_with("always") && !p.name.starts_with("sometimes"),
            "{}",
            p.name
        );
        assert!(q.name.ends_with(p.name), "{} / {}", q.name, p.name);
        assert_eq!(p.expectation, q.expectation);
    }
    // The conditions are the inner model's: same verdict on the initial state.
    let s = m.init_states().remove(0);
    let inner_model = mucsim_model::model(&Scenario::default_check()).unwrap();
    for (p, q) in props.iter().zip(&inner) {
        assert_eq!(
            (p.condition)(&m, &s),
            (q.condition)(&inner_model, &s),
            "{}",
            p.name
        );
    }
}

#[test]
fn steps_read_in_muc_terms_before_the_raw_states() {
    let (m, state, actions) = at_start();
    let join = actions
        .iter()
        .find(|a| m.format_action(a) == "Juliet's phone joins room")
        .unwrap()
        .clone();
    let step = m.format_step(&state, join).unwrap();
    assert!(
        step.starts_with(
            "Juliet's phone joins room\n  then, when delivered: the service receives Juliet's phone's stanza: joins room\n"
        ),
        "{step}"
    );
    assert!(step.contains("Juliet's phone may next:"), "{step}");
}

#[test]
fn sequence_diagrams_name_the_actors() {
    let (m, state, actions) = at_start();
    let path = stateright::Path::from_actions(&m, state, actions.iter().take(1)).unwrap();
    let svg = m.as_svg(path).unwrap();
    for name in ["the service", "Romeo", "Juliet's phone", "Juliet's laptop"] {
        assert!(svg.contains(name), "{name} missing: {svg}");
    }
}
