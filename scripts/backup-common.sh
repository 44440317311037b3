#!/usr/bin/env bash
# Sourced by the backup, restore and verify scripts: settings, logging, locking, connections,
# the table manifest, checksums and retention. Not meant to be run on its own.
# shellcheck disable=SC2034  # variables here are used by the scripts that source this file

BACKUP_DIR=${BACKUP_DIR:-/var/backups/keel}
BACKUP_PREFIX=${BACKUP_PREFIX:-keel}
BACKUP_LOG_FILE=${BACKUP_LOG_FILE:-$BACKUP_DIR/keel-backup.log}
BACKUP_LOCK_WAIT_SECS=${BACKUP_LOCK_WAIT_SECS:-0}
BACKUP_METRICS_DIR=${BACKUP_METRICS_DIR:-}
BACKUP_MAINTENANCE_DB=${BACKUP_MAINTENANCE_DB:-postgres}
KEEL_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_NAME=$(basename "$0" .sh)

# Colour only on a terminal; cron mail and journald get plain text.
if [[ -t 1 ]]; then C_RED=$'\033[1;31m' C_OFF=$'\033[0m'; else C_RED="" C_OFF=""; fi

# log MESSAGE...: one timestamped line to stdout and to the log file.
log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) ${SCRIPT_NAME}[$$]: $*"
  printf '%s\n' "$line"
  if [[ -n ${BACKUP_LOG_FILE:-} ]] && { [[ -w $BACKUP_LOG_FILE ]] || [[ -w $(dirname "$BACKUP_LOG_FILE") ]]; }; then
    printf '%s\n' "$line" >>"$BACKUP_LOG_FILE"
  fi
}

# fail MESSAGE: log the error (also to stderr) and exit non-zero.
fail() {
  log "ERROR: $*"
  printf '%s%s: error:%s %s\n' "$C_RED" "$SCRIPT_NAME" "$C_OFF" "$*" >&2
  exit "${FAIL_STATUS:-1}"
}

need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || fail "$cmd is not installed (Debian: apt-get install ${PKG_HINT[$cmd]:-$cmd})"
  done
}
declare -A PKG_HINT=([pg_dump]=postgresql-client [pg_restore]=postgresql-client [psql]=postgresql-client
  [age]=age [gpg]=gnupg [zstd]=zstd [flock]=util-linux [sha256sum]=coreutils)

