#!/usr/bin/env bash
# RUSTC_WRAPPER for cargo-fuzz builds: keeps libFuzzer's coverage instrumentation
# (cargo-fuzz's `-Cpasses=sancov-module` and `-Cllvm-args=-sanitizer-coverage-*`)
# for the crates under test only — this repository's crates and the fuzz targets,
# i.e. every crate whose source is not in cargo's registry or git checkouts — and
# drops it from third-party crates (ICU, PRECIS, quick-xml, jid, sha2, rand, ...).
# Cargo gives one RUSTFLAGS to every crate; a wrapper is where it can differ per
# crate. Every libFuzzer exec scans all coverage counters and tracks the features
# they yield, so counters in code we do not test cost speed and buy nothing
# (docs/performance.md, "Fuzzing"). Every other flag (the sanitizer, --cfg fuzzing,
# debug assertions) passes through unchanged, so all crates still agree on them.
#   RUSTC_WRAPPER="$PWD/instrument-ours.sh" cargo fuzz build ...
# FUZZ_INSTRUMENT_ALSO: third-party crate names (as rustc's --crate-name, e.g.
# quick_xml) to instrument as well, space-separated.
set -euo pipefail
rustc="$1"
shift
prev=""
for a in "$@"; do
  if [ "$prev" = "--crate-name" ]; then
    for c in ${FUZZ_INSTRUMENT_ALSO:-}; do
      [ "$a" = "$c" ] && exec "$rustc" "$@"
    done
    break
  fi
  prev="$a"
done
for a in "$@"; do
  case "$a" in
    -*) ;;
    *.rs)
      case "$a" in
        */registry/src/* | */git/checkouts/*) ;;
        *) exec "$rustc" "$@" ;; # ours: instrumented as cargo-fuzz asks
      esac
      ;;
  esac
done
args=()
for a in "$@"; do
  case "$a" in
    -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
    *) args+=("$a") ;;
  esac
done
exec "$rustc" "${args[@]}"
