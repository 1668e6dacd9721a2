#!/usr/bin/env bash
# prosody-instance.sh — one throwaway Prosody 0.12 on loopback, for end-to-end runs.
#
#   prosody-instance.sh install                 install Debian's prosody if missing
#   prosody-instance.sh start DIR MODE C2S [COMPONENT_PORT SECRET]
#        MODE=muc:  conference.localhost is Prosody's own MUC        (instance A)
#        MODE=ext:  conference.localhost is an external component on
#                   COMPONENT_PORT with SECRET (served by mucsim serve) (instance B)
#        Writes DIR/prosody.cfg.lua from the corpus's own test config (with the
#        edits ../shared/conformance/README.md lists for 0.12.3), starts Prosody,
#        waits for its ports, prints its PID. LEAN=1 leaves out message archiving
#        (mam, muc_mam), for load figures.
#   prosody-instance.sh stop PID                stop that Prosody (only if it is one)
#
# Nothing is written outside DIR; /etc/prosody is never read or touched.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
corpus_cfg="${CORPUS_CFG:-${MUCSIM_CORPUS:-$here/../../shared/conformance/prosody}/prosody.cfg.lua}"

log() { echo "[prosody-instance] $*" >&2; }

install() {
    if command -v prosody >/dev/null 2>&1; then
        return 0
    fi
    log "installing Debian's prosody"
    # Keep the package from starting the system-wide service.
    apt_install_unstarted prosody lua-unbound
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # The package's own service may still have been started by something else: stop
    # only that, by its pidfile, never anything of ours.
    if [ -s /run/prosody/prosody.pid ]; then
        $sudo kill "$(cat /run/prosody/prosody.pid)" 2>/dev/null || true
    fi
    log "installed prosody $(dpkg-query -W -f='${Version}' prosody)"
}

write_config() {  # DIR MODE C2S COMPONENT_PORT SECRET
    local dir="$1" mode="$2" c2s="$3" comp="${4:-}" secret="${5:-}"
    mkdir -p "$dir/data"
    {
        echo "-- Written by mucsim's scripts/prosody-instance.sh from the corpus config."
        echo "run_as_root = true"
        # The corpus config, with the 0.12.3 edits from the corpus README.
        sed -e 's/^admins = FileLines("admins.txt")/admins = { }/' \
            -e '/^network_backend/d' -e '/^network_settings/d' \
            -e '/"debug_reset";/d' \
            -e 's|^pidfile = .*|pidfile = "'"$dir"'/prosody.pid"|' \
            -e 's|^log = .*|log = { info = "'"$dir"'/prosody.log" }|' \
            -e 's|^certificates = .*|certificates = "'"$dir"'"|' \
            "$corpus_cfg" |
        if [ "${LEAN:-0}" = 1 ]; then
            # For load figures: no message archiving (mam, muc_mam), which only A
            # would do and which is not MUC work.
            sed -e '/"mam";/d' -e '/"muc_mam";/d'
        else
            cat
        fi |
        if [ -n "${NAGLE:-}" ]; then
            # network_settings.nagle = false sets TCP_NODELAY on Prosody's sockets.
            cat
            echo "network_settings = { nagle = ${NAGLE} }"
        else
            cat
        fi |
        if [ "$mode" = ext ]; then
            # Replace Prosody's MUC component block (up to the next blank line).
            awk -v secret="$secret" '
                /^Component "conference.localhost" "muc"/ {
                    print "Component \"conference.localhost\""
                    print "\tcomponent_secret = \"" secret "\""
                    skip = 1; next
                }
                skip && /^[[:space:]]*$/ { skip = 0 }
                !skip { print }'
        else
            cat
        fi
        echo
        echo "data_path = \"$dir/data\""
        echo "interfaces = { \"127.0.0.1\" }"
        echo "local_interfaces = { \"127.0.0.1\" }"
        echo "c2s_ports = { $c2s }"
        echo "c2s_direct_tls_ports = { }"
        echo "http_ports = { }"
        echo "https_ports = { }"
        if [ "$mode" = ext ]; then
            echo "component_ports = { $comp }"
            echo "component_interfaces = { \"127.0.0.1\" }"
        else
            echo "component_ports = { }"
        fi
    } > "$dir/prosody.cfg.lua.tmp"
    # Global settings must come before the first VirtualHost: move ours up.
    awk '
        FNR == NR { if (/^(data_path|interfaces|local_interfaces|c2s_ports|c2s_direct_tls_ports|http_ports|https_ports|component_ports|component_interfaces|network_settings) =/) g = g $0 "\n"; next }
        /^VirtualHost/ && !done { printf "%s\n", g; done = 1 }
        /^(data_path|interfaces|local_interfaces|c2s_ports|c2s_direct_tls_ports|http_ports|https_ports|component_ports|component_interfaces|network_settings) =/ { next }
        { print }' "$dir/prosody.cfg.lua.tmp" "$dir/prosody.cfg.lua.tmp" > "$dir/prosody.cfg.lua"
    rm -f "$dir/prosody.cfg.lua.tmp"
}

is_prosody() {  # PID
    [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q "prosody"
}

start() {  # DIR MODE C2S [COMPONENT_PORT SECRET]
    local dir="$1" mode="$2" c2s="$3" comp="${4:-}" secret="${5:-}"
    case "$mode" in muc|ext) ;; *) log "MODE must be muc or ext, not '$mode'"; exit 2 ;; esac
    if port_busy "$c2s"; then log "port $c2s is taken"; exit 1; fi
    write_config "$dir" "$mode" "$c2s" "$comp" "$secret"
    rm -f "$dir/prosody.pid"
    setsid nohup prosody --config "$dir/prosody.cfg.lua" -F >> "$dir/console.log" 2>&1 < /dev/null &
    local launcher=$!
    if wait_up "$launcher" 200 listening "$mode" "$c2s" "$comp"; then
        echo "$launcher"
        return 0
    fi
    log "prosody did not come up; its console:"
    cat "$dir/console.log" >&2 || true
    kill "$launcher" 2>/dev/null || true
    exit 1
}

stop() {  # PID
    stop_by_pid "$1" is_prosody 5
}

cmd="${1:-}"; shift || true
case "$cmd" in
    install) install ;;
    start) start "$@" ;;
    stop) stop "$@" ;;
    *) echo "usage: $0 install | start DIR MODE C2S [COMPONENT_PORT SECRET] | stop PID" >&2; exit 2 ;;
esac
