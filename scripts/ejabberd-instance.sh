#!/usr/bin/env bash
# ejabberd-instance.sh — one throwaway ejabberd (Debian's 23.01) on loopback, for
# end-to-end runs beside Prosody (scripts/prosody-instance.sh).
#
#   ejabberd-instance.sh install               install Debian's ejabberd if missing
#   ejabberd-instance.sh start DIR MODE C2S DIST [COMPONENT_PORT SECRET]
#        MODE=muc:  conference.localhost is ejabberd's own mod_muc       (instance C)
#        MODE=ext:  conference.localhost is an XEP-0114 component on
#                   COMPONENT_PORT with SECRET (mucsim serve); mod_muc off (instance D)
#        Writes DIR/ejabberd.yml and DIR/ejabberdctl.cfg, starts ejabberd in the
#        foreground (detached from this shell), waits for its ports and prints the
#        PID of its Erlang VM (beam.smp), the process that does the work (its CPU is
#        what load figures count) and the one `stop` ends. The node listens for
#        Erlang distribution on 127.0.0.1:DIST only (ERL_DIST_PORT: no epmd, nothing
#        on 4369); the cookie is set on the command line (nothing written in the
#        ejabberd user's home). Spool (Mnesia) and logs stay in DIR; DIR is handed to
#        the `ejabberd` user, as ejabberdctl runs the node as that user.
#        With EJABBERD_SPOOL_FROM=SPOOL (made by `accounts`), that spool is copied in
#        first, so the accounts exist without registering them again (a fresh copy
#        per start: no room survives from one start to the next).
#   ejabberd-instance.sh accounts SPOOL C2S DIST USER... [-- USER...]  starts a
#        throwaway instance, registers each USER@localhost (password "password") with
#        `ejabberdctl register` (four at a time), gives those before `--` a vCard
#        without a photo (`set_vcard`), stops it and leaves its Mnesia spool at SPOOL.
#        The vCard: a user with no avatar is advertised by Prosody's c2s as
#        <x xmlns='vcard-temp:x:update'><photo/></x> (XEP-0153: "no avatar"), and the
#        corpus expects that; ejabberd's c2s advertises <photo/> only for a user
#        whose vCard it holds, and an empty <x/> ("not ready to advertise") otherwise.
#   ejabberd-instance.sh stop PID              stop that ejabberd VM (SIGTERM: the
#        VM's orderly shutdown; SIGKILL after 10 s) — only if PID is a beam.smp
#        whose command line names this script's config
#
# Accounts: ejabberd has no equivalent of Prosody's "insecure" authentication the
# corpus config uses, so the users the scripts log in as are registered.
# Nothing under /etc is read for the instance or changed (the package's own
# /etc/ejabberd stays as installed and unused).
set -euo pipefail
# shellcheck source=instance-lib.sh
. "$(cd "$(dirname "$0")" && pwd)/instance-lib.sh"

log() { echo "[ejabberd-instance] $*" >&2; }

install() {
    if command -v ejabberdctl >/dev/null 2>&1 || [ -x /usr/sbin/ejabberdctl ]; then
        return 0
    fi
    log "installing Debian's ejabberd"
    # Keep the package from starting the system-wide service.
    apt_install_unstarted ejabberd
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # The package's own service may still have been started by something else: stop
    # only that, by its pidfile, never anything of ours.
    if [ -s /run/ejabberd/ejabberd.pid ]; then
        $sudo kill "$(cat /run/ejabberd/ejabberd.pid)" 2>/dev/null || true
    fi
    log "installed ejabberd $(dpkg-query -W -f='${Version}' ejabberd)"
}

