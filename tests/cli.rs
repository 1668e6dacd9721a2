//! The `mucsim` command through the built binary: that every command tells the truth
//! (issue 18): verdicts of incomplete searches, exit codes, help, closed pipes,
//! argument checks, streaming `parse`, where files are written, `explore`.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::{contains, is_match};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn mucsim() -> Command {
    Command::cargo_bin("mucsim").unwrap()
}

fn std_mucsim() -> std::process::Command {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("mucsim"))
}

/// A small scenario: 2 clients that join and leave (tens of states).
const SMALL: [&str; 5] = ["check", "--clients", "2", "--ops", "join,leave"];

#[test]
fn max_states_stops_with_unknown_verdicts_and_exit_code_3() {
    let out = mucsim()
        .args(SMALL)
        .args(["--max-states", "5"])
        .assert()
        .code(3)
        .stdout(contains("not violated in the"))
        .stdout(contains("--max-states 5 stopped the search"))
        .stdout(contains("INCOMPLETE"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    for line in out.lines() {
        assert!(
            !line.trim_start().starts_with("holds"),
            "an incomplete search says holds: {line}"
        );
    }
    // Without the budget the same scenario is exhausted: exit 0 and "holds".
    mucsim()
        .args(SMALL)
        .assert()
        .code(0)
        .stdout(is_match(r"(?m)^\s+holds  always").unwrap());
}

#[test]
fn max_states_zero_is_refused() {
    mucsim()
        .args(SMALL)
        .args(["--max-states", "0"])
        .assert()
        .code(2)
        .stderr(contains("--max-states"));
}

#[test]
fn check_help_documents_exit_codes_and_the_default_set() {
    check_help()
        .stdout(contains("runs the default set"))
        .stdout(contains("permissions-outcast"))
        .stdout(contains("durability"))
        .stdout(contains("Exit codes:"))
        .stdout(contains("3  the search stopped at --max-states"));
}

#[test]
fn crash_properties_without_crashes_are_not_exercised() {
    mucsim()
        .args(SMALL)
        .assert()
        .success()
        .stdout(is_match(r"(?m)^\s*not exercised  always: after a crash and restart").unwrap())
        .stdout(is_match(r"(?m)^\s+holds  always: after a crash").unwrap().not())
        .stdout(is_match(r"(?m)^\s*not exercised  sometimes: a member is revoked while present \(the scenario revokes no membership").unwrap())
        .stdout(is_match(r"NOT REACHED").unwrap().not());
    // With a crash in the scenario they are judged.
    mucsim()
        .args(SMALL)
        .args(["--crashes", "1"])
        .assert()
        .success()
        .stdout(is_match(r"(?m)^\s+holds  always: after a crash and restart").unwrap());
}

#[test]
fn check_ends_with_a_summary_line_per_scenario() {
    mucsim().args(SMALL).assert().success().stdout(
        is_match(
            r"summary:\n  '2 clients: join, leave': \d+ states, depth \d+, [\d.]+ s: every property holds; 7 not exercised",
        )
        .unwrap(),
    );
}

#[test]
fn one_room_is_singular() {
    mucsim()
        .args(SMALL)
        .assert()
        .success()
        .stdout(contains("2 clients, 1 room, 2 operations"))
        .stdout(contains("1 rooms").not());
    mucsim()
        .args([
            "sim",
            "--seeds",
            "0",
            "--steps",
            "5",
            "--rooms",
            "1",
            "--threads",
            "1",
        ])
        .assert()
        .success()
        .stdout(contains(
            "swarm: 1 seed (0..1, shard 0/1), 5 steps, 8 clients, 1 room\n",
        ))
        .stdout(contains("1 seed, 5 steps,"))
        .stdout(contains("(1 thread)"));
}

#[test]
fn an_empty_operation_is_refused() {
    mucsim()
        .args(["check", "--ops", "join,,leave"])
        .assert()
        .code(2)
        .stderr(contains("empty operation name"));
}

#[test]
fn threads_zero_means_one_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = if cores == 1 {
        "1 thread)".to_string()
    } else {
        format!("{cores} threads)")
    };
    mucsim()
        .args(["sim", "--seeds", "0", "--steps", "5", "--threads", "0"])
        .assert()
        .success()
        .stdout(contains(threads));
    mucsim()
        .args(SMALL)
        .args(["--threads", "0"])
        .assert()
        .success()
        .stdout(contains(if cores == 1 { "1 thread," } else { "threads," }))
        .stdout(contains(" 0 threads").not());
}

#[test]
fn no_arguments_print_the_usual_help() {
    mucsim()
        .assert()
        .code(2)
        .stderr(contains("Usage: mucsim <COMMAND>"))
        .stderr(contains("Commands:"))
        .stderr(contains("check"))
        .stderr(contains("being built").not());
}

/// Every option of every command says what it means, and either shows a default
/// (`[default: …]`), says in words what happens without it, or is required.
#[test]
fn every_option_has_help_with_its_default() {
    for cmd in ["check", "sim", "explore", "run", "serve", "conformance", "parse"] {
        let out = mucsim().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        // An entry starts at a line indented at most 6 with `-`, `<` or `[`; deeper lines
        // continue it (long help puts the text under the option).
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut in_lists = false;
        for line in help.lines() {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if t.starts_with("Arguments:") || t.starts_with("Options:") {
                in_lists = true;
                continue;
            }
            if !in_lists || t.is_empty() {
                continue;
            }
            if t.starts_with("Exit codes:") {
                break;
            }
            if indent <= 6 && (t.starts_with('-') || t.starts_with('<') || t.starts_with('[')) {
                entries.push((t.to_string(), String::new()));
            } else if let Some(e) = entries.last_mut() {
                e.1.push_str(t);
                e.1.push(' ');
            }
        }
        assert!(entries.len() >= 2, "{cmd}: no options found in {help}");
        for (opt, text) in entries {
            if opt.starts_with("-h") || opt.starts_with("-V") {
                continue;
            }
            let all = format!("{opt} {text}");
            let words: Vec<&str> = opt.split_whitespace().collect();
            // The option and its value name, then the help.
            let head = if words.get(1).is_some_and(|w| w.starts_with('<')) {
                2
            } else {
                1
            };
            assert!(
                words.len() > head || !text.trim().is_empty(),
                "{cmd} {opt}: no help"
            );
            let flag = words[0].starts_with('-') && head == 1;
            let required = opt.starts_with('<') || opt.starts_with("--secret");
            assert!(
                flag || required || all.to_lowercase().contains("default"),
                "{cmd} {opt}: no default stated: {all}"
            );
        }
    }
}

#[cfg(not(feature = "mutants"))]
#[test]
fn a_build_without_mutants_says_how_to_get_them() {
    check_help().stdout(contains("--features mutants"));
}

/// `mucsim check --help`, which must succeed.
fn check_help() -> assert_cmd::assert::Assert {
    mucsim().args(["check", "--help"]).assert().success()
}

#[cfg(feature = "mutants")]
#[test]
fn a_mutants_build_lists_the_mutants() {
    for cmd in ["check", "sim", "run", "explore"] {
        let out = mucsim().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for m in server::Mutant::ALL {
            assert!(help.contains(m.name()), "{cmd} --help lacks {}", m.name());
        }
    }
}

#[test]
fn conformance_on_a_directory_without_scripts_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a script").unwrap();
    mucsim()
        .arg("conformance")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("holds no .scs scripts"));
}

