#!/usr/bin/env bash
# e2e-load.sh WORK C2S_A C2S_B COMPONENT_PORT SECRET — the shared muc-load generator
# against (A) Prosody's own MUC and (B) mucsim serve behind Prosody, one after the
# other in one run, and a side-by-side table. Called by e2e.sh (which owns the ports
# and cleans up); the servers here are started and stopped by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
inst="$root/scripts/prosody-instance.sh"
tools="${MUC_LOAD:-$root/../shared/tools/muc-load}"
work="$1"; c2s_a="$2"; c2s_b="$3"; comp="$4"; secret="$5"
n="${LOAD_N:-10,25,50}"; m="${LOAD_M:-50}"; runs="${LOAD_RUNS:-1}"
mkdir -p "$work"
log() { echo "[e2e-load] $*" >&2; }

pa="$(NAGLE=false LEAN=1 "$inst" start "$work/A" muc "$c2s_a")"
trap '"$inst" stop "$pa"' EXIT
log "A: Prosody's MUC, PID $pa; N=$n M=$m runs=$runs"
python3 "$root/scripts/load_pair.py" "$tools" --pid "$pa" --port "$c2s_a" --n "$n" --m "$m" \
    --runs "$runs" --json "$work/A.json" > "$work/A.txt"
"$inst" stop "$pa"

pb="$(NAGLE=false LEAN=1 "$inst" start "$work/B" ext "$c2s_b" "$comp" "$secret")"
"$root/target/release/mucsim" serve --connect "127.0.0.1:$comp" --secret "$secret" --store "$work/rooms.sqlite" \
    > "$work/serve.log" 2>&1 &
ps=$!
trap '"$inst" stop "$pb"; kill -TERM "$ps" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do grep -q "serving the component" "$work/serve.log" && break; sleep 0.05; done
log "B: mucsim serve PID $ps behind Prosody PID $pb"
COMPONENT_PID="$ps" python3 "$root/scripts/load_pair.py" "$tools" --pid "$pb" --port "$c2s_b" --n "$n" \
    --m "$m" --runs "$runs" --json "$work/B.json" > "$work/B.txt"

echo
echo "## Load: the same muc-load run against A and B (M=$m, medians of $runs run(s))"
python3 "$root/scripts/load_pair.py" --table "$work/A.json" "$work/B.json"
