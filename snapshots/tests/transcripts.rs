use mucsim_sim::corpus;
use mucsim_snapshots::{scripts_in, transcript_of, SCENARIOS};
use std::path::{Path, PathBuf};

fn snapshot_all(paths: Vec<PathBuf>, prefix: &str, must_pass: bool) -> usize {
    let mut n = 0;
    for path in paths {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        match transcript_of(&path) {
            Ok(t) => {
                insta::assert_snapshot!(format!("{prefix}__{stem}"), t);
                n += 1;
            }
            Err(why) => assert!(!must_pass, "{}: {why}", path.display()),
        }
    }
    n
}

#[test]
fn scenario_transcripts() {
    let n = snapshot_all(scripts_in(Path::new(SCENARIOS)), "scenario", true);
    assert!(n >= 10, "only {n} scenarios");
}

#[test]
fn corpus_transcripts() {
    let Some(dir) = corpus::for_test("corpus_transcripts") else {
        return;
    };
    // Failing corpus scripts are listed (and pinned) in sim's runner tests.
    let n = snapshot_all(corpus::scripts(&dir), "corpus", false);
    assert!(n >= 13, "only {n} corpus scripts pass");
}
