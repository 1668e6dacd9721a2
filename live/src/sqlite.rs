//! The room store of `mucsim serve`: one SQLite file (rusqlite, SQLite bundled into
//! the binary, so a fresh machine needs nothing else).
//!
//! Writes from the service's [`StoreOp`]s are buffered until a `Sync`, then written in
//! one transaction and committed with `synchronous = FULL` in WAL mode: a commit that
//! returned is on disk, and a crash before it leaves the previous state. Nothing is
//! written to a file until it has been recognised as this store's (its
//! `application_id`) at a schema version this build knows; anything else is refused
//! with the reason and left untouched: an empty file too, since only a path where no
//! file exists is created.
//!
//! A store is opened in two steps: [`SqliteStore::read`] checks the file and reads
//! every record without writing anything; the caller rebuilds the service from the
//! records, and only once that is accepted does [`SqliteStore::accept`] write
//! (switch to WAL, upgrade a schema-1 store). A store refused at either step is left
//! as it was, byte for byte.
//!
//! The store is held exclusively for the life of its [`SqliteStore`] by two advisory
//! locks (`flock`, through std's [`std::fs::File::try_lock`]): one on the database
//! file itself, which follows the file whatever name reaches it (a symlink, a hard
//! link, `./`), and one on `FILE.lock` beside the file's canonical path (symlinks
//! resolved), which holds the pid of its holder and guards a store being created.
//! Deleting `FILE.lock` does not free the store: the lock on the database remains.
//! `flock` and SQLite's own POSIX (`fcntl`) locks are independent on Linux; on NFS,
//! where `flock` is emulated with `fcntl`, keep the store on a local file system.
//! The kernel drops both locks when the process ends, however it ends (`kill -9`
//! included), so a stale pid in `FILE.lock` never blocks a restart.
//!
//! The store also keeps the service's secret XEP-0421 occupant-id key (256 random
//! bits, made when the store is created or upgraded from schema 1), and the
//! tombstones of destroyed persistent rooms (schema 4, [`server::Tombstone`]).

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use server::jids::BareJid;
use server::muc::{RoomConfig, Subject};
use server::xml::{parse_stanza, Limits};
use server::{Affiliation, Millis, RoomRecord, StoreOp, Stored, Tombstone};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `PRAGMA application_id` of a mucsim room store: "mucs".
pub const APPLICATION_ID: i32 = 0x6d75_6373;
/// The schema this build writes and reads. Schemas 1 (no `service` table), 2 (no
/// `affiliations.reason` column) and 3 (no `tombstones` table) are upgraded in place
/// on open.
pub const SCHEMA_VERSION: i32 = 4;

/// Schema 3: the reason given with a ban (XEP-0045 §9.1), outcasts only.
const REASON_COLUMN: &str = "ALTER TABLE affiliations ADD COLUMN reason TEXT;";

/// Schema 4: what destroyed persistent rooms leave until they lapse (XEP-0045
/// §10.9, Prosody's tombstones). A room address is in `rooms` or here, never both.
const TOMBSTONES_TABLE: &str = "
CREATE TABLE tombstones (
    jid TEXT PRIMARY KEY NOT NULL,
    -- the reason the owner gave with the destroy, if any
    reason TEXT,
    -- the alternate venue the owner named (a bare JID), if any
    alternate TEXT,
    -- when the tombstone lapses: milliseconds since the Unix epoch
    expires INTEGER NOT NULL CHECK (expires >= 0)
) STRICT;
";

/// The `service` table's row holding the XEP-0421 occupant-id key (a 32-byte BLOB).
pub const OCCUPANT_ID_KEY: &str = "occupant_id_key";

