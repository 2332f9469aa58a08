#!/usr/bin/env bash
# Runs a three-node tally cluster on 127.0.0.1, for trying the cluster out on one machine:
# a throwaway PostgreSQL server (the shared store) and redis-server (membership and leases) in a
# temporary directory on free ports, and three `tally run` nodes n1, n2, n3 with generated
# configuration files. Ctrl-C stops everything it started (by process id) and removes the
# directory (KEEP=1 keeps it, with the nodes' logs).
#
#   cluster/scripts/three-nodes.sh
#
# Environment: TALLY_BIN (a built `tally`; default: build target/release/tally), TALLY_PG_BINDIR
# (directory of initdb and postgres; default: pg_config --bindir or /usr/lib/postgresql/*/bin).
# Needs redis-server (cluster/scripts/install-redis.sh) and the PostgreSQL server binaries
# (storage/scripts/install-postgres.sh). As root, PostgreSQL runs as the user `tally-test`
# (created if missing), since it refuses to run as root.
set -euo pipefail

cd "$(dirname "$0")/../.."
if [[ -z "${TALLY_BIN:-}" ]]; then
    cargo build --release -q -p tally-gateway --bin tally
    TALLY_BIN="$PWD/target/release/tally"
fi

pg_bindir() {
    local dir
    for dir in "${TALLY_PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)" \
        $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return
        fi
    done
    echo "PostgreSQL server binaries not found: run storage/scripts/install-postgres.sh" >&2
    exit 1
}
PG_BIN="$(pg_bindir)"
command -v redis-server >/dev/null || {
    echo "redis-server not found: run cluster/scripts/install-redis.sh" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

work="$(mktemp -d -t tally-cluster.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
# A signal ends the script through its EXIT trap (bash skips it when killed by an untrapped one).
trap 'exit 130' INT TERM

# PostgreSQL: a superuser for set-up, the owner role (migrations) and the runtime role.
run_pg=()
if [[ $(id -u) -eq 0 ]]; then
    id tally-test >/dev/null 2>&1 || useradd --system --no-create-home tally-test
    run_pg=(setpriv --reuid=tally-test --regid=tally-test --init-groups)
fi
pg_password="$(secret)"
mkdir -m 700 "$work/pg"
echo "$pg_password" >"$work/pg/pwfile"
[[ $(id -u) -ne 0 ]] || chown -R tally-test: "$work/pg"
"${run_pg[@]}" "$PG_BIN/initdb" -D "$work/pg/data" -U tally_admin --pwfile="$work/pg/pwfile" \
    --auth=scram-sha-256 >"$work/pg/initdb.log"
pg_port="$(free_port)"
"${run_pg[@]}" "$PG_BIN/postgres" -D "$work/pg/data" -h 127.0.0.1 -p "$pg_port" -k "$work/pg" \
    >"$work/pg/postgres.log" 2>&1 &
pids+=($!)
export PGPASSWORD="$pg_password"
for _ in $(seq 1 100); do
    psql -h 127.0.0.1 -p "$pg_port" -U tally_admin -d postgres -qc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
done
psql -h 127.0.0.1 -p "$pg_port" -U tally_admin -d postgres -q -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE tally_owner LOGIN PASSWORD '$pg_password';
CREATE ROLE tally_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$pg_password';
CREATE DATABASE tally OWNER tally_owner;
SQL
unset PGPASSWORD

# Redis, without persistence.
redis_port="$(free_port)"
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
pids+=($!)

# Three nodes, each with its own configuration file and data directory.
admin_token="$(secret)"
jwt_secret="$(secret)"  # shared: a token minted by one node is checked by any
cookie="$(secret)"
for n in 1 2 3; do
    http_port="$(free_port)"
    cat >"$work/n$n.toml" <<TOML
[node]
node_id = "n$n"
region = "local"
data_dir = "$work/n$n"
http_addr = "127.0.0.1:$http_port"

[auth]
admin_token = "$admin_token"
jwt_secret = "$jwt_secret"

[storage]
backend = "postgres"

[storage.postgres]
url = "postgres://tally_app:$pg_password@127.0.0.1:$pg_port/tally"
migrate_url = "postgres://tally_owner:$pg_password@127.0.0.1:$pg_port/tally"

[cluster]
enabled = true
redis_url = "redis://127.0.0.1:$redis_port"
listen_addr = "127.0.0.1:$(free_port)"
cookie = "$cookie"
TOML
    "$TALLY_BIN" run --config "$work/n$n.toml" >"$work/n$n.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do
        grep -q 'listening' "$work/n$n.log" && break
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/n$n.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q 'listening' "$work/n$n.log" || { echo "n$n did not start; log:" >&2; cat "$work/n$n.log" >&2; exit 1; }
    echo "n$n: http://127.0.0.1:$http_port  (config $work/n$n.toml, log $work/n$n.log)"
done

cat <<EOF

Three nodes on PostgreSQL 127.0.0.1:$pg_port and Redis 127.0.0.1:$redis_port.
Admin token: $admin_token
  $TALLY_BIN ctl --config $work/n1.toml cluster status
  curl -s -H "Authorization: Bearer $admin_token" http://127.0.0.1:$http_port/v1/admin/cluster
Ctrl-C stops the cluster.
EOF
wait "${pids[@]}"
