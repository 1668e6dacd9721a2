#!/usr/bin/env bash
# Every ratio docs/performance.md quotes, measured side by side in one run (same
# machine, same minute, same mode, same thread count), each on one line:
#
#   model checking   mucsim check vs stateright's own Paxos example, DFS and BFS,
#                    unique states/s; BFS bytes of peak RSS per unique state;
#                    1 -> 2 threads speed-up of mucsim check (default scenario, DFS)
#   parser           mucsim's stream parser vs roxmltree and vs quick-xml's NsReader
#                    resolving every name and reading every attribute (same bytes)
#   deliveries       fan-out and join storm, 100 occupants, serialized as `mucsim
#                    serve` writes them, and the outbox-only figure, per second
#   swarm            simulated stanzas/s per core (`mucsim sim --threads 1`)
#   fuzzing          execs/s of each cargo-fuzz target, before (every crate instrumented,
#                    AddressSanitizer, value profiling) and after (scripts/fuzz.sh today)
#
#   scripts/bench-compare.sh [SECTION...]    SECTION: model parser deliveries swarm fuzz
#
# Environment: THREADS (default: the number of cores; Paxos uses every core, so keep
# it so for a like-with-like ratio), BFS_ARGS (mucsim's BFS scenario; default the
# three-client generated one, whose frontier fits in ~1 GB: the default scenario's
# takes ~6 GB), SWARM_SEEDS (default 0..40), FUZZ_SECONDS and FUZZ_ROUNDS (each
# target runs ROUNDS times per setup, SECONDS each; default 2 x 10 s).
# Builds first (not timed); the measuring takes about 7 minutes on 2 cores (fuzz: 3).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(model parser deliveries swarm fuzz)
want() { local s; for s in "${sections[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

threads="${THREADS:-$(nproc)}"
bfs_args="${BFS_ARGS:---clients 3 --ops join,members-only,grant,revoke,disconnect}"
fuzz_secs="${FUZZ_SECONDS:-10}"
fuzz_rounds="${FUZZ_ROUNDS:-2}"
swarm_seeds="${SWARM_SEEDS:-0..40}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "bench-compare at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs' ':!README.md' || echo ' (with uncommitted changes)'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"

# What one run prints: unique states and wall seconds and peak RSS (KB), tab-separated.
measure() { # out-file cmd...
  local out="$1"; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$out" 2>"$work/stderr" || {
    local rc=$?
    # mucsim check exits 1 on a violated property: still a measurement, but say so.
    [ "$rc" -eq 1 ] || { cat "$work/stderr" >&2; exit "$rc"; }
  }
  cat "$work/time"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

if want model; then
  cargo fetch --quiet
  src="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'stateright-0.31.0' | head -n1)"
  [ -n "$src" ] || { echo "bench-compare: stateright 0.31.0 not in the cargo registry" >&2; exit 1; }
  # Built once, kept beside our own build (never in the registry).
  paxos_dir="target/stateright-paxos"
  if [ ! -x "$paxos_dir/target/release/examples/paxos" ]; then
    rm -rf "$paxos_dir"; mkdir -p target; cp -r "$src" "$paxos_dir"; chmod -R u+w "$paxos_dir"
    # Its own workspace, not ours (the copy lives under our target/).
    printf '\n[workspace]\n' >>"$paxos_dir/Cargo.toml"
  fi
  (cd "$paxos_dir" && cargo build --quiet --release --example paxos 2>"$work/paxos-build") ||
    { cat "$work/paxos-build" >&2; exit 1; }
  paxos="$paxos_dir/target/release/examples/paxos"
  cargo build --quiet --release
  [ "$threads" = "$(nproc)" ] || echo "note: THREADS=$threads but Paxos uses all $(nproc) cores: not the same thread count"

  paxos_run() { # mode -> "unique secs rss_kb"
    read -r secs kb < <(measure "$work/paxos" "$paxos" "check-$1" 3)
    echo "$(sed -n 's/^Done\..*unique=\([0-9]*\).*/\1/p' "$work/paxos") $secs $kb"
  }
  muc_run() { # args... -> "unique secs rss_kb"
    read -r secs kb < <(measure "$work/muc" ./target/release/mucsim check "$@")
    echo "$(sed -n 's/^\([0-9]*\) unique states.*/\1/p' "$work/muc") $secs $kb"
  }
  line() { # label unique secs kb
    awk -v l="$1" -v u="$2" -v s="$3" -v k="$4" \
      'BEGIN { printf "  %-62s %10d unique %7.1f s %9.0f /s %7.0f MB %6.0f B/state\n", l, u, s, u / s, k / 1024, k * 1024 / u }'
  }
  echo "== model checking (unique states/s; same mode, $threads threads)"
  read -r pu ps pk < <(paxos_run dfs)
  line "stateright paxos check-dfs 3" "$pu" "$ps" "$pk"
  read -r mu ms mk < <(muc_run --scenario default --threads "$threads")
  line "mucsim check --scenario default --threads $threads (DFS)" "$mu" "$ms" "$mk"
  echo "  ratio DFS: mucsim / paxos = $(ratio "$(ratio "$mu" "$ms")" "$(ratio "$pu" "$ps")")x"
  read -r pu ps pk < <(paxos_run bfs)
  line "stateright paxos check-bfs 3" "$pu" "$ps" "$pk"
  # shellcheck disable=SC2086
  read -r bu bs bk < <(muc_run $bfs_args --search bfs --threads "$threads")
  line "mucsim check $bfs_args --search bfs --threads $threads" "$bu" "$bs" "$bk"
  echo "  ratio BFS: mucsim / paxos = $(ratio "$(ratio "$bu" "$bs")" "$(ratio "$pu" "$ps")")x"
  echo "  BFS memory: paxos $(awk -v k="$pk" -v u="$pu" 'BEGIN{printf "%.0f", k*1024/u}') B, mucsim $(awk -v k="$bk" -v u="$bu" 'BEGIN{printf "%.0f", k*1024/u}') B of peak RSS per unique state"
  read -r u1 s1 k1 < <(muc_run --scenario default --threads 1)
  line "mucsim check --scenario default --threads 1 (DFS)" "$u1" "$s1" "$k1"
  if [ "$threads" = 2 ]; then
    echo "  1 -> 2 threads: $(ratio "$s1" "$ms")x (wall time; unique states $u1 and $mu)"
  else
    read -r u2 s2 k2 < <(muc_run --scenario default --threads 2)
    line "mucsim check --scenario default --threads 2 (DFS)" "$u2" "$s2" "$k2"
    echo "  1 -> 2 threads: $(ratio "$s1" "$s2")x (wall time; unique states $u1 and $u2)"
  fi
fi

if want parser; then
  echo "== parser (same bytes, readers interleaved, best of 60 rounds each)"
  cargo bench --quiet -p mucsim-server --bench parser --no-run 2>/dev/null
  cargo bench --quiet -p mucsim-server --bench parser -- --ratio-only 2>/dev/null | sed -n 's/^parser\//  /p'
fi

if want deliveries; then
  echo "== deliveries, 100 occupants, one core (criterion median; serialized = bytes as mucsim serve writes them)"
  cargo bench --quiet -p mucsim-live --bench deliveries --no-run 2>/dev/null
  cargo bench --quiet -p mucsim-live --bench deliveries -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
    awk '/^deliveries\// { if ($0 ~ /bytes/) { print "  " $0; next } name = $1; fresh = 1 }
         /thrpt:/ && fresh { printf "  %-48s %8.2f %s (elem = delivery)\n", name, $4, $5; fresh = 0 }'
fi

if want swarm; then
  echo "== swarm (one thread: simulated stanzas/s per core)"
  cargo build --quiet --release
  ./target/release/mucsim sim --threads 1 --seeds "$swarm_seeds" 2>/dev/null | grep -E 'stanzas/s|inputs/s' | sed 's/^/  /'
fi

if want fuzz; then
  # BEFORE is the setup until this section was written (scripts/fuzz.sh at f93d7e6):
  # every crate instrumented, AddressSanitizer, value profiling. AFTER is today's
  # scripts/fuzz.sh: only this repository's crates instrumented (fuzz/instrument-ours.sh),
  # AddressSanitizer without allocation stacks and fake stacks (stanza and service_ops:
  # no sanitizer, fuzz/target/ours-nosan), no value profiling. Same target bodies, same
  # seeds, same dictionary and -max_len; the two alternate per target (before, after,
  # before, after, ...) so that both see the same minutes of this shared machine.
  # execs/s is libFuzzer's count over wall time; per CPU second (user + system) is
  # printed too, as the machine's other load moves wall rates.
  echo "== fuzzing (execs/s from the seed corpus, before/after alternating ${fuzz_rounds} x ${fuzz_secs} s per target)"
  export RUSTC_BOOTSTRAP=1
  cd fuzz
  before_san=()
  cargo fuzz build -O >/dev/null 2>&1 || { before_san=(-s none); cargo fuzz build -O "${before_san[@]}" >/dev/null 2>&1; }
  [ ${#before_san[@]} -eq 0 ] || echo "  note: AddressSanitizer does not build here; BEFORE runs without it"
  after_san=()
  RUSTC_WRAPPER="$PWD/instrument-ours.sh" cargo fuzz build -O --target-dir target/ours >/dev/null 2>&1 || {
    after_san=(-s none); RUSTC_WRAPPER="$PWD/instrument-ours.sh" cargo fuzz build -O "${after_san[@]}" --target-dir target/ours >/dev/null 2>&1; }
  for t in stanza service_ops; do
    RUSTC_WRAPPER="$PWD/instrument-ours.sh" cargo fuzz build -O -s none --target-dir target/ours-nosan "$t" >/dev/null 2>&1
  done
  triple="$(rustc -vV | sed -n 's/^host: //p')"
  fuzz_run() { # label asan-options binary-dir target libFuzzer-options... -> appends "execs cpu-seconds wall-seconds" to $work/$label-$target
    local label="$1" asan="$2" dir="$3" t="$4"
    shift 4
    rm -rf "$work/corpus"; mkdir -p "$work/corpus"
    cp corpus/"$t"/seed-* "$work/corpus/"
    ASAN_OPTIONS="detect_odr_violation=0$asan" /usr/bin/time -f '%U %S %e' -o "$work/time" \
      "$dir/$triple/release/$t" "$work/corpus" -dict=xml.dict -max_len=2048 "$@" \
      -max_total_time="$fuzz_secs" -print_final_stats=1 -artifact_prefix="$work/" >"$work/fuzz.log" 2>&1 ||
      echo "  $t ($label): a finding (see $work/fuzz.log)"
    awk '/stat::number_of_executed_units/ { n = $2 } END { printf "%d ", n }' "$work/fuzz.log" >>"$work/$label-$t"
    awk '{ printf "%.2f %.2f\n", $1 + $2, $3 }' "$work/time" >>"$work/$label-$t"
  }
  printf '  %-16s %16s %16s %7s %20s %7s\n' target "before execs/s" "after execs/s" ratio "per CPU s: before" after
  for t in xml_stream stanza service_ops scansion_parse; do
    for _ in $(seq "$fuzz_rounds"); do
      fuzz_run before "" target "$t" -use_value_profile=1
      if [ "$t" = service_ops ] || [ "$t" = stanza ]; then
        fuzz_run after "" target/ours-nosan "$t"
      else
        fuzz_run after ":malloc_context_size=0:detect_stack_use_after_return=0" target/ours "$t"
      fi
    done
    read -r bn bc bw < <(awk '{ n += $1; c += $2; w += $3 } END { print n, c, w }' "$work/before-$t")
    read -r an ac aw < <(awk '{ n += $1; c += $2; w += $3 } END { print n, c, w }' "$work/after-$t")
    awk -v t="$t" -v bn="$bn" -v bc="$bc" -v bw="$bw" -v an="$an" -v ac="$ac" -v aw="$aw" 'BEGIN {
      printf "  %-16s %16.0f %16.0f %6.1fx %20.0f %7.0f  (%.1fx per CPU s)\n", t, bn / bw, an / aw, (an / aw) / (bn / bw), bn / bc, an / ac, (an / ac) / (bn / bc) }'
  done
  cd ..
fi
