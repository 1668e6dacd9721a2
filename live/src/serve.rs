//! `mucsim serve`: the service behind a real XMPP server, as an XEP-0114 component.
//! The front end only frames bytes, stamps time and forwards the outbox; rooms live
//! in the [`MucService`] the caller owns, so they outlive any one connection.

use crate::component::{ComponentEvent, ComponentSession};
use server::{Millis, MucService, StoreOp};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The component's domain, e.g. `conference.localhost`.
    pub domain: String,
    /// The server's component port, `host:port`.
    pub connect: String,
    pub secret: String,
    /// First wait before reconnecting; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A connection whose handshake is not accepted within this is given up.
    pub handshake_timeout: Duration,
    /// RFC 6120 §4.9.3.3: `conflict` (another component holds the domain) is retried
    /// this many times in a row, then serving ends ([`ServeError::Refused`]). A
    /// conflict counts whether it came before or after the handshake was accepted.
    pub max_conflicts: u32,
    /// The count of conflicts in a row restarts only after a connection has stayed
    /// up this long (default 30 s): a server that accepts the handshake and then
    /// ends the stream with `conflict` is not retried forever.
    pub conflict_reset_after: Duration,
}

impl ServeOptions {
    pub fn new(domain: &str, connect: &str, secret: &str) -> ServeOptions {
        ServeOptions {
            domain: domain.to_string(),
            connect: connect.to_string(),
            secret: secret.to_string(),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            max_conflicts: 5,
            conflict_reset_after: Duration::from_secs(30),
        }
    }
}

/// What the front end reports to its operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Handshake accepted: the domain is served.
    Connected { server: String },
    /// Could not reach the server.
    Unreachable { server: String, why: String },
    /// An established or half-open connection ended.
    Lost { why: String },
    /// Waiting this long before the next attempt.
    Retrying { after: Duration },
    /// A routed stanza the service could not take was dropped, and its sender answered
    /// with the stanza error `answered` (`None`: not answered, being an error or a
    /// result); the connection stays up. Either it went over a per-stanza limit
    /// (`why` is the limit in words, the answer `policy-violation`), or its `from` is
    /// not a JID this service can parse (the answer `jid-malformed`, to the address as
    /// written). `from` is the sender as the server wrote it, `stanza` its element name.
    Refused {
        from: String,
        stanza: String,
        why: String,
        answered: Option<&'static str>,
    },
    /// Shut down on request; totals over the whole run.
    Stopped { stanzas_in: u64, stanzas_out: u64 },
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Connected { server } => write!(f, "connected to {server}: serving the component"),
            Status::Unreachable { server, why } => write!(f, "cannot reach {server}: {why}"),
            Status::Lost { why } => write!(f, "connection lost: {why}"),
            Status::Retrying { after } => write!(f, "reconnecting in {:.1} s", after.as_secs_f64()),
            Status::Refused {
                from,
                stanza,
                why,
                answered,
            } => {
                let answer = match answered {
                    Some(condition) => format!("answered {condition}"),
                    None => "not answered: an error or result".to_string(),
                };
                write!(f, "refused a <{stanza}> from {from}: {why} ({answer})")
            }
            Status::Stopped {
                stanzas_in,
                stanzas_out,
            } => write!(f, "stopped ({stanzas_in} stanzas in, {stanzas_out} out)"),
        }
    }
}

/// Why serving ended other than on request. Each is an error that waiting cannot heal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServeError {
    /// `--connect` is not `host:port`, has port 0, or its name does not resolve.
    Address { connect: String, why: String },
    /// The server ended the stream with a condition retrying cannot change:
    /// `not-authorized` (a wrong secret, XEP-0114 §3), `host-unknown` (the server does
    /// not know the domain), or `conflict` `max_conflicts` times in a row.
    Refused { condition: String, why: String },
    /// The room store failed: nothing more may be answered.
    Store(String),
    /// The async runtime could not start.
    Runtime(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Address { connect, why } => write!(f, "--connect {connect}: {why}"),
            ServeError::Refused { condition, why } => {
                write!(
                    f,
                    "the server refused the component ({condition}), stopping: {why}"
                )
            }
            ServeError::Store(why) => write!(f, "the room store failed, stopping: {why}"),
            ServeError::Runtime(why) => write!(f, "cannot start the runtime: {why}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Stream error conditions from the server that no retry can heal.
const FATAL_CONDITIONS: [&str; 2] = ["not-authorized", "host-unknown"];

/// Resolves `connect` once, before the first attempt: a malformed address, port 0 or
/// a name that does not resolve ends serving at once.
async fn resolve(connect: &str) -> Result<Vec<std::net::SocketAddr>, ServeError> {
    let bad = |why: String| ServeError::Address {
        connect: connect.to_string(),
        why,
    };
    let addrs: Vec<_> = tokio::net::lookup_host(connect)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => bad(format!("{e} (expected HOST:PORT)")),
            _ => bad(e.to_string()),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(bad("the name resolves to no address".into()));
    }
    if addrs.iter().any(|a| a.port() == 0) {
        return Err(bad("port 0 is not a port to connect to".into()));
    }
    Ok(addrs)
}

enum SessionEnd {
    Shutdown,
    /// The server ended the stream with this stream error condition, after the
    /// connection had been up `up_for` since its handshake was accepted (`None`: it
    /// never was).
    Refused {
        condition: String,
        why: String,
        up_for: Option<Duration>,
    },
    /// The connection ended otherwise, after being up `up_for` since its handshake
    /// was accepted (`None`: it never was).
    Lost {
        why: String,
        up_for: Option<Duration>,
    },
    /// The store failed: nothing more may be answered.
    StoreFailed(String),
}

/// Where the service's storage effects go: the service's one storage contract.
pub use server::store::{Memory, RoomStore};

impl RoomStore for crate::sqlite::SqliteStore {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<(), server::StoreError> {
        crate::sqlite::SqliteStore::apply(self, ops).map_err(|e| server::StoreError::Backend(e.to_string()))
    }
}

#[derive(Default)]
struct Counters {
    stanzas_in: u64,
    stanzas_out: u64,
}

/// Real time enters the service here: wall-clock milliseconds since the Unix epoch,
/// so that history `<delay stamp=…/>` (XEP-0203) carries real dates.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Millis {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Millis(since.as_millis() as u64)
}

