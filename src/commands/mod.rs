pub mod check;
pub mod live;
pub mod parse;
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
