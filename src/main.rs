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
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Checker threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Search order: dfs (flat memory) or bfs (shortest counterexamples, keeps the
        /// whole frontier in memory).
        #[arg(long, value_enum, default_value_t = Search::Dfs)]
        search: Search,
        /// Turn off symmetry reduction (stateright applies it in dfs only).
        #[arg(long)]
        no_symmetry: bool,
        /// Stop after this many states.
        #[arg(long)]
        max_states: Option<usize>,
        /// Where counterexample scripts are written.
        #[arg(long, default_value = ".")]
        scs_dir: PathBuf,
    },
    /// Swarm simulation: random clients, faults, every run reproducible from its seed.
    Sim(commands::sim::SimArgs),
    /// Serve stateright's Explorer for a scenario on 127.0.0.1.
    Explore {
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[arg(long, default_value_t = 3000)]
        port: u16,
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
        /// Run against the service with a deliberate bug (needs --features mutants).
        #[arg(long)]
        mutant: Option<String>,
        /// Play the scripts against a live XMPP server's client port (HOST:PORT)
        /// instead of the simulated world: real TCP, SASL PLAIN, resource binding.
        #[arg(long, conflicts_with = "mutant")]
        server: Option<String>,
        /// Milliseconds a `receives` waits for its stanza.
        #[arg(long, default_value_t = 5_000)]
        timeout_ms: u64,
        /// With --server: write each script's canonical transcript (for diffing two
        /// servers) to DIR/<script>.txt.
        #[arg(long, requires = "server")]
        canonical_dir: Option<PathBuf>,
    },
    /// Host the MUC service on a real XMPP server as an XEP-0114 external component.
    Serve {
        /// The component's domain.
        #[arg(long, default_value = "conference.localhost")]
        domain: String,
        /// The server's component port.
        #[arg(long, default_value = "127.0.0.1:5347")]
        connect: String,
        /// The component secret the server is configured with.
        #[arg(long)]
        secret: String,
        /// A file holding the secret key of the occupant ids (XEP-0421): 64 hex
        /// digits (256 bits). Without it, the key is made at random and kept in the
        /// store (with --no-store: for this process's life).
        #[arg(long, value_name = "FILE")]
        occupant_id_key_file: Option<PathBuf>,
        /// The SQLite file persistent rooms are kept in (created only where no file
        /// exists; anything that is not a mucsim room store is refused, never
        /// overwritten). Held exclusively while serving (FILE.lock holds the pid).
        #[arg(long, default_value = "mucsim-rooms.sqlite")]
        store: PathBuf,
        /// Keep rooms in memory only.
        #[arg(long)]
        no_store: bool,
        /// A service administrator (bare JID; repeatable): may destroy any room by
        /// ad-hoc command, as Prosody's component `admins`.
        #[arg(long = "admin")]
        admins: Vec<String>,
    },
    /// Run every .scs in a directory and print a table.
    Conformance {
        /// Directory of .scs scripts [default: $MUCSIM_CORPUS, else
        /// ../shared/conformance/prosody beside the checkout]
        dir: Option<PathBuf>,
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

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Search {
    Dfs,
    Bfs,
}

/// Which world `check` and `explore` use.
#[derive(clap::Args)]
struct ScenarioArgs {
    /// A named scenario: default, revocation, nick-clash, owner-abdicates, durability.
    #[arg(long)]
    scenario: Option<String>,
    /// Clients (2-4): Romeo the owner, Juliet's phone and laptop, Mercutio.
    #[arg(long)]
    clients: Option<usize>,
    /// Rooms (1-2); every operation is offered in every room.
    #[arg(long)]
    rooms: Option<usize>,
    /// Operation kinds, comma-separated: join, password, leave, nick, groupchat,
    /// members-only, members-only-off, grant, revoke, ban, kick, admin (grant and revoke), destroy,
    /// abdicate, disconnect.
    #[arg(long)]
    ops: Option<String>,
    /// A deliberate bug in the service (needs --features mutants).
    #[arg(long)]
    mutant: Option<String>,
    /// Service crashes per path (0-2): the service may crash anywhere and restart
    /// from its disk; the rooms become persistent.
    #[arg(long)]
    crashes: Option<u8>,
}

impl ScenarioArgs {
    fn choice(self) -> commands::check::ScenarioChoice {
        commands::check::ScenarioChoice {
            name: self.scenario,
            clients: self.clients,
            rooms: self.rooms,
            ops: self.ops,
            mutant: self.mutant,
            crashes: self.crashes,
        }
    }
}

const AVAILABLE: &str = "\
mucsim is being built issue by issue. Available now:
  mucsim run FILE...       play scansion scripts in the simulated world (--seed, --strict, --transcript)
  mucsim conformance [DIR] run a directory of scripts (default: Prosody's MUC corpus) as a table
  mucsim parse FILE        parse an XMPP stream or stanza with the service's parser and limits
  mucsim invariants        list the invariants the service checks after every stanza
  cargo test --workspace   all tests (service, founding scenario, corpus, snapshots)
  mucsim check             model-check the default scenario (--clients, --ops, --search, --scenario)
  mucsim explore           stateright's Explorer on 127.0.0.1:3000
  mucsim sim               swarm simulation with faults (--seeds A..B --steps N --clients K --rooms R --shard i/n)
  mucsim serve             host the service as an XEP-0114 component (--domain --connect --secret)
  mucsim run --server H:P  play scripts against a live server over TCP";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            println!("{AVAILABLE}");
            ExitCode::SUCCESS
        }
        Some(Command::Check {
            scenario,
            threads,
            search,
            no_symmetry,
            max_states,
            scs_dir,
        }) => commands::check::check(
            &scenario.choice(),
            &mucsim_model::check::CheckOptions {
                threads,
                dfs: search == Search::Dfs,
                symmetry: !no_symmetry && search == Search::Dfs,
                max_states,
                stop_at: Vec::new(),
            },
            &scs_dir,
        ),
        Some(Command::Sim(args)) => commands::sim::sim(&args),
        Some(Command::Explore { scenario, port }) => commands::check::explore(&scenario.choice(), port),
        Some(Command::Run {
            files,
            seed,
            strict,
            transcript,
            mutant,
            server,
            timeout_ms,
            canonical_dir,
        }) => {
            let opts = RunOptions {
                timeout_ms,
                ..options(seed, strict)
            };
            match server {
                Some(server) => {
                    commands::live::run_scripts(&server, &files, &opts, transcript, canonical_dir.as_deref())
                }
                None => commands::scripts::run_scripts(&files, &opts, transcript, mutant.as_deref()),
            }
        }
        Some(Command::Serve {
            domain,
            connect,
            secret,
            occupant_id_key_file,
            store,
            no_store,
            admins,
        }) => commands::live::serve(
            &domain,
            &connect,
            &secret,
            occupant_id_key_file.as_deref(),
            (!no_store).then_some(store.as_path()),
            &admins,
        ),
        Some(Command::Conformance { dir, seed, strict }) => {
            let dir = match dir {
                Some(d) => d,
                None => {
                    let d = mucsim_sim::corpus::dir();
                    if !mucsim_sim::corpus::holds_scripts(&d) {
                        eprintln!("mucsim: {}", mucsim_sim::corpus::missing_message(&d));
                        return ExitCode::from(2);
                    }
                    d
                }
            };
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
