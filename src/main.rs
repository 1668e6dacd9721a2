//! The `mucsim` command. Thin: argument parsing, output, exit codes. The work lives
//! in the workspace crates; each subcommand's glue lives in `commands/`.

mod commands;

use clap::{Parser, Subcommand};
use mucsim_sim::scansion::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc, not the system allocator: the model checker clones and drops a service
/// per step (rooms are maps of strings), and glibc's malloc and free were 40 % of its
/// instructions (callgrind, `check --scenario revocation`; docs/performance.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "mucsim",
    version,
    about = "Prove things about XEP-0045 multi-user chat room logic",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `check`'s exit codes, shown under `mucsim check --help`.
const CHECK_EXIT_CODES: &str = "\
Exit codes:
  0  the search was exhausted and every always property holds (or is not exercised);
     a sometimes property not reached is reported (NOT REACHED) but does not fail
  1  a property is violated (its counterexample is printed and written as a .scs script)
  2  bad arguments, or the scenario cannot be built
  3  the search stopped at --max-states before it was exhausted and nothing was violated:
     each property is reported as not violated (or not reached) within that many states";

#[derive(Subcommand)]
enum Command {
    /// Model-check scenarios: every property's verdict, the state counts, a summary.
    ///
    /// With no scenario option (--scenario, --clients, --rooms, --ops, --crashes) it
    /// runs the default set, one after the other: the default scenario (members-only
    /// revocation), permissions-owner, -admin, -member, -outsider, -outcast (each
    /// actor tries every request), privacy (whois), password (two sessions),
    /// invitations, domain-bans, then durability (one service crash per path).
    #[command(after_help = CHECK_EXIT_CODES)]
    Check {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Checker threads; 0 means one per core.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Search order: dfs (flat memory) or bfs (shortest counterexamples, keeps the
        /// whole frontier in memory).
        #[arg(long, value_enum, default_value_t = Search::Dfs)]
        search: Search,
        /// Turn off symmetry reduction (stateright applies it in dfs only).
        #[arg(long)]
        no_symmetry: bool,
        /// Stop once this many states have been generated (at least 1; default:
        /// explore everything). stateright checks the bound between batches of work,
        /// so the search may go a few thousand states past it; the verdicts name the
        /// count actually explored. A search stopped early proves nothing: exit code 3.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_states: Option<u64>,
        /// Where counterexample scripts are written, relative to the current directory
        /// (created if missing); every path written is printed.
        #[arg(long, default_value = commands::check::DEFAULT_SCS_DIR)]
        scs_dir: PathBuf,
        /// Seconds between progress lines on stderr when stderr is not a terminal
        /// (on a terminal a spinner shows instead).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        progress_secs: u64,
    },
    /// Swarm simulation: random clients, faults, every run reproducible from its seed.
    Sim(commands::sim::SimArgs),
    /// Serve stateright's Explorer for a scenario on 127.0.0.1.
    Explore {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The TCP port on 127.0.0.1; 0 picks a free one (the address is printed).
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
    /// Run scansion scripts in the simulated world; non-zero exit on any failure.
    Run {
        /// The scansion scripts (.scs) to run, in order, each in a fresh world.
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
        /// Run against the service with a deliberate bug.
        #[arg(long, help = commands::mutant_help())]
        mutant: Option<String>,
        /// Play the scripts against a live XMPP server's client port (HOST:PORT)
        /// instead of the simulated world: real TCP, SASL PLAIN, resource binding.
        /// Default: the simulated world.
        #[arg(long, conflicts_with = "mutant")]
        server: Option<String>,
        /// Milliseconds a `receives` waits for its stanza.
        #[arg(long, default_value_t = 5_000)]
        timeout_ms: u64,
        /// With --server: write each script's canonical transcript (for diffing two
        /// servers) to DIR/<script>.txt. Default: none written.
        #[arg(long, requires = "server")]
        canonical_dir: Option<PathBuf>,
        /// Accept the children of a muc#user <x/> (status codes, item) in any order:
        /// XEP-0045's schema (§19.2) fixes none, and servers other than Prosody order
        /// them differently. Default: the order the script gives (Prosody's rule).
        #[arg(long)]
        unordered_children: bool,
    },
    /// Host the MUC service on a real XMPP server as an XEP-0114 external component.
    Serve {
        /// The component's domain.
        #[arg(long, default_value = "conference.localhost")]
        domain: String,
        /// The server's component port.
        #[arg(long, default_value = "127.0.0.1:5347")]
        connect: String,
        /// The component secret the server is configured with (required; not empty).
        /// Read from $MUCSIM_COMPONENT_SECRET when the option is not given, which keeps
        /// it out of `ps` and shell history.
        #[arg(long, env = "MUCSIM_COMPONENT_SECRET", hide_env_values = true)]
        secret: String,
        /// A file holding the secret key of the occupant ids (XEP-0421): 64 hex
        /// digits (256 bits). By default none: the key is made at random and kept in
        /// the store (with --no-store: for this process's life).
        #[arg(long, value_name = "FILE")]
        occupant_id_key_file: Option<PathBuf>,
        /// The SQLite file persistent rooms are kept in, relative to the current
        /// directory (created only where no file exists; anything that is not a mucsim
        /// room store is refused, never overwritten). Held exclusively while serving
        /// (FILE.lock holds the pid). The default is git-ignored in a checkout.
        #[arg(long, default_value = "mucsim-rooms.sqlite")]
        store: PathBuf,
        /// Keep rooms in memory only.
        #[arg(long)]
        no_store: bool,
        /// A service administrator (bare JID; repeatable): may destroy any room by
        /// ad-hoc command, as Prosody's component `admins`. Default: none.
        #[arg(long = "admin")]
        admins: Vec<String>,
    },
    /// Run every .scs in a directory and print a table; non-zero exit when a script
    /// fails or the directory holds none.
    Conformance {
        /// The directory of .scs scripts [default: $MUCSIM_CORPUS, else
        /// ../shared/conformance/prosody beside the checkout] (Prosody's spec/scansion
        /// holds its MUC corpus).
        dir: Option<PathBuf>,
        /// Seed of each script's world (resources, latencies, occupant-ids).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fail a script on any received stanza it does not expect (default: skip it).
        #[arg(long)]
        strict: bool,
    },
    /// Parse an XMPP stream or stanza file and report the first refusal, if any.
    ///
    /// A stream is read and printed stanza by stanza, so memory stays bounded by the
    /// largest stanza, not the file. Exit code 1 when a stanza is refused or the file
    /// ends inside one (cut off); 2 when the file cannot be read.
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
    /// A named scenario: default, revocation, nick-clash, owner-abdicates, durability,
    /// permissions-owner, permissions-admin, permissions-member, permissions-outsider,
    /// permissions-outcast, privacy, password, invitations, domain-bans.
    /// Default: the default scenario (with `check`, then the rest of the default set).
    /// Cannot be combined with --clients, --rooms or --ops.
    #[arg(long)]
    scenario: Option<String>,
    /// Generate a scenario with this many clients (2-4): Romeo the owner, Juliet's
    /// phone and laptop, Mercutio. Default when --rooms or --ops is given: 3.
    #[arg(long)]
    clients: Option<usize>,
    /// Generate a scenario with this many rooms (1-2); every operation is offered in
    /// every room. Default when --clients or --ops is given: 1.
    #[arg(long)]
    rooms: Option<usize>,
    /// Generate a scenario with these operation kinds, comma-separated: join,
    /// password, leave, nick, groupchat, members-only, members-only-off, grant,
    /// revoke, ban, kick, admin (grant and revoke), destroy, abdicate, disconnect.
    /// Default when --clients or --rooms is given: the default scenario's kinds.
    #[arg(long)]
    ops: Option<String>,
    /// A deliberate bug in the service.
    #[arg(long, help = commands::mutant_help())]
    mutant: Option<String>,
    /// Service crashes per path (0-2): the service may crash anywhere and restart
    /// from its disk; the rooms become persistent. Default: the scenario's own
    /// (0, or 1 for durability).
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

fn main() -> ExitCode {
    commands::restore_sigpipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            scenario,
            threads,
            search,
            no_symmetry,
            max_states,
            scs_dir,
            progress_secs,
        } => commands::check::check(
            &scenario.choice(),
            &mucsim_model::check::CheckOptions {
                threads: commands::threads(threads),
                dfs: search == Search::Dfs,
                symmetry: !no_symmetry && search == Search::Dfs,
                max_states: max_states.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                stop_at: Vec::new(),
            },
            &scs_dir,
            std::time::Duration::from_secs(progress_secs),
        ),
        Command::Sim(args) => commands::sim::sim(&args),
        Command::Explore { scenario, port } => commands::check::explore(&scenario.choice(), port),
        Command::Run {
            files,
            seed,
            strict,
            transcript,
            mutant,
            server,
            timeout_ms,
            canonical_dir,
            unordered_children,
        } => {
            let opts = RunOptions {
                timeout_ms,
                unordered_children,
                ..options(seed, strict)
            };
            if unordered_children {
                println!("matching: the children of a muc#user <x/> in any order (--unordered-children)");
            }
            match server {
                Some(server) => {
                    commands::live::run_scripts(&server, &files, &opts, transcript, canonical_dir.as_deref())
                }
                None => commands::scripts::run_scripts(&files, &opts, transcript, mutant.as_deref()),
            }
        }
        Command::Serve {
            domain,
            connect,
            secret,
            occupant_id_key_file,
            store,
            no_store,
            admins,
        } => live::command::run(
            &domain,
            &connect,
            &secret,
            occupant_id_key_file.as_deref(),
            (!no_store).then_some(store.as_path()),
            &admins,
        ),
        Command::Conformance { dir, seed, strict } => {
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
        Command::Invariants => {
            for inv in server::Invariant::ALL {
                println!("{:?}: {}", inv, inv.sentence());
            }
            ExitCode::SUCCESS
        }
        Command::Parse { file } => commands::parse::parse(&file),
    }
}

fn options(seed: u64, strict: bool) -> RunOptions {
    RunOptions {
        seed,
        strict,
        ..RunOptions::default()
    }
}
