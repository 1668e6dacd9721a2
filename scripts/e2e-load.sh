#!/usr/bin/env bash
# e2e-load.sh WORK C2S_A C2S_B COMPONENT_PORT SECRET [C2S_C C2S_D COMPONENT_PORT_D DIST]
# — the shared muc-load generator against (A) Prosody's own MUC and (B) mucsim serve
# behind Prosody, and, given the ejabberd ports, (C) ejabberd's own MUC and (D) mucsim
# serve behind ejabberd, one after the other in one run, and a side-by-side table.
# Called by e2e.sh (which owns the ports and cleans up); the servers here are
# started and stopped by PID. DIST is the Erlang distribution port of the ejabberd
# node (loopback, no epmd). ejabberd needs the load accounts registered: from
# $EJABBERD_SPOOL_FROM (made by e2e.sh), else registered here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
inst="$root/scripts/prosody-instance.sh"
ej="$root/scripts/ejabberd-instance.sh"
tools="${MUC_LOAD:-$root/../shared/tools/muc-load}"
work="$1"; c2s_a="$2"; c2s_b="$3"; comp="$4"; secret="$5"
c2s_c="${6:-}"; c2s_d="${7:-}"; comp_d="${8:-}"; dist="${9:-}"
n="${LOAD_N:-10,25,50}"; m="${LOAD_M:-50}"; runs="${LOAD_RUNS:-1}"
# LOAD_TIMEOUT: seconds muc_load waits for a phase to complete (its own default, 60,
# is too short for N=50 on a 2-core machine shared with other jobs).
mkdir -p "$work"
log() { echo "[e2e-load] $*" >&2; }

pids=()  # "kind:pid" of what this script started and has not stopped
stop_all() {
    for kp in "${pids[@]:-}"; do
        case "$kp" in
            prosody:*) "$inst" stop "${kp#*:}" ;;
            ejabberd:*) "$ej" stop "${kp#*:}" ;;
            serve:*) kill -TERM "${kp#*:}" 2>/dev/null || true ;;
        esac
    done
    pids=()
}
trap stop_all EXIT
start_serve() {  # PORT LOG -> PID
    "$root/target/release/mucsim" serve --connect "127.0.0.1:$1" --secret "$secret" --store "$work/rooms-$1.sqlite" \
        > "$2" 2>&1 &
    local ps=$!
    for _ in $(seq 1 200); do grep -q "serving the component" "$2" && break; sleep 0.05; done
    echo "$ps"
}
load() {  # SERVER_PID PORT OUT [COMPONENT_PID]
    COMPONENT_PID="${4:-}" python3 "$root/scripts/load_pair.py" "$tools" --pid "$1" --port "$2" --n "$n" \
        --timeout "${LOAD_TIMEOUT:-180}" \
        --m "$m" --runs "$runs" --json "$work/$3.json" > "$work/$3.txt"
}

pa="$(NAGLE=false LEAN=1 "$inst" start "$work/A" muc "$c2s_a")"; pids=("prosody:$pa")
log "A: Prosody's MUC, PID $pa; N=$n M=$m runs=$runs"
load "$pa" "$c2s_a" A
stop_all

pb="$(NAGLE=false LEAN=1 "$inst" start "$work/B" ext "$c2s_b" "$comp" "$secret")"; pids=("prosody:$pb")
ps="$(start_serve "$comp" "$work/serve-B.log")"; pids+=("serve:$ps")
log "B: mucsim serve PID $ps behind Prosody PID $pb"
load "$pb" "$c2s_b" B "$ps"
stop_all
tables=("A=$work/A.json" "B=$work/B.json")

if [ -n "$c2s_c" ]; then
    if [ -z "${EJABBERD_SPOOL_FROM:-}" ]; then
        "$ej" accounts "$work/ejabberd-spool" "$c2s_c" "$dist" -- $(seq -f 'load%g' 1 50)
        export EJABBERD_SPOOL_FROM="$work/ejabberd-spool"
    fi
    pc="$("$ej" start "$work/C" muc "$c2s_c" "$dist")"; pids=("ejabberd:$pc")
    log "C: ejabberd's MUC, VM PID $pc"
    load "$pc" "$c2s_c" C
    stop_all

    pd="$("$ej" start "$work/D" ext "$c2s_d" "$dist" "$comp_d" "$secret")"; pids=("ejabberd:$pd")
    ps="$(start_serve "$comp_d" "$work/serve-D.log")"; pids+=("serve:$ps")
    log "D: mucsim serve PID $ps behind ejabberd VM PID $pd"
    load "$pd" "$c2s_d" D "$ps"
    stop_all
    tables+=("C=$work/C.json" "D=$work/D.json")
fi

echo
echo "## Load: the same muc-load run against ${#tables[@]} servers (M=$m, medians of $runs run(s))"
python3 "$root/scripts/load_pair.py" --table "${tables[@]}"
