//! `mucsim serve` and `mucsim run --server`: the service and the scripts on a real network.

use live::canonical::canonical;
use live::{LiveBackend, ServeOptions};
use mucsim_sim::scansion::{run_on, RunOptions};
use server::{MucService, OccupantIdKey, ServiceConfig};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes of `mucsim serve` (docs/serve-operations.md).
pub mod exit {
    /// Stopped on SIGINT/SIGTERM, the component stream closed cleanly.
    pub const STOPPED: u8 = 0;
    /// The room store failed while serving (nothing more was answered).
    pub const STORE_FAILED: u8 = 1;
    /// Refused at start: a bad argument, key file, --connect address, or store
    /// (not ours, unwritable, damaged, in use by another mucsim serve).
    pub const BAD_START: u8 = 2;
    /// The server refused the component: wrong secret (`not-authorized`), unknown
    /// domain (`host-unknown`), or `conflict` too many times in a row.
    pub const REFUSED: u8 = 3;
}

pub fn serve(
    domain: &str,
    connect: &str,
    secret: &str,
    key_file: Option<&Path>,
    store: Option<&Path>,
    admins: &[String],
) -> ExitCode {
    let fail = |code: u8, why: &dyn std::fmt::Display| {
        eprintln!("mucsim serve: {why}");
        ExitCode::from(code)
    };
    // The domain is checked before anything is opened or locked.
    if let Err(e) = MucService::new(ServiceConfig::new(domain, 0)) {
        return fail(exit::BAD_START, &format!("--domain {e}"));
    }
    let opts = ServeOptions::new(domain, connect, secret);
    // The seeded key is replaced below, before the service is built.
    let mut cfg = ServiceConfig::new(domain, 0);
    for a in admins {
        match jid::BareJid::new(a) {
            Ok(j) => cfg.admins.push(j),
            Err(e) => return fail(exit::BAD_START, &format!("--admin '{a}' is not a bare JID: {e}")),
        }
    }
    let file_key = match key_file.map(read_key_file).transpose() {
        Ok(k) => k,
        Err(e) => return fail(exit::BAD_START, &e),
    };
    let (mut service, mut durable): (MucService, Box<dyn live::Durable + Send>) = match store {
        None => {
            let key = match file_key.map_or_else(live::entropy::random_key, Ok) {
                Ok(k) => k,
                Err(e) => {
                    return fail(
                        exit::BAD_START,
                        &format!("no randomness for the occupant-id key: {e}"),
                    )
                }
            };
            cfg.occupant_id_key = OccupantIdKey::Secret(key);
            let svc = match MucService::new(cfg) {
                Ok(s) => s,
                Err(e) => return fail(exit::BAD_START, &format!("--domain {e}")),
            };
            eprintln!("mucsim serve: no store (--no-store): rooms and the occupant-id key last as long as this process");
            (svc, Box::new(live::Memory))
        }
        Some(path) => match open_store(path, cfg, file_key) {
            Ok((svc, s)) => {
                eprintln!(
                    "mucsim serve: room store {}: {} restored",
                    path.display(),
                    super::check::count(svc.rooms().count(), "persistent room")
                );
                (svc, Box::new(s))
            }
            Err(e) => return fail(exit::BAD_START, &e),
        },
    };
    eprintln!("mucsim serve: {domain} as an XEP-0114 component of {connect}");
    let mut report = |s: live::Status| eprintln!("mucsim serve: {s}");
    match live::serve_until_signalled(&opts, &mut service, &mut *durable, &mut report) {
        Ok(()) => {
            let rooms = super::check::count(service.rooms().count(), "room");
            eprintln!("mucsim serve: shut down cleanly, {rooms} in memory");
            ExitCode::from(exit::STOPPED)
        }
        Err(e) => {
            let code = match &e {
                live::ServeError::Address { .. } => exit::BAD_START,
                live::ServeError::Refused { .. } => exit::REFUSED,
                live::ServeError::Store(_) | live::ServeError::Runtime(_) => exit::STORE_FAILED,
            };
            fail(code, &e)
        }
    }
}

/// Reads `--occupant-id-key-file`: 64 hexadecimal digits (256 bits), optionally
/// surrounded by whitespace (a trailing newline). Anything else is refused with the
/// reason; a file others may read is accepted with a warning.
fn read_key_file(path: &Path) -> Result<[u8; 32], String> {
    use std::os::unix::fs::PermissionsExt;
    let at = |why: String| format!("--occupant-id-key-file {}: {why}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(at(format!(
            "expected 64 hexadecimal digits (a 256-bit key, e.g. from `openssl rand -hex 32`), \
             found {} characters{}",
            hex.chars().count(),
            if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                ""
            } else {
                " with non-hex ones"
            }
        )));
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| at(e.to_string()))?;
    }
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "mucsim serve: warning: {} may be read by other users (mode {:o}); whoever reads it \
                 can tell who is behind a nick",
                path.display(),
                m.permissions().mode() & 0o777
            );
        }
    }
    Ok(key)
}

/// Opens the room store and rebuilds the service from it, keyed by `key` or else by
/// the store's own occupant-id key.
fn open_store(
    path: &Path,
    mut cfg: ServiceConfig,
    key: Option<[u8; 32]>,
) -> Result<(MucService, live::SqliteStore), String> {
    let store = live::SqliteStore::open(path).map_err(|e| e.to_string())?;
    cfg.occupant_id_key = OccupantIdKey::Secret(key.unwrap_or_else(|| store.occupant_id_key()));
    let records = store.load().map_err(|e| e.to_string())?;
    let svc = MucService::restore(cfg, records).map_err(|e| match e {
        server::RestoreError::Config(e) => format!("--domain {e}"),
        e => format!("{}: {e}", path.display()),
    })?;
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
