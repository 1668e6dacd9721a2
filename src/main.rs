//! The `mucsim` command. Thin: argument parsing, output, exit codes. The work lives
//! in the workspace crates; each subcommand's glue lives in `commands/`.

mod commands;

use clap::{Parser, Subcommand};
use mucsim_sim::scansion::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mucsim",
    version,
    about = "Prove things about XEP-0045 multi-user chat room logic"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Model-check the default scenario: every property's verdict and the state counts.
    Check {
        /// Checker threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Depth-first instead of breadth-first.
        #[arg(long)]
        dfs: bool,
        /// Stop after this many states.
        #[arg(long)]
        max_states: Option<usize>,
    },
    /// Run scansion scripts in the simulated world; non-zero exit on any failure.
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seed of the world (resources, latencies, occupant-ids).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fail on any received stanza the script does not expect (default: skip it).
        #[arg(long)]
        strict: bool,
        /// Print each script's transcript.
        #[arg(long)]
        transcript: bool,
    },
    /// Run every .scs in a directory and print a table.
    Conformance {
        #[arg(default_value = "../shared/conformance/prosody")]
        dir: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        strict: bool,
    },
    /// Parse an XMPP stream or stanza file and report the first refusal, if any.
    Parse {
        /// File holding a `<stream:stream>` stream or a single stanza.
        file: PathBuf,
    },
    /// Show the service's invariants, by name.
    Invariants,
}

const AVAILABLE: &str = "\
mucsim is being built issue by issue. Available now:
  mucsim run FILE...       play scansion scripts in the simulated world (--seed, --strict, --transcript)
  mucsim conformance [DIR] run a directory of scripts (default: Prosody's MUC corpus) as a table
  mucsim parse FILE        parse an XMPP stream or stanza with the service's parser and limits
  mucsim invariants        list the invariants the service checks after every stanza
  cargo test --workspace   all tests (service, founding scenario, corpus, snapshots)
  mucsim check             model-check the default scenario (first version, issue 5)
Coming: `sim` (swarms, issue 7), `serve` (XEP-0114, issue 8).";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            println!("{AVAILABLE}");
            ExitCode::SUCCESS
        }
        Some(Command::Check {
            threads,
            dfs,
            max_states,
        }) => commands::check::check(&mucsim_model::check::CheckOptions {
            threads,
            dfs,
            max_states,
        }),
        Some(Command::Run {
            files,
            seed,
            strict,
            transcript,
        }) => commands::scripts::run_scripts(&files, &options(seed, strict), transcript),
        Some(Command::Conformance { dir, seed, strict }) => {
            commands::scripts::conformance(&dir, &options(seed, strict))
        }
        Some(Command::Invariants) => {
            for inv in server::Invariant::ALL {
                println!("{:?}: {}", inv, inv.sentence());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Parse { file }) => commands::parse::parse(&file),
    }
}

fn options(seed: u64, strict: bool) -> RunOptions {
    RunOptions {
        seed,
        strict,
        ..RunOptions::default()
    }
}
