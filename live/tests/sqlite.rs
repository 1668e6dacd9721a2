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

/// A fresh directory for one test, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("mucsim-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
        subject: None,
    }
}

fn put_and_sync(store: &mut SqliteStore, r: RoomRecord) {
    store.apply(&[StoreOp::Put(Arc::new(r)), StoreOp::Sync]).unwrap();
}

#[test]
fn every_persisted_field_round_trips() {
    let dir = TempDir::new("roundtrip");
    let path = dir.file("rooms.sqlite");
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
    let dir = TempDir::new("nosync");
    let path = dir.file("rooms.sqlite");
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
    let dir = TempDir::new("kill");
    let path = dir.file("rooms.sqlite");
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
    let dir = TempDir::new("garbage");
    let path = dir.file("rooms.sqlite");
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
    let dir = TempDir::new("foreign");
    let path = dir.file("other.sqlite");
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
    let dir = TempDir::new("newer");
    let path = dir.file("rooms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record("a@conference.localhost", 1));
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA user_version = {}; PRAGMA wal_checkpoint(TRUNCATE);",
            SCHEMA_VERSION + 1
        ))
        .unwrap();
        c.execute_batch("PRAGMA journal_mode = DELETE;").unwrap();
    }
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
    let dir = TempDir::new("damaged");
    let path = dir.file("rooms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        put_and_sync(&mut store, record("a@conference.localhost", 1));
        store
            .connection()
            .execute(
                "UPDATE rooms SET config = '<x xmlns=''jabber:x:data''><field' ",
                [],
            )
            .unwrap();
    }
    let e = refused(&path);
    assert!(matches!(e, StoreError::Corrupt(..)), "{e}");
    assert!(e.to_string().contains("a@conference.localhost"), "{e}");
    assert_eq!(APPLICATION_ID, 0x6d75_6373);
}