/// Schema 2: the service's own values, one row each (today only the occupant-id key).
const SERVICE_TABLE: &str = "
CREATE TABLE service (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;
";

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
    -- the reason given with a ban (XEP-0045 §9.1), outcasts only
    reason TEXT,
    PRIMARY KEY (room, jid)
) STRICT;
CREATE TABLE tombstones (
    jid TEXT PRIMARY KEY NOT NULL,
    reason TEXT,
    alternate TEXT,
    expires INTEGER NOT NULL CHECK (expires >= 0)
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
    /// The file (or its directory, for the lock and SQLite's WAL files) cannot be
    /// written: a mode, a read-only directory or file system, another user's file.
    CannotWrite(PathBuf, String),
    /// Another process holds the store (the pid recorded in `FILE.lock`, if readable).
    InUse(PathBuf, Option<u32>),
    /// The directory the store would be in does not exist (the path, the directory).
    NoDirectory(PathBuf, PathBuf),
    /// The operating system would not give 256 random bits for a new occupant-id key.
    NoRandomness(PathBuf, String),
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
            StoreError::CannotWrite(p, why) => write!(f, "cannot write {}: {why}", p.display()),
            StoreError::InUse(p, pid) => {
                let pid = pid.map_or_else(|| "unknown".to_string(), |p| p.to_string());
                write!(f, "{} is in use by another mucsim serve (pid {pid})", p.display())
            }
            StoreError::NoDirectory(p, d) => write!(
                f,
                "{}: the directory {} does not exist; create it, or give another --store",
                p.display(),
                d.display()
            ),
            StoreError::NoRandomness(p, why) => write!(
                f,
                "{}: cannot make an occupant-id key: no randomness from the operating system ({why})",
                p.display()
            ),
            StoreError::Sqlite(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for StoreError {}

/// An open room store, held exclusively until dropped.
pub struct SqliteStore {
    path: PathBuf,
    /// Declared before the locks: SQLite's connection closes first, so no descriptor
    /// of the database is closed under its POSIX locks while they matter.
    conn: Connection,
    /// The database file itself, `flock`ed for the store's life.
    _db_lock: std::fs::File,
    /// `FILE.lock`, locked for the store's life (the lock goes with the descriptor).
    _lock: std::fs::File,
    occupant_id_key: [u8; 32],
    /// Writes [`SqliteStore::accept`] still owes: a schema-1 store's upgrade (with the
    /// new key) and the switch to WAL. `None` once accepted.
    owed: Option<Owed>,
    /// Writes since the last sync, in order (`None`: a delete).
    pending: Vec<(BareJid, Option<Stored>)>,
    commits: u64,
}

/// What an existing store still needs written once it is accepted.
struct Owed {
    /// The schema the file holds: below 2, the `service` table with this key, the
    /// `affiliations.reason` column and the `tombstones` table are owed; at 2, the
    /// column and the table; at 3, the table; in every case the version is raised to
    /// [`SCHEMA_VERSION`].
    version: i32,
}

impl SqliteStore {
    /// Opens the store at `path` and accepts it at once: [`SqliteStore::read`], then
    /// [`SqliteStore::accept`]. For callers that do not rebuild a service from the
    /// records before writing (tools, tests); `mucsim serve` uses the two steps.
    ///
    /// Errors: those of [`SqliteStore::read`] and [`SqliteStore::accept`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let (mut store, _) = SqliteStore::read(path)?;
        store.accept()?;
        Ok(store)
    }

    /// Takes the store at `path` (creating it only if no file is there), checks it and
    /// reads every record, in JID order, writing nothing to an existing file: a store
    /// refused here, or whose records the caller refuses, is left as it was. Before
    /// any write (the first [`SqliteStore::apply`] included) the caller must call
    /// [`SqliteStore::accept`].
    ///
    /// Errors, each naming the file: [`StoreError::InUse`] if another process holds it
    /// (through any name of the same file); [`StoreError::NoDirectory`] if its
    /// directory does not exist; [`StoreError::CannotWrite`] if it or its directory
    /// cannot be written; [`StoreError::NotADatabase`] (an empty file included),
    /// [`StoreError::Foreign`] or [`StoreError::NewerSchema`] for a file that is not a
    /// store this build may use; [`StoreError::Corrupt`] naming the room and field of
    /// a damaged record, or the missing table of a file that only carries our
    /// `application_id`.
    pub fn read(path: &Path) -> Result<(SqliteStore, Vec<RoomRecord>), StoreError> {
        use std::os::unix::ffi::OsStrExt;
        // Refused before its lock file is made: a directory has no "beside".
        if path.is_dir() || path.file_name().is_none() || path.as_os_str().as_bytes().ends_with(b"/") {
            return Err(StoreError::NotADatabase(path.into(), "a directory".into()));
        }
        // Nor is a lock file made beside a device (`/dev/null.lock`), a FIFO or a socket.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(StoreError::NotADatabase(
                path.into(),
                "not a regular file: a device, a FIFO or a socket".into(),
            ));
        }
        let canonical = canonical_path(path)?;
        let lock = take_lock(path, &lock_path_of(&canonical))?;
        let fresh = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io_refusal(path, e)),
            Ok(m) if m.is_dir() => return Err(StoreError::NotADatabase(path.into(), "a directory".into())),
            Ok(m) if !m.is_file() => {
                return Err(StoreError::NotADatabase(
                    path.into(),
                    "not a regular file: a device, a FIFO or a socket".into(),
                ))
            }
            Ok(m) if m.len() == 0 => {
                return Err(StoreError::NotADatabase(
                    path.into(),
                    "an empty file; only a path where no file exists is made a new store".into(),
                ))
            }
            Ok(_) => false,
        };
        let sql = |e| sqlite_refusal(path, e);
        if fresh {
            // A new store: nothing to refuse, so it is made whole at once.
            let key = crate::entropy::random_key().map_err(|e| StoreError::NoRandomness(path.into(), e))?;
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(sql)?;
            let db_lock = lock_database(path, &lock)?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(sql)?;
            write_schema(&conn, SCHEMA, &key).map_err(sql)?;
            let store = SqliteStore {
                path: path.into(),
                conn,
                _db_lock: db_lock,
                _lock: lock,
                occupant_id_key: key,
                owed: None,
                pending: Vec::new(),
                commits: 0,
            };
            return Ok((store, Vec::new()));
        }
        // SQLite would quietly open a file it may not write read-only, and then fail
        // on the first write with a misleading reason; this descriptor is also the
        // one the database's own lock is taken on.
        let db_lock = lock_database(path, &lock)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        // Read-only questions only: nothing is written until the store is accepted.
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| match sqlite_refusal(path, e) {
                StoreError::Sqlite(p, e) => StoreError::NotADatabase(p, e.to_string()),
                other => other,
            })?;
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
        let mut tables = vec!["rooms", "affiliations"];
        if version >= 2 {
            tables.push("service");
        }
        if version >= 4 {
            tables.push("tombstones");
        }
        for table in tables {
            let found = conn
                .query_row(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                    params![table],
                    |_| Ok(()),
                )
                .optional()
                .map_err(sql)?;
            if found.is_none() {
                return Err(StoreError::Corrupt(
                    path.into(),
                    format!(
                        "it carries mucsim's application_id at schema {version}, but has no table \
                         `{table}` (not a store mucsim wrote)"
                    ),
                ));
            }
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
        let occupant_id_key = if version < 2 {
            // Kept in memory until the store is accepted; written by `accept`.
            crate::entropy::random_key().map_err(|e| StoreError::NoRandomness(path.into(), e))?
        } else {
            read_key(&conn, path)?
        };
        let store = SqliteStore {
            path: path.into(),
            conn,
            _db_lock: db_lock,
            _lock: lock,
            occupant_id_key,
            owed: Some(Owed { version }),
            pending: Vec::new(),
            commits: 0,
        };
        // Every record must read back (naming the room and field of a damaged one)
        // before SQLite's own check, whose CHECK-constraint message names neither.
        let records = store.load()?;
        store.load_tombstones()?;
        let check: String = store
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(sql)?;
        if check != "ok" {
            return Err(StoreError::Corrupt(path.into(), check));
        }
        Ok((store, records))
    }

    /// Accepts a store [`SqliteStore::read`] gave, once the caller has rebuilt its
    /// service from the records: writes what is owed (WAL mode; an older store's
    /// upgrade to schema 4: the occupant-id key of schema 2, the ban reasons of 3,
    /// the tombstones of 4) and commits it durably, so
    /// the key is on disk before any occupant id made with it is sent. Does nothing
    /// the second time.
    ///
    /// Errors: [`StoreError::Sqlite`] or [`StoreError::CannotWrite`] if the writes fail
    /// (the upgrade is one transaction: nothing of it stays).
    pub fn accept(&mut self) -> Result<(), StoreError> {
        let Some(owed) = self.owed.take() else {
            return Ok(());
        };
        let path = self.path.clone();
        let sql = |e| sqlite_refusal(&path, e);
        let wal: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !wal.eq_ignore_ascii_case("wal") {
            self.owed = Some(owed);
            return Err(StoreError::CannotWrite(
                path.clone(),
                format!("SQLite would not switch it to WAL mode (journal mode {wal})"),
            ));
        }
        let upgrade = |changes: String| {
            self.conn
                .execute_batch(&format!(
                    "BEGIN; {changes} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .inspect_err(|_| {
                    let _ = self.conn.execute_batch("ROLLBACK");
                })
        };
        let upgraded = match owed.version {
            ..=1 => write_schema(
                &self.conn,
                &format!("{REASON_COLUMN} {TOMBSTONES_TABLE}"),
                &self.occupant_id_key,
            ),
            2 => upgrade(format!("{REASON_COLUMN} {TOMBSTONES_TABLE}")),
            3 => upgrade(TOMBSTONES_TABLE.to_string()),
            _ => Ok(()),
        };
        if let Err(e) = upgraded {
            self.owed = Some(owed);
            return Err(sql(e));
        }
        Ok(())
    }

    /// The secret XEP-0421 occupant-id key this store keeps (256 bits, made by the
    /// operating system's randomness when the store was created or upgraded). The
    /// same store gives the same key after every restart, so occupant ids are stable.
    pub fn occupant_id_key(&self) -> [u8; 32] {
        self.occupant_id_key
    }

    /// `FILE.lock`, the lock file beside the store at `path`, after symlinks in
    /// `path` are resolved (as typed if they cannot be: a missing directory).
    pub fn lock_path(path: &Path) -> PathBuf {
        lock_path_of(&canonical_path(path).unwrap_or_else(|_| path.into()))
    }

    /// The path the store was opened by, as given.
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

    /// Every room record, in JID order. A record that does not read back is
    /// [`StoreError::Corrupt`], naming its room and field.
    pub fn load(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let corrupt = |why: String| StoreError::Corrupt(self.path.clone(), why);
        let sql = |e| StoreError::Sqlite(self.path.clone(), e);
        type Lists = (
            BTreeMap<BareJid, Affiliation>,
            BTreeMap<BareJid, String>,
            BTreeMap<BareJid, String>,
        );
        let mut affs: BTreeMap<String, Lists> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare(if self.owed.as_ref().is_some_and(|o| o.version < 3) {
                // Read before an upgrade: no reason column yet.
                "SELECT room, jid, affiliation, nick, NULL FROM affiliations ORDER BY room, jid"
            } else {
                "SELECT room, jid, affiliation, nick, reason FROM affiliations ORDER BY room, jid"
            })
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let room = text(&self.path, r, 0, "affiliations", "room", "?")?.unwrap_or_default();
            let at = |field| format!("room {room}: affiliations.{field}");
            let jid_text = text(&self.path, r, 1, "affiliations", "jid", &room)?.unwrap_or_default();
            let aff = text(&self.path, r, 2, "affiliations", "affiliation", &room)?.unwrap_or_default();
            let nick = text(&self.path, r, 3, "affiliations", "nick", &room)?;
            let jid =
                BareJid::new(&jid_text).map_err(|e| corrupt(format!("{} '{jid_text}': {e}", at("jid"))))?;
            if jid.as_str() != jid_text {
                return Err(corrupt(format!(
                    "{} '{jid_text}' is not in its normal form ({jid}); the service never writes that",
                    at("jid")
                )));
            }
            let reason = text(&self.path, r, 4, "affiliations", "reason", &room)?;
            let aff = Affiliation::parse(&aff)
                .filter(|a| *a != Affiliation::None)
                .ok_or_else(|| corrupt(format!("{} '{aff}' of {jid}", at("affiliation"))))?;
            let lists = affs.entry(room.clone()).or_default();
            if let Some(n) = nick {
                lists.1.insert(jid.clone(), n);
            }
            if let Some(why) = reason {
                lists.2.insert(jid.clone(), why);
            }
            lists.0.insert(jid, aff);
        }
        let query = "SELECT jid, config, subject_by, subject_text FROM rooms ORDER BY jid";
        let out = self.each_row(query, |r| {
            let jid = text(&self.path, r, 0, "rooms", "jid", "?")?.unwrap_or_default();
            let config = text(&self.path, r, 1, "rooms", "config", &jid)?.unwrap_or_default();
            let subject_by = text(&self.path, r, 2, "rooms", "subject_by", &jid)?;
            let subject_text = text(&self.path, r, 3, "rooms", "subject_text", &jid)?;
            let room = room_jid(&self.path, "rooms", &jid)?;
            let form = parse_stanza(config.as_bytes(), server::ns::DATA, &Limits::default())
                .map_err(|e| corrupt(format!("room {jid}: rooms.config: {e}")))?;
            let config = RoomConfig::from_submission(&form)
                .map_err(|e| corrupt(format!("room {jid}: rooms.config: {e}")))?;
            let subject = subject_text.map(|text| Subject { by: subject_by, text });
            let (affiliations, reserved, ban_reasons) = affs.remove(&jid).unwrap_or_default();
            Ok(RoomRecord {
                affiliations,
                reserved,
                ban_reasons,
                jid: room,
                config,
                subject,
            })
        })?;
        if let Some(room) = affs.keys().next() {
            return Err(corrupt(format!("affiliations for {room}, which is not stored")));
        }
        Ok(out)
    }

    /// Every tombstone, in JID order (none in a store below schema 4, which has no
    /// table for them until it is accepted). A tombstone that does not read back is
    /// [`StoreError::Corrupt`], naming its room and field.
    pub fn load_tombstones(&self) -> Result<Vec<Tombstone>, StoreError> {
        if self.owed.as_ref().is_some_and(|o| o.version < 4) {
            return Ok(Vec::new());
        }
        let corrupt = |why: String| StoreError::Corrupt(self.path.clone(), why);
        let sql = |e| StoreError::Sqlite(self.path.clone(), e);
        let query = "SELECT jid, reason, alternate, expires FROM tombstones ORDER BY jid";
        self.each_row(query, |r| {
            let jid = text(&self.path, r, 0, "tombstones", "jid", "?")?.unwrap_or_default();
            let reason = text(&self.path, r, 1, "tombstones", "reason", &jid)?;
            let alternate = text(&self.path, r, 2, "tombstones", "alternate", &jid)?;
            let room = room_jid(&self.path, "tombstones", &jid)?;
            let alternate = alternate
                .map(|a| {
                    BareJid::new(&a)
                        .map_err(|e| corrupt(format!("room {jid}: tombstones.alternate '{a}': {e}")))
                })
                .transpose()?;
            let expires = match r.get_ref(3).map_err(sql)? {
                rusqlite::types::ValueRef::Integer(n) if n >= 0 => Millis(n as u64),
                other => {
                    return Err(corrupt(format!(
                        "room {jid}: tombstones.expires: {other:?} is not a time in milliseconds"
                    )))
                }
            };
            Ok(Tombstone {
                jid: room,
                reason,
                alternate,
                expires,
            })
        })
    }

    /// `each` of the rows `query` selects, in order; the first error stops it.
    fn each_row<T>(
        &self,
        query: &str,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let sql = |e| StoreError::Sqlite(self.path.clone(), e);
        let mut stmt = self.conn.prepare(query).map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql)? {
            out.push(each(r)?);
        }
        Ok(out)
    }

    /// Applies the service's storage effects in order: writes are buffered, and a
    /// `Sync` commits them in one transaction, durably, before it returns.
    /// A store not yet accepted is accepted first ([`SqliteStore::accept`]).
    pub fn apply(&mut self, ops: &[StoreOp]) -> Result<(), StoreError> {
        self.accept()?;
        for op in ops {
            match op {
                StoreOp::Put(r) => self.pending.push((r.jid.clone(), Some(Stored::Room(r.clone())))),
                StoreOp::Bury(t) => self
                    .pending
                    .push((t.jid.clone(), Some(Stored::Tombstone(t.clone())))),
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
            // Each write replaces whatever the address held: a room or a tombstone.
            tx.execute("DELETE FROM affiliations WHERE room = ?1", params![jid.as_str()])
                .map_err(sql)?;
            tx.execute("DELETE FROM tombstones WHERE jid = ?1", params![jid.as_str()])
                .map_err(sql)?;
            match rec {
                None => {
                    tx.execute("DELETE FROM rooms WHERE jid = ?1", params![jid.as_str()])
                        .map_err(sql)?;
                }
                Some(Stored::Tombstone(t)) => {
                    tx.execute("DELETE FROM rooms WHERE jid = ?1", params![jid.as_str()])
                        .map_err(sql)?;
                    // SQLite's INTEGER is signed: a time past i64::MAX is kept as the largest.
                    let expires = i64::try_from(t.expires.0).unwrap_or(i64::MAX);
                    tx.execute(
                        "INSERT INTO tombstones (jid, reason, alternate, expires) VALUES (?1, ?2, ?3, ?4)",
                        params![
                            jid.as_str(),
                            t.reason,
                            t.alternate.as_ref().map(|a| a.as_str()),
                            expires
                        ],
                    )
                    .map_err(sql)?;
                }
                Some(Stored::Room(r)) => {
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
                            "INSERT INTO affiliations (room, jid, affiliation, nick, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![
                                jid.as_str(),
                                user.as_str(),
                                aff.as_str(),
                                r.reserved.get(user),
                                r.ban_reasons.get(user)
                            ],
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

    /// Whether a tombstone is stored at `jid` (for tests and tools).
    pub fn has_tombstone(&self, jid: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT 1 FROM tombstones WHERE jid = ?1",
                params![jid],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| StoreError::Sqlite(self.path.clone(), e))
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

/// Column `i` (`table.field`) of a row of room `room` as text (`None` for NULL). A
/// value that is not UTF-8 text is [`StoreError::Corrupt`] naming the room and the
/// field (rusqlite alone would say "Conversion error from type Text").
/// The room address `jid` read from `table.jid`: a bare JID in its normal form (two
/// rows differing only by case would both be this room), else
/// [`StoreError::Corrupt`] naming the row.
fn room_jid(path: &Path, table: &str, jid: &str) -> Result<BareJid, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(path.into(), format!("room '{jid}': {table}.jid{why}"));
    let room = BareJid::new(jid).map_err(|e| corrupt(format!(": {e}")))?;
    if room.as_str() != jid {
        return Err(corrupt(format!(
            " is not in its normal form ({room}); the service never writes that"
        )));
    }
    Ok(room)
}

fn text(
    path: &Path,
    r: &rusqlite::Row<'_>,
    i: usize,
    table: &str,
    field: &str,
    room: &str,
) -> Result<Option<String>, StoreError> {
    use rusqlite::types::ValueRef;
    let corrupt =
        |why: String| StoreError::Corrupt(path.into(), format!("room {room}: {table}.{field}: {why}"));
    match r.get_ref(i).map_err(|e| StoreError::Sqlite(path.into(), e))? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(b) => match std::str::from_utf8(b) {
            Ok(t) => Ok(Some(t.to_string())),
            Err(e) => {
                // The room's name itself may be what is damaged: show what reads.
                let shown = String::from_utf8_lossy(b);
                Err(corrupt(format!("'{shown}' is not valid UTF-8 ({e})")))
            }
        },
        other => Err(corrupt(format!(
            "a {:?} value where text belongs",
            other.data_type()
        ))),
    }
}

/// Reads the occupant-id key of a store at schema 2.
fn read_key(conn: &Connection, path: &Path) -> Result<[u8; 32], StoreError> {
    let value: Option<rusqlite::types::Value> = conn
        .query_row(
            "SELECT value FROM service WHERE name = ?1",
            params![OCCUPANT_ID_KEY],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| StoreError::Sqlite(path.into(), e))?;
    let corrupt = |why: &str| StoreError::Corrupt(path.into(), format!("service.{OCCUPANT_ID_KEY}: {why}"));
    match value {
        None => Err(corrupt("missing")),
        Some(rusqlite::types::Value::Blob(b)) => b
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(&format!("{} bytes, not 32", b.len()))),
        Some(_) => Err(corrupt("not a BLOB")),
    }
}

/// How long a held lock is waited for before the store is reported in use.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(250);

/// `path` with every symlink resolved: the file's own canonical path if it exists,
/// else its directory's canonical path joined with its name.
/// [`StoreError::NoDirectory`] if that directory does not exist.
fn canonical_path(path: &Path) -> Result<PathBuf, StoreError> {
    if let Ok(c) = std::fs::canonicalize(path) {
        return Ok(c);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default();
    match std::fs::canonicalize(dir) {
        Ok(d) => Ok(d.join(name)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(StoreError::NoDirectory(path.into(), dir.into()))
        }
        Err(e) => Err(io_refusal(path, e)),
    }
}

/// `FILE.lock` beside the (canonical) store path `canonical`.
fn lock_path_of(canonical: &Path) -> PathBuf {
    let mut name = canonical.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    canonical.with_file_name(name)
}

/// Tries `file.try_lock()` for up to [`LOCK_PATIENCE`]: a descriptor can be held for
/// a moment by a child being forked (its copy closes at exec).
fn try_lock_patiently(file: &std::fs::File) -> Result<(), std::fs::TryLockError> {
    let mut waited = std::time::Duration::ZERO;
    let step = std::time::Duration::from_millis(10);
    let mut attempt = file.try_lock();
    while matches!(attempt, Err(std::fs::TryLockError::WouldBlock)) && waited < LOCK_PATIENCE {
        std::thread::sleep(step);
        waited += step;
        attempt = file.try_lock();
    }
    attempt
}

/// Takes the exclusive lock on `lock_path` (`FILE.lock`) and writes this process's
/// pid into it.
fn take_lock(path: &Path, lock_path: &Path) -> Result<std::fs::File, StoreError> {
    use std::io::{Read, Seek, Write};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path)
        .map_err(|e| match io_refusal(path, e) {
            StoreError::CannotWrite(p, why) => StoreError::CannotWrite(
                p,
                format!("{why} (its lock file {} cannot be made)", lock_path.display()),
            ),
            other => other,
        })?;
    match try_lock_patiently(&file) {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StoreError::InUse(path.into(), text.trim().parse().ok()));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError::CannotWrite(
                path.into(),
                format!("cannot lock {}: {e}", lock_path.display()),
            ))
        }
    }
    // A stale pid from a killed holder is overwritten: the lock, not the file's
    // content, says whether the store is in use.
    let written = file
        .set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    written.map_err(|e| io_refusal(lock_path, e))?;
    Ok(file)
}

