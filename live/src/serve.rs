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
    /// A routed stanza over a per-stanza limit was skipped and its sender answered
    /// (unless it was an error); the connection stays up. `from` is the sender's
    /// full JID, `stanza` its element name, `limit` the limit in words.
    Refused {
        from: String,
        stanza: String,
        limit: String,
        answered: bool,
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
                limit,
                answered,
            } => {
                let answer = if *answered {
                    "answered policy-violation"
                } else {
                    "not answered: an error or result"
                };
                write!(f, "refused a <{stanza}> from {from}: {limit} ({answer})")
            }
            Status::Stopped {
                stanzas_in,
                stanzas_out,
            } => write!(f, "stopped ({stanzas_in} stanzas in, {stanzas_out} out)"),
        }
    }
}

enum SessionEnd {
    Shutdown,
    Lost {
        why: String,
        established: bool,
    },
    /// The store failed: nothing more may be answered.
    StoreFailed(String),
}

/// Where the service's storage effects go, applied in outbox order before the
/// stanzas that follow them are written.
pub trait Durable {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<(), String>;
}

/// No store: rooms live as long as the process.
pub struct Memory;

impl Durable for Memory {
    fn apply(&mut self, _: &[StoreOp]) -> Result<(), String> {
        Ok(())
    }
}

impl Durable for crate::sqlite::SqliteStore {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<(), String> {
        crate::sqlite::SqliteStore::apply(self, ops).map_err(|e| e.to_string())
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
/// backoff whenever the server goes away. Every change of state goes to `report`.
/// Stops with an error if `store` fails: answering without the change being durable
/// is what the store is there to prevent.
pub async fn serve(
    opts: &ServeOptions,
    service: &mut MucService,
    store: &mut (dyn Durable + Send),
    shutdown: impl Future<Output = ()>,
    report: &mut (dyn FnMut(Status) + Send),
) -> Result<(), String> {
    tokio::pin!(shutdown);
    let mut last_now = 0u64;
    let mut counters = Counters::default();
    let mut backoff = opts.min_backoff;
    loop {
        let attempt = tokio::select! {
            _ = &mut shutdown => break,
            r = TcpStream::connect(&opts.connect) => r,
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
                        return Err(format!("the room store failed, stopping: {why}"));
                    }
                    SessionEnd::Lost { why, established } => {
                        report(Status::Lost { why });
                        if established {
                            backoff = opts.min_backoff;
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
    store: &mut (dyn Durable + Send),
    last_now: &mut u64,
    counters: &mut Counters,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    report: &mut (dyn FnMut(Status) + Send),
) -> SessionEnd {
    sock.set_nodelay(true).ok();
    let (mut rd, mut wr) = sock.into_split();
    let mut s = ComponentSession::new(&opts.domain, &opts.secret);
    let mut established = false;
    let lost = |why: String, established: bool| SessionEnd::Lost { why, established };
    if let Err(e) = wr.write_all(s.opening().as_bytes()).await {
        return lost(format!("write failed: {e}"), false);
    }
    let mut buf = vec![0u8; 64 * 1024];
    let handshake_deadline = tokio::time::Instant::now() + opts.handshake_timeout;
    loop {
        let n = tokio::select! {
            _ = tokio::time::sleep_until(handshake_deadline), if !established => {
                return lost("no answer to the handshake in time".into(), false);
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
                    established = true;
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
                        out.push_str(&s.encode(o));
                    }
                    if !ops.is_empty() {
                        if let Err(why) = store.apply(&ops) {
                            // What was already answered goes out; nothing after the failure.
                            let _ = wr.write_all(out.as_bytes()).await;
                            return SessionEnd::StoreFailed(why);
                        }
                    }
                    for o in &after {
                        out.push_str(&s.encode(o));
                    }
                    counters.stanzas_out += (before.len() + after.len()) as u64;
                }
                ComponentEvent::Refused { from, refused } => {
                    counters.stanzas_in += 1;
                    let answer = service.refuse_stanza(&from, &refused);
                    report(Status::Refused {
                        from: from.to_string(),
                        stanza: refused.name.to_string(),
                        limit: refused.limit.to_string(),
                        answered: !answer.is_empty(),
                    });
                    for o in answer.iter() {
                        out.push_str(&s.encode(o));
                    }
                    counters.stanzas_out += answer.len() as u64;
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
    store: &mut (dyn Durable + Send),
    report: &mut (dyn FnMut(Status) + Send),
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(serve(opts, service, store, signalled(), report))
}
