//! The scansion runner against Prosody's own corpus and against itself.

use mucsim_sim::corpus;
use mucsim_sim::scansion::{parse, run, to_scs, RunOptions, Script};

/// Corpus scripts that do not pass yet (none, since the service-admin ad-hoc destroy).
const KNOWN_FAILING: &[&str] = &[];

/// Every corpus script, parsed, by file name; `None` (after the skip line) when the
/// corpus is absent.
fn corpus(test: &str) -> Option<Vec<(String, Script)>> {
    let dir = corpus::for_test(test)?;
    let scripts = corpus::scripts(&dir)
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let script = parse(&corpus::read(&p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, script)
        })
        .collect();
    Some(scripts)
}

/// The founding scenario's text; `None` (after the skip line) when the corpus is absent.
fn founding_scenario(test: &str) -> Option<String> {
    let dir = corpus::for_test(test)?;
    Some(corpus::read(&dir.join("muc_members_only_change.scs")))
}

fn opts(seed: u64) -> RunOptions {
    RunOptions {
        seed,
        ..RunOptions::default()
    }
}

#[test]
fn founding_scenario_passes_unchanged() {
    let Some(text) = founding_scenario("founding_scenario_passes_unchanged") else {
        return;
    };
    let o = run(&parse(&text).unwrap(), &opts(0));
    assert!(o.passed(), "{}\n{}", o.failure.unwrap(), o.transcript);
}

#[test]
fn corpus_passes_except_the_known_failures() {
    let Some(all) = corpus("corpus_passes_except_the_known_failures") else {
        return;
    };
    assert_eq!(all.len(), 13);
    let mut passing = 0;
    for (name, script) in &all {
        let o = run(script, &opts(0));
        let expected_to_pass = !KNOWN_FAILING.contains(&name.as_str());
        assert_eq!(
            o.passed(),
            expected_to_pass,
            "{name}: {}",
            o.failure
                .map(|f| f.to_string())
                .unwrap_or_else(|| "passes now: update KNOWN_FAILING and docs/conformance.md".into())
        );
        passing += usize::from(o.passed());
    }
    assert!(passing >= 13, "{passing} of 13 pass");
}

#[test]
fn same_seed_same_transcript_and_other_seeds_still_pass() {
    let Some(all) = corpus("same_seed_same_transcript_and_other_seeds_still_pass") else {
        return;
    };
    for (name, script) in all.iter().filter(|(n, _)| !KNOWN_FAILING.contains(&n.as_str())) {
        let a = run(script, &opts(7)).transcript.to_string();
        let b = run(script, &opts(7)).transcript.to_string();
        assert_eq!(a, b, "{name}: same seed, different transcript");
        let other = run(script, &opts(8));
        assert!(
            other.passed(),
            "{name} fails with seed 8: {}",
            other.failure.unwrap()
        );
        assert_ne!(
            a,
            other.transcript.to_string(),
            "{name}: the seed changed nothing"
        );
    }
}

#[test]
fn transcripts_written_as_scripts_replay_strictly() {
    let Some(all) = corpus("transcripts_written_as_scripts_replay_strictly") else {
        return;
    };
    for (name, script) in all.iter().filter(|(n, _)| !KNOWN_FAILING.contains(&n.as_str())) {
        let first = run(script, &opts(3));
        let scs = to_scs(name, &first.transcript);
        let replay =
            parse(&scs).unwrap_or_else(|e| panic!("{name}: written script does not parse: {e}\n{scs}"));
        for seed in [3, 4] {
            let o = run(
                &replay,
                &RunOptions {
                    seed,
                    strict: true,
                    ..RunOptions::default()
                },
            );
            assert!(
                o.passed(),
                "{name} replay (seed {seed}): {}\n{scs}",
                o.failure.unwrap()
            );
        }
    }
}

#[test]
fn strict_mode_fails_on_a_stanza_the_script_does_not_expect() {
    // The founding scenario never expects the 104 message a config change sends.
    let Some(text) = founding_scenario("strict_mode_fails_on_a_stanza_the_script_does_not_expect") else {
        return;
    };
    let o = run(
        &parse(&text).unwrap(),
        &RunOptions {
            strict: true,
            ..RunOptions::default()
        },
    );
    let f = o.failure.expect("strict mode must fail");
    assert!(f.reason.contains("unexpected stanza"), "{f}");
    assert!(f.got.unwrap().contains("code='104'"));
}

