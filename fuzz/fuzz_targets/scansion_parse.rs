#![no_main]
//! The body lives in `mucsim_hostile::scansion_parse`, which the stable test suite also runs
//! over every corpus and regression input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mucsim_hostile::scansion_parse(data));