write_config() {  # DIR MODE C2S DIST COMPONENT_PORT SECRET
    local dir="$1" mode="$2" c2s="$3" dist="$4" comp="${5:-}" secret="${6:-}"
    mkdir -p "$dir/logs" "$dir/spool"
    # ejabberdctl.cfg: sourced by ejabberdctl (shell).
    {
        echo "# Written by mucsim's scripts/ejabberd-instance.sh"
        echo "ERLANG_NODE=ejabberd@localhost"
        echo "ERL_DIST_PORT=$dist"
        # inet_dist_use_interface: the distribution port on loopback only. Put here
        # rather than in INET_DIST_INTERFACE, which costs every ejabberdctl call an
        # extra Erlang VM to parse the address.
        echo "ERL_OPTIONS=\"-env ERL_CRASH_DUMP_BYTES 0 -setcookie mucsim-e2e-$dist -kernel inet_dist_use_interface {127,0,0,1}\""
        echo "EJABBERD_PID_PATH=$dir/ejabberd.pid"
        echo "CONTRIB_MODULES_PATH=$dir/contrib"
        echo "CONTRIB_MODULES_CONF_DIR=$dir/contrib"
        echo "EJABBERD_BYPASS_WARNINGS=true"
    } > "$dir/ejabberdctl.cfg"
    # An empty inetrc: the package's /etc/ejabberd/inetrc is not read.
    echo "{lookup, [file, native]}." > "$dir/inetrc"
    {
        echo "# Written by mucsim's scripts/ejabberd-instance.sh"
        echo "hosts: [localhost]"
        echo "loglevel: ${EJABBERD_LOGLEVEL:-warning}"
        echo "log_rotate_count: 0"
        echo "hide_sensitive_log_data: true"
        # Plaintext c2s on loopback with SASL PLAIN, as the corpus's Prosody config
        # (no certificates, no STARTTLS); no s2s.
        echo "certfiles: []"
        echo "s2s_access: none"
        echo "auth_method: internal"
        echo "auth_password_format: plain"
        echo "listen:"
        echo "  - port: $c2s"
        echo "    ip: \"127.0.0.1\""
        echo "    module: ejabberd_c2s"
        # The default backlog (5) drops the SYNs of 50 clients connecting at once.
        echo "    backlog: 1024"
        echo "    starttls: false"
        echo "    max_stanza_size: 262144"
        echo "    access: c2s"
        if [ "$mode" = ext ]; then
            # XEP-0114: conference.localhost is the component's.
            echo "  - port: $comp"
            echo "    ip: \"127.0.0.1\""
            echo "    module: ejabberd_service"
            echo "    hosts:"
            echo "      conference.localhost:"
            echo "        password: \"$secret\""
        fi
        cat <<'YAML'
acl:
  local:
    user_regexp: ""
  muc_admin:
    user: admin@localhost
access_rules:
  c2s:
    allow: all
  local:
    allow: local
  muc_create:
    allow: local
  muc_admin:
    allow: muc_admin
  register:
    deny: all
# No shapers: the defaults (3000 B/s per client) would throttle the load runs.
shaper_rules:
  max_user_sessions: 10
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_vcard: {}
  mod_vcard_xupdate: {}
  mod_admin_extra: {}
YAML
        if [ "$mode" = muc ]; then
            # Prosody's MUC defaults, as near as mod_muc's options go: rooms are
            # non-persistent, public and semi-anonymous, only moderators change the
            # subject, 20 messages of history; service admins as in the corpus
            # config (admins = { "Admin@localhost" }). mod_muc has no option to keep
            # a new room locked until it is configured (XEP-0045 §10.1.1).
            cat <<'YAML'
  mod_muc:
    host: conference.localhost
    access: all
    access_create: muc_create
    access_persistent: muc_create
    access_admin: muc_admin
    history_size: 20
    default_room_options:
      persistent: false
      public: true
      anonymous: true
      allow_change_subj: false
      mam: false
YAML
        fi
    } > "$dir/ejabberd.yml"
}

is_ours() {  # PID DIR?: a beam.smp running one of this script's configs
    [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] || return 1
    local cmd; cmd="$(tr '\0' ' ' < "/proc/$1/cmdline")"
    case "$cmd" in *beam.smp*-mnesia*) ;; *) return 1 ;; esac
    if [ -n "${2:-}" ]; then
        grep -qF -- "$2/spool" <<< "$cmd"
    else
        grep -q "mucsim-e2e-" <<< "$cmd"
    fi
}

beam_of() {  # DIR -> the PID of the beam.smp running DIR's spool, if any
    local c p
    for c in /proc/[0-9]*/comm; do
        [ "$(cat "$c" 2>/dev/null)" = beam.smp ] || continue
        p="${c#/proc/}"; p="${p%/comm}"
        if is_ours "$p" "$1"; then echo "$p"; return 0; fi
    done
    return 1
}

