#!/usr/bin/env bash
# Scheduler benchmark: real keel-scheduler processes (release build) against the local Redis.
#   1. three replicas fire an every-second entry for S seconds; from the stream entries they
#      wrote: slots fired, duplicates, gaps, and the fire lag p50/p99/max, where lag = the
#      stream entry's id (Redis's clock when the job was enqueued) minus the slot time
#      meanwhile, at each slot, the floor: how late the machine wakes a process sleeping until
#      the slot, plus one Redis PING (no scheduler fires before it is woken and Redis answers)
#   2. one replica with the default table for 15 s (one slot of its every-15-s entry): the Redis
#      commands per second it sends (all from its connections, as MONITOR shows them; the
#      pool's UNWATCH+PING check on each checkout included)
# Usage: bench/scheduler.sh [S]   (default 45). Prints one figure per line, and the load average
# (the figures are only as quiet as the machine). KEEL_BENCH_SCHEDULER=<binary> measures that
# binary (another revision) instead of building this one.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$KEEL_ROOT"

secs=${1:-45}
idle_secs=15
port=${KEEL_BENCH_PORT:-18301}

ensure_postgres keel_bench
ensure_redis
# shellcheck source=bench/lib.sh
source bench/lib.sh
if [[ -n ${KEEL_BENCH_SCHEDULER:-} ]]; then
  scheduler=$KEEL_BENCH_SCHEDULER # another revision's binary, to compare
else
  say "building (release)"
  cargo build --release --quiet -p keel-scheduler
  scheduler=$CARGO_TARGET_DIR/release/keel-scheduler
fi

export APP_ENV=development RUST_LOG=warn KEEL_LOG_FORMAT=compact
export KEEL_REDIS_PREFIX="keelbench-sched:$$"

pids=()
stop_all() {
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
cleanup_bench() {
  stop_all
  redis_del_prefix
}
trap 'cleanup_bench; keel_cleanup' EXIT

say "three replicas, an every-second entry, ${secs} s"
for i in 0 1 2; do
  KEEL_SCHEDULER_HEALTH_ADDR=127.0.0.1:$((port + i)) \
    KEEL_SCHEDULE="record_queue_depth=* * * * * *;purge_dead_jobs=off;purge_sent_emails=off;purge_expired_tokens=off" \
    "$scheduler" run &
  pids+=($!)
done
# The floor under any fire lag, measured at each slot alongside the replicas: how late this
# machine wakes a process that sleeps until the slot, plus one Redis PING round trip.
floor=$(python3 -c '
import socket, sys, time
host, port, end = sys.argv[1], int(sys.argv[2]), time.time() + int(sys.argv[3])
redis = socket.create_connection((host, port))
while time.time() < end - 1:
    slot = int(time.time()) + 1
    time.sleep(max(0.0, slot - time.time()))
    redis.sendall(b"PING\r\n")
    redis.recv(16)
    print(f"{slot * 1000}:{(time.time() - slot) * 1000:.1f}", end=" ")
' "$redis_host" "$redis_port" "$secs")
load=$(cut -d' ' -f1 /proc/loadavg)
stop_all
entries=$(rcli xrange "$KEEL_REDIS_PREFIX:queue:critical" - +)

say "one idle replica with the default table, ${idle_secs} s"
redis_del_prefix
KEEL_SCHEDULER_HEALTH_ADDR=127.0.0.1:$((port + 3)) "$scheduler" run &
idle_pid=$!
pids+=("$idle_pid")
sleep 2 # past its start-up (first tick, probe)
monitor_log=$(mktemp)
(timeout "$idle_secs" redis-cli -h "$redis_host" -p "$redis_port" monitor >"$monitor_log" || true)
# Its connections' local ports; MONITOR names each command's client address.
ports=$(ss -tnpH "( dport = :$redis_port )" | grep "pid=$idle_pid," | awk '{print $4}' | sed 's/.*://' | paste -sd'|')
commands=$(grep -cE "\[0 [^ ]+:(${ports:-none})\] " "$monitor_log" || true)
rm -f "$monitor_log"
stop_all

python3 - "$secs" "$idle_secs" "$commands" "$load" "$floor" <<PY
import json, sys
secs, idle_secs, commands, load = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
floor_at = {int(k): float(v) for k, v in (x.split(":") for x in sys.argv[5].split())}
floor = sorted(floor_at.values())
lines = """$entries""".split("\n")
slots, lags, late = [], [], []
for i in range(0, len(lines) - 2, 3):
    entry_id, envelope = lines[i], json.loads(lines[i + 2])
    if envelope["name"] != "record_queue_depth":
        continue
    slots.append(envelope["due_at_ms"])
    lags.append(int(entry_id.split("-")[0]) - envelope["due_at_ms"])
    if lags[-1] > 10:
        late.append(floor_at.get(envelope["due_at_ms"], 0.0) > 10)
unique = sorted(set(slots))
gaps = sum((b - a) // 1000 - 1 for a, b in zip(unique, unique[1:]))
lags.sort()
def quantile(q):
    return lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")
print(f"seconds: {secs} (load average {load} on {__import__('os').cpu_count()} cores)")
print(f"slots fired: {len(slots)}")
print(f"duplicates: {len(slots) - len(unique)}")
print(f"missed: {gaps}")
print(f"fire lag p50: {quantile(0.50)} ms")
print(f"fire lag p99: {quantile(0.99)} ms")
print(f"fire lag max: {lags[-1] if lags else 'nan'} ms")
print(f"fire lag over 10 ms: {len(late)} of {len(lags)} ({sum(late)} where the floor was over 10 ms too)")
print(f"floor (wake + Redis PING) p50: {floor[len(floor) // 2]:.1f} ms")
print(f"floor (wake + Redis PING) p99: {floor[min(len(floor) - 1, int(0.99 * len(floor)))]:.1f} ms")
print(f"idle redis commands: {commands / idle_secs:.1f}/s")
PY