/// Opens the database file at `path` for reading and writing and takes the exclusive
/// `flock` on it, which follows the file through every name it has.
/// [`StoreError::InUse`] (with the holder's pid from `/proc/locks`, when Linux says)
/// if another descriptor holds it; [`StoreError::CannotWrite`] if it cannot be
/// opened for writing. `_lock_file` is `FILE.lock`, already held: the two locks are
/// always taken in that order, so two processes never wait on each other.
fn lock_database(path: &Path, _lock_file: &std::fs::File) -> Result<std::fs::File, StoreError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_refusal(path, e))?;
    match try_lock_patiently(&file) {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(path.into(), flock_holder(&file))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::CannotWrite(
            path.into(),
            format!("cannot lock it: {e}"),
        )),
    }
}

/// The pid holding a `flock` on `file`, from Linux's `/proc/locks` (lines such as
/// `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`, the third field from the end
/// being `MAJOR:MINOR:INODE`); `None` where that cannot be read. The file is
/// generated as it is read, so a line can be missed while other processes take and
/// drop locks between two reads of it: it is read up to three times.
fn flock_holder(file: &std::fs::File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let ino = file.metadata().ok()?.ino();
    (0..3).find_map(|_| {
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let i = fields.iter().position(|f| *f == "FLOCK")?;
            let pid = fields.get(i + 3)?.parse().ok()?;
            let inode: u64 = fields.get(i + 4)?.rsplit(':').next()?.parse().ok()?;
            (inode == ino).then_some(pid)
        })
    })
}

