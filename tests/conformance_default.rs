//! `mucsim conformance` without a directory reads the corpus where every other reader
//! does (`mucsim_sim::corpus::dir`: `MUCSIM_CORPUS`, else beside the checkout), and a
//! missing corpus is an error naming where it was looked for.

use std::process::Command;

fn conformance_with_corpus(dir: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mucsim"))
        .arg("conformance")
        .env("MUCSIM_CORPUS", dir)
        .output()
        .expect("run mucsim")
}

#[test]
fn the_default_directory_is_mucsim_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/scenarios");
    let out = conformance_with_corpus(dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| ban_vs_revoke.scs | pass |"), "{stdout}");
}

#[test]
fn a_missing_default_corpus_is_an_error_naming_it() {
    let out = conformance_with_corpus("/nonexistent-mucsim-corpus");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the Prosody corpus is not at /nonexistent-mucsim-corpus; set MUCSIM_CORPUS"),
        "{stderr}"
    );
}
