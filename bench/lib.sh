#!/usr/bin/env bash
# Shared by the bench scripts (after scripts/lib.sh and ensure_redis): talk to the Redis that
# REDIS_URL names, and delete every key under KEEL_REDIS_PREFIX.
# shellcheck disable=SC2034  # redis_host/redis_port are used by the scripts that source this file

redis_host=$(sed -E 's#^redis://([^:/]+).*#\1#' <<<"$REDIS_URL")
redis_port=$(sed -E 's#^redis://[^:/]+:([0-9]+).*#\1#; t; s#.*#6379#' <<<"$REDIS_URL")

# rcli ARGS...: redis-cli against that server.
rcli() { redis-cli -h "$redis_host" -p "$redis_port" "$@"; }

# redis_del_prefix: deletes the bench's keys.
redis_del_prefix() {
  rcli --scan --pattern "$KEEL_REDIS_PREFIX:*" | xargs -r redis-cli -h "$redis_host" -p "$redis_port" del >/dev/null
}
