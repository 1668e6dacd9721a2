//! Where Prosody's MUC corpus is: the `.scs` scripts of Prosody's `spec/scansion`
//! directory (MIT), which the conformance tests, the scansion bench and
//! `mucsim conformance` read. The corpus is not part of this repository, so every
//! reader finds it through [`dir`] and, in tests, skips or fails through [`for_test`].
//!
//! - `MUCSIM_CORPUS`, if set (and not empty), is the corpus directory.
//! - Otherwise the corpus is `../shared/conformance/prosody` beside the checkout: the
//!   workspace root is found from this crate's `CARGO_MANIFEST_DIR` at build time,
//!   so the answer does not depend on the current directory.
//! - `MUCSIM_REQUIRE_CORPUS=1` turns a missing corpus from a skip into a failure
//!   (CI sets it, so CI never skips silently).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the corpus directory.
pub const CORPUS_VAR: &str = "MUCSIM_CORPUS";
/// The environment variable that makes a missing corpus fail tests (`1`).
pub const REQUIRE_VAR: &str = "MUCSIM_REQUIRE_CORPUS";

/// The workspace root: the directory above this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The corpus directory: `$MUCSIM_CORPUS` if set and not empty, else
/// `<workspace root>/../shared/conformance/prosody`. It may not exist.
pub fn dir() -> PathBuf {
    match std::env::var_os(CORPUS_VAR) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let root = workspace_root();
            root.parent().unwrap_or(&root).join("shared/conformance/prosody")
        }
    }
}

/// Whether `MUCSIM_REQUIRE_CORPUS` is `1`.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1")
}

/// The sentence a skipped test prints: where the corpus was looked for and how to
/// point at it.
pub fn missing_message(dir: &Path) -> String {
    format!(
        "the Prosody corpus is not at {}; set {CORPUS_VAR} to Prosody's spec/scansion directory",
        dir.display()
    )
}

/// Whether `dir` holds at least one `.scs` script.
pub fn holds_scripts(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "scs"))
    })
}

/// For a test (or bench) named `test` that needs the corpus: its directory, or `None`
/// after printing one line, `<test>: skipped: the Prosody corpus is not at …; set
/// MUCSIM_CORPUS to …`, to the process's standard error.
///
/// The line is written to stderr directly rather than with `eprintln!`, which the
/// test harness captures and shows only for failing tests; so a plain
/// `cargo test --workspace` shows which corpus tests were skipped.
///
/// # Panics
/// When the corpus is missing and `MUCSIM_REQUIRE_CORPUS=1`: the message names the
/// directory.
pub fn for_test(test: &str) -> Option<PathBuf> {
    let d = dir();
    if holds_scripts(&d) {
        return Some(d);
    }
    let why = missing_message(&d);
    if required() {
        panic!("{test}: {why} ({REQUIRE_VAR}=1 makes this a failure)");
    }
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {why}");
    None
}

/// The text of `path`.
///
/// # Panics
/// When it cannot be read; the message names the path and the reason.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The MUC scripts of Prosody's `spec/scansion` that make up the corpus, by file
/// name. That directory also holds scripts for other modules; the corpus tests read
/// these thirteen, so `MUCSIM_CORPUS` may name either the whole directory or one
/// holding just these.
pub const SCRIPTS: [&str; 13] = [
    "issue1224.scs",
    "issue505.scs",
    "issue978.scs",
    "muc_affiliation_notify.scs",
    "muc_create_destroy.scs",
    "muc_mediated_invite.scs",
    "muc_members_only_change.scs",
    "muc_nickname_change.scs",
    "muc_nickname_robotface.scs",
    "muc_password.scs",
    "muc_presence_probe.scs",
    "muc_register.scs",
    "muc_show_offline.scs",
];

/// The corpus's [`SCRIPTS`] in `dir`, in that order.
///
/// # Panics
/// When one is missing; the message names the directory and the missing scripts.
pub fn scripts(dir: &Path) -> Vec<PathBuf> {
    let missing: Vec<&str> = SCRIPTS.into_iter().filter(|s| !dir.join(s).is_file()).collect();
    assert!(
        missing.is_empty(),
        "{} lacks the corpus scripts {missing:?} (Prosody's spec/scansion holds them)",
        dir.display()
    );
    SCRIPTS.iter().map(|s| dir.join(s)).collect()
}

/// The `.scs` files in `dir`, sorted by path.
///
/// # Panics
/// When `dir` cannot be read; the message names it and the reason.
pub fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "scs"))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_beside_the_workspace_root_not_the_cwd() {
        // Only when the variable is unset: the test must not set it (tests share
        // the process environment).
        if std::env::var_os(CORPUS_VAR).is_some_and(|v| !v.is_empty()) {
            return;
        }
        let d = dir();
        assert!(d.is_absolute(), "{}", d.display());
        assert!(
            workspace_root().join("Cargo.lock").is_file() || workspace_root().join("Cargo.toml").is_file()
        );
        assert_eq!(
            d,
            workspace_root()
                .parent()
                .unwrap()
                .join("shared/conformance/prosody")
        );
    }

    #[test]
    fn missing_message_names_the_directory_and_the_variable() {
        let m = missing_message(Path::new("/nowhere/prosody"));
        assert!(
            m.contains("/nowhere/prosody") && m.contains("MUCSIM_CORPUS"),
            "{m}"
        );
    }

    #[test]
    fn a_directory_without_scripts_holds_none() {
        assert!(!holds_scripts(Path::new("/nonexistent-mucsim-corpus")));
        assert!(!holds_scripts(&workspace_root().join("src")));
        assert!(holds_scripts(&workspace_root().join("snapshots/scenarios")));
    }

    #[test]
    fn read_names_the_missing_file() {
        let p = Path::new("/nonexistent-mucsim-corpus/x.scs");
        let e = std::panic::catch_unwind(|| read(p)).unwrap_err();
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("/nonexistent-mucsim-corpus/x.scs"), "{msg}");
    }
}
