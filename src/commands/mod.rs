pub mod check;
pub mod live;
pub mod parse;
pub mod progress;
pub mod scripts;
pub mod sim;

/// The deliberate bug `name` (`--mutant`), in builds with the mutants feature.
#[cfg(feature = "mutants")]
pub fn mutant(name: &str) -> Result<server::Mutant, String> {
    server::Mutant::parse(name).ok_or_else(|| {
        let known: Vec<&str> = server::Mutant::ALL.iter().map(|m| m.name()).collect();
        format!("unknown mutant '{name}' (known: {})", known.join(", "))
    })
}

/// Without the mutants feature there are none.
#[cfg(not(feature = "mutants"))]
pub fn mutant(_: &str) -> Result<std::convert::Infallible, String> {
    Err(
        "--mutant needs a build with the mutants feature (cargo run --release --features mutants -- ...)"
            .into(),
    )
}

/// `--mutant`'s help: the mutant names this build knows, or how to get a build that has them.
#[cfg(feature = "mutants")]
pub fn mutant_help() -> String {
    let known: Vec<&str> = server::Mutant::ALL.iter().map(|m| m.name()).collect();
    format!(
        "A deliberate bug in the service, by name (default: none). Known: {}",
        known.join(", ")
    )
}

/// `--mutant`'s help: the mutant names this build knows, or how to get a build that has them.
#[cfg(not(feature = "mutants"))]
pub fn mutant_help() -> String {
    "A deliberate bug in the service, by name (default: none). This build has none: \
     build with --features mutants, whose --help lists them"
        .into()
}

/// `--threads N`: N worker threads, 0 meaning one per core (at least 1).
pub fn threads(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
}

/// Writing to a closed pipe (`mucsim check | head -1`) ends the process quietly, as
/// for other Unix filters: Rust ignores SIGPIPE, which turns such a write into an
/// error that `println!` panics on. Sockets are unaffected: std writes them with
/// MSG_NOSIGNAL.
pub fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread starts; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
