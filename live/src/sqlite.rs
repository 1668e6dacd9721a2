//! The room store of `mucsim serve`: one SQLite file (rusqlite, SQLite bundled into
//! the binary, so a fresh machine needs nothing else).
//!
//! Writes from the service's [`StoreOp`]s are buffered until a `Sync`, then written in
//! one transaction and committed with `synchronous = FULL` in WAL mode: a commit that
//! returned is on disk, and a crash before it leaves the previous state. Nothing is
//! written to a file until it has been recognised as this store's (its
//! `application_id`) at a schema version this build knows; anything else is refused
//! with the reason and left untouched.

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use server::jids::BareJid;
use server::muc::{RoomConfig, Subject};
use server::xml::{parse_stanza, Limits};
use server::{Affiliation, RoomRecord, StoreOp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `PRAGMA application_id` of a mucsim room store: "mucs".
pub const APPLICATION_ID: i32 = 0x6d75_6373;
/// The schema this build writes and reads.
pub const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE rooms (
    jid TEXT PRIMARY KEY NOT NULL,
    -- the configuration as a submitted muc#roomconfig data form (XEP-0004)
    config TEXT NOT NULL,
    subject_by TEXT,
    subject_text TEXT
) STRICT;
CREATE TABLE affiliations (
    room TEXT NOT NULL REFERENCES rooms(jid) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    affiliation TEXT NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
    -- the nickname this user reserved in the room (XEP-0045 §7.10), if any
    nick TEXT,
    PRIMARY KEY (room, jid)
) STRICT;
";

/// Why a file cannot be used as the room store.
#[derive(Debug)]
pub enum StoreError {
    /// Not an SQLite database at all (garbage, truncated, encrypted).
    NotADatabase(PathBuf, String),
    /// An SQLite database of some other program.
    Foreign(PathBuf, i32),
    /// Written by a newer mucsim.
    NewerSchema(PathBuf, i32),
    /// Ours, but damaged or inconsistent.
    Corrupt(PathBuf, String),
    /// An I/O or SQLite failure while using a good file.
    Sqlite(PathBuf, rusqlite::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotADatabase(p, why) => write!(
                f,
                "{} is not an SQLite database ({why}); refusing to use or overwrite it",
                p.display()
            ),
            StoreError::Foreign(p, id) => write!(
                f,
                "{} is an SQLite database of another program (application_id {id:#x}, not mucsim's \
                 {APPLICATION_ID:#x}); refusing to use or overwrite it",
                p.display()
            ),
            StoreError::NewerSchema(p, v) => write!(
                f,
                "{} was written by a newer mucsim (schema {v}; this build reads schema {SCHEMA_VERSION}); \
                 refusing to use it",
                p.display()
            ),
            StoreError::Corrupt(p, why) => write!(f, "{} is damaged: {why}; refusing to use it", p.display()),
            StoreError::Sqlite(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for StoreError {}

pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
    /// Writes since the last sync, in order (`None`: a delete).
    pending: Vec<(BareJid, Option<std::sync::Arc<RoomRecord>>)>,
    commits: u64,
}

impl SqliteStore {
    /// Opens the store at `path`, creating it if there is no file there.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let fresh = match std::fs::metadata(path) {
            Ok(m) => m.len() == 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(StoreError::NotADatabase(path.into(), e.to_string())),
        };
        let flags = if fresh {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let sql = |e| StoreError::Sqlite(path.into(), e);
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(sql)?;
        if !fresh {
            // Read-only questions first: nothing is written until the file is known.
            let app: i32 = conn
                .query_row("PRAGMA application_id", [], |r| r.get(0))
                .map_err(|e| StoreError::NotADatabase(path.into(), e.to_string()))?;
            if app != APPLICATION_ID {
                return Err(StoreError::Foreign(path.into(), app));
            }
            let version: i32 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sql)?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema(path.into(), version));
            }
            if version < 1 {
                return Err(StoreError::Corrupt(
                    path.into(),
                    format!("schema version {version}"),
                ));
            }
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(sql)?;
            if check != "ok" {
                return Err(StoreError::Corrupt(path.into(), check));
            }
        }
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
        if fresh {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(sql)?;
        }
        let store = SqliteStore {
            path: path.into(),
            conn,
            pending: Vec::new(),
            commits: 0,
        };
        // Every record must read back before the store is used.
        store.load()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Transactions committed since opening.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Writes not yet synced.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Every room record, in JID order.
    pub fn load(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let corrupt = |why: String| StoreError::Corrupt(self.path.clone(), why);
        let sql = |e| StoreError::Sqlite(self.path.clone(), e);
        type Lists = (BTreeMap<BareJid, Affiliation>, BTreeMap<BareJid, String>);
        let mut affs: BTreeMap<String, Lists> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT room, jid, affiliation, nick FROM affiliations ORDER BY room, jid")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (room, jid, aff, nick) = row.map_err(sql)?;
            let jid = BareJid::new(&jid)
                .map_err(|e| corrupt(format!("room {room}: affiliation for '{jid}': {e}")))?;
            let aff = Affiliation::parse(&aff)
                .filter(|a| *a != Affiliation::None)
                .ok_or_else(|| corrupt(format!("room {room}: affiliation '{aff}'")))?;
            let lists = affs.entry(room).or_default();
            if let Some(n) = nick {
                lists.1.insert(jid.clone(), n);
            }
            lists.0.insert(jid, aff);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT jid, config, subject_by, subject_text FROM rooms ORDER BY jid")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(sql)?;
        let mut out = Vec::new();
        for row in rows {
            let (jid, config, subject_by, subject_text) = row.map_err(sql)?;
            let room = BareJid::new(&jid).map_err(|e| corrupt(format!("room '{jid}': {e}")))?;
            let form = parse_stanza(config.as_bytes(), server::ns::DATA, &Limits::default())
                .map_err(|e| corrupt(format!("room {jid}: configuration: {e}")))?;
            let config = RoomConfig::from_submission(&form)
                .map_err(|e| corrupt(format!("room {jid}: configuration: {e}")))?;
            let subject = subject_text.map(|text| Subject { by: subject_by, text });
            let (affiliations, reserved) = affs.remove(&jid).unwrap_or_default();
            out.push(RoomRecord {
                affiliations,
                reserved,
                jid: room,
                config,
                subject,
            });
        }
        if let Some(room) = affs.keys().next() {
            return Err(corrupt(format!("affiliations for {room}, which is not stored")));
        }
        Ok(out)
    }

    /// Applies the service's storage effects in order: writes are buffered, and a
    /// `Sync` commits them in one transaction, durably, before it returns.
    pub fn apply(&mut self, ops: &[StoreOp]) -> Result<(), StoreError> {
        for op in ops {
            match op {
                StoreOp::Put(r) => self.pending.push((r.jid.clone(), Some(r.clone()))),
                StoreOp::Delete(j) => self.pending.push((j.clone(), None)),
                StoreOp::Sync => self.sync()?,
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sql = |e| StoreError::Sqlite(self.path.clone(), e);
        let tx = self.conn.transaction().map_err(sql)?;
        for (jid, rec) in &self.pending {
            tx.execute("DELETE FROM affiliations WHERE room = ?1", params![jid.as_str()])
                .map_err(sql)?;
            match rec {
                None => {
                    tx.execute("DELETE FROM rooms WHERE jid = ?1", params![jid.as_str()])
                        .map_err(sql)?;
                }
                Some(r) => {
                    let config = r.config.to_submission().to_xml_in(server::ns::DATA);
                    let (by, text) = match &r.subject {
                        Some(s) => (s.by.clone(), Some(s.text.clone())),
                        None => (None, None),
                    };
                    tx.execute(
                        "INSERT INTO rooms (jid, config, subject_by, subject_text) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (jid) DO UPDATE SET config = ?2, subject_by = ?3, subject_text = ?4",
                        params![jid.as_str(), config, by, text],
                    )
                    .map_err(sql)?;
                    for (user, aff) in &r.affiliations {
                        tx.execute(
                            "INSERT INTO affiliations (room, jid, affiliation, nick) VALUES (?1, ?2, ?3, ?4)",
                            params![jid.as_str(), user.as_str(), aff.as_str(), r.reserved.get(user)],
                        )
                        .map_err(sql)?;
                    }
                }
            }
        }
        tx.commit().map_err(sql)?;
        self.pending.clear();
        self.commits += 1;
        Ok(())
    }

    /// The raw connection, for tests that must stop halfway through a transaction.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether a room is stored (for tests and tools).
    pub fn has_room(&self, jid: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT 1 FROM rooms WHERE jid = ?1", params![jid], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| StoreError::Sqlite(self.path.clone(), e))
    }
}
