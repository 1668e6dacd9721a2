# Shared by scripts/prosody-instance.sh and scripts/ejabberd-instance.sh (sourced,
# not run): waiting for a server this project started to come up, and stopping it
# by its PID only.

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

# port_busy PORT: something listens on TCP PORT.
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# listening MODE C2S COMPONENT_PORT: the server listens on C2S and, in mode ext, on
# COMPONENT_PORT too.
listening() { port_busy "$2" && { [ "$1" = muc ] || port_busy "$3"; }; }

# wait_up LAUNCHER TRIES READY...: runs READY... (in this shell, so it may set
# variables) every 50 ms, up to TRIES times, until it succeeds (status 0) or the
# process LAUNCHER has gone (status 1).
wait_up() {
    local launcher="$1" tries="$2"; shift 2
    for _ in $(seq 1 "$tries"); do
        "$@" && return 0
        kill -0 "$launcher" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# apt_install_unstarted PACKAGE...: installs Debian packages without letting them
# start their system-wide services (a policy-rc.d that refuses, removed after, when
# none was there before). Uses sudo when not root.
apt_install_unstarted() {
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        policy=1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
    [ -n "$policy" ] && $sudo rm -f /usr/sbin/policy-rc.d
    return 0
}
