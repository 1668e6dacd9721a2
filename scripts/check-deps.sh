#!/usr/bin/env bash
# The crate rows of ARCHITECTURE.md's code map, "must not depend on", as the build sees
# them: for each workspace crate, the packages that may not appear anywhere in its
# normal (non-dev, non-build) dependency tree (`cargo tree -e normal`). Dev-dependencies
# are free: a bench or a test may compare against the simulator.
#
# Usage: scripts/check-deps.sh        (run by .ci/run; exits 1 on the first broken rule
#                                      of each crate, naming the path that breaks it)
set -euo pipefail
cd "$(dirname "$0")/.."

# crate: forbidden packages (space-separated)
rules=(
  # The service: sans-IO, no harness, no runtime, no files, no randomness of its own.
  "mucsim-server: mucsim-scansion mucsim-sim mucsim-model mucsim-live mucsim-live-client mucsim-hostile mucsim-snapshots tokio rusqlite getrandom rand_chacha"
  # The scripting language: runs over any Backend, knows neither the simulator nor a network.
  "mucsim-scansion: mucsim-sim mucsim-model mucsim-live mucsim-live-client tokio rusqlite getrandom"
  # The simulator: virtual time and one seeded PRNG, no network, no real files, no OS randomness.
  "mucsim-sim: mucsim-model mucsim-live mucsim-live-client tokio rusqlite getrandom"
  # The model checker: over the service and the simulator's storage, never the network
  # (stateright itself draws OS randomness through ahash and rand, so getrandom is allowed).
  "mucsim-model: mucsim-live mucsim-live-client tokio rusqlite"
  # The production front end (the crate of `mucsim serve`): no test tooling, no simulator.
  "mucsim-live: mucsim-sim mucsim-model mucsim-scansion mucsim-live-client mucsim-hostile mucsim-snapshots"
  # The test tooling against live servers: scripts over TCP, not in the simulator.
  "mucsim-live-client: mucsim-sim mucsim-model"
)

failed=0
for rule in "${rules[@]}"; do
  crate=${rule%%:*}
  forbidden=${rule#*:}
  deps=$(cargo tree --quiet -e normal -p "$crate" --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  for f in $forbidden; do
    if grep -qx -- "$f" <<<"$deps"; then
      echo "check-deps: $crate must not depend on $f, but does (cargo tree -e normal -i $f -p $crate):" >&2
      cargo tree --quiet -e normal -p "$crate" -i "$f" >&2 || true
      failed=1
    fi
  done
done

if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "check-deps: ${#rules[@]} crates keep to their 'must not depend on' (ARCHITECTURE.md)"
