//! Plays a [`Script`] on a [`Backend`]. In the simulated `World` (`mucsim-sim`), actions run in
//! script order and after each one the world runs until nothing is in flight, so
//! scripts written for a real server see the same order of events whatever the seed
//! (the seed still changes generated resources and timings).

use super::backend::{Backend, ConnId};
use super::matcher::{matches_with, Captures, MatchOptions, Mismatch};
use super::{ActionKind, Script};
use server::ns;
use server::xml::{Element, Node};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub seed: u64,
    /// Fail on any received stanza the script does not expect, instead of skipping it.
    pub strict: bool,
    /// Virtual milliseconds a `receives` waits for its stanza.
    pub timeout_ms: u64,
    /// Accept the children of a `muc#user` `<x/>` in any order
    /// ([`MatchOptions::unordered_children`]); default off: Prosody's rule, the order
    /// the script gives.
    pub unordered_children: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            strict: false,
            timeout_ms: 5_000,
            unordered_children: false,
        }
    }
}

/// Why a script failed, at which line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: usize,
    pub reason: String,
    /// The expected stanza (after substitutions), when the action expected one.
    pub expected: Option<String>,
    /// The stanza actually received, if any.
    pub got: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "line {}: {}", self.line, self.reason)?;
        if let Some(e) = &self.expected {
            writeln!(f, "  expected: {e}")?;
        }
        if let Some(g) = &self.got {
            writeln!(f, "  received: {g}")?;
        }
        Ok(())
    }
}

/// What playing a script on a backend came to.
pub struct Played {
    pub failure: Option<Failure>,
    /// Received stanzas the script did not expect (skipped in the default mode).
    pub skipped: usize,
}

/// Plays `script` on any backend (the simulated world, or a live server).
pub fn run_on<B: Backend>(backend: &mut B, script: &Script, opts: &RunOptions) -> Played {
    let mut r = Runner {
        backend,
        script,
        opts,
        conns: BTreeMap::new(),
        caps: Captures::default(),
        skipped: 0,
    };
    let failure = r.play().err();
    Played {
        failure,
        skipped: r.skipped,
    }
}

struct Runner<'a, B: Backend> {
    backend: &'a mut B,
    script: &'a Script,
    opts: &'a RunOptions,
    conns: BTreeMap<String, ConnId>,
    caps: Captures,
    skipped: usize,
}

fn failure(line: usize, reason: impl Into<String>) -> Failure {
    Failure {
        line,
        reason: reason.into(),
        expected: None,
        got: None,
    }
}

fn xml(e: &Element) -> String {
    e.to_xml_in(ns::CLIENT)
}

