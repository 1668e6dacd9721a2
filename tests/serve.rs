//! `mucsim serve` as an operator meets it, through the built binary: what `--help`
//! offers, the store held by one process at a time, and the errors that end serving
//! at once instead of being retried forever. The XMPP server is a minimal XEP-0114
//! acceptor on loopback.

// Real time is what these tests measure (how soon serve gives up), as an operator would.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "conference.localhost";
const SECRET: &str = "s3cret";

fn mucsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mucsim"))
}

/// A fresh directory for one test (tempfile's), removed when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    let prefix = format!("mucsim-serve-{name}-");
    tempfile::Builder::new().prefix(&prefix).tempdir().unwrap()
}

/// `dir` and the path of a room store in it.
fn store_in(dir: tempfile::TempDir) -> (tempfile::TempDir, PathBuf) {
    let store = dir.path().join("rooms.sqlite");
    (dir, store)
}

/// A `mucsim serve` child, killed if the test ends without waiting for it.
struct Serve(Option<Child>);

impl Serve {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn serve(connect: &str, extra: &[&str]) -> Serve {
    let child = mucsim()
        .args([
            "serve",
            "--domain",
            DOMAIN,
            "--connect",
            connect,
            "--secret",
            SECRET,
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Serve(Some(child))
}

/// A listener on a free loopback port, standing for the XMPP server, and its address.
fn loopback() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// Waits for the child to exit within `limit`: its output and how long it took.
fn exits_within(mut s: Serve, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    loop {
        if s.child().try_wait().unwrap().is_some() {
            let took = start.elapsed();
            let out = s.0.take().unwrap().wait_with_output().unwrap();
            return (out, took);
        }
        assert!(
            start.elapsed() < limit,
            "mucsim serve still running after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The server side of one component connection, bytes only.
struct Acceptor {
    sock: TcpStream,
    seen: String,
}

impl Acceptor {
    fn accept(listener: &TcpListener, limit: Duration) -> Acceptor {
        listener.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let sock = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("the component did not connect within {limit:?}: {e}"),
            }
        };
        sock.set_nonblocking(false).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Acceptor {
            sock,
            seen: String::new(),
        }
    }

    /// Reads until `needle` has arrived (and consumes what came before it).
    fn read_until(&mut self, needle: &str) {
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            let n = self.sock.read(&mut buf).expect("the component answers in time");
            assert!(
                n > 0,
                "the component closed the connection; so far: {}",
                self.seen
            );
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let at = self.seen.find(needle).unwrap() + needle.len();
        self.seen.drain(..at);
    }

    fn write(&mut self, s: &str) {
        self.sock.write_all(s.as_bytes()).unwrap();
    }

    /// The stream headers and the component's handshake, not yet answered.
    fn open(&mut self) {
        self.read_until("<stream:stream");
        self.read_until(">");
        self.write(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
             xmlns:stream='http://etherx.jabber.org/streams' id='id1' from='{DOMAIN}'>"
        ));
        self.read_until("</handshake>");
    }

    fn stream_error(&mut self, condition: &str) {
        self.write(&format!(
            "<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
        ));
    }

    /// A disco#info get to the service, answered with a result.
    fn answers(&mut self, id: &str) {
        self.write(&format!(
            "<iq type='get' id='{id}' from='juliet@localhost/balcony' to='{DOMAIN}'>\
             <query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ));
        self.read_until(&format!("id='{id}'"));
    }
}

#[test]
fn help_offers_no_seed_and_no_public_occupant_id_key() {
    let out = mucsim().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains("--seed"), "{help}");
    assert!(help.contains("--occupant-id-key-file"), "{help}");
    // The key is not given a default anyone could read in the help.
    assert!(!help.contains("[default: 0]"), "{help}");
}

#[test]
fn a_second_serve_on_the_same_store_exits_at_once_and_the_first_keeps_serving() {
    let (_dir, store) = store_in(temp_dir("lock"));
    let store_arg = store.to_str().unwrap();
    let (listener, addr) = loopback();
    let first = serve(&addr, &["--store", store_arg]);
    let mut server = Acceptor::accept(&listener, Duration::from_secs(10));
    server.open();
    server.write("<handshake/>");
    server.answers("before");
    let first_pid = first.0.as_ref().unwrap().id();

    let second = serve(&addr, &["--store", store_arg]);
    let (out, took) = exits_within(second, Duration::from_secs(5));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let want = format!(
        "{} is in use by another mucsim serve (pid {first_pid})",
        store.display()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));

    // The first one is still up, on the same connection, with its store.
    server.answers("after");
    let mut first = first;
    assert!(
        first.child().try_wait().unwrap().is_none(),
        "the first serve is still running"
    );
}

#[test]
fn a_store_whose_holder_was_killed_opens_again() {
    let (dir, store) = store_in(temp_dir("stale"));
    let store_arg = store.to_str().unwrap();
    let (listener, addr) = loopback();
    let mut first = serve(&addr, &["--store", store_arg]);
    let mut server = Acceptor::accept(&listener, Duration::from_secs(10));
    server.open();
    let pid = first.child().id();
    first.child().kill().unwrap(); // SIGKILL: the pid stays in FILE.lock
    first.child().wait().unwrap();
    let lock = std::fs::read_to_string(dir.path().join("rooms.sqlite.lock")).unwrap();
    assert_eq!(lock.trim(), pid.to_string());
    let _again = serve(&addr, &["--store", store_arg]);
    let mut server = Acceptor::accept(&listener, Duration::from_secs(10));
    server.open();
    server.write("<handshake/>");
    server.answers("back");
}

fn refused_at_start(connect: &str, extra: &[&str], want: &str, code: i32) {
    let (out, _) = exits_within(serve(connect, extra), Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(want),
        "wanted '{want}' in: {}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_or_unresolvable_connect_address_ends_serve_at_once() {
    refused_at_start("localhost", &["--no-store"], "--connect localhost:", 2);
    refused_at_start(
        "127.0.0.1:99999",
        &["--no-store"],
        "--connect 127.0.0.1:99999:",
        2,
    );
    refused_at_start("127.0.0.1:0", &["--no-store"], "port 0", 2);
    // RFC 2606: .invalid never resolves.
    refused_at_start(
        "no-such-host.invalid:5347",
        &["--no-store"],
        "--connect no-such-host.invalid:5347:",
        2,
    );
}

#[test]
fn a_wrong_secret_ends_serve_at_once() {
    let (listener, addr) = loopback();
    let s = serve(&addr, &["--no-store"]);
    let mut server = Acceptor::accept(&listener, Duration::from_secs(10));
    server.open();
    server.stream_error("not-authorized");
    let (out, took) = exits_within(s, Duration::from_secs(5));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("not-authorized"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("reconnecting"), "{}", stderr(&out));
}

/// Serves against an acceptor that answers each of five connections with a
/// `conflict` stream error, after accepting the handshake when `after_handshake`;
/// serve must end with exit code 3 naming the five conflicts. Its stderr.
fn five_conflicts(after_handshake: bool) -> String {
    let (listener, addr) = loopback();
    let s = serve(&addr, &["--no-store"]);
    for _ in 0..5 {
        let mut server = Acceptor::accept(&listener, Duration::from_secs(10));
        server.open();
        if after_handshake {
            server.write("<handshake/>");
            server.answers("up"); // the handshake was accepted and the stream serves
        }
        server.stream_error("conflict");
    }
    let (out, _) = exits_within(s, Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("conflict") && err.contains("5 times in a row"),
        "{err}"
    );
    err
}

#[test]
fn a_conflict_is_retried_a_bounded_number_of_times_then_ends_serve() {
    let err = five_conflicts(false);
    assert_eq!(err.matches("reconnecting").count(), 4, "{err}");
}

#[test]
fn a_conflict_after_the_handshake_counts_too_and_ends_serve() {
    let err = five_conflicts(true);
    assert_eq!(err.matches("connected to").count(), 5, "{err}");
}

/// Serve with `--occupant-id-key-file path` exits at start with code 2, saying `want`.
fn key_file_refused(path: &str, want: &str) {
    let args = ["--no-store", "--occupant-id-key-file", path];
    refused_at_start("127.0.0.1:5347", &args, want, 2);
}

#[test]
fn an_occupant_id_key_file_is_checked() {
    let dir = temp_dir("keyfile");
    let key = dir.path().join("key");
    std::fs::write(&key, "0123456789abcdef\n").unwrap();
    let key_arg = key.to_str().unwrap();
    key_file_refused(key_arg, "expected 64 hexadecimal digits");
    let missing = dir.path().join("missing");
    key_file_refused(missing.to_str().unwrap(), "--occupant-id-key-file");
}

#[test]
fn a_bad_domain_is_refused_before_the_store_is_touched() {
    let dir = temp_dir("domain");
    let store = dir.path().join("rooms.sqlite");
    let out = mucsim()
        .args(["serve", "--domain", "room@conference.localhost", "--secret", "x"])
        .args(["--store", store.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--domain"), "{}", stderr(&out));
    assert!(!Path::new(&store).exists());
}

/// The secret may come from the environment (out of `ps` and shell history), and an
/// empty one is refused at start instead of failing every handshake.
#[test]
fn the_secret_comes_from_the_environment_and_an_empty_one_is_refused() {
    let out = mucsim()
        .args(["serve", "--no-store", "--connect", "127.0.0.1:0"])
        .env("MUCSIM_COMPONENT_SECRET", "from-env")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("port 0"),
        "past the secret: {}",
        stderr(&out)
    );
    let out = mucsim()
        .args(["serve", "--no-store", "--connect", "127.0.0.1:0", "--secret", ""])
        .env_remove("MUCSIM_COMPONENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("secret is empty"), "{}", stderr(&out));
    let help = mucsim().args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("MUCSIM_COMPONENT_SECRET"));
}

#[test]
fn an_endless_or_all_zero_key_file_is_refused_at_once() {
    // /dev/zero and /dev/urandom never end: read at most a small bound, then refuse.
    for endless in ["/dev/zero", "/dev/urandom"] {
        let (out, took) = exits_within(
            serve(
                "127.0.0.1:5347",
                &["--no-store", "--occupant-id-key-file", endless],
            ),
            Duration::from_secs(10),
        );
        assert!(took < Duration::from_secs(2), "{endless}: took {took:?}");
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("longer than 1024 bytes"),
            "{endless}: {}",
            stderr(&out)
        );
    }
    // The all-zero key is public: anyone could compute every occupant id.
    let dir = temp_dir("zerokey");
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{}\n", "0".repeat(64))).unwrap();
    key_file_refused(key.to_str().unwrap(), "the all-zero key is public");
}

#[test]
fn a_store_whose_records_are_refused_is_left_as_it_was() {
    use live::sqlite::SqliteStore;
    let dir = temp_dir("refusedstore");
    let store = dir.path().join("rooms.sqlite");
    {
        // A schema-1 store in which two users reserve one nick.
        let s = SqliteStore::open(&store).unwrap();
        let config = server::muc::RoomConfig {
            persistent: true,
            ..Default::default()
        }
        .to_submission()
        .to_xml_in(server::ns::DATA);
        let c = s.connection();
        c.execute(
            &format!("INSERT INTO rooms VALUES ('room@{DOMAIN}', ?1, NULL, NULL)"),
            [config],
        )
        .unwrap();
        c.execute_batch(&format!(
            "INSERT INTO affiliations (room, jid, affiliation, nick) VALUES ('room@{DOMAIN}', 'owner@localhost', 'owner', NULL);
             INSERT INTO affiliations (room, jid, affiliation, nick) VALUES ('room@{DOMAIN}', 'romeo@localhost', 'member', 'Jul');
             INSERT INTO affiliations (room, jid, affiliation, nick) VALUES ('room@{DOMAIN}', 'juliet@localhost', 'member', 'Jul');
             ALTER TABLE affiliations DROP COLUMN reason; DROP TABLE service;
             PRAGMA user_version = 1; PRAGMA wal_checkpoint(TRUNCATE);"
        ))
        .unwrap();
    }
    let before = std::fs::read(&store).unwrap();
    refused_at_start(
        "127.0.0.1:5347",
        &["--store", store.to_str().unwrap()],
        &format!(
            "room room@{DOMAIN} breaks an invariant (each reserved nickname belongs to one affiliated user)"
        ),
        2,
    );
    assert!(
        std::fs::read(&store).unwrap() == before,
        "not upgraded, not written"
    );
}