beam_up() {  # DIR MODE C2S COMPONENT_PORT: finds the beam (sets start's beam) and it listens
    [ -z "$beam" ] && beam="$(beam_of "$1" || true)"
    [ -n "$beam" ] && listening "$2" "$3" "$4"
}

start() {  # DIR MODE C2S DIST [COMPONENT_PORT SECRET]
    local dir="$1" mode="$2" c2s="$3" dist="$4" comp="${5:-}" secret="${6:-}"
    if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != ejabberd ]; then
        log "ejabberdctl runs only as root or as the ejabberd user (this is $(id -un))"
        exit 1
    fi
    case "$mode" in muc|ext) ;; *) log "MODE must be muc or ext, not '$mode'"; exit 2 ;; esac
    for p in "$c2s" "$dist" ${comp:+"$comp"}; do
        if port_busy "$p"; then log "port $p is taken"; exit 1; fi
    done
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    write_config "$dir" "$mode" "$c2s" "$dist" "$comp" "$secret"
    rm -f "$dir/console.log"
    if [ -n "${EJABBERD_SPOOL_FROM:-}" ]; then
        rm -rf "$dir/spool"; cp -a "$EJABBERD_SPOOL_FROM" "$dir/spool"
    fi
    # ejabberdctl, run as root, runs the node as the ejabberd user: hand it DIR,
    # which that user must be able to reach (mktemp -d makes 0700 directories).
    if [ "$(id -u)" -eq 0 ]; then
        chown -R ejabberd: "$dir"
        if ! su -s /bin/sh ejabberd -c 'test -w "$0"' "$dir"; then
            log "the ejabberd user cannot reach $dir: every directory above it needs o+x"
            exit 1
        fi
    fi
    setsid nohup ejabberdctl --config-dir "$dir" --logs "$dir/logs" --spool "$dir/spool" \
        foreground >> "$dir/console.log" 2>&1 < /dev/null &
    local launcher=$! beam=""
    if wait_up "$launcher" 400 beam_up "$dir" "$mode" "$c2s" "$comp"; then
        echo "$beam"
        return 0
    fi
    log "ejabberd did not come up; its console and log:"
    cat "$dir/console.log" "$dir/logs/ejabberd.log" >&2 2>/dev/null || true
    [ -n "$beam" ] && kill -KILL "$beam" 2>/dev/null
    kill "$launcher" 2>/dev/null || true
    exit 1
}

accounts() {  # SPOOL C2S DIST USER... [-- USER...]
    local spool="$1" c2s="$2" dist="$3"; shift 3
    local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/mucsim-ejabberd-accounts.XXXXXX")"
    chmod 755 "$dir"
    local pid; pid="$(EJABBERD_SPOOL_FROM="" start "$dir" muc "$c2s" "$dist")"
    local ok=0 u vcard=1
    local ctl="ejabberdctl --config-dir $dir --logs $dir/logs --spool $dir/spool"
    for u in "$@"; do
        if [ "$u" = -- ]; then vcard=0; continue; fi
        if [ "$vcard" = 1 ]; then
            echo "$ctl register $u localhost password && $ctl set_vcard $u localhost FN $u"
        else
            echo "$ctl register $u localhost password"
        fi
    done | xargs -P 4 -I{} sh -c '( {} ) >/dev/null' || ok=1
    stop "$pid"
    if [ "$ok" = 0 ]; then
        rm -rf "$spool"; cp -a "$dir/spool" "$spool"
    else
        log "registering the accounts failed; the instance's log:"
        cat "$dir/logs/ejabberd.log" >&2 || true
    fi
    rm -rf "$dir"
    return "$ok"
}

stop() {  # PID
    stop_by_pid "$1" is_ours 10
}

cmd="${1:-}"; shift || true
case "$cmd" in
    install) install ;;
    start) start "$@" ;;
    accounts) accounts "$@" ;;
    stop) stop "$@" ;;
    *) echo "usage: $0 install | start DIR MODE C2S DIST [COMPONENT_PORT SECRET] | accounts SPOOL C2S DIST USER... | stop PID" >&2; exit 2 ;;
esac
