#!/usr/bin/env bash
# Shared by scripts/dev.sh and scripts/test.sh: find PostgreSQL and Redis, or start them.
#
# Order for each service:
#   1. DATABASE_URL / REDIS_URL when set (checked, never changed);
#   2. the local server on its default port (5432 / 6379) when it answers;
#   3. a throwaway server started from the installed binaries in .keel/ (stopped on exit);
#   4. as root with apt-get: install the Debian package, then 3; otherwise print the command.
# shellcheck disable=SC2034  # variables here are used by the scripts that source this file

KEEL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEEL_STATE_DIR=${KEEL_STATE_DIR:-$KEEL_ROOT/.keel}
KEEL_THROWAWAY_PG_PORT=${KEEL_THROWAWAY_PG_PORT:-54329}
KEEL_THROWAWAY_REDIS_PORT=${KEEL_THROWAWAY_REDIS_PORT:-63799}
KEEL_CLEANUP=()

if [[ -t 2 ]]; then KEEL_BLUE=$'\033[1;34m' KEEL_RED=$'\033[1;31m' KEEL_OFF=$'\033[0m'; else KEEL_BLUE="" KEEL_RED="" KEEL_OFF=""; fi
say() { printf '%s==>%s %s\n' "$KEEL_BLUE" "$KEEL_OFF" "$*" >&2; }
die() { printf '%serror:%s %s\n' "$KEEL_RED" "$KEEL_OFF" "$*" >&2; exit 1; }