/// Writes `schema` (the tables of a new store, or nothing for an upgrade), the
/// `service` table with the occupant-id key `key`, our `application_id` and
/// [`SCHEMA_VERSION`], in one transaction: all of it commits or none.
fn write_schema(conn: &Connection, schema: &str, key: &[u8; 32]) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("BEGIN; {schema} {SERVICE_TABLE}"))?;
    let rest = conn
        .execute(
            "INSERT INTO service (name, value) VALUES (?1, ?2)",
            params![OCCUPANT_ID_KEY, &key[..]],
        )
        .and_then(|_| {
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
        });
    if rest.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    rest
}

/// An I/O error on the store's path, worded for the operator.
fn io_refusal(path: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            StoreError::CannotWrite(path.into(), "permission denied".into())
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            StoreError::CannotWrite(path.into(), "read-only file system".into())
        }
        _ => StoreError::NotADatabase(path.into(), e.to_string()),
    }
}

/// An SQLite error while opening: failures to write or to make SQLite's WAL files
/// (a read-only directory) are [`StoreError::CannotWrite`], not a damaged file.
fn sqlite_refusal(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    match e.sqlite_error_code() {
        Some(ReadOnly) | Some(PermissionDenied) | Some(CannotOpen) => {
            StoreError::CannotWrite(path.into(), format!("permission denied ({e})"))
        }
        _ => StoreError::Sqlite(path.into(), e),
    }
}
