//! Writes the fuzz targets' seed corpora (`fuzz/corpus/<target>/seed-*`) from the
//! conformance corpus (`MUCSIM_CORPUS`, else `../shared/conformance/prosody` beside the
//! checkout: `sim::corpus::dir`) and the snapshot scenarios (`snapshots/scenarios`).
//! Run from the repository root: `cargo run -p mucsim-hostile --bin seed-corpora`.

use server::ns;
use sim::scansion::{parse, ActionKind};
use std::path::{Path, PathBuf};

fn scripts(dirs: &[PathBuf]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            eprintln!("seed-corpora: skipping {} (not found)", d.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "scs") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    let stem = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    out.push((stem, text));
                }
            }
        }
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn main() {
    let root = Path::new("fuzz/corpus");
    let all = scripts(&[sim::corpus::dir(), PathBuf::from("snapshots/scenarios")]);
    for (name, text) in &all {
        write(&root.join("scansion_parse"), name, text.as_bytes());
        write(&root.join("service_ops"), name, text.as_bytes());
        let Ok(script) = parse(text) else { continue };
        // Every stanza the script sends, as the bytes the stanza target decodes into
        // it (reduced to the target's vocabulary), sent by Romeo when the script's
        // client is called Romeo; the same bytes once.
        let mut seen = std::collections::BTreeSet::new();
        for a in &script.actions {
            if let ActionKind::Sends(els) = &a.kind {
                for e in els {
                    if let Some((bytes, _)) = mucsim_hostile::tree::encode(e, a.client == "Romeo") {
                        if seen.insert(bytes.clone()) {
                            write(&root.join("stanza"), &format!("{name}-{}", seen.len()), &bytes);
                        }
                    }
                }
            }
        }
        // Every stanza the script sends or expects, as one stream body after the
        // header xml_stream adds (mode byte 0).
        let mut body = vec![0u8];
        for a in &script.actions {
            if let ActionKind::Sends(els) | ActionKind::Receives(els) = &a.kind {
                for e in els {
                    body.extend_from_slice(e.to_xml_in(ns::CLIENT).as_bytes());
                }
            }
        }
        write(&root.join("xml_stream"), name, &body);
    }
    println!("wrote seeds from {} scripts into {}", all.len(), root.display());
}
