#!/usr/bin/env bash
# The first README command: the whole stack on this machine. Finds (or starts) PostgreSQL and
# Redis, creates and migrates the database, then runs keel-api, keel-worker and
# keel-scheduler with their logs together. Ctrl-C stops all of them and whatever this script
# started.
#   ./scripts/dev.sh              debug build
#   ./scripts/dev.sh --release    release build
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT"

profile=debug
cargo_flags=()
if [[ ${1:-} == "--release" ]]; then profile=release; cargo_flags=(--release); fi

if [[ -f .env ]]; then
  say "reading .env"
  set -a
  # shellcheck disable=SC1091
  source .env
  set +a
fi
export APP_ENV=${APP_ENV:-development}
export KEEL_LOG_FORMAT=${KEEL_LOG_FORMAT:-compact}
export RUST_LOG=${RUST_LOG:-info}

ensure_postgres "${KEEL_DEV_DATABASE:-keel_dev}"
ensure_redis

say "building ($profile)"
cargo build "${cargo_flags[@]}" --bins
bin=$CARGO_TARGET_DIR/$profile

say "migrating"
"$bin/keel-api" migrate

pids=()
# shellcheck disable=SC2317  # called from the EXIT trap
stop_children() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_children; keel_cleanup' EXIT
trap 'exit 130' INT TERM

start() {
  local name=$1 color=$2
  shift 2
  "$@" > >(sed -u "s/^/$(printf '\033[%sm' "$color")[$name]$(printf '\033[0m') /") 2>&1 &
  pids+=($!)
}
if [[ -z ${SMTP_URL:-} ]] && ! tcp_answers 127.0.0.1 1025; then
  say "no SMTP_URL: emails go to a development sink, saved in .keel/mail/"
  start mail 32 python3 -u scripts/dev-smtp-sink.py 127.0.0.1 1025 "$KEEL_STATE_DIR/mail"
fi
start api 36 "$bin/keel-api" serve
start worker 35 "$bin/keel-worker" run
start scheduler 33 "$bin/keel-scheduler" run

api_addr=${KEEL_API_ADDR:-127.0.0.1:8000}
say "api on http://$api_addr (readiness: /readyz, OpenAPI: /api/schema/, docs: /api/docs/ and /api/redoc/)"
say "worker probes on http://${KEEL_WORKER_HEALTH_ADDR:-127.0.0.1:8001}, scheduler probes on http://${KEEL_SCHEDULER_HEALTH_ADDR:-127.0.0.1:8002}"
say "Ctrl-C stops everything"

set +e
wait -n "${pids[@]}"
status=$?
set -e
say "a process exited (status $status); stopping the others"
exit "$status"
