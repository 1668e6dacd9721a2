//! `mucsim run --server`: the scripts against a live server's client port, through
//! `mucsim-live-client`. (`mucsim serve` is `live::command::run`.)

use mucsim_live_client::canonical::canonical;
use mucsim_live_client::LiveBackend;
use mucsim_sim::scansion::{run_on, RunOptions};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn resolve(server: &str) -> Result<SocketAddr, String> {
    server
        .to_socket_addrs()
        .map_err(|e| format!("--server {server}: {e}"))?
        .next()
        .ok_or_else(|| format!("--server {server}: no address"))
}

/// Plays each script against a live server, one fresh set of connections per script.
pub fn run_scripts(
    server: &str,
    files: &[PathBuf],
    opts: &RunOptions,
    show: bool,
    canonical_dir: Option<&Path>,
) -> ExitCode {
    let addr = match resolve(server) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mucsim run: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = canonical_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("mucsim run: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let mut failed = 0;
    for f in files {
        let script = match super::scripts::load_script(f) {
            Ok(s) => s,
            Err(why) => {
                failed += 1;
                println!("FAIL {}: {why}", f.display());
                continue;
            }
        };
        let mut backend = LiveBackend::new(addr);
        let played = run_on(&mut backend, &script, opts);
        backend.close_all();
        match &played.failure {
            None => println!(
                "PASS {} ({} stanzas, {} skipped)",
                f.display(),
                backend.transcript().stanzas(),
                played.skipped
            ),
            Some(fail) => {
                failed += 1;
                println!("FAIL {}: {fail}", f.display());
            }
        }
        if show || played.failure.is_some() {
            println!("{}", backend.transcript());
        }
        if let Some(dir) = canonical_dir {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = dir.join(format!("{stem}.txt"));
            let verdict = match &played.failure {
                None => "PASS\n".to_string(),
                Some(fail) => format!("FAIL line {}: {}\n", fail.line, fail.reason),
            };
            if let Err(e) = std::fs::write(&path, verdict + &canonical(backend.transcript())) {
                eprintln!("mucsim run: cannot write {}: {e}", path.display());
            }
        }
    }
    println!(
        "{} of {} scripts passed against {server}",
        files.len() - failed,
        files.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
