//! Where operating-system randomness enters mucsim, by name and only here: the
//! secret XEP-0421 occupant-id key of `mucsim serve`. The service, the simulator and
//! the model never draw randomness (their keys come from seeds).

/// 256 bits from the operating system's generator (`getrandom`: Linux `getrandom(2)`).
/// Errors: the reason, if the system gives none (a key is never made up).
#[allow(clippy::disallowed_methods)]
pub fn random_key() -> Result<[u8; 32], String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| e.to_string())?;
    Ok(key)
}