keel_cleanup() {
  local i
  for ((i = ${#KEEL_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${KEEL_CLEANUP[i]}" >/dev/null 2>&1 || true
  done
  KEEL_CLEANUP=()
}
trap keel_cleanup EXIT

# tcp_answers HOST PORT: true when something accepts a TCP connection there.
tcp_answers() {
  (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

# redis_pong HOST PORT: true when a Redis server answers PING there.
redis_pong() {
  local reply=""
  # Braces: a bare `exec 2>/dev/null` would silence the whole script from here on.
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [[ $reply == "+PONG"* ]]
}

apt_install() {
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing $* with apt-get"
    if [[ -z ${KEEL_APT_UPDATED:-} ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && KEEL_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  else
    die "$* is not installed. Install it with: sudo apt-get install -y $*  (or set the URL variable to a server you run)"
  fi
}

find_pg_bin() {
  local name=$1 found
  found=$(printf '%s\n' /usr/lib/postgresql/*/bin/"$name" | sort -V -r | head -n 1)
  if [[ -x $found ]]; then echo "$found"; return 0; fi
  command -v "$name" 2>/dev/null
}

# psql_admin SQL: run SQL against the maintenance database of the server in DATABASE_URL.
psql_admin() {
  local admin_url
  admin_url=$(url_with_database "$DATABASE_URL" postgres)
  psql "$admin_url" -v ON_ERROR_STOP=1 -Atqc "$1"
}

# url_with_database URL NAME: URL with its database name replaced.
url_with_database() {
  local url=$1 db=$2 query="" base
  if [[ $url == *\?* ]]; then query="?${url#*\?}"; url=${url%%\?*}; fi
  base=${url#*://}
  if [[ $base == */* ]]; then base=${base%%/*}; fi
  echo "${url%%://*}://${base}/${db}${query}"
}

start_throwaway_postgres() {
  local initdb pg_ctl dir=$KEEL_STATE_DIR/postgres run_as=()
  initdb=$(find_pg_bin initdb) || true
  if [[ -z $initdb ]]; then
    apt_install postgresql postgresql-client
    initdb=$(find_pg_bin initdb) || die "initdb not found after installing postgresql"
  fi
  pg_ctl=$(dirname "$initdb")/pg_ctl
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    # PostgreSQL refuses to run as root: run it as the postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
    chown -R postgres "$dir"
    run_as=(runuser -u postgres --)
  fi
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    say "creating a throwaway PostgreSQL cluster in $dir"
    "${run_as[@]}" "$initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
      die "initdb failed; see $dir/initdb.log"
  fi
  say "starting a throwaway PostgreSQL on 127.0.0.1:$KEEL_THROWAWAY_PG_PORT"
  "${run_as[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-p $KEEL_THROWAWAY_PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >&2 ||
    die "PostgreSQL did not start; see $dir/server.log"
  KEEL_CLEANUP+=("${run_as[*]} $pg_ctl -D $dir/data -m fast stop")
  DATABASE_URL="postgres://postgres@127.0.0.1:$KEEL_THROWAWAY_PG_PORT/postgres"
}

# ensure_postgres [DBNAME]: exports DATABASE_URL; with DBNAME, that database exists.
ensure_postgres() {
  local want_db=${1:-}
  command -v psql >/dev/null || apt_install postgresql-client
  if [[ -n ${DATABASE_URL:-} ]]; then
    say "PostgreSQL: using DATABASE_URL"
    psql "$(url_with_database "$DATABASE_URL" postgres)" -Atqc 'SELECT 1' >/dev/null ||
      die "DATABASE_URL does not answer (is the server up, and are the credentials right?)"
  elif tcp_answers 127.0.0.1 5432 && psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    say "PostgreSQL: using the local server on 127.0.0.1:5432"
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  elif tcp_answers 127.0.0.1 "$KEEL_THROWAWAY_PG_PORT"; then
    say "PostgreSQL: using the throwaway server on 127.0.0.1:$KEEL_THROWAWAY_PG_PORT"
    DATABASE_URL="postgres://postgres@127.0.0.1:$KEEL_THROWAWAY_PG_PORT/postgres"
  else
    start_throwaway_postgres
  fi
  if [[ -n $want_db ]]; then
    DATABASE_URL=$(url_with_database "$DATABASE_URL" "$want_db")
    if [[ -z $(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$want_db'") ]]; then
      say "creating database $want_db"
      psql_admin "CREATE DATABASE \"$want_db\""
    fi
  fi
  export DATABASE_URL
}

start_throwaway_redis() {
  local server dir=$KEEL_STATE_DIR/redis
  server=$(command -v redis-server) || true
  if [[ -z $server ]]; then
    apt_install redis-server
    server=$(command -v redis-server) || die "redis-server not found after installing it"
  fi
  mkdir -p "$dir"
  say "starting a throwaway Redis on 127.0.0.1:$KEEL_THROWAWAY_REDIS_PORT"
  "$server" --port "$KEEL_THROWAWAY_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
  local i
  for i in $(seq 50); do
    redis_pong 127.0.0.1 "$KEEL_THROWAWAY_REDIS_PORT" && break
    sleep 0.1
  done
  redis_pong 127.0.0.1 "$KEEL_THROWAWAY_REDIS_PORT" || die "Redis did not start; see $dir/redis.log"
  KEEL_CLEANUP+=("kill \$(cat $dir/redis.pid)")
  REDIS_URL="redis://127.0.0.1:$KEEL_THROWAWAY_REDIS_PORT"
}

# ensure_redis: exports REDIS_URL.
ensure_redis() {
  if [[ -n ${REDIS_URL:-} ]]; then
    say "Redis: using REDIS_URL"
  elif redis_pong 127.0.0.1 6379; then
    say "Redis: using the local server on 127.0.0.1:6379"
    REDIS_URL="redis://127.0.0.1:6379"
  elif redis_pong 127.0.0.1 "$KEEL_THROWAWAY_REDIS_PORT"; then
    say "Redis: using the throwaway server on 127.0.0.1:$KEEL_THROWAWAY_REDIS_PORT"
    REDIS_URL="redis://127.0.0.1:$KEEL_THROWAWAY_REDIS_PORT"
  else
    start_throwaway_redis
  fi
  export REDIS_URL
}

# Cargo's target directory lives outside the checkout, so fresh clones reuse builds.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keel/target}
