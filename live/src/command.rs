//! `mucsim serve`, the command: checks its arguments, reads the occupant-id key file,
//! opens the room store (or none), serves until a signal, and says how it ended with
//! an exit code ([`exit`]). `src/main.rs` only parses the command line and calls [`run`].

use crate::serve::{serve_until_signalled, Memory, RoomStore, ServeError, ServeOptions, Status};
use crate::sqlite::SqliteStore;
use server::{MucService, OccupantIdKey, ServiceConfig};
use std::path::Path;
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

/// Runs `mucsim serve` as the service of `domain`, an XEP-0114 component of the
/// server at `connect` (HOST:PORT) authenticated by `secret` (XEP-0114 §3). The
/// occupant-id key (XEP-0421) comes from `key_file` (64 hex digits), else the store,
/// else (with `store` `None`, `--no-store`) the operating system. `admins` are bare
/// JIDs allowed to administer the service (`ServiceConfig::admins`).
///
/// Returns the [`exit`] code; every refusal is said on stderr with its reason
/// (docs/serve-operations.md).
pub fn run(
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
    // XEP-0114 §3: the handshake proves the secret; an empty one proves nothing,
    // and the server would refuse it on every attempt.
    if secret.is_empty() {
        return fail(
            exit::BAD_START,
            &"the component secret is empty (--secret or $MUCSIM_COMPONENT_SECRET)",
        );
    }
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
    let (mut service, mut durable): (MucService, Box<dyn RoomStore + Send>) = match store {
        None => {
            let key = match file_key.map_or_else(crate::entropy::random_key, Ok) {
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
            (svc, Box::new(Memory))
        }
        Some(path) => match open_store(path, cfg, file_key) {
            Ok((svc, s)) => {
                let n = svc.rooms().count();
                eprintln!(
                    "mucsim serve: room store {}: {n} persistent room{} restored",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                );
                (svc, Box::new(s))
            }
            Err(e) => return fail(exit::BAD_START, &e),
        },
    };
    eprintln!("mucsim serve: {domain} as an XEP-0114 component of {connect}");
    let mut report = |s: Status| eprintln!("mucsim serve: {s}");
    match serve_until_signalled(&opts, &mut service, &mut *durable, &mut report) {
        Ok(()) => {
            let n = service.rooms().count();
            let s = if n == 1 { "" } else { "s" };
            eprintln!("mucsim serve: shut down cleanly, {n} room{s} in memory");
            ExitCode::from(exit::STOPPED)
        }
        Err(e) => {
            let code = match &e {
                ServeError::Address { .. } => exit::BAD_START,
                ServeError::Refused { .. } => exit::REFUSED,
                ServeError::Store(_) | ServeError::Runtime(_) => exit::STORE_FAILED,
            };
            fail(code, &e)
        }
    }
}

/// The most `--occupant-id-key-file` may hold: 64 hex digits and whitespace fit with
/// room to spare; anything longer (`/dev/zero`, `/dev/urandom`) is refused unread.
pub const KEY_FILE_MAX: u64 = 1024;

/// Reads `--occupant-id-key-file`: 64 hexadecimal digits (256 bits), optionally
/// surrounded by whitespace (a trailing newline), at most [`KEY_FILE_MAX`] bytes.
/// Anything else is refused with the reason, and so is the all-zero key (it is
/// public: anyone could compute the ids); a file others may read is accepted with a
/// warning.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let at = |why: String| format!("--occupant-id-key-file {}: {why}", path.display());
    let file = std::fs::File::open(path).map_err(|e| at(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(KEY_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| at(e.to_string()))?;
    if bytes.len() as u64 > KEY_FILE_MAX {
        return Err(at(format!(
            "longer than {KEY_FILE_MAX} bytes; a key file holds 64 hexadecimal digits \
             (e.g. from `openssl rand -hex 32`)"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        at("not text; expected 64 hexadecimal digits (e.g. from `openssl rand -hex 32`)".into())
    })?;
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
    if key == [0u8; 32] {
        return Err(at(
            "the all-zero key is public (anyone could tell who is behind a nick); \
             make one with `openssl rand -hex 32`"
                .into(),
        ));
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
/// the store's own occupant-id key. Nothing is written to the store until the
/// service has been rebuilt from its records; then what the store owes (a schema-1
/// upgrade with its new key) is committed, before anything is served.
fn open_store(
    path: &Path,
    mut cfg: ServiceConfig,
    key: Option<[u8; 32]>,
) -> Result<(MucService, SqliteStore), String> {
    let (mut store, records) = SqliteStore::read(path).map_err(|e| e.to_string())?;
    cfg.occupant_id_key = OccupantIdKey::Secret(key.unwrap_or_else(|| store.occupant_id_key()));
    let tombstones = store.load_tombstones().map_err(|e| e.to_string())?;
    let svc = MucService::restore_with_tombstones(cfg, records, tombstones).map_err(|e| match e {
        server::RestoreError::Config(e) => format!("--domain {e}"),
        // Not damage: most likely the store of a service of another --domain.
        e @ server::RestoreError::WrongDomain(_) => format!(
            "{}: {e} (is it the store of another --domain?); refusing to use it",
            path.display()
        ),
        e => format!("{} is damaged: {e}; refusing to use it", path.display()),
    })?;
    store.accept().map_err(|e| e.to_string())?;
    Ok((svc, store))
}
