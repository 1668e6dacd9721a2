//! Replays every fuzz corpus and regression input through the targets' bodies, on
//! stable, so a finding fixed once stays fixed.

use std::path::PathBuf;

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn every_corpus_and_regression_input_passes() {
    let mut total = 0;
    for (name, body) in mucsim_hostile::TARGETS {
        let corpus = inputs("corpus", name);
        assert!(!corpus.is_empty(), "no seed corpus for {name}");
        for p in corpus.iter().chain(inputs("regressions", name).iter()) {
            // A running fuzzer may replace its own corpus entries under us.
            let Ok(data) = std::fs::read(p) else { continue };
            let r = std::panic::catch_unwind(|| body(&data));
            assert!(r.is_ok(), "{name} fails on {}", p.display());
            total += 1;
        }
    }
    assert!(total >= 40, "only {total} inputs");
}
