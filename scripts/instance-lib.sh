# Shared by scripts/prosody-instance.sh and scripts/ejabberd-instance.sh (sourced,
# not run): stopping a server this project started, by its PID only.

# stop_by_pid PID IS_OURS SECONDS: if `IS_OURS PID` says the process is one this
# project started, send it TERM, wait up to SECONDS for it to go, then KILL it.
# Nothing else is ever signalled.
stop_by_pid() {
    local pid="$1" is_ours="$2" seconds="$3"
    "$is_ours" "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((seconds * 20))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}
