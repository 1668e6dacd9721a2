//! Scansion in the simulated world. The language itself (parser, matcher, runner over
//! any [`Backend`], writer) is the `mucsim-scansion` crate, re-exported here; this
//! module adds the [`World`] as a [`Backend`] and runs scripts in a fresh or given
//! world ([`run`], [`run_in`]), keeping the world for inspection ([`Outcome`]).

use crate::world::{ConnId, World, WorldConfig};
use server::xml::Element;

use mucsim_scansion::Transcript;
pub use mucsim_scansion::{
    matcher, parse, run_on, runner, to_judging_scs, to_scs, Action, ActionKind, Backend, ClientDef, Failure,
    Judgement, ParseError, Played, RunOptions, Script, NS_SCANSION,
};

/// A script played in the simulated world: its verdict, transcript, and the world
/// afterwards (run until nothing is in flight).
pub struct Outcome {
    pub title: Option<String>,
    pub failure: Option<Failure>,
    pub transcript: Transcript,
    /// Received stanzas the script did not expect (skipped in the default mode).
    pub skipped: usize,
    pub world: World,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs `script` in a fresh world (Prosody's test setup) seeded with `opts.seed`.
pub fn run(script: &Script, opts: &RunOptions) -> Outcome {
    run_in(World::new(WorldConfig::new(opts.seed)), script, opts)
}

/// Runs `script` in the given world (e.g. one whose service carries a mutant).
pub fn run_in(mut world: World, script: &Script, opts: &RunOptions) -> Outcome {
    let played = run_on(&mut world, script, opts);
    world.run_until_quiet();
    Outcome {
        title: script.title.clone(),
        failure: played.failure,
        transcript: world.transcript().clone(),
        skipped: played.skipped,
        world,
    }
}

impl Backend for World {
    /// The simulated home server takes any password.
    fn connect(&mut self, client: &ClientDef) -> Result<ConnId, String> {
        World::connect(self, &client.name, &client.jid, client.resource.as_deref()).map_err(|e| e.to_string())
    }

    fn disconnect(&mut self, conn: ConnId) -> Result<(), String> {
        World::disconnect(self, conn).map_err(|e| e.to_string())
    }

    fn send(&mut self, conn: ConnId, stanza: Element) -> Result<(), String> {
        World::send(self, conn, stanza).map_err(|e| e.to_string())
    }

    fn settle(&mut self) {
        self.run_until_quiet();
    }

    fn receive(&mut self, conn: ConnId, timeout_ms: u64) -> Option<Element> {
        let deadline = server::Millis(self.now().0 + timeout_ms);
        if self.run_until_received(conn, deadline) {
            self.take_received(conn)
        } else {
            None
        }
    }

    fn receive_after_quiet(&mut self, conn: ConnId) -> Option<Element> {
        self.run_until_quiet();
        self.take_received(conn)
    }

    fn is_open(&self, conn: ConnId) -> bool {
        World::is_open(self, conn)
    }

    fn label(&self, conn: ConnId) -> String {
        World::label(self, conn).to_string()
    }

    fn full_jid(&self, conn: ConnId) -> String {
        World::full_jid(self, conn).to_string()
    }

    fn note(&mut self, conn: ConnId, text: String) {
        World::note(self, conn, text)
    }

    fn violation(&self) -> Option<String> {
        World::violation(self).map(|v| v.to_string())
    }
}
