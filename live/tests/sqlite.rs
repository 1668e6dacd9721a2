//! The SQLite room store: every persisted field round-trips; a process killed in the
//! middle of a transaction loses nothing that was acknowledged; files that are not a
//! mucsim room store are refused with the reason and left byte for byte as they were.

use live::sqlite::{SqliteStore, StoreError, APPLICATION_ID, SCHEMA_VERSION};
use server::jids::BareJid;
use server::muc::{RoomConfig, Subject};
use server::{Affiliation, RoomRecord, StoreOp};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// A fresh directory for one test (tempfile's), removed when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    let prefix = format!("mucsim-store-{name}-");
    tempfile::Builder::new().prefix(&prefix).tempdir().unwrap()
}

fn jid(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn record(room: &str, members: usize) -> RoomRecord {
    let mut affiliations = BTreeMap::new();
    affiliations.insert(jid("owner@localhost"), Affiliation::Owner);
    for i in 0..members {
        affiliations.insert(jid(&format!("member{i}@localhost")), Affiliation::Member);
    }
    RoomRecord {
        jid: jid(room),
        config: RoomConfig {
            persistent: true,
            ..RoomConfig::default()
        },
        affiliations,
        reserved: BTreeMap::new(),
        ban_reasons: BTreeMap::new(),
        subject: None,
    }
}

fn put_and_sync(store: &mut SqliteStore, r: RoomRecord) {
    store.apply(&[StoreOp::Put(Arc::new(r)), StoreOp::Sync]).unwrap();
}

/// A store in a fresh directory holding `room` with one member, closed, then edited
/// by the SQL `batch` through a plain connection (what another program, an older
/// build or a damaged disk leaves). The directory lives as long as the handle.
fn store_edited_by(name: &str, room: &str, batch: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir(name);
    let path = dir.path().join("rooms.sqlite");
    put_and_sync(&mut SqliteStore::open(&path).unwrap(), record(room, 1));
    edit(&path, batch);
    (dir, path)
}

/// Runs the SQL `batch` on the closed store at `path` through a plain connection.
fn edit(path: &Path, batch: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(batch)
        .unwrap();
}

/// The refusal of the store at `path`, which must name `what`.
fn refused_naming(path: &Path, what: &str) -> String {
    let e = refused(path).to_string();
    assert!(e.contains(what), "{e}");
    e
}

/// The store's schema version (`PRAGMA user_version`).
fn user_version(store: &SqliteStore) -> i32 {
    store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_persisted_field_round_trips() {
    let dir = temp_dir("roundtrip");
    let path = dir.path().join("rooms.sqlite");
    let full = RoomRecord {
        jid: jid("capulet@conference.localhost"),
        config: RoomConfig::every_field_changed(),
        affiliations: [
            (jid("owner@localhost"), Affiliation::Owner),
            (jid("nurse@localhost"), Affiliation::Admin),
            (jid("juliet@localhost"), Affiliation::Member),
            (jid("romeo@localhost"), Affiliation::Outcast),
            (jid("montague.example"), Affiliation::Outcast),
        ]
        .into(),
        reserved: [
            (jid("nurse@localhost"), "Nurse".to_string()),
            (jid("juliet@localhost"), "Juliet \u{1F319}".to_string()),
        ]
        .into(),
        ban_reasons: [(
            jid("romeo@localhost"),
            "Banished to <Mantua> & 'beyond'".to_string(),
        )]
        .into(),
        subject: Some(Subject {
            by: Some("Nurse".into()),
            text: "Wherefore art thou".into(),
        }),
    };
    let plain = RoomRecord {
        subject: Some(Subject {
            by: None,
            text: String::new(),
        }),
        ..record("plain@conference.localhost", 0)
    };
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, full.clone());
        put_and_sync(&mut store, plain.clone());
        put_and_sync(&mut store, record("gone@conference.localhost", 2));
        store
            .apply(&[StoreOp::Delete(jid("gone@conference.localhost")), StoreOp::Sync])
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), vec![full, plain]);
}

