//! `mucsim serve` and `mucsim run --server`: the service and the scripts on a real network.

use live::canonical::canonical;
use live::{LiveBackend, ServeOptions};
use mucsim_sim::scansion::{run_on, RunOptions};
use server::{MucService, ServiceConfig};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn serve(
    domain: &str,
    connect: &str,
    secret: &str,
    seed: u64,
    store: Option<&Path>,
    admins: &[String],
) -> ExitCode {
    if jid::BareJid::new(domain)
        .map(|j| j.node().is_some())
        .unwrap_or(true)
    {
        eprintln!("mucsim serve: --domain '{domain}' is not a domain name");
        return ExitCode::from(2);
    }
    let opts = ServeOptions::new(domain, connect, secret);
    let mut cfg = ServiceConfig::new(domain, seed);
    for a in admins {
        match jid::BareJid::new(a) {
            Ok(j) => cfg.admins.push(j),
            Err(e) => {
                eprintln!("mucsim serve: --admin '{a}' is not a bare JID: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (mut service, mut durable): (MucService, Box<dyn live::Durable + Send>) = match store {
        None => {
            eprintln!("mucsim serve: no store (--no-store): rooms last as long as this process");
            (MucService::new(cfg), Box::new(live::Memory))
        }
        Some(path) => match open_store(path, cfg) {
            Ok((svc, s)) => {
                eprintln!(
                    "mucsim serve: room store {}: {} restored",
                    path.display(),
                    super::check::count(svc.rooms().count(), "persistent room")
                );
                (svc, Box::new(s))
            }
            Err(e) => {
                eprintln!("mucsim serve: {e}");
                return ExitCode::from(2);
            }
        },
    };
    eprintln!("mucsim serve: {domain} as an XEP-0114 component of {connect}");
    let mut report = |s: live::Status| eprintln!("mucsim serve: {s}");
    match live::serve_until_signalled(&opts, &mut service, &mut *durable, &mut report) {
        Ok(()) => {
            let rooms = super::check::count(service.rooms().count(), "room");
            eprintln!("mucsim serve: shut down cleanly, {rooms} in memory");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mucsim serve: {e}");
            ExitCode::from(1)
        }
    }
}

/// Opens the room store and rebuilds the service from it.
fn open_store(path: &Path, cfg: ServiceConfig) -> Result<(MucService, live::SqliteStore), String> {
    let store = live::SqliteStore::open(path).map_err(|e| e.to_string())?;
    let records = store.load().map_err(|e| e.to_string())?;
    let svc = MucService::restore(cfg, records).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((svc, store))
}

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
