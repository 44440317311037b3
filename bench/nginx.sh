#!/usr/bin/env bash
# nginx overhead: the same requests to one keel-api (release build) directly and through nginx
# from deploy/nginx (TLS 1.3, keep-alive to the client and to the upstream), with wrk on the
# same machine. Prints one figure per line.
#   bench/nginx.sh [seconds]    (default 10 per run)
# Runs: GET /healthz (no I/O: the proxy's own cost) and GET /api/schema/ (72 KB of JSON,
# gzip on both paths) at 64 connections, direct vs through nginx.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=scripts/nginx-prefix.sh
source "$(dirname "$0")/../scripts/nginx-prefix.sh"
cd "$KEEL_ROOT"

secs=${1:-10}
conns=64
command -v wrk >/dev/null || apt_install wrk
command -v nginx >/dev/null || apt_install nginx
ensure_postgres keel_bench_nginx
ensure_redis
say "building (release)"
cargo build --release --quiet --bin keel-api
bin=$CARGO_TARGET_DIR/release

work=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench-nginx.XXXXXX")
chmod 755 "$work"
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
https_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nginx_prefix "$work/nginx" keel.conf "$api_port" "$http_port" "$https_port"
# Measure the proxy, not the disk: no access log during the runs.
sed -i 's#^    access_log .*#    access_log off;#' "$work/nginx/nginx.conf"

export APP_ENV=development RUST_LOG=warn KEEL_LOG_FORMAT=compact KEEL_REDIS_PREFIX="keelbench-nginx:$$"
export KEEL_API_ADDR=127.0.0.1:$api_port KEEL_TRUSTED_PROXIES=127.0.0.1/32
export KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000000 KEEL_API_METRICS_ADDR=127.0.0.1:0
"$bin/keel-api" migrate
"$bin/keel-api" serve &
api_pid=$!
nginx -p "$work/nginx/" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill -TERM $api_pid $nginx_pid 2>/dev/null; wait 2>/dev/null; rm -rf $work; keel_cleanup' EXIT
until curl -sf "http://$KEEL_API_ADDR/readyz" >/dev/null; do sleep 0.1; done
until curl -skf "https://127.0.0.1:$https_port/healthz" >/dev/null; do sleep 0.1; done

figures() { # label, then wrk output on stdin
  awk -v label="$1" '
    /Requests\/sec/ { printf "%s: %.0f requests/s\n", label, $2 }
    $1 == "50%" { printf "%s p50: %s\n", label, $2 }
    $1 == "99%" { printf "%s p99: %s\n", label, $2 }'
}
run() { # label url [header]
  local args=(-t2 -c"$conns" -d"${secs}s" --latency)
  [[ -n ${3:-} ]] && args+=(-H "$3")
  wrk "${args[@]}" "$2" | figures "$1"
}

say "GET /healthz, $conns connections, ${secs}s each"
run "healthz direct" "http://$KEEL_API_ADDR/healthz"
run "healthz via nginx TLS" "https://127.0.0.1:$https_port/healthz"
say "GET /api/schema/ (gzip), $conns connections, ${secs}s each"
run "schema direct" "http://$KEEL_API_ADDR/api/schema/" "Accept-Encoding: gzip"
run "schema via nginx TLS" "https://127.0.0.1:$https_port/api/schema/" "Accept-Encoding: gzip"