#[test]
fn writes_without_a_sync_are_not_on_disk() {
    let dir = temp_dir("nosync");
    let path = dir.path().join("rooms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record("a@conference.localhost", 1));
        store
            .apply(&[StoreOp::Put(Arc::new(record("a@conference.localhost", 5)))])
            .unwrap();
        assert_eq!(store.pending(), 1);
        // Dropped here: the process "crashes" with the write unsynced.
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), vec![record("a@conference.localhost", 1)]);
}

/// The child side of the crash test: acknowledges synced rooms on stdout, then opens
/// a transaction, writes into it, says so, and waits to be killed.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("MUCSIM_CRASH_CHILD") else {
        return;
    };
    let mut store = SqliteStore::open(Path::new(&path)).unwrap();
    for i in 0..20 {
        put_and_sync(&mut store, record(&format!("r{i}@conference.localhost"), i));
        println!("acked r{i}");
    }
    let conn = store.connection();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..2000 {
        conn.execute(
            "INSERT INTO rooms (jid, config, subject_by, subject_text) VALUES (?1, 'half-written', NULL, NULL)",
            [format!("torn{i}@conference.localhost")],
        )
        .unwrap();
    }
    conn.execute(
        "DELETE FROM affiliations WHERE room = 'r3@conference.localhost'",
        [],
    )
    .unwrap();
    println!("in transaction");
    std::thread::sleep(std::time::Duration::from_secs(60));
    panic!("the parent should have killed this process");
}

#[test]
fn a_process_killed_inside_a_transaction_loses_nothing_acknowledged() {
    let dir = temp_dir("kill");
    let path = dir.path().join("rooms.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads", "1"])
        .env("MUCSIM_CRASH_CHILD", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        // The test harness may print its own words on the same line first.
        if let Some(at) = line.find("acked ") {
            acked.push(line[at + "acked ".len()..].to_string());
        }
        if line.contains("in transaction") {
            break;
        }
    }
    assert_eq!(acked.len(), 20, "the child acknowledged its rooms");
    child.kill().unwrap(); // SIGKILL, mid-transaction
    child.wait().unwrap();
    let store = SqliteStore::open(&path).expect("the store opens after the kill");
    let rooms = store.load().unwrap();
    let expected: Vec<RoomRecord> = (0..20)
        .map(|i| record(&format!("r{i}@conference.localhost"), i))
        .collect();
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| a.jid.cmp(&b.jid));
    assert_eq!(
        rooms, sorted,
        "every acknowledged room, whole; nothing of the torn transaction"
    );
}

fn refused(path: &Path) -> StoreError {
    match SqliteStore::open(path) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => e,
    }
}

