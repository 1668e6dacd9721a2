#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 30), from the seed corpora,
# then shows the planted parser panic is found within PLANTED_SECONDS. Installs
# cargo-fuzz when missing; works on stable (RUSTC_BOOTSTRAP=1) when no nightly
# toolchain is installed.
#
# The setup (docs/performance.md, "Fuzzing", has the measurements behind each choice):
# - coverage instrumentation for this repository's crates only (fuzz/instrument-ours.sh
#   as RUSTC_WRAPPER): third-party crates (ICU, PRECIS, quick-xml, ...) run
#   uninstrumented, so libFuzzer scans and tracks ~40 % of the counters it used to;
# - AddressSanitizer kept: not for the safe Rust under test, but because in its builds
#   short slice comparisons (an element name against a literal) stay memcmp calls that
#   libFuzzer intercepts and learns whole words from; without it they become integer
#   compares and the planted panic was not found in 10 of 10 runs. ASan's allocation
#   stacks and fake stacks are switched off (they only enrich a report);
# - except for service_ops and stanza, built without a sanitizer (fuzz/target/ours-nosan):
#   their inputs are decoded by `arbitrary` into operations and element trees whose
#   names and values come from fixed vocabularies, not matched text, so learned words
#   buy little there, and the memcmp interception on every string comparison of the
#   service was the top entry of service_ops' profile (21 %); without a sanitizer
#   service_ops ran 2x as fast, stanza 2.8x (side by side, 90 s each);
# - no value profiling: it cost ~30 % of the execs and found the planted panic no sooner;
# - its own build directory, fuzz/target/ours.
# Exit: non-zero on any finding (the crash input is left in fuzz/artifacts/), or if
# the planted panic is NOT found.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (PLANTED_SECONDS: the planted check's limit, default 60)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(xml_stream stanza service_ops scansion_parse)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_WRAPPER="$PWD/instrument-ours.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}malloc_context_size=0:detect_stack_use_after_return=0"
build=(-O --target-dir target/ours)
if ! cargo fuzz build "${build[@]}" >/dev/null 2>&1; then
  echo "fuzz: the AddressSanitizer build failed here; fuzzing without a sanitizer (the planted check may fail)"
  build+=(-s none)
  cargo fuzz build "${build[@]}"
fi
nosan=(-O -s none --target-dir target/ours-nosan)
nosan_targets=(stanza service_ops)
for t in "${nosan_targets[@]}"; do
  cargo fuzz build "${nosan[@]}" "$t" >/dev/null 2>&1 || cargo fuzz build "${nosan[@]}" "$t"
done

# Small inputs run fast and the targets' limits are small to match.
opts=(-dict=xml.dict -max_len=2048)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp corpus/"$t"/seed-* "$work/$t/"
  echo "== fuzz $t for ${secs}s"
  b=("${build[@]}")
  case " ${nosan_targets[*]} " in *" $t "*) b=("${nosan[@]}") ;; esac
  if ! cargo fuzz run "${b[@]}" "$t" "$work/$t" -- "${opts[@]}" \
      -max_total_time="$secs" -print_final_stats=1 >"$work/$t.log" 2>&1; then
    grep -a -E "panicked|ERROR" -A5 "$work/$t.log" | head -40
    echo "fuzz: $t found a failure; the input is in fuzz/artifacts/$t/ (add it to fuzz/regressions/$t/ once fixed)"
    exit 1
  fi
  grep -a -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec" "$work/$t.log" || true
done

planted="${PLANTED_SECONDS:-60}"
echo "== planted panic: xml_stream with --features planted-panic, ${planted} s at most"
mkdir -p "$work/planted"
cp corpus/xml_stream/seed-* "$work/planted/"
cargo fuzz build "${build[@]}" --features planted-panic xml_stream >/dev/null 2>&1
start=$(date +%s)
if cargo fuzz run "${build[@]}" --features planted-panic xml_stream "$work/planted" -- "${opts[@]}" \
    -max_total_time="$planted" >"$work/planted.log" 2>&1; then
  echo "fuzz: the planted panic was NOT found in ${planted} s"
  exit 1
fi
if ! grep -a -q "planted panic" "$work/planted.log"; then
  grep -a -E "panicked" -A3 "$work/planted.log" | head
  echo "fuzz: xml_stream failed, but not on the planted panic"
  exit 1
fi
echo "fuzz: planted panic found after $(( $(date +%s) - start ))s"
rm -rf artifacts/xml_stream/crash-* 2>/dev/null || true
# The planted run must not leave a planted-panic build for later runs.
cargo fuzz build "${build[@]}" >/dev/null 2>&1
