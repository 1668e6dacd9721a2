#!/usr/bin/env bash
# The "must not depend on" column of ARCHITECTURE.md's code map, checked.
#
#   scripts/check-layers.sh         exits 0 when every rule holds, 1 (listing each
#                                   broken rule with file and line) otherwise
#
# Two levels:
# - crates: `cargo tree -e normal` (the resolved normal dependency graph, transitive)
#   of each workspace crate must not contain the crates its row forbids;
# - modules of `server` and `sim`: every `crate::…` and `super::…` path in a file's code
#   (`use` lines, grouped imports and inline paths alike; a file's `#[cfg(test)]`
#   module and everything after it is skipped, since tests may use anything) is
#   resolved to a module (`service`, `muc::join`, `xml::lexical`…) and must not fall
#   under the prefixes its row forbids.
# Needs only bash, awk, grep and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0

# ---- crates ---------------------------------------------------------------------
# crate | forbidden packages (space-separated). Dev-dependencies are free: a bench or
# a test may compare against the simulator.
crate_rules=(
  # The service: sans-IO, no harness, no runtime, no files, no randomness of its own.
  "mucsim-server|mucsim-oracle mucsim-scansion mucsim-sim mucsim-model mucsim-live mucsim-live-client mucsim-hostile mucsim-snapshots tokio mio socket2 rand rand_core rand_chacha getrandom rusqlite"
  # The client oracle and XEP-0045's rules as data: types of the service only, below
  # every harness, so the model and the swarm judge with the same code.
  "mucsim-oracle|mucsim-sim mucsim-model mucsim-scansion mucsim-live mucsim-live-client mucsim-hostile mucsim-snapshots tokio mio socket2 getrandom rusqlite"
  # The scripting language: runs over any Backend, knows neither the simulator nor a network.
  "mucsim-scansion|mucsim-sim mucsim-model mucsim-live mucsim-live-client tokio rusqlite getrandom"
  # The simulator: virtual time and one seeded PRNG, no network, no real files, no OS randomness.
  "mucsim-sim|mucsim-model mucsim-live mucsim-live-client mucsim-hostile tokio mio socket2 getrandom rusqlite"
  # The model checker: over the service and the simulator's storage, never the network
  # (stateright itself draws OS randomness through ahash and rand, so getrandom is allowed).
  "mucsim-model|mucsim-live mucsim-live-client mucsim-hostile tokio rusqlite"
  "mucsim-hostile|mucsim-model mucsim-live mucsim-live-client tokio rusqlite"
  # The production front end (the crate of `mucsim serve`): no test tooling, no simulator.
  "mucsim-live|mucsim-sim mucsim-model mucsim-scansion mucsim-live-client mucsim-hostile mucsim-snapshots"
  # The test tooling against live servers: scripts over TCP, not in the simulator.
  "mucsim-live-client|mucsim-sim mucsim-model"
)
for rule in "${crate_rules[@]}"; do
  krate=${rule%%|*}
  deps=$(cargo tree -q -p "$krate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  for bad in ${rule#*|}; do
    if grep -qx -- "$bad" <<<"$deps"; then
      echo "crate $krate must not depend on $bad, but does (cargo tree -e normal -p $krate -i $bad):"
      cargo tree -q -e normal -p "$krate" -i "$bad" || true
      fail=1
    fi
  done
done

# ---- modules of server and sim ---------------------------------------------------
# The module a file under <crate>/src is.
module_of() {
  local f=${1#*/src/}
  f=${f%.rs}
  f=${f%/mod}
  echo "${f//\//::}"
}

# Every module path a file's non-test code names, one per line, as "line<TAB>module".
references() {
  local file=$1 self parent
  self=$(module_of "$file")
  case "$file" in
    */mod.rs) parent=$self ;;
    *) parent=${self%::*}; [ "$parent" = "$self" ] && parent="" ;;
  esac
  awk -v parent="$parent" '
    /^#\[cfg\(test\)\]/ { exit }
    { line = $0; sub(/\/\/.*/, "", line) }
    # A grouped import may span lines: join it up to its semicolon.
    pending != "" { pending = pending " " line; if (line ~ /;/) { emit(pending, start); pending = "" } ; next }
    line ~ /^[ \t]*(pub(\([a-z]+\))? )?use (crate|super)::\{/ && line !~ /;/ { pending = line; start = NR; next }
    { emit(line, NR) }
    function emit(text, nr,    m, rest, inner, n, parts, i, p) {
      # Grouped: use crate::{a::X, b::{c, d}} / use super::{x, y}
      while (match(text, /(crate|super)::\{[^;]*\}/)) {
        m = substr(text, RSTART, RLENGTH)
        text = substr(text, RSTART + RLENGTH)
        root = (m ~ /^crate/) ? "" : parent
        inner = m; sub(/^[a-z]+::\{/, "", inner); sub(/\}$/, "", inner)
        # only the first segment of each top-level item matters, plus a second one
        gsub(/\{[^{}]*\}/, "", inner)
        n = split(inner, parts, ",")
        for (i = 1; i <= n; i++) {
          p = parts[i]; gsub(/[ \t]/, "", p); sub(/::$/, "", p)
          if (p == "" || p == "self") continue
          out(root, p, nr)
        }
      }
      while (match(text, /(crate|super)::[a-z_][a-z_0-9]*(::[a-z_][a-z_0-9]*)?/)) {
        m = substr(text, RSTART, RLENGTH)
        text = substr(text, RSTART + RLENGTH)
        root = (m ~ /^crate/) ? "" : parent
        sub(/^[a-z]+::/, "", m)
        out(root, m, nr)
      }
    }
    function out(root, path, nr,    full) {
      full = (root == "") ? path : root "::" path
      printf "%d\t%s\n", nr, full
    }
  ' "$file"
}

# module glob | forbidden module prefixes | why (the code map's words)
rules=(
  "xml|muc service stanza refusal store outbox config invariants jids|anything MUC"
  "xml::lexical|xml::parser xml::intern xml::serialize|the parser (the lexical rules are below it)"
  "xml::error|xml::parser xml::lexical xml::intern xml::serialize|the parser"
  "xml::intern|xml::parser xml::serialize|the parser"
  "jids|muc service stanza refusal store outbox config invariants xml|anything of the service"
  "ns|muc service stanza refusal store outbox config invariants xml jids stream_error status|anything"
  "stream_error|muc service stanza refusal store outbox config invariants xml jids status ns|anything"
  "refusal|muc service stanza store outbox config invariants|rooms, stanzas"
  "stanza|muc service store outbox config invariants|rooms"
  "status|muc service stanza refusal store outbox config invariants|rooms, stanzas"
  "outbox|muc service config invariants|rooms, the dispatcher"
  "config|service outbox store invariants muc::room muc::presence muc::room::presence muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|the dispatcher, the rules"
  "store|service outbox muc::presence muc::room::presence muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|the dispatcher, the rules, any storage technology"
  "invariants|service outbox config muc::presence muc::room::presence muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|the dispatcher, the rules"
  "muc|service|the dispatcher"
  "muc::room|stanza config muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|stanzas, the configuration, the rules"
  "muc::room=|outbox|the outbox (room.rs is state; its child presence sends)"
  "muc::config|outbox stanza config muc::room muc::presence muc::room::presence muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|rooms, the outbox"
  "muc::form|outbox stanza config muc::room muc::presence muc::room::presence muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|rooms"
  "muc::room::presence|stanza muc::join muc::admin muc::owner muc::room_iq muc::message muc::disco muc::adhoc muc::register|the rules (it only builds and sends presence)"
)

# A row whose scope ends in "=" applies to that module only, not its children.
# Whether module $1 is $2 or inside it.
under() { [ "$1" = "$2" ] || [[ "$1" == "$2::"* ]]; }

# sim: the home server is a state machine below the world that carries its routes.
sim_rules=(
  "home|world scansion swarm|the world (links, clock) and what drives it"
  "disk|world home scansion swarm|the world and the home server"
)

# check_modules <crate dir> <name of its rules array>
check_modules() {
  local dir=$1 file mod refs rule scope rest forbidden why line ref bad
  local -n crate_mod_rules=$2
  while IFS= read -r file; do
    mod=$(module_of "$file")
    refs=$(references "$file")
    [ -n "$refs" ] || continue
    for rule in "${crate_mod_rules[@]}"; do
      scope=${rule%%|*}
      rest=${rule#*|}
      forbidden=${rest%%|*}
      why=${rest#*|}
      if [[ "$scope" == *= ]]; then
        [ "$mod" = "${scope%=}" ] || continue
      else
        under "$mod" "$scope" || continue
      fi
      while IFS=$'\t' read -r line ref; do
        under "$ref" "$mod" && continue # itself and its children
        for bad in $forbidden; do
          if under "$ref" "$bad"; then
            echo "$file:$line: $dir::$mod uses $dir::$ref ($dir::$scope must not depend on $why)"
            fail=1
          fi
        done
      done <<<"$refs"
    done
  done < <(find "$dir/src" -name '*.rs' | sort)
}
check_modules server rules
check_modules sim sim_rules

# ---- status codes: written only through server::status::StatusCode ---------------
while IFS= read -r file; do
  if awk '/^#\[cfg\(test\)\]/ { exit } { sub(/\/\/.*/, "") } /"[1-3][0-9][0-9]"/ { printf "%s:%d: %s\n", FILENAME, NR, $0; found = 1 } END { exit !found }' "$file"; then
    echo "  ^ a status-code string literal in server/src/muc (use server::StatusCode)"
    fail=1
  fi
done < <(find server/src/muc -name '*.rs' | sort)

if [ "$fail" -ne 0 ]; then
  echo "layering: broken (see above; the rules are ARCHITECTURE.md's code map)"
  exit 1
fi
echo "layering: every crate and server/sim module keeps to its 'must not depend on' column"