#[test]
fn garbage_is_refused_and_left_untouched() {
    let dir = temp_dir("garbage");
    let path = dir.path().join("rooms.sqlite");
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let e = refused(&path);
    assert!(matches!(e, StoreError::NotADatabase(..)), "{e}");
    assert!(e.to_string().contains("not an SQLite database"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "never overwritten");
    // A text file, say a config put at the wrong path.
    std::fs::write(&path, "-- prosody.cfg.lua\nadmins = { }\n").unwrap();
    assert!(matches!(refused(&path), StoreError::NotADatabase(..)));
}

#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let dir = temp_dir("foreign");
    let path = dir.path().join("other.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE accounts (user TEXT); INSERT INTO accounts VALUES ('juliet');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let e = refused(&path);
    assert!(matches!(e, StoreError::Foreign(_, 0)), "{e}");
    assert!(e.to_string().contains("another program"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let newer = format!(
        "PRAGMA user_version = {}; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;",
        SCHEMA_VERSION + 1
    );
    let (_dir, path) = store_edited_by("newer", "a@conference.localhost", &newer);
    let before = std::fs::read(&path).unwrap();
    let e = refused(&path);
    assert!(
        matches!(e, StoreError::NewerSchema(_, v) if v == SCHEMA_VERSION + 1),
        "{e}"
    );
    assert!(e.to_string().contains("newer mucsim"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_damaged_record_is_refused_with_the_room_named() {
    let torn = "UPDATE rooms SET config = '<x xmlns=''jabber:x:data''><field' ";
    let (_dir, path) = store_edited_by("damaged", "a@conference.localhost", torn);
    let e = refused(&path);
    assert!(matches!(e, StoreError::Corrupt(..)), "{e}");
    assert!(e.to_string().contains("a@conference.localhost"), "{e}");
    assert_eq!(APPLICATION_ID, 0x6d75_6373);
}

/// The occupant id (XEP-0421) a service keyed by `key` gives juliet in `room`.
fn occupant_id(key: [u8; 32]) -> String {
    use server::{Millis, MucService, OccupantIdKey, ServiceConfig};
    let mut cfg = ServiceConfig::new("conference.localhost", 0);
    cfg.occupant_id_key = OccupantIdKey::Secret(key);
    let mut svc = MucService::new(cfg).unwrap();
    let join = server::xml::parse_stanza(
        b"<presence to='room@conference.localhost/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        server::ns::CLIENT,
        &server::xml::Limits::default(),
    )
    .unwrap();
    let out = svc.handle(Millis(0), "juliet@localhost/balcony".parse().unwrap(), join);
    let (before, _, after) = out.into_parts();
    before
        .iter()
        .chain(&after)
        .find_map(|o| {
            o.element()
                .child("occupant-id", "urn:xmpp:occupant-id:0")
                .and_then(|e| e.attr("id").map(str::to_string))
        })
        .expect("the join presence carries an occupant-id")
}

#[test]
fn two_fresh_stores_give_different_occupant_ids_and_one_store_the_same_after_a_restart() {
    let dir = temp_dir("key");
    let (a, b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
    let key_a = SqliteStore::open(&a).unwrap().occupant_id_key();
    let key_b = SqliteStore::open(&b).unwrap().occupant_id_key();
    assert_ne!(key_a, key_b);
    assert_ne!(occupant_id(key_a), occupant_id(key_b), "same user, same room");
    let again = SqliteStore::open(&a).unwrap().occupant_id_key();
    assert_eq!(
        occupant_id(again),
        occupant_id(key_a),
        "one store across a restart"
    );
}

#[test]
fn a_schema_1_store_is_upgraded_with_a_key_and_keeps_its_rooms() {
    // What a build of schema 1 left: no `service` table.
    let (_dir, path) = store_edited_by(
        "upgrade",
        "a@conference.localhost",
        "ALTER TABLE affiliations DROP COLUMN reason; DROP TABLE tombstones; DROP TABLE service; PRAGMA user_version = 1;",
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), vec![record("a@conference.localhost", 1)]);
    let key = store.occupant_id_key();
    let version = user_version(&store);
    assert_eq!(version, SCHEMA_VERSION);
    drop(store);
    assert_eq!(SqliteStore::open(&path).unwrap().occupant_id_key(), key);
}

#[test]
fn a_schema_2_store_is_upgraded_with_ban_reasons_and_keeps_its_rooms_and_key() {
    // What a build of schema 2 left: no `affiliations.reason`.
    let (_dir, path) = store_edited_by(
        "upgrade2",
        "a@conference.localhost",
        "ALTER TABLE affiliations DROP COLUMN reason; DROP TABLE tombstones; PRAGMA user_version = 2;",
    );
    // The key the schema-2 file holds, read before the upgrade.
    let key: Vec<u8> = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT value FROM service WHERE name = ?1",
            [live::sqlite::OCCUPANT_ID_KEY],
            |r| r.get(0),
        )
        .unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), vec![record("a@conference.localhost", 1)]);
    assert_eq!(store.occupant_id_key().to_vec(), key);
    let version = user_version(&store);
    assert_eq!(version, SCHEMA_VERSION);
    let mut banned = record("a@conference.localhost", 0);
    banned
        .affiliations
        .insert(jid("romeo@localhost"), Affiliation::Outcast);
    banned
        .ban_reasons
        .insert(jid("romeo@localhost"), "Banished".into());
    put_and_sync(&mut store, banned.clone());
    drop(store);
    assert_eq!(SqliteStore::open(&path).unwrap().load().unwrap(), vec![banned]);
}

#[test]
fn a_held_store_is_refused_with_the_holders_pid_until_it_is_let_go() {
    let dir = temp_dir("held");
    let path = dir.path().join("rooms.sqlite");
    let first = SqliteStore::open(&path).unwrap();
    let e = refused(&path);
    assert!(
        matches!(e, StoreError::InUse(_, Some(pid)) if pid == std::process::id()),
        "{e}"
    );
    let want = format!(
        "{} is in use by another mucsim serve (pid {})",
        path.display(),
        std::process::id()
    );
    assert_eq!(e.to_string(), want);
    drop(first);
    SqliteStore::open(&path).expect("free again once the holder is gone");
}

#[test]
fn a_stale_pid_in_the_lock_file_does_not_block_an_open() {
    let dir = temp_dir("stale");
    let path = dir.path().join("rooms.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let lock = SqliteStore::lock_path(&path);
    assert_eq!(lock, dir.path().join("rooms.sqlite.lock"));
    std::fs::write(&lock, "4194304\n").unwrap(); // a pid no process holds the lock for
    let _store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        format!("{}\n", std::process::id())
    );
}

#[test]
fn an_empty_file_is_refused_and_left_empty() {
    let dir = temp_dir("empty");
    let path = dir.path().join("rooms.sqlite");
    std::fs::write(&path, b"").unwrap();
    let e = refused(&path);
    assert!(matches!(e, StoreError::NotADatabase(..)), "{e}");
    assert!(e.to_string().contains("empty file"), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "never initialised");
    // A directory is refused too, without a lock file beside it.
    let e = refused(dir.path());
    assert!(e.to_string().contains("a directory"), "{e}");
    assert!(!dir.path().with_extension("lock").exists());
}

#[test]
fn a_record_that_is_not_text_names_its_room_and_field() {
    let (_dir, path) = store_edited_by(
        "utf8",
        "a@conference.localhost",
        "UPDATE rooms SET subject_text = CAST(x'c328' AS TEXT)",
    );
    let e = refused_naming(&path, "room a@conference.localhost: rooms.subject_text");
    assert!(!e.contains("Conversion error"), "{e}");
    edit(
        &path,
        "UPDATE rooms SET subject_text = NULL; UPDATE affiliations SET nick = CAST(x'ff' AS TEXT);",
    );
    refused_naming(&path, "room a@conference.localhost: affiliations.nick");
}

/// The child side of the unwritable-store test: opens the store it is given and
/// prints the refusal. Run as an unprivileged user when the tests run as root.
#[test]
fn unwritable_child() {
    let Ok(path) = std::env::var("MUCSIM_UNWRITABLE_CHILD") else {
        return;
    };
    match SqliteStore::open(Path::new(&path)) {
        Ok(_) => println!("refusal: none"),
        Err(e) => println!("refusal: {e}"),
    }
}

/// Opens `path` in a child process that mode bits apply to: this one when not root;
/// as user `nobody` (65534) when root, which ignores them. `None` if that cannot be
/// arranged (the caller then skips, saying so).
fn open_unprivileged(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "unwritable_child",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("MUCSIM_UNWRITABLE_CHILD", path)
    .stderr(Stdio::null());
    let probe = std::env::temp_dir().join(format!("mucsim-uid-{}", std::process::id()));
    std::fs::write(&probe, b"").unwrap();
    let root = std::fs::metadata(&probe).unwrap().uid() == 0;
    let _ = std::fs::remove_file(&probe);
    if root {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split_once("refusal: ").map(|(_, r)| r.to_string()));
    if line.is_none() {
        eprintln!("SKIPPED: the unprivileged child could not run: {text}");
    }
    line
}

/// Opens `path` unprivileged while its directory `dir` is read-only (mode 555); the
/// refusal, which must say the store cannot be written.
fn open_in_read_only_dir(dir: &Path, path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let refusal = open_unprivileged(path).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let want = format!("cannot write {}: permission denied", path.display());
    assert!(refusal.starts_with(&want), "{refusal}");
    refusal
}

#[test]
fn an_unwritable_store_says_cannot_write_not_damaged() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("unwritable");
    // A directory the unprivileged child may enter, holding a valid store.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("rooms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record("a@conference.localhost", 1));
    }
    for f in [
        "rooms.sqlite",
        "rooms.sqlite.lock",
        "rooms.sqlite-wal",
        "rooms.sqlite-shm",
    ] {
        if let Ok(m) = std::fs::metadata(dir.path().join(f)) {
            let mut p = m.permissions();
            p.set_mode(0o644);
            std::fs::set_permissions(dir.path().join(f), p).unwrap();
        }
    }
    // Mode 444 on the store (the directory and the lock file stay writable for root
    // only, so the child meets the lock file first: make it writable by anyone).
    std::fs::set_permissions(
        dir.path().join("rooms.sqlite.lock"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let Some(refusal) = open_unprivileged(&path) else {
        return;
    };
    assert_eq!(
        refusal,
        format!("cannot write {}: permission denied", path.display())
    );
    // A read-only directory, with no lock file yet: the lock cannot be made.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::remove_file(dir.path().join("rooms.sqlite.lock")).unwrap();
    let refusal = open_in_read_only_dir(dir.path(), &path);
    assert!(!refusal.contains("not an SQLite database"), "{refusal}");
    // A read-only directory where the lock file is already there (a store that was
    // served before): SQLite cannot make its WAL files.
    std::fs::write(dir.path().join("rooms.sqlite.lock"), b"").unwrap();
    std::fs::set_permissions(
        dir.path().join("rooms.sqlite.lock"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    open_in_read_only_dir(dir.path(), &path);
}

#[test]
fn a_destroyed_kept_room_is_gone_from_the_file_before_anything_tells_of_it() {
    use server::{Millis, MucService, ServiceConfig};
    let dir = temp_dir("destroy");
    let path = dir.path().join("rooms.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let mut svc = MucService::restore(
        ServiceConfig::new("conference.localhost", 1),
        [record("a@conference.localhost", 1)],
    )
    .unwrap();
    put_and_sync(&mut store, record("a@conference.localhost", 1));
    let el = |x: &str| {
        server::xml::parse_stanza(x.as_bytes(), server::ns::CLIENT, &server::xml::Limits::default()).unwrap()
    };
    let owner: jid::FullJid = "owner@localhost/a".parse().unwrap();
    let member: jid::FullJid = "member0@localhost/b".parse().unwrap();
    let join = |n: &str| {
        format!("<presence to='a@conference.localhost/{n}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
    };
    let _ = svc.handle(Millis(1), owner.clone(), el(&join("Owner")));
    let _ = svc.handle(Millis(2), member.clone(), el(&join("Member")));
    let out = svc.handle(
        Millis(3),
        owner,
        el("<iq id='d' to='a@conference.localhost' type='set'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"),
    );
    // Applied the way `mucsim serve` applies an outbox: the stanzas before the
    // store's ops are written first, then the ops, then the rest.
    let (before, ops, after) = out.into_parts();
    assert!(before.is_empty(), "nothing is told before the delete: {before:?}");
    assert!(store.has_room("a@conference.localhost").unwrap());
    store.apply(&ops).unwrap();
    // Durable: another connection to the file no longer sees the room.
    let other = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = other
        .query_row(
            "SELECT count(*) FROM rooms WHERE jid = 'a@conference.localhost'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    assert!(
        after
            .iter()
            .any(|o| o.to.to_string() == "member0@localhost/b" && o.element().to_xml().contains("<destroy")),
        "the occupant is told of the destruction, after: {after:?}"
    );
}

/// The error `SqliteStore::open` gives, with the expected "in use" sentence.
#[track_caller]
fn assert_in_use(path: &Path) {
    let e = refused(path);
    assert!(
        matches!(e, StoreError::InUse(_, Some(pid)) if pid == std::process::id()),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{} is in use by another mucsim serve (pid {})",
            path.display(),
            std::process::id()
        )
    );
}

#[test]
fn a_held_store_is_refused_through_every_name_and_after_its_lock_file_is_deleted() {
    let dir = temp_dir("aliases");
    let path = dir.path().join("rooms.sqlite");
    let _held = SqliteStore::open(&path).unwrap();
    // A symlink to the store, and a path through a symlinked directory.
    let link = dir.path().join("link.sqlite");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert_in_use(&link);
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sub")).unwrap();
    assert_in_use(&dir.path().join("sub").join("rooms.sqlite"));
    assert_eq!(
        SqliteStore::lock_path(&link),
        dir.path().join("rooms.sqlite.lock")
    );
    // A hard link: another name, another FILE.lock, the same file.
    let hard = dir.path().join("hard.sqlite");
    std::fs::hard_link(&path, &hard).unwrap();
    assert_in_use(&hard);
    // The operator deletes FILE.lock while the store is held.
    std::fs::remove_file(dir.path().join("rooms.sqlite.lock")).unwrap();
    assert_in_use(&path);
}

#[test]
fn a_store_in_a_missing_directory_says_the_directory_does_not_exist() {
    let dir = temp_dir("nodir");
    let path = dir.path().join("nodir").join("rooms.sqlite");
    let e = refused(&path);
    assert!(matches!(e, StoreError::NoDirectory(..)), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "the directory {} does not exist",
            dir.path().join("nodir").display()
        )),
        "{e}"
    );
    assert!(!e.to_string().contains("not an SQLite database"), "{e}");
}

/// A schema-1 store (as a build of schema 1 left it) holding room `a`, closed, its
/// WAL folded in.
fn schema_1_store(path: &Path, room: RoomRecord) {
    {
        let mut store = SqliteStore::open(path).unwrap();
        put_and_sync(&mut store, room);
    }
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("ALTER TABLE affiliations DROP COLUMN reason; DROP TABLE tombstones; DROP TABLE service; PRAGMA user_version = 1; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

#[test]
fn a_damaged_schema_1_store_is_refused_without_being_written() {
    let dir = temp_dir("v1damaged");
    let path = dir.path().join("rooms.sqlite");
    schema_1_store(&path, record("a@conference.localhost", 1));
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "UPDATE affiliations SET jid = 'member0@localhost/res' WHERE jid = 'member0@localhost';
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let e = refused(&path);
    assert!(matches!(e, StoreError::Corrupt(..)), "{e}");
    assert!(e.to_string().contains("affiliations.jid"), "{e}");
    assert!(
        std::fs::read(&path).unwrap() == before,
        "not upgraded, not written"
    );
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 1);
}

#[test]
fn a_schema_1_store_whose_records_the_service_refuses_is_not_written() {
    use server::{MucService, ServiceConfig};
    let dir = temp_dir("v1refused");
    let path = dir.path().join("rooms.sqlite");
    let mut bad = record("a@conference.localhost", 2);
    // Two users reserving one nick: reads back, but no service could have written it.
    bad.reserved.insert(jid("member0@localhost"), "Jul".into());
    bad.reserved.insert(jid("member1@localhost"), "Jul".into());
    schema_1_store(&path, bad);
    let before = std::fs::read(&path).unwrap();
    {
        let (store, records) = SqliteStore::read(&path).expect("every record reads back");
        assert!(MucService::restore(ServiceConfig::new("conference.localhost", 0), records).is_err());
        drop(store); // refused: never accepted
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "not upgraded, not written"
    );
    // Accepted, the upgrade commits before anything else is written.
    let (mut store, _) = SqliteStore::read(&path).unwrap();
    store.accept().unwrap();
    let v = user_version(&store);
    assert_eq!(v, SCHEMA_VERSION);
    let key = store.occupant_id_key();
    drop(store);
    assert_eq!(
        SqliteStore::open(&path).unwrap().occupant_id_key(),
        key,
        "the key is durable"
    );
}

#[test]
fn a_file_carrying_our_application_id_without_our_tables_is_refused_clearly() {
    let dir = temp_dir("appid");
    for version in [1, SCHEMA_VERSION] {
        let path = dir.path().join(format!("v{version}.sqlite"));
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version};"
            ))
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = refused(&path);
        assert!(matches!(e, StoreError::Corrupt(..)), "{e}");
        assert!(e.to_string().contains("no table `rooms`"), "{e}");
        assert!(!e.to_string().contains("no such table"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}

#[test]
fn rooms_differing_only_by_case_and_unknown_affiliations_name_room_and_field() {
    let (_dir, path) = store_edited_by(
        "case",
        "room@conference.localhost",
        "INSERT INTO rooms SELECT 'ROOM@conference.localhost', config, subject_by, subject_text FROM rooms",
    );
    refused_naming(
        &path,
        "room 'ROOM@conference.localhost': rooms.jid is not in its normal form",
    );
    edit(
        &path,
        "DELETE FROM rooms WHERE jid = 'ROOM@conference.localhost';
         PRAGMA ignore_check_constraints = 1;
         UPDATE affiliations SET affiliation = 'king' WHERE jid = 'member0@localhost';",
    );
    let e = refused_naming(
        &path,
        "room room@conference.localhost: affiliations.affiliation 'king'",
    );
    assert!(!e.contains("CHECK constraint"), "{e}");
}

#[test]
fn a_device_or_a_path_ending_in_a_slash_is_refused_without_a_lock_file() {
    let e = refused(Path::new("/dev/null"));
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert!(!Path::new("/dev/null.lock").exists(), "no lock file made in /dev");
    let dir = temp_dir("slash");
    let e = refused(Path::new(&format!("{}/rooms.sqlite/", dir.path().display())));
    assert!(e.to_string().contains("a directory"), "{e}");
    assert!(!dir.path().join("rooms.sqlite").exists() && !dir.path().join("rooms.sqlite.lock").exists());
}

fn tombstone(room: &str, expires: u64) -> server::Tombstone {
    server::Tombstone {
        jid: jid(room),
        reason: Some("Moved on".into()),
        alternate: Some(jid("elsewhere@conference.localhost")),
        expires: server::Millis(expires),
    }
}

#[test]
fn a_tombstone_replaces_its_room_survives_a_reopen_and_gives_way_to_a_new_room() {
    let dir = temp_dir("tombstone");
    let path = dir.path().join("rooms.sqlite");
    let room = "a@conference.localhost";
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record(room, 2));
        // The room is destroyed: its record gives way to its tombstone, in one commit.
        store
            .apply(&[
                StoreOp::Bury(Arc::new(tombstone(room, 1_800_000_000_000))),
                StoreOp::Sync,
            ])
            .unwrap();
        assert!(!store.has_room(room).unwrap());
        assert!(store.has_tombstone(room).unwrap());
        let affs: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM affiliations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(affs, 0, "the room's affiliations go with it");
    }
    {
        let (store, records) = SqliteStore::read(&path).unwrap();
        assert!(records.is_empty());
        assert_eq!(
            store.load_tombstones().unwrap(),
            vec![tombstone(room, 1_800_000_000_000)]
        );
        // No reason, no alternate: both read back as none.
        let mut bare = tombstone("b@conference.localhost", 5);
        bare.reason = None;
        bare.alternate = None;
        let mut store = store;
        store.accept().unwrap();
        store
            .apply(&[StoreOp::Bury(Arc::new(bare.clone())), StoreOp::Sync])
            .unwrap();
        assert_eq!(
            store.load_tombstones().unwrap(),
            vec![tombstone(room, 1_800_000_000_000), bare]
        );
        // A lapsed tombstone is deleted; a room created again replaces its tombstone.
        store
            .apply(&[StoreOp::Delete(jid("b@conference.localhost")), StoreOp::Sync])
            .unwrap();
        put_and_sync(&mut store, record(room, 1));
        assert!(store.load_tombstones().unwrap().is_empty());
        assert_eq!(store.load().unwrap(), vec![record(room, 1)]);
    }
}

#[test]
fn a_schema_3_store_is_upgraded_with_tombstones_and_keeps_its_rooms_and_key() {
    let dir = temp_dir("upgrade3");
    let path = dir.path().join("rooms.sqlite");
    let key = {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record("a@conference.localhost", 1));
        store.occupant_id_key()
    };
    {
        // What a build of schema 3 left: no `tombstones` table.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE tombstones; PRAGMA user_version = 3;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    {
        // Read without writing: no tombstones yet, nothing upgraded.
        let (store, records) = SqliteStore::read(&path).unwrap();
        assert_eq!(records, vec![record("a@conference.localhost", 1)]);
        assert!(store.load_tombstones().unwrap().is_empty());
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "not written before accept"
    );
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.occupant_id_key(), key);
    let version: i32 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    store
        .apply(&[
            StoreOp::Bury(Arc::new(tombstone("a@conference.localhost", 7))),
            StoreOp::Sync,
        ])
        .unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.load_tombstones().unwrap(),
        vec![tombstone("a@conference.localhost", 7)]
    );
}