#[test]
fn scansion_errors_point_into_the_block_and_a_bom_is_accepted() {
    run_script(
        "# t\n[Client] A\n\tjid: a@localhost\n-----\nA connects\nA sends:\n\t<message to='x@y'>\n\t\t<body>hi</p\n",
    )
    .code(1)
    .stdout(contains("line 8:"))
    .stdout(contains("</block>").not())
    .stdout(contains("stream:stream").not());
    run_script("\u{FEFF}# t\n[Client] A\n\tjid: a@localhost\n-----\nA connects\n").success();
}

#[test]
fn an_unterminated_variable_is_a_parse_error() {
    run_script("[Client] A\n\tjid: a@localhost\n-----\nA connects\nA sends:\n\t<message to='${A's JID'/>\n")
        .code(1)
        .stdout(contains("line 6: unterminated '${'"));
}

/// `mucsim run` on a script file holding `text`.
fn run_script(text: &str) -> assert_cmd::assert::Assert {
    on_file("run", "script.scs", text)
}

/// `mucsim cmd FILE`, FILE named `name` holding `text`.
fn on_file(cmd: &str, name: &str, text: impl AsRef<[u8]>) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(name);
    std::fs::write(&f, text).unwrap();
    mucsim().arg(cmd).arg(&f).assert()
}