# need_pg TOOL...: the PostgreSQL client tools, on the host or (docker variants) in the container.
need_pg() {
  if ((${#PG_EXEC[@]} > 0)); then need "${PG_EXEC[0]}"; else need "$@"; fi
}

ensure_backup_dir() {
  mkdir -p "$BACKUP_DIR" || fail "cannot create BACKUP_DIR $BACKUP_DIR"
  # Dumps hold every user's data: only the owner reads them.
  chmod 0700 "$BACKUP_DIR" 2>/dev/null || true
  umask 077
}

# take_lock NAME: one run at a time per BACKUP_DIR and NAME. Waits BACKUP_LOCK_WAIT_SECS
# (default 0: give up at once) and exits 75 (EX_TEMPFAIL) when another run holds it.
take_lock() {
  local file=$BACKUP_DIR/.$1.lock
  exec 9>"$file" || fail "cannot open lock file $file"
  if ! flock -w "$BACKUP_LOCK_WAIT_SECS" 9; then
    FAIL_STATUS=75 fail "another $1 run holds $file (waited ${BACKUP_LOCK_WAIT_SECS}s); not starting a second one"
  fi
}

# --- connections ---------------------------------------------------------------------------
# DATABASE_URL when set, else libpq's PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE, ...).
# PG_EXEC is a command prefix for every PostgreSQL client call (empty on the host; the docker
# variants set it to `docker compose exec -T <service>`).
PG_EXEC=()

db_name() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    local rest=${DATABASE_URL#*://}
    rest=${rest%%\?*}
    [[ $rest == */* ]] || fail "DATABASE_URL names no database"
    printf '%s\n' "${rest#*/}"
  else
    printf '%s\n' "${PGDATABASE:-${PGUSER:-$(id -un)}}"
  fi
}

# conn_for DBNAME: a libpq connection string for DBNAME on the same server.
conn_for() {
  local db=$1
  if [[ -n ${DATABASE_URL:-} ]]; then
    local url=$DATABASE_URL query="" base scheme
    if [[ $url == *\?* ]]; then query="?${url#*\?}"; url=${url%%\?*}; fi
    scheme=${url%%://*}
    base=${url#*://}
    base=${base%%/*}
    printf '%s://%s/%s%s\n' "$scheme" "$base" "$db" "$query"
  else
    printf 'dbname=%s\n' "$db"
  fi
}

# migrate_url_for DBNAME: DATABASE_URL for `keel-api migrate` on DBNAME. keel-api reads only
# DATABASE_URL (no PG* variables), so with PG* variables they are spelled out here; it goes in
# the migration's environment, never on a command line.
migrate_url_for() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    conn_for "$1"
  else
    printf 'host=%s port=%s user=%s dbname=%s%s\n' "${PGHOST:-localhost}" "${PGPORT:-5432}" \
      "${PGUSER:-$(id -un)}" "$1" "${PGPASSWORD:+ password=$PGPASSWORD}"
  fi
}

# psql_on DBNAME SQL: run SQL, unaligned tuples only, stop on the first error.
psql_on() {
  "${PG_EXEC[@]}" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(conn_for "$1")" -c "$2"
}

# sql_literal TEXT: TEXT as a quoted SQL string literal.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
# sql_ident TEXT: TEXT as a quoted SQL identifier.
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

db_exists() {
  [[ -n $(psql_on "$BACKUP_MAINTENANCE_DB" "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$1")") ]]
}

# --- the manifest: per-table row counts and checksums -----------------------------------------
# One line per ordinary table: schema.table, row count, and the sum of a 64-bit hash of every
# row's text form (order-independent, constant memory, exact in numeric).
MANIFEST_TABLES_SQL="SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  ORDER BY 1"

# manifest_sql TABLE...: one query printing `table<TAB>rows<TAB>checksum` lines, sorted.
manifest_sql() {
  local table parts=()
  for table in "$@"; do
    parts+=("SELECT $(sql_literal "$table") AS t, count(*) AS n, coalesce(sum(('x' || left(md5(r::text), 16))::bit(64)::bigint::numeric), 0) AS s FROM $table r")
  done
  if ((${#parts[@]} == 0)); then
    echo "SELECT NULL, NULL, NULL WHERE false"
    return
  fi
  local IFS=$'\n'
  printf 'SELECT t || E%s || n || E%s || s FROM (\n%s\n) m ORDER BY t\n' "'\\t'" "'\\t'" "$(
    local first=1 p
    for p in "${parts[@]}"; do
      if ((first)); then first=0; else echo "UNION ALL"; fi
      echo "$p"
    done
  )"
}

# manifest_of DBNAME: the manifest lines of a database as it is now.
manifest_of() {
  local tables
  mapfile -t tables < <(psql_on "$1" "$MANIFEST_TABLES_SQL")
  psql_on "$1" "$(manifest_sql "${tables[@]}")"
}

# --- files -----------------------------------------------------------------------------------
# A backup is FILE (FILE.dump, or .dump.age / .dump.gpg when encrypted) with FILE.sha256 (the
# checksums of the dump and of its manifest) and FILE.manifest (tables, rows, checksums).

# list_dumps DIR: the dumps in DIR, newest first (by modification time), one path a line.
list_dumps() {
  list_backups "$1" "$BACKUP_PREFIX-*.dump" "$BACKUP_PREFIX-*.dump.age" "$BACKUP_PREFIX-*.dump.gpg"
}

# list_backups DIR GLOB...: files in DIR matching any GLOB, newest first (modification time).
list_backups() {
  local dir=$1 expr=() glob
  shift
  for glob in "$@"; do
    ((${#expr[@]} == 0)) || expr+=(-o)
    expr+=(-name "$glob")
  done
  find "$dir" -maxdepth 1 -type f \( "${expr[@]}" \) -printf '%T@\t%p\n' | sort -t $'\t' -k1,1 -r -n | cut -f2-
}

# verify_checksum FILE: the .sha256 beside FILE must exist and match FILE and its manifest.
verify_checksum() {
  local file=$1 dir
  [[ -f $file ]] || fail "$file does not exist"
  [[ -f $file.sha256 ]] || fail "$file.sha256 is missing: refusing a dump whose integrity cannot be checked"
  dir=$(dirname "$file")
  if ! (cd "$dir" && sha256sum --check --strict --quiet "$(basename "$file").sha256") >&2; then
    fail "checksum mismatch for $file: the file is corrupt or was changed after the backup"
  fi
  log "checksum ok: $file"
}

# decrypted FILE OUT: FILE as a plain custom-format dump at OUT (a copy step only when encrypted).
decrypted() {
  local file=$1 out=$2
  case $file in
    *.age)
      need age
      [[ -n ${BACKUP_AGE_IDENTITY:-} ]] || fail "$file is age-encrypted: set BACKUP_AGE_IDENTITY to the identity (key) file"
      age --decrypt -i "$BACKUP_AGE_IDENTITY" -o "$out" "$file" || fail "age could not decrypt $file"
      ;;
    *.gpg)
      need gpg
      gpg --batch --quiet --yes --decrypt --output "$out" "$file" || fail "gpg could not decrypt $file"
      ;;
    *) ln -sf "$file" "$out" ;;
  esac
}

# write_metric NAME VALUE HELP: a Prometheus textfile (node_exporter's textfile collector) when
# BACKUP_METRICS_DIR is set; written atomically so the collector never reads half a file.
write_metric() {
  [[ -n $BACKUP_METRICS_DIR ]] || return 0
  local name=$1 value=$2 help=$3 file tmp
  file=$BACKUP_METRICS_DIR/$name.prom
  tmp=$(mktemp "$BACKUP_METRICS_DIR/.$name.XXXXXX") || return 0
  printf '# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n' "$name" "$help" "$name" "$name" "${METRIC_LABELS:-database=\"$(db_name)\"}" "$value" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}

# apply_retention DIR DAYS [KEEP_MAX [GLOB...]]: delete backups (default: the dumps; with their
# .sha256/.manifest) whose modification time is older than DAYS days, and beyond the KEEP_MAX
# newest when KEEP_MAX > 0. Leftovers of killed runs (.*.partial) older than a day go too.
# The newest dump is never deleted, however old: a backup that has been failing for a week
# must not also take the last good dump with it.
apply_retention() {
  local dir=$1 days=$2 keep_max=${3:-0} cutoff now i=0 file mtime globs=("${@:4}")
  [[ $days =~ ^[0-9]+$ ]] || fail "retention days must be a whole number, got '$days'"
  [[ $keep_max =~ ^[0-9]+$ ]] || fail "BACKUP_RETENTION_COUNT must be a whole number, got '$keep_max'"
  now=$(date +%s)
  cutoff=$((now - days * 86400))
  while IFS= read -r file; do
    i=$((i + 1))
    ((i == 1)) && continue
    mtime=$(stat -c %Y "$file")
    if ((mtime < cutoff)) || ((keep_max > 0 && i > keep_max)); then
      rm -f -- "$file" "$file.sha256" "$file.manifest"
      log "retention: deleted $file"
    fi
  done < <(if ((${#globs[@]})); then list_backups "$dir" "${globs[@]}"; else list_dumps "$dir"; fi)
  find "$dir" -maxdepth 1 -type f -name '.*.partial*' -mmin +1440 -delete 2>/dev/null || true
}

# The docker variants run every PostgreSQL client inside the compose stack's container.
if [[ -n ${KEEL_PG_EXEC:-} ]]; then read -r -a PG_EXEC <<<"$KEEL_PG_EXEC"; fi
