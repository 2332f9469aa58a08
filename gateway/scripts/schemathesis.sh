#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a live node's /openapi.json, once with the node's admin token
# and once with a tenant admin's JWT: every operation with generated and malformed inputs, and
# every answer checked for no 5xx and conformance to the documented schema (status, headers,
# body). Not part of CI by default:
#   gateway/scripts/schemathesis.sh [MAX_EXAMPLES_PER_OPERATION]   (default 50)
# Builds `tally` (debug), starts it on a free port in a fresh data directory (embedded store),
# provisions a tenant, office, room and sensor so that the tenant's ids exist, and stops the node
# at the end. schemathesis lives in a venv under target/schemathesis-venv. The exit status is
# schemathesis's: non-zero if any check failed. One worker: with two, schemathesis 4.32 on Python
# 3.11 stopped some operations with internal errors ("AST constructor recursion depth mismatch").
set -euo pipefail
cd "$(dirname "$0")/../.."

examples="${1:-50}"
venv="$PWD/target/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

cargo build -q -p tally-gateway --bin tally
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
admin="schemathesis-admin-token-0123456789"
TALLY_NODE__DATA_DIR="$work/data" TALLY_NODE__HTTP_ADDR="127.0.0.1:$port" \
    TALLY_AUTH__ADMIN_TOKEN="$admin" TALLY_AUTH__JWT_SECRET="schemathesis-jwt-secret-of-32-bytes-or-more" \
    TALLY_QUOTAS__API_REQUESTS_PER_SECOND=100000 TALLY_QUOTAS__API_BURST=100000 \
    TALLY_LOG__FILTER=warn target/debug/tally run >"$work/node.log" 2>&1 &
node=$!
trap 'kill "$node" 2>/dev/null; wait "$node" 2>/dev/null; rm -rf "$work"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fs "$base/healthz" >/dev/null && break
    sleep 0.1
done

call() { # METHOD PATH BODY: the answer's body, failing on an HTTP error
    curl -fsS -X "$1" "$base$2" -H "Authorization: Bearer $admin" \
        -H 'Content-Type: application/json' -d "$3"
}
call POST /v1/tenants '{"id":"acme","name":"Acme"}' >/dev/null
call POST /v1/tenants/acme/offices '{"id":"hq","name":"HQ"}' >/dev/null
call POST /v1/tenants/acme/offices/hq/rooms '{"id":"r1","capacity":10}' >/dev/null
call POST /v1/tenants/acme/offices/hq/rooms/r1/sensors '{"id":"s1"}' >/dev/null

run_schemathesis() { # CREDENTIAL [MORE st OPTIONS]
    local credential="$1"
    shift
    (cd "$work" && "$venv/bin/st" run "$base/openapi.json" \
        --header "Authorization: Bearer $credential" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --max-examples "$examples" \
        --workers 1 \
        --seed 1 \
        "$@")
} # (schemathesis keeps its cache, .schemathesis/, in the working directory)

status=0
run_schemathesis "$admin" || status=$?
# The tenant's JWT is minted after the admin run, which revokes acme's tokens (revoke-before);
# the tenant run leaves revoke-before out, which would revoke its own token and turn every later
# case into a 401.
tenant_jwt="$(call POST /v1/tenants/acme/tokens '{"role":"admin"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
run_schemathesis "$tenant_jwt" --exclude-path '/v1/tenants/{tenant}/tokens/revoke-before' || status=$?
exit "$status"
