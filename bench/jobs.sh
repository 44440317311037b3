#!/usr/bin/env bash
# Job pipeline benchmark: one keel-worker process (release build) against the local Redis.
#   1. enqueue N noop jobs (pipelined bulk enqueue) while no worker runs -> enqueue rate
#   2. start one worker and drain them                                     -> drain rate
#   3. a fresh worker, jobs enqueued at a steady rate while it is idle     -> enqueue->start p50/p99
#   4. redis-benchmark LPUSH/RPOP on the same server                       -> the machine's ceiling
# Usage: bench/jobs.sh [N]   (default 100000). Prints one figure per line.
# KEEL_BENCH_BIN=<dir> measures the binaries in that directory (another revision's release build)
# instead of building this one; they get a database named after that directory (migrations differ).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$KEEL_ROOT"

n=${1:-100000}
concurrency=${KEEL_BENCH_CONCURRENCY:-512}
latency_jobs=${KEEL_BENCH_LATENCY_JOBS:-20000}
latency_rate=${KEEL_BENCH_LATENCY_RATE:-2000}

if [[ -n ${KEEL_BENCH_BIN:-} ]]; then
  ensure_postgres "keel_bench_$(basename "$KEEL_BENCH_BIN" | tr -c 'a-z0-9_\n' _)"
  bin=$KEEL_BENCH_BIN
else
  ensure_postgres keel_bench
  say "building (release)"
  cargo build --release --quiet --bins
  bin=$CARGO_TARGET_DIR/release
fi
ensure_redis
# shellcheck source=bench/lib.sh
source bench/lib.sh

export APP_ENV=development RUST_LOG=warn KEEL_LOG_FORMAT=compact
export KEEL_REDIS_PREFIX="keelbench:$$"
export KEEL_WORKER_QUEUES="default=$concurrency"
export KEEL_REDIS_POOL_SIZE=32
export KEEL_WORKER_HEALTH_ADDR=127.0.0.1:${KEEL_BENCH_PORT:-18101}
"$bin/keel-api" migrate

worker_pid=""
cleanup_bench() {
  [[ -n $worker_pid ]] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null
  "$bin/keel-worker" jobs dead purge >/dev/null 2>&1 || true
  redis_del_prefix
}
trap 'cleanup_bench; keel_cleanup' EXIT

processed() {
  "$bin/keel-worker" jobs stats --json | python3 -c 'import json,sys; print(next(q["processed"] for q in json.load(sys.stdin) if q["queue"]=="default"))'
}
now() { date +%s.%N; }

say "enqueueing $n noop jobs"
t0=$(now)
"$bin/keel-worker" jobs enqueue noop --count "$n" >/dev/null
t1=$(now)

say "draining with one worker (concurrency $concurrency)"
t2=$(now)
"$bin/keel-worker" run &
worker_pid=$!
while [[ $(processed) -lt $n ]]; do sleep 0.05; done
t3=$(now)
kill -TERM "$worker_pid"; wait "$worker_pid" || true; worker_pid=""

say "latency: $latency_jobs jobs at $latency_rate/s into an idle worker"
"$bin/keel-worker" run &
worker_pid=$!
until curl -sf "http://$KEEL_WORKER_HEALTH_ADDR/readyz" >/dev/null; do sleep 0.05; done
before=$(processed)
"$bin/keel-worker" jobs enqueue noop --count "$latency_jobs" --rate "$latency_rate" >/dev/null
while [[ $(processed) -lt $((before + latency_jobs)) ]]; do sleep 0.05; done
metrics=$(curl -sf "http://$KEEL_WORKER_HEALTH_ADDR/metrics")
kill -TERM "$worker_pid"; wait "$worker_pid" || true; worker_pid=""

ceiling=$(redis-benchmark -h "$redis_host" -p "$redis_port" -t lpush,rpop -n 200000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second')

python3 - "$n" "$t0" "$t1" "$t2" "$t3" <<PY
import re, sys
n, t0, t1, t2, t3 = int(sys.argv[1]), *map(float, sys.argv[2:])
metrics = """$metrics"""
buckets = []
for m in re.finditer(r'keel_job_start_latency_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)', metrics):
    le = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
    buckets.append((le, int(m.group(2))))
buckets.sort()
def quantile(q):
    total = buckets[-1][1]
    rank, prev_le, prev_count = q * total, 0.0, 0
    for le, count in buckets:
        if count >= rank:
            if le == float('inf'):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / max(count - prev_count, 1)
        prev_le, prev_count = le, count
print(f"jobs: {n}")
print(f"enqueue: {n / (t1 - t0):.0f} jobs/s")
print(f"drain: {n / (t3 - t2):.0f} jobs/s")
print(f"enqueue->start p50: {quantile(0.50) * 1000:.2f} ms")
print(f"enqueue->start p99: {quantile(0.99) * 1000:.2f} ms")
PY
while read -r line; do
  name=${line%%:*}
  rate=$(sed -E 's/.*: ([0-9.]+) requests per second.*/\1/' <<<"$line")
  printf 'redis-benchmark %s: %.0f ops/s\n' "$name" "$rate"
done <<<"$ceiling"