impl<B: Backend> Runner<'_, B> {
    fn play(&mut self) -> Result<(), Failure> {
        for action in &self.script.actions {
            let line = action.line;
            match &action.kind {
                ActionKind::Connects => {
                    let def = self
                        .script
                        .clients
                        .iter()
                        .find(|c| c.name == action.client)
                        .ok_or_else(|| failure(line, format!("no client named '{}'", action.client)))?;
                    let conn = self
                        .backend
                        .connect(def)
                        .map_err(|e| failure(line, format!("{} cannot connect: {e}", def.name)))?;
                    self.conns.insert(def.name.clone(), conn);
                }
                ActionKind::Disconnects => {
                    let conn = self.conn(&action.client, line)?;
                    self.backend.disconnect(conn).map_err(|e| failure(line, e))?;
                    self.backend.settle();
                }
                ActionKind::Sends(stanzas) => {
                    // As scansion does: what a client that has disconnected would
                    // send is skipped, and said so (Prosody's own trunk scripts
                    // end that way, a `sends` after the client's `disconnects`).
                    if let Some(conn) = self.disconnected(&action.client) {
                        self.backend.note(
                            conn,
                            format!(
                                "skipped what {} sends at line {line}: it has disconnected",
                                action.client
                            ),
                        );
                        continue;
                    }
                    let conn = self.conn(&action.client, line)?;
                    for s in stanzas {
                        let s = self.substitute(s, line)?;
                        self.backend.send(conn, s).map_err(|e| failure(line, e))?;
                    }
                    self.backend.settle();
                }
                ActionKind::Receives(stanzas) => {
                    let conn = self.conn(&action.client, line)?;
                    for s in stanzas {
                        let s = self.substitute(s, line)?;
                        self.receive(conn, &s, line)?;
                    }
                }
                ActionKind::ReceivesNothing => {
                    let conn = self.conn(&action.client, line)?;
                    if let Some(got) = self.backend.receive_after_quiet(conn) {
                        return Err(Failure {
                            line,
                            reason: format!("{} expected to receive nothing", action.client),
                            expected: None,
                            got: Some(xml(&got)),
                        });
                    }
                }
            }
            if let Some(v) = self.backend.violation() {
                return Err(failure(line, format!("the service broke an invariant: {v}")));
            }
        }
        Ok(())
    }

    /// The connection of `name` if it connected and has since disconnected (by its
    /// own `disconnects`, or closed by the server); `None` if it never connected or
    /// is still open.
    fn disconnected(&self, name: &str) -> Option<ConnId> {
        self.conns
            .get(name)
            .copied()
            .filter(|&c| !self.backend.is_open(c))
    }

    fn conn(&self, name: &str, line: usize) -> Result<ConnId, Failure> {
        match self.conns.get(name) {
            Some(&c) if self.backend.is_open(c) => Ok(c),
            _ => Err(failure(line, format!("{name} is not connected"))),
        }
    }

    /// Waits for the next stanza matching `exp`, skipping (or, strict, failing on)
    /// others.
    fn receive(&mut self, conn: ConnId, exp: &Element, line: usize) -> Result<(), Failure> {
        let mut last_miss: Option<(Element, Mismatch)> = None;
        loop {
            let Some(got) = self.backend.receive(conn, self.opts.timeout_ms) else {
                let label = self.backend.label(conn);
                let (got, why) = match last_miss {
                    Some((g, m)) => (Some(xml(&g)), format!("; the closest skipped stanza differs {m}")),
                    None => (None, String::new()),
                };
                return Err(Failure {
                    line,
                    reason: format!(
                        "{label} received nothing matching within {} ms{why}",
                        self.opts.timeout_ms
                    ),
                    expected: Some(xml(exp)),
                    got,
                });
            };
            let mo = MatchOptions {
                unordered_children: self.opts.unordered_children,
            };
            match matches_with(exp, &got, &mut self.caps, mo) {
                Ok(()) => return Ok(()),
                Err(m) if self.opts.strict => {
                    return Err(Failure {
                        line,
                        reason: format!("unexpected stanza (strict): {m}"),
                        expected: Some(xml(exp)),
                        got: Some(xml(&got)),
                    })
                }
                Err(m) => {
                    self.skipped += 1;
                    self.backend.note(
                        conn,
                        format!("skipped a stanza the script does not expect here (line {line})"),
                    );
                    if got.name == exp.name {
                        last_miss = Some((got, m));
                    }
                }
            }
        }
    }

    /// `${Name's JID}` and `${Name's full JID}` in attribute values and text.
    fn substitute(&self, e: &Element, line: usize) -> Result<Element, Failure> {
        let mut out = e.clone();
        for a in &mut out.attrs {
            if a.value.contains("${") {
                a.value = self.expand(&a.value, line)?;
            }
        }
        for n in &mut out.children {
            match n {
                Node::Element(c) => *c = self.substitute(c, line)?,
                Node::Text(t) if t.contains("${") => *t = self.expand(t, line)?,
                Node::Text(_) => {}
            }
        }
        Ok(out)
    }

    fn expand(&self, s: &str, line: usize) -> Result<String, Failure> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| failure(line, format!("unterminated '${{' in {s:?}")))?;
            let var = &after[..end];
            out.push_str(&self.variable(var, line)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn variable(&self, var: &str, line: usize) -> Result<String, Failure> {
        if let Some(name) = var.strip_suffix("'s full JID") {
            let conn = self
                .conns
                .get(name)
                .ok_or_else(|| failure(line, format!("${{{var}}}: {name} has not connected")))?;
            return Ok(self.backend.full_jid(*conn));
        }
        if let Some(name) = var.strip_suffix("'s JID") {
            if let Some(conn) = self.conns.get(name) {
                let full = self.backend.full_jid(*conn);
                return Ok(full.split('/').next().unwrap_or_default().to_string());
            }
            let def = self
                .script
                .clients
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| failure(line, format!("${{{var}}}: no client named '{name}'")))?;
            return Ok(def.jid.clone());
        }
        Err(failure(line, format!("unknown variable ${{{var}}}")))
    }
}
