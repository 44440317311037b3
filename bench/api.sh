#!/usr/bin/env bash
# API benchmark (release build, one keel-api process with KEEL_API_WORKERS workers):
#   1. GET /api/v1/users/me (JWT check + one PostgreSQL read), wrk at 64 connections
#   2. pgbench -S (select-only) at the same concurrency: the database's ceiling
#   3. GET /healthz p99 while a login flood (Argon2id per request) runs
# Usage: bench/api.sh [seconds]   (default 10 per run). Prints one figure per line.
# KEEL_BENCH_BIN=<dir> measures the keel-api in that directory (another revision's release build)
# instead of building this one; it gets a database named after that directory (migrations differ).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$KEEL_ROOT"

secs=${1:-10}
conns=64
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-contrib

if [[ -n ${KEEL_BENCH_BIN:-} ]]; then
  ensure_postgres "keel_bench_api_$(basename "$KEEL_BENCH_BIN" | tr -c 'a-z0-9_\n' _)"
  bin=$KEEL_BENCH_BIN
else
  ensure_postgres keel_bench_api
  say "building (release)"
  cargo build --release --quiet --bins
  bin=$CARGO_TARGET_DIR/release
fi
ensure_redis
api_db=$DATABASE_URL

export APP_ENV=development RUST_LOG=warn KEEL_LOG_FORMAT=compact
export KEEL_REDIS_PREFIX="keelbench-api:$$"
export KEEL_API_ADDR=127.0.0.1:${KEEL_BENCH_PORT:-18200}
export KEEL_DB_POOL_SIZE=${KEEL_DB_POOL_SIZE:-32}
export KEEL_RATE_LIMIT_PER_IP=1000000000 KEEL_LOGIN_MAX_FAILURES=1000000000 KEEL_LOGIN_ACCOUNT_MAX_FAILURES=1000000000
# The global limit counts every request (one Redis round trip each) but never refuses one; the
# metrics listener runs, on a free port.
export KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000000 KEEL_GLOBAL_RATE_LIMIT_PER_USER=1000000000
export KEEL_API_METRICS_ADDR=127.0.0.1:0
base="http://$KEEL_API_ADDR"
"$bin/keel-api" migrate
psql "$api_db" -qc "TRUNCATE users, job_outbox CASCADE" >/dev/null

api_pid=""
cleanup_bench() {
  [[ -n $api_pid ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  psql "$api_db" -qc "TRUNCATE users, job_outbox CASCADE" >/dev/null 2>&1 || true
}
trap 'cleanup_bench; keel_cleanup' EXIT

"$bin/keel-api" serve &
api_pid=$!
until curl -sf "$base/readyz" >/dev/null; do sleep 0.1; done

say "creating the bench user"
curl -sf -o /dev/null -H 'content-type: application/json' "$base/api/v1/auth/register" \
  -d '{"email": "bench@example.com", "password": "violet-anchor-mosaic-71", "name": "Bench"}'
# Verified in SQL: the link's token is made by the worker, which this bench does not run.
psql "$api_db" -qc "UPDATE users SET email_verified_at = now() WHERE email = 'bench@example.com'" >/dev/null
access=$(curl -sf -H 'content-type: application/json' "$base/api/v1/auth/login" \
  -d '{"email": "bench@example.com", "password": "violet-anchor-mosaic-71"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

wrk_figures() { # label, then wrk output on stdin
  awk -v label="$1" '
    /Requests\/sec/ { printf "%s: %.0f requests/s\n", label, $2 }
    $1 == "50%" { printf "%s p50: %s\n", label, $2 }
    $1 == "99%" { printf "%s p99: %s\n", label, $2 }'
}

say "GET /api/v1/users/me, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $access" "$base/api/v1/users/me" | wrk_figures "users/me"

say "pgbench -S, $conns clients, ${secs}s"
pgbench_db=$(url_with_database "$api_db" keel_bench_pgbench)
if [[ -z $(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'keel_bench_pgbench'") ]]; then
  psql_admin "CREATE DATABASE keel_bench_pgbench"
fi
pgbench -q -i -s 10 "$pgbench_db" >/dev/null 2>&1
pgbench -S -n -c "$conns" -j 2 -T "$secs" "$pgbench_db" 2>/dev/null | awk '/^tps/ { printf "pgbench -S: %.0f tps\n", $3 }'

say "GET /healthz during a login flood (32 connections of POST /auth/login), ${secs}s"
wrk -t1 -c32 -d"$((secs + 2))s" -s bench/login.lua "$base/api/v1/auth/login" >/tmp/keel-login-flood.$$ &
flood=$!
sleep 1
wrk -t1 -c4 -d"${secs}s" --latency "$base/healthz" | wrk_figures "healthz during login flood"
wait "$flood"
wrk_figures "login flood" </tmp/keel-login-flood.$$ | grep requests
rm -f /tmp/keel-login-flood.$$
