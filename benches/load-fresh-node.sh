#!/usr/bin/env bash
# Runs tally-load against a fresh release node on 127.0.0.1 and stops the node afterwards.
#
#   benches/load-fresh-node.sh [tally-load flags…]      e.g. --sensors 50 --displays 5 --duration 10s
#
# Builds `tally` and `tally-load` in release, starts `tally run` with a data directory from
# `mktemp -d` (same filesystem as tally-load's baseline store), a free port and a throwaway admin
# token, waits for `listening addr=…`, runs tally-load, then stops that node (by its pid only) and
# removes its data. The node's log is kept in the printed path.
set -euo pipefail

cd "$(dirname "$0")/.."
cargo build --release -q -p tally-gateway -p tally-benches --bins

data_dir="$(mktemp -d)"
log="$(mktemp -t tally-node-log.XXXXXX)"
token="load-test-admin-token-$RANDOM$RANDOM"
TALLY_NODE__DATA_DIR="$data_dir" TALLY_NODE__HTTP_ADDR=127.0.0.1:0 TALLY_AUTH__ADMIN_TOKEN="$token" \
    ./target/release/tally run >"$log" 2>&1 &
node_pid=$!
cleanup() {
    kill "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

addr=""
for _ in $(seq 1 100); do
    addr="$(sed -n 's/.*listening addr=\([0-9.:]*\).*/\1/p' "$log" | head -n1)"
    [ -n "$addr" ] && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "node did not log its address; log: $log" >&2; exit 1; }
echo "node pid $node_pid listening on $addr, log $log" >&2

TALLY_ADMIN_TOKEN="$token" ./target/release/tally-load --url "http://$addr" "$@"