#[test]
fn a_failure_names_the_line_the_expected_and_the_received_stanza() {
    let script = "# wrong expectation\n[Client] Romeo\n\tjid: user@localhost\n\tpassword: x\n-----\nRomeo connects\n\
                  Romeo sends:\n\t<presence to='r@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>\n\
                  Romeo receives:\n\t<presence from='r@conference.localhost/Juliet'/>\n";
    let o = run(&parse(script).unwrap(), &opts(0));
    let f = o.failure.expect("must fail");
    assert_eq!(f.line, 9);
    assert!(f.reason.contains("nothing matching within 5000 ms"), "{f}");
    assert!(f.expected.unwrap().contains("r@conference.localhost/Juliet"));
    assert!(f.got.unwrap().contains("r@conference.localhost/Romeo"));
}

#[test]
fn receives_nothing_fails_when_something_arrives() {
    let script = "# nothing\n[Client] Romeo\n\tjid: user@localhost\n\tpassword: x\n-----\nRomeo connects\n\
                  Romeo sends:\n\t<presence to='r@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>\n\
                  Romeo receives: nothing\n";
    let o = run(&parse(script).unwrap(), &opts(0));
    assert_eq!(o.failure.expect("must fail").line, 9);
    let quiet = "# nothing\n[Client] Romeo\n\tjid: user@localhost\n\tpassword: x\n-----\nRomeo connects\nRomeo receives: nothing\n";
    assert!(run(&parse(quiet).unwrap(), &opts(0)).passed());
}

#[test]
fn a_script_naming_an_unknown_variable_fails_at_its_line() {
    let script = "# var\n[Client] Romeo\n\tjid: user@localhost\n\tpassword: x\n-----\nRomeo connects\n\
                  Romeo sends:\n\t<message to=\"${Nobody's JID}\"/>\n";
    let f = run(&parse(script).unwrap(), &opts(0)).failure.expect("must fail");
    assert_eq!(f.line, 7);
    assert!(f.reason.contains("Nobody"), "{f}");
}

#[test]
fn a_missing_corpus_skips_with_a_line_or_fails_when_required() {
    // Runs one corpus test of this binary again, in a child process, with the corpus
    // pointed somewhere empty.
    let missing = "/nonexistent-mucsim-corpus";
    let child = |require: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "founding_scenario_passes_unchanged"])
            .env(corpus::CORPUS_VAR, missing)
            .env_remove(corpus::REQUIRE_VAR);
        if require {
            cmd.env(corpus::REQUIRE_VAR, "1");
        }
        cmd.output().unwrap()
    };
    let skipped = child(false);
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "founding_scenario_passes_unchanged: skipped: the Prosody corpus is not at {missing}; \
             set MUCSIM_CORPUS to Prosody's spec/scansion directory"
        )),
        "{stderr}"
    );
    let required = child(true);
    let stdout = String::from_utf8_lossy(&required.stdout);
    assert!(!required.status.success(), "{stdout}");
    assert!(stdout.contains(missing), "the failure names no path: {stdout}");
}

/// A `sends` by a client that has disconnected is skipped and noted in the
/// transcript, as scansion does (one of Prosody's trunk scripts ends that way); a
/// client that never connected still fails at its line.
#[test]
fn a_send_after_disconnecting_is_skipped_and_noted() {
    let head = "# after disconnect\n[Client] Romeo\n\tjid: user@localhost\n\tpassword: x\n\n\
                [Client] Juliet\n\tjid: juliet@localhost\n\tpassword: x\n-----\n";
    let join = "Romeo connects\nRomeo sends:\n\t<presence to='r@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>\n\
                Romeo receives:\n\t<presence from='r@conference.localhost/Romeo'/>\n";
    let ending = "Romeo disconnects\n\nRomeo sends:\n\t<message type='groupchat' to='r@conference.localhost'><body>late</body></message>\n";
    let script = format!("{head}{join}{ending}");
    for strict in [false, true] {
        let o = run(
            &parse(&script).unwrap(),
            &RunOptions {
                strict,
                ..RunOptions::default()
            },
        );
        assert!(o.failure.is_none(), "strict {strict}: {}", o.failure.unwrap());
        let t = o.transcript.to_string();
        assert!(
            t.contains("Romeo -- skipped what Romeo sends at line 17: it has disconnected"),
            "{t}"
        );
        // Nothing was sent: the message never reached the room.
        assert!(!t.contains("late"), "{t}");
    }

    // Refusal: a client that never connected cannot send.
    let never = format!("{head}{join}Juliet sends:\n\t<message to='r@conference.localhost'/>\n");
    let f = run(&parse(&never).unwrap(), &opts(0)).failure.expect("must fail");
    assert_eq!(f.line, 15);
    assert!(f.reason.contains("Juliet is not connected"), "{f}");
}