/// `parse` prints each stanza as it completes: with the stream still open (the
/// writer holding the rest back), the first stanza is already out. Reading the whole
/// input first, as before, printed nothing until the end.
#[cfg(unix)]
#[test]
fn parse_streams_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stream.xml");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = std_mucsim()
        .arg("parse")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
          xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>\
          <message id='m1'><body>first</body></message>\n",
    )
    .unwrap();
    w.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for l in lines.by_ref() {
            let l = l.unwrap();
            let done = l.contains("first");
            tx.send(l).unwrap();
            if done {
                break;
            }
        }
        lines.map(|l| l.unwrap()).collect::<Vec<_>>()
    });
    let mut early = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(20)) {
        let done = l.contains("first");
        early.push(l);
        if done {
            break;
        }
    }
    // Now the rest of the stream.
    w.write_all(b"<message id='m2'><body>second</body></message></stream:stream>")
        .unwrap();
    drop(w);
    let rest = reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(
        early.iter().any(|l| l.contains("first")),
        "the first stanza was not printed while the stream was open: {early:?}"
    );
    assert!(rest.iter().any(|l| l.contains("second")), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stream close"));
    assert!(status.success());
}

/// A refused stream still prints the stanzas before the refusal, then the reason.
#[test]
fn parse_reports_the_refusal_after_the_good_stanzas() {
    on_file(
        "parse",
        "s.xml",
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
         <message id='ok'/><message id='bad'><!-- c --></message>",
    )
    .code(1)
    .stdout(contains("id=\"ok\"").or(contains("id='ok'")))
    .stderr(contains("refused"));
}