#[test]
fn a_damaged_tombstone_names_room_and_field() {
    let dir = temp_dir("badtomb");
    let path = dir.path().join("rooms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store
            .apply(&[
                StoreOp::Bury(Arc::new(tombstone("a@conference.localhost", 7))),
                StoreOp::Sync,
            ])
            .unwrap();
        store
            .connection()
            .execute_batch("UPDATE tombstones SET alternate = '@@'; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let e = refused(&path);
    assert!(matches!(e, StoreError::Corrupt(..)), "{e}");
    assert!(
        e.to_string()
            .contains("room a@conference.localhost: tombstones.alternate '@@'"),
        "{e}"
    );
    assert!(std::fs::read(&path).unwrap() == before);
}

#[test]
fn a_service_restarted_from_the_store_still_answers_gone() {
    use server::xml::{parse_stanza, Limits};
    use server::{MucService, ServiceConfig};
    let dir = temp_dir("gone");
    let path = dir.path().join("rooms.sqlite");
    let cfg = || ServiceConfig::new("conference.localhost", 0);
    let el = |x: &str| parse_stanza(x.as_bytes(), "jabber:client", &Limits::default()).unwrap();
    let owner: server::jids::FullJid = "owner@localhost/a".parse().unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut svc = MucService::new(cfg()).unwrap();
    let now = server::Millis(1_795_000_000_000);
    for stanza in [
        "<presence to='a@conference.localhost/O'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
        "<iq id='c' type='set' to='a@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>",
        "<iq id='d' type='set' to='a@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='b@conference.localhost'><reason>Moved on</reason></destroy></query></iq>",
    ] {
        let (_, ops, _) = svc.handle(now, owner.clone(), el(stanza)).into_parts();
        store.apply(&ops).unwrap();
    }
    assert!(store.has_tombstone("a@conference.localhost").unwrap());
    drop(store);
    let (store, records) = SqliteStore::read(&path).unwrap();
    let svc = MucService::restore_with_tombstones(cfg(), records, store.load_tombstones().unwrap()).unwrap();
    let mut svc = svc;
    let out: Vec<_> = svc
        .handle(
            now,
            "juliet@localhost/j".parse().unwrap(),
            el("<presence to='a@conference.localhost/J'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
        )
        .into_iter()
        .map(|o| o.element().to_xml_in("jabber:client"))
        .collect();
    assert_eq!(
        out,
        vec!["<presence from='a@conference.localhost/J' type='error' to='juliet@localhost/j'><error type='cancel' by='conference.localhost'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:b@conference.localhost?join</gone><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Moved on</text></error></presence>"]
    );
}
