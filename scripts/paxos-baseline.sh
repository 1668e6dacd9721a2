#!/usr/bin/env bash
# Runs stateright's own Paxos example (3 clients, BFS, all cores) next to
# `mucsim check` (the default scenario) and prints unique states/s for both.
# The example comes from the stateright crate cargo already downloaded for this
# workspace; it is built in a temporary directory, never in the registry.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
cargo fetch --quiet
src="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'stateright-0.31.0' | head -n1)"
if [ -z "$src" ]; then
  echo "paxos-baseline: stateright 0.31.0 not in the cargo registry" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/stateright"
chmod -R u+w "$work/stateright"
(cd "$work/stateright" && cargo build --quiet --release --example paxos)
cargo build --quiet --release

rate() { # unique states, seconds -> states/s
  awk -v u="$1" -v s="$2" 'BEGIN { printf "%.0f", u / s }'
}

start=$(date +%s.%N)
paxos_out="$("$work/stateright/target/release/examples/paxos" check 3)"
end=$(date +%s.%N)
paxos_secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
paxos_unique=$(printf '%s\n' "$paxos_out" | sed -n 's/^Done\..*unique=\([0-9]*\).*/\1/p')

start=$(date +%s.%N)
muc_out="$(./target/release/mucsim check "$@")"
end=$(date +%s.%N)
muc_secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
muc_unique=$(printf '%s\n' "$muc_out" | sed -n 's/^\([0-9]*\) unique states.*/\1/p')

printf '%-34s %12s %8s %12s\n' "run" "unique" "seconds" "states/s"
printf '%-34s %12s %8.1f %12s\n' "stateright paxos check 3 (BFS)" "$paxos_unique" "$paxos_secs" "$(rate "$paxos_unique" "$paxos_secs")"
printf '%-34s %12s %8.1f %12s\n' "mucsim check $*" "$muc_unique" "$muc_secs" "$(rate "$muc_unique" "$muc_secs")"
awk -v a="$(rate "$muc_unique" "$muc_secs")" -v b="$(rate "$paxos_unique" "$paxos_secs")" \
  'BEGIN { printf "mucsim / paxos: %.0f%%\n", 100 * a / b }'
