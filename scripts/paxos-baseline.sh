#!/usr/bin/env bash
# Kept for its name: stateright's Paxos example next to `mucsim check`, now in the
# same search mode and thread count (DFS and BFS), is the `model` section of
# scripts/bench-compare.sh.
exec "$(dirname "$0")/bench-compare.sh" model