/// Runs `mucsim args` with stdout (or stderr) a pipe whose reader is already gone:
/// the command must end quietly (killed by SIGPIPE like any Unix filter), not panic
/// (exit 101, "failed printing to stdout").
#[cfg(unix)]
fn closed_pipe(args: &[&str], on_stderr: bool) {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here alone.
    let (read_end, write_end) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read_end);
    let mut cmd = std_mucsim();
    cmd.args(args).stdin(Stdio::null());
    let mut child = if on_stderr {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::from(write_end))
            .spawn()
            .unwrap()
    } else {
        cmd.stdout(Stdio::from(write_end))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_ne!(status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(
        status.signal() == Some(libc::SIGPIPE) || status.success(),
        "{args:?}: {status:?} {err}"
    );
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("a.scs");
    std::fs::write(&script, "[Client] A\n\tjid: a@localhost\n-----\nA connects\n").unwrap();
    let stream = dir.path().join("s.xml");
    std::fs::write(
        &stream,
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message/>",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let stream = stream.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        &SMALL[..],
        &["sim", "--seeds", "0", "--steps", "5"],
        &["invariants"],
        &["run", script],
        &["conformance", d],
        &["parse", stream],
        &["check", "--help"],
    ] {
        closed_pipe(args, false);
    }
    // serve reports on stderr (`serve 2>&1 | head`): the first line hits the closed pipe.
    closed_pipe(
        &["serve", "--secret", "s", "--connect", "127.0.0.1:9", "--no-store"],
        true,
    );
}

/// When stderr is not a terminal, a long check prints plain progress lines at the
/// `--progress-secs` interval (10 s by default).
// The wall clock only decides whether the run was long enough to demand a line.
#[allow(clippy::disallowed_methods)]
#[test]
fn progress_lines_when_stderr_is_not_a_terminal() {
    let start = Instant::now();
    let out = mucsim()
        .args([
            "check",
            "--scenario",
            "default",
            "--max-states",
            "300000",
            "--progress-secs",
            "1",
        ])
        .output()
        .unwrap();
    let millis = start.elapsed().as_millis();
    let err = String::from_utf8(out.stderr).unwrap();
    let lines = err.lines().filter(|l| l.starts_with("progress: ")).count();
    // The first line comes after about a second: a run of two must show one.
    eprintln!("progress run: {millis} ms, {lines} lines");
    if millis >= 2_000 {
        assert!(lines >= 1, "{millis} ms and no progress line: {err}");
    }
    assert!(
        err.lines().all(|l| !l.contains('\r')),
        "terminal codes in a pipe: {err:?}"
    );
}

#[test]
fn counterexamples_go_under_target_not_the_checkout_root() {
    assert!(
        !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("counterexample-1.scs")
            .exists(),
        "a counterexample is committed at the root"
    );
    mucsim()
        .args(["check", "--help"])
        .assert()
        .stdout(contains("[default: target/mucsim/counterexamples]"));
    mucsim()
        .args(["sim", "--help"])
        .assert()
        .stdout(contains("[default: target/mucsim/counterexamples]"));
}

/// The reply-order mutant is caught in the default scenario of `mucsim check` (it
/// bans), under the order property's name. (The whole default run, both scenarios,
/// takes minutes; the budget keeps the test short, and the violation comes early.)
#[cfg(feature = "mutants")]
#[test]
fn the_default_scenario_catches_an_answer_on_the_wrong_side_of_a_removal() {
    let dir = tempfile::tempdir().unwrap();
    mucsim()
        .current_dir(dir.path())
        .args([
            "check",
            "--mutant",
            "removal-answer-swapped",
            "--scenario",
            "default",
            "--max-states",
            "20000",
        ])
        .assert()
        .code(1)
        .stdout(
            is_match(
                r"(?m)^\s*VIOLATED  always: where XEP-0045 fixes the order of a reply, the service keeps it",
            )
            .unwrap(),
        );
}

#[cfg(feature = "mutants")]
#[test]
fn a_counterexample_is_written_under_the_scs_dir_and_its_path_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = mucsim()
        .current_dir(dir.path())
        .args([
            "check",
            "--mutant",
            "ban-keeps-occupant",
            "--clients",
            "2",
            "--ops",
            "join,ban",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let written = dir
        .path()
        .join("target/mucsim/counterexamples/counterexample-1.scs");
    assert!(written.exists(), "{out}");
    assert!(
        out.contains("wrote target/mucsim/counterexamples/counterexample-1.scs"),
        "{out}"
    );
}

#[test]
fn serve_documents_its_default_store_and_git_ignores_it() {
    mucsim()
        .args(["serve", "--help"])
        .assert()
        .stdout(contains("[default: mucsim-rooms.sqlite]"))
        .stdout(contains("git-ignored"));
    let ignore = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/mucsim-rooms.sqlite"), "{ignore}");
}

/// `explore --port 0` prints the port it bound, and the Explorer there shows
/// properties without a doubled "Always always" and actions in MUC terms.
#[test]
fn explore_on_port_zero_prints_the_bound_port() {
    let mut child = std_mucsim()
        .args(["explore", "--clients", "2", "--ops", "join,leave", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let get = |path: &str| -> String {
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        for _ in 0..100 {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
                let mut body = String::new();
                let _ = s.read_to_string(&mut body);
                return body;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nothing listens at {addr}");
    };
    let status = get("/.status");
    let states = get("/.states/0");
    let _ = child.kill();
    let _ = child.wait();
    assert!(!first.contains(":0/"), "{first}");
    assert!(status.contains("\"no outcast occupies a room\""), "{status}");
    assert!(!status.contains("\"always: "), "{status}");
    let actions: Vec<&str> = states
        .split("\"action\":\"")
        .skip(1)
        .filter_map(|a| a.split('"').next())
        .collect();
    assert!(actions.contains(&"Juliet joins room"), "{actions:?}");
    for a in &actions {
        assert!(!a.contains("select random") && !a.contains("Id("), "{a}");
    }
}

/// A stream cut off inside a stanza is not a clean parse: the stanzas before the cut
/// are printed, then the reason, exit code 1. A stream merely not closed is clean.
#[test]
fn parse_reports_a_stream_cut_off_inside_a_stanza() {
    let head = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message id='ok'/>";
    for cut in ["<message id='b'><body>hi", "<mess"] {
        on_file("parse", "cut.xml", format!("{head}{cut}"))
            .code(1)
            .stdout(contains("id=\"ok\"").or(contains("id='ok'")))
            .stderr(contains("ends inside a stanza"));
    }
    on_file("parse", "open.xml", format!("{head}\n")).success();
}

/// A single stanza over the parser's size limit is refused as too large (only the
/// limit and one byte more are read), not truncated into something that parses.
#[test]
fn parse_refuses_a_single_stanza_over_the_limit() {
    let big = format!("<message><body>{}</body></message>", "a".repeat(1 << 20));
    on_file("parse", "big.xml", big)
        .code(1)
        .stderr(contains("refused (policy-violation): stanza larger than"));
}
