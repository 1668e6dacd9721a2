//! Progress of long runs on stderr: indicatif's spinner or bar on a terminal, and a
//! plain line every `every` otherwise (CI logs, files), where indicatif draws nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Where a long run reports how far it is.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    every: Duration,
    last_line: Instant,
}

impl Progress {
    /// `bar` is drawn when stderr is a terminal; otherwise [`Progress::update`] prints
    /// a plain line (prefixed `progress:`) at most once per `every`.
    // Wall-clock pacing of output; the clock ban is for the deterministic crates.
    #[allow(clippy::disallowed_methods)]
    pub fn new(every: Duration, bar: impl FnOnce() -> indicatif::ProgressBar) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = bar();
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            b
        });
        Progress {
            bar,
            every,
            last_line: Instant::now(),
        }
    }

    /// The terminal's bar, if there is one (to advance it from worker threads).
    pub fn bar(&self) -> Option<&indicatif::ProgressBar> {
        self.bar.as_ref()
    }

    /// Shows `message()`: on the terminal's bar now, as a plain line once `every`
    /// has passed since the last one.
    #[allow(clippy::disallowed_methods)]
    pub fn update(&mut self, message: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(message());
                bar.tick();
            }
            None if self.last_line.elapsed() >= self.every => {
                eprintln!("progress: {}", message());
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    /// Clears the terminal's bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
