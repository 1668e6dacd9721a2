//! The `mucsim` command. Thin: argument parsing, output, exit codes. The work lives
//! in the workspace crates.

use clap::{Parser, Subcommand};
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
    /// Model-check the default scenarios (not built yet: prints what is available).
    Check,
    /// Parse an XMPP stream or stanza file and report the first refusal, if any.
    Parse {
        /// File holding a `<stream:stream>` stream or a single stanza.
        file: std::path::PathBuf,
    },
    /// Show the service's invariants, by name.
    Invariants,
}

const AVAILABLE: &str = "\
mucsim is being built issue by issue. Available now:
  mucsim parse FILE     parse an XMPP stream or stanza with the service's parser and limits
  mucsim invariants     list the invariants the service checks after every stanza
  cargo test --workspace   the MUC service's tests (founding scenario, every behaviour, hostile XML)
  cargo bench -p mucsim-server   throughput benches (join storm, fan-out, churn, parser)
Coming: `check` (model checking, issue 5), `run`/`conformance` (scansion, issue 4),
`sim` (swarms, issue 7), `serve` (XEP-0114 component, issue 8).";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Check) => {
            println!("{AVAILABLE}");
            ExitCode::SUCCESS
        }
        Some(Command::Invariants) => {
            for inv in server::Invariant::ALL {
                println!("{:?}: {}", inv, inv.sentence());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Parse { file }) => parse(&file),
    }
}

fn parse(file: &std::path::Path) -> ExitCode {
    use server::xml::{parse_stanza, Limits, StreamEvent, StreamParser};
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mucsim: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let limits = Limits::default();
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&bytes[..], |i| &bytes[i..]);
    let is_stream = trimmed.starts_with(b"<?xml") || trimmed.starts_with(b"<stream:");
    let result = if is_stream {
        let mut p = StreamParser::new(limits);
        p.feed(&bytes).map(|evs| {
            evs.into_iter()
                .map(|e| match e {
                    StreamEvent::Open(h) => format!("stream open: {}", h.to_xml()),
                    StreamEvent::Stanza(s) => s.to_xml_in("jabber:client"),
                    StreamEvent::Close => "stream close".to_string(),
                })
                .collect::<Vec<_>>()
        })
    } else {
        parse_stanza(&bytes, "jabber:client", &limits).map(|e| vec![e.to_xml_in("jabber:client")])
    };
    match result {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "mucsim: {}: refused ({}): {e}",
                file.display(),
                e.stream_condition()
            );
            ExitCode::from(1)
        }
    }
}
