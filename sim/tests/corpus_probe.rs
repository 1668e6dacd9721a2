use mucsim_sim::scansion::{parse, run, RunOptions};

#[test]
fn probe() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/prosody");
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "scs")).collect();
    names.sort();
    for p in names {
        let s = parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let o = run(&s, &RunOptions::default());
        println!("{}: {}", p.file_name().unwrap().to_string_lossy(), match &o.failure { None => "PASS".to_string(), Some(f) => format!("FAIL {f}") });
    }
}