/// Serves `service` on `opts.domain` until `shutdown` completes, reconnecting with
/// backoff whenever the server goes away or cannot be reached. Every change of state
/// goes to `report`.
///
/// Ends with an error, without retrying, on what waiting cannot heal (each also
/// reported as [`Status::Stopped`] if serving had begun):
/// [`ServeError::Address`] if `opts.connect` does not parse or resolve (checked once,
/// first); [`ServeError::Refused`] on a `not-authorized` or `host-unknown` stream error
/// from the server, or `opts.max_conflicts` `conflict`s in a row, before or after the
/// handshake, with no connection up `opts.conflict_reset_after` between (RFC 6120 §4.9.3);
/// [`ServeError::Store`] if `store` fails (answering without the change being durable
/// is what the store is there to prevent).
pub async fn serve(
    opts: &ServeOptions,
    service: &mut MucService,
    store: &mut (dyn RoomStore + Send),
    shutdown: impl Future<Output = ()>,
    report: &mut (dyn FnMut(Status) + Send),
) -> Result<(), ServeError> {
    tokio::pin!(shutdown);
    let addrs = resolve(&opts.connect).await?;
    let mut last_now = 0u64;
    let mut counters = Counters::default();
    let mut backoff = opts.min_backoff;
    let mut conflicts = 0u32;
    loop {
        let attempt = tokio::select! {
            _ = &mut shutdown => break,
            r = TcpStream::connect(&addrs[..]) => r,
        };
        match attempt {
            Err(e) => report(Status::Unreachable {
                server: opts.connect.clone(),
                why: e.to_string(),
            }),
            Ok(sock) => {
                let end = session(
                    opts,
                    sock,
                    service,
                    store,
                    &mut last_now,
                    &mut counters,
                    &mut shutdown,
                    report,
                )
                .await;
                match end {
                    SessionEnd::Shutdown => break,
                    SessionEnd::StoreFailed(why) => {
                        report(Status::Stopped {
                            stanzas_in: counters.stanzas_in,
                            stanzas_out: counters.stanzas_out,
                        });
                        return Err(ServeError::Store(why));
                    }
                    SessionEnd::Refused {
                        condition,
                        why,
                        up_for,
                    } => {
                        report(Status::Lost { why: why.clone() });
                        if up_for.is_some_and(|d| d >= opts.conflict_reset_after) {
                            conflicts = 0;
                        }
                        if condition == "conflict" {
                            conflicts += 1;
                        }
                        if FATAL_CONDITIONS.contains(&condition.as_str())
                            || (condition == "conflict" && conflicts >= opts.max_conflicts)
                        {
                            report(Status::Stopped {
                                stanzas_in: counters.stanzas_in,
                                stanzas_out: counters.stanzas_out,
                            });
                            let why = if condition == "conflict" {
                                format!(
                                    "{why}; {conflicts} times in a row (another component holds the domain)"
                                )
                            } else {
                                why
                            };
                            return Err(ServeError::Refused { condition, why });
                        }
                    }
                    SessionEnd::Lost { why, up_for } => {
                        report(Status::Lost { why });
                        if let Some(up) = up_for {
                            backoff = opts.min_backoff;
                            if up >= opts.conflict_reset_after {
                                conflicts = 0;
                            }
                        }
                    }
                }
            }
        }
        report(Status::Retrying { after: backoff });
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(opts.max_backoff);
    }
    report(Status::Stopped {
        stanzas_in: counters.stanzas_in,
        stanzas_out: counters.stanzas_out,
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn session(
    opts: &ServeOptions,
    sock: TcpStream,
    service: &mut MucService,
    store: &mut (dyn RoomStore + Send),
    last_now: &mut u64,
    counters: &mut Counters,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    report: &mut (dyn FnMut(Status) + Send),
) -> SessionEnd {
    sock.set_nodelay(true).ok();
    let (mut rd, mut wr) = sock.into_split();
    let mut s = ComponentSession::new(&opts.domain, &opts.secret);
    // When the handshake was accepted, if it was.
    let mut established: Option<tokio::time::Instant> = None;
    let lost = |why: String, since: Option<tokio::time::Instant>| SessionEnd::Lost {
        why,
        up_for: since.map(|t| t.elapsed()),
    };
    if let Err(e) = wr.write_all(s.opening().as_bytes()).await {
        return lost(format!("write failed: {e}"), None);
    }
    let mut buf = vec![0u8; 64 * 1024];
    let handshake_deadline = tokio::time::Instant::now() + opts.handshake_timeout;
    loop {
        let n = tokio::select! {
            _ = tokio::time::sleep_until(handshake_deadline), if established.is_none() => {
                return lost("no answer to the handshake in time".into(), None);
            }
            _ = shutdown.as_mut() => {
                let _ = wr.write_all(s.closing().as_bytes()).await;
                let _ = wr.shutdown().await;
                return SessionEnd::Shutdown;
            }
            r = rd.read(&mut buf) => match r {
                Ok(0) => return lost("the server closed the connection".into(), established),
                Ok(n) => n,
                Err(e) => return lost(format!("read failed: {e}"), established),
            },
        };
        let mut out = String::new();
        let mut closed = None;
        for ev in s.receive(&buf[..n]) {
            match ev {
                ComponentEvent::Write(w) => out.push_str(&w),
                ComponentEvent::Established => {
                    // The count of conflicts is not reset here: a conflict right after
                    // an accepted handshake counts too (`conflict_reset_after`).
                    established = Some(tokio::time::Instant::now());
                    report(Status::Connected {
                        server: opts.connect.clone(),
                    });
                }
                ComponentEvent::Stanza { from, stanza } => {
                    counters.stanzas_in += 1;
                    // The service's clock must not run backwards even if the wall
                    // clock does: stamps never go below the last one.
                    let now = Millis(wall_clock().0.max(*last_now));
                    *last_now = now.0;
                    let (before, ops, after) = service.handle(now, from, stanza).into_parts();
                    for o in &before {
                        s.encode_into(&mut out, o);
                    }
                    if !ops.is_empty() {
                        if let Err(why) = store.apply(&ops) {
                            // What was already answered goes out; nothing after the failure.
                            let _ = wr.write_all(out.as_bytes()).await;
                            return SessionEnd::StoreFailed(why.to_string());
                        }
                    }
                    for o in &after {
                        s.encode_into(&mut out, o);
                    }
                    counters.stanzas_out += (before.len() + after.len()) as u64;
                }
                ComponentEvent::Refused { from, refused } => {
                    counters.stanzas_in += 1;
                    let answer = service.refuse_stanza(&from, &refused);
                    report(Status::Refused {
                        from: from.to_string(),
                        stanza: refused.name.to_string(),
                        why: refused.limit.to_string(),
                        answered: (!answer.is_empty()).then_some("policy-violation"),
                    });
                    for o in answer.iter() {
                        s.encode_into(&mut out, o);
                    }
                    counters.stanzas_out += answer.len() as u64;
                }
                ComponentEvent::Unaddressable {
                    from,
                    stanza,
                    why,
                    answered,
                } => {
                    counters.stanzas_in += 1;
                    counters.stanzas_out += u64::from(answered);
                    report(Status::Refused {
                        from,
                        stanza,
                        why,
                        answered: answered.then_some("jid-malformed"),
                    });
                }
                ComponentEvent::Closed(why) => closed = Some(why),
            }
        }
        if !out.is_empty() {
            if let Err(e) = wr.write_all(out.as_bytes()).await {
                return lost(format!("write failed: {e}"), established);
            }
        }
        if let Some(why) = closed {
            let _ = wr.shutdown().await;
            if let Some(condition) = s.server_error() {
                return SessionEnd::Refused {
                    condition: condition.to_string(),
                    why,
                    up_for: established.map(|t| t.elapsed()),
                };
            }
            return lost(why, established);
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // No signal handling available: serve until killed.
        _ => std::future::pending().await,
    }
}

/// `mucsim serve`: a single-threaded runtime serving until SIGINT/SIGTERM, then a
/// clean close of the component stream.
pub fn serve_until_signalled(
    opts: &ServeOptions,
    service: &mut MucService,
    store: &mut (dyn RoomStore + Send),
    report: &mut (dyn FnMut(Status) + Send),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    rt.block_on(serve(opts, service, store, signalled(), report))
}
