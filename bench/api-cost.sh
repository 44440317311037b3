#!/usr/bin/env bash
# API cost in CPU instructions per request: keel-api (release build, one worker thread) runs
# under valgrind's callgrind, which counts instructions executed rather than seconds, so the
# figure is the same on a quiet and on a loaded machine (wrk's requests/s in bench/api.sh are
# not). Counted in the api process only (PostgreSQL's and Redis's share is not in it).
#   GET /healthz                 the middleware stack and a static answer
#   GET /api/v1/users/me         + the bearer check, one PostgreSQL read, the JSON answer
# Each: 200 warm-up requests, counters zeroed, N requests on one keep-alive connection, counters
# dumped; instructions / N.
# Usage: bench/api-cost.sh [N]   (default 2000). KEEL_BENCH_BIN=<dir> measures the keel-api in
# that directory (another revision's release build) instead of building this one.
# KEEL_BENCH_PROFILE_DIR=<dir> keeps each measurement's callgrind dump there (read them with
# `callgrind_annotate --inclusive=yes FILE`: where the instructions go).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$KEEL_ROOT"

n=${1:-2000}
command -v valgrind >/dev/null || apt_install valgrind
if [[ -n ${KEEL_BENCH_BIN:-} ]]; then
  ensure_postgres "keel_bench_cost_$(basename "$KEEL_BENCH_BIN" | tr -c 'a-z0-9_\n' _)"
  bin=$KEEL_BENCH_BIN
else
  ensure_postgres keel_bench_cost
  say "building (release)"
  cargo build --release --quiet --bins
  bin=$CARGO_TARGET_DIR/release
fi
ensure_redis
api_db=$DATABASE_URL

export APP_ENV=development RUST_LOG=warn KEEL_LOG_FORMAT=compact KEEL_API_WORKERS=1
export KEEL_REDIS_PREFIX="keelbench-cost:$$"
export KEEL_API_ADDR=127.0.0.1:${KEEL_BENCH_PORT:-18210}
export KEEL_API_METRICS_ADDR=127.0.0.1:${KEEL_BENCH_METRICS_PORT:-18211}
export KEEL_RATE_LIMIT_PER_IP=1000000000 KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000000 KEEL_GLOBAL_RATE_LIMIT_PER_USER=1000000000
base="http://$KEEL_API_ADDR"
"$bin/keel-api" migrate
psql "$api_db" -qc "TRUNCATE users, job_outbox CASCADE" >/dev/null

work=$(mktemp -d)
api_pid=""
cleanup_cost() {
  [[ -n $api_pid ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  rm -rf "$work"
  psql "$api_db" -qc "TRUNCATE users, job_outbox CASCADE" >/dev/null 2>&1 || true
}
trap 'cleanup_cost; keel_cleanup' EXIT

valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" --dump-line=no \
  "$bin/keel-api" serve 2>"$work/valgrind.log" &
api_pid=$!
for _ in $(seq 600); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "$base/readyz" >/dev/null || die "keel-api did not become ready under valgrind"

curl -sf -o /dev/null -H 'content-type: application/json' "$base/api/v1/auth/register" \
  -d '{"email": "cost@example.com", "password": "violet-anchor-mosaic-71", "name": "Cost"}'
psql "$api_db" -qc "UPDATE users SET email_verified_at = now() WHERE email = 'cost@example.com'" >/dev/null
access=$(curl -sf -H 'content-type: application/json' "$base/api/v1/auth/login" \
  -d '{"email": "cost@example.com", "password": "violet-anchor-mosaic-71"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# requests PATH COUNT [TOKEN]: COUNT GETs on one keep-alive connection; fails on a non-200.
requests() {
  python3 - "$KEEL_API_ADDR" "$1" "$2" "${3:-}" <<'PY'
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
path, count, token = sys.argv[2], int(sys.argv[3]), sys.argv[4]
headers = {"Authorization": f"Bearer {token}"} if token else {}
conn = http.client.HTTPConnection(host, int(port), timeout=60)
for _ in range(count):
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"{path}: {r.status}")
PY
}

# instructions LABEL PATH [TOKEN]: prints LABEL's instructions per request.
instructions() {
  requests "$2" 200 "${3:-}"
  callgrind_control --zero "$api_pid" >/dev/null 2>&1
  requests "$2" "$n" "${3:-}"
  rm -f "$work"/callgrind."$api_pid".*
  callgrind_control --dump="$1" "$api_pid" >/dev/null 2>&1
  local total
  if [[ -n ${KEEL_BENCH_PROFILE_DIR:-} ]]; then
    mkdir -p "$KEEL_BENCH_PROFILE_DIR"
    cat "$work"/callgrind."$api_pid".* >"$KEEL_BENCH_PROFILE_DIR/callgrind.${1//\//-}"
  fi
  total=$(cat "$work"/callgrind."$api_pid".* | awk '/^summary:/ { s += $2 } END { print s }')
  awk -v label="$1" -v total="$total" -v n="$n" 'BEGIN { printf "%s: %.0f instructions/request\n", label, total / n }'
}

say "$n requests each under callgrind"
instructions "healthz" /healthz
instructions "users/me" /api/v1/users/me "$access"
