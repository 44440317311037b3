#!/usr/bin/env bash
# Restore a dump written by backup-database.sh: checksum first, a safety backup of the current
# database, the restore into a NEW database, migrations there, then one transaction renames
# the old database away and the new one into its place. Any failure before that rename leaves
# the current database untouched.
set -euo pipefail
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

usage() {
  cat <<'USAGE'
Usage: restore-database.sh [--yes] [--drop-old] FILE

Restores FILE (a .dump, .dump.age or .dump.gpg from backup-database.sh) over the database
named by DATABASE_URL (or the PG* variables):
  1. checks FILE against FILE.sha256 and that pg_restore can read it;
  2. asks for confirmation (--yes skips it; without a terminal and without --yes it refuses);
  3. takes a safety backup of the current database into $BACKUP_DIR/safety/;
  4. restores into a new database <name>_restore_<timestamp> and runs `keel-api migrate` on it;
  5. blocks new connections to the current database, terminates the open ones
     (pg_terminate_backend), and in ONE transaction renames it to <name>_prev_<timestamp> and
     the new database to <name>.
The previous database is kept for rollback unless --drop-old is given. Stop the writers first
(scale api and worker to zero); the script terminates whatever is still connected.
Prints the path of the safety backup as its last line; exit status 0 only on full success.

Options:
  --yes        do not ask (for scripts and drills)
  --drop-old   drop the previous database after a successful swap

Environment:
  DATABASE_URL           the database to replace (else PGHOST, PGUSER, PGDATABASE, ...)
  BACKUP_DIR             where safety backups go (default /var/backups/keel)
  BACKUP_AGE_IDENTITY    age identity file, for .age dumps (gpg uses its keyring)
  KEEL_MIGRATE_CMD       migration command, run with DATABASE_URL set to the new database;
                         `{db}` in it is replaced by the new database's name
                         (default: `keel-api migrate`, keel-api from KEEL_API_BIN or PATH)
  RESTORE_JOBS           parallel pg_restore jobs (default 2)
  RESTORE_TERMINATE_WAIT_SECS  how long to keep terminating connections before giving up (30)
USAGE
}

yes=0
drop_old=0
file=""
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --yes | -y) yes=1 ;;
    --drop-old) drop_old=1 ;;
    -*) usage >&2; exit 64 ;;
    *)
      [[ -z $file ]] || { usage >&2; exit 64; }
      file=$1
      ;;
  esac
  shift
done
[[ -n $file ]] || { usage >&2; exit 64; }

need_pg psql pg_restore
need sha256sum flock
ensure_backup_dir
take_lock restore

db=$(db_name)
[[ -n $db ]] || fail "no database name in DATABASE_URL / PGDATABASE"
db_exists "$db" || fail "database $db does not exist on the server (nothing to restore over)"
file=$(realpath -e -- "$file" 2>/dev/null) || fail "$file does not exist"

migrate=()
if [[ -n ${KEEL_MIGRATE_CMD:-} ]]; then
  read -r -a migrate <<<"$KEEL_MIGRATE_CMD"
else
  api_bin=${KEEL_API_BIN:-$(command -v keel-api || true)}
  [[ -n $api_bin && -x $api_bin ]] || fail "keel-api not found: set KEEL_API_BIN or KEEL_MIGRATE_CMD (migrations run on the restored database)"
  migrate=("$api_bin" migrate)
fi

verify_checksum "$file"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
# Database names are at most 63 bytes.
new_db="${db:0:40}_restore_$stamp"
old_db="${db:0:40}_prev_$stamp"
work=$(mktemp -d "$BACKUP_DIR/.restore.XXXXXX")
created_new=0
blocked_live=0
cleanup() {
  local status=$?
  if ((blocked_live)); then
    psql_on "$BACKUP_MAINTENANCE_DB" "ALTER DATABASE $(sql_ident "$db") WITH ALLOW_CONNECTIONS true" >/dev/null 2>&1 || true
  fi
  if ((created_new)); then
    log "dropping the unfinished database $new_db; $db is as it was"
    psql_on "$BACKUP_MAINTENANCE_DB" "DROP DATABASE IF EXISTS $(sql_ident "$new_db") WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf -- "$work"
  exit "$status"
}
trap cleanup EXIT

plain=$work/dump
decrypted "$file" "$plain"
"${PG_EXEC[@]}" pg_restore --list <"$plain" >/dev/null || fail "pg_restore cannot read $file"

if ((!yes)); then
  if [[ ! -t 0 ]]; then
    FAIL_STATUS=2 fail "refusing to restore over $db without confirmation: no terminal to ask on; pass --yes to confirm"
  fi
  printf 'Restore %s over database %s (current data kept as %s)? Type yes to go on: ' "$file" "$db" "$old_db" >&2
  IFS= read -r answer || answer=""
  [[ $answer == yes || $answer == y ]] || FAIL_STATUS=2 fail "not confirmed; nothing changed"
fi

log "safety backup of $db before the restore"
safety_out=$(BACKUP_DIR=$BACKUP_DIR/safety BACKUP_PREFIX=$BACKUP_PREFIX-pre-restore \
  BACKUP_RETENTION_DAYS=${RESTORE_SAFETY_RETENTION_DAYS:-30} BACKUP_RETENTION_COUNT=0 \
  BACKUP_RCLONE_REMOTE="" BACKUP_S3_URI="" BACKUP_LOCK_WAIT_SECS=${RESTORE_SAFETY_LOCK_WAIT_SECS:-600} \
  "$KEEL_SCRIPTS_DIR/backup-database.sh") || fail "the safety backup failed; nothing changed"
safety=${safety_out##*$'\n'}
log "safety backup: $safety"

owner=$(psql_on "$BACKUP_MAINTENANCE_DB" "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $(sql_literal "$db")")
log "restoring into the new database $new_db"
started=$SECONDS
created_new=1
psql_on "$BACKUP_MAINTENANCE_DB" "CREATE DATABASE $(sql_ident "$new_db") OWNER $(sql_ident "$owner") TEMPLATE template0" >/dev/null ||
  fail "could not create $new_db"
if ((${#PG_EXEC[@]} > 0)); then
  # In a container the dump arrives on stdin, which pg_restore reads in one stream.
  "${PG_EXEC[@]}" pg_restore --exit-on-error --dbname="$(conn_for "$new_db")" <"$plain" ||
    fail "pg_restore into $new_db failed; $db is untouched"
else
  pg_restore --exit-on-error --jobs="${RESTORE_JOBS:-2}" --dbname="$(conn_for "$new_db")" "$plain" ||
    fail "pg_restore into $new_db failed; $db is untouched"
fi
log "restored in $((SECONDS - started)) s; running migrations on $new_db"
migrate=("${migrate[@]//\{db\}/$new_db}")
if ! DATABASE_URL=$(migrate_url_for "$new_db") KEEL_LOG_FORMAT=compact NO_COLOR=1 "${migrate[@]}" >"$work/migrate.log" 2>&1; then
  while IFS= read -r line; do log "  $line"; done <"$work/migrate.log"
  fail "migrations failed on $new_db; $db is untouched"
fi

# The swap: no new sessions on the current database, end the open ones, rename both at once.
psql_on "$BACKUP_MAINTENANCE_DB" "ALTER DATABASE $(sql_ident "$db") WITH ALLOW_CONNECTIONS false" >/dev/null ||
  fail "could not block new connections to $db"
blocked_live=1
deadline=$((SECONDS + ${RESTORE_TERMINATE_WAIT_SECS:-30}))
swap="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $(sql_literal "$db") AND pid <> pg_backend_pid();"
swapped=0
while ((SECONDS < deadline)); do
  terminated=$(psql_on "$BACKUP_MAINTENANCE_DB" "$swap") || terminated="?"
  ((terminated == 0)) 2>/dev/null || log "terminated $terminated connection(s) to $db"
  if "${PG_EXEC[@]}" psql -X -q -v ON_ERROR_STOP=1 -d "$(conn_for "$BACKUP_MAINTENANCE_DB")" >/dev/null 2>&1 <<SQL; then
BEGIN;
ALTER DATABASE $(sql_ident "$db") RENAME TO $(sql_ident "$old_db");
ALTER DATABASE $(sql_ident "$new_db") RENAME TO $(sql_ident "$db");
COMMIT;
SQL
    swapped=1
    break
  fi
  sleep 0.5
done
((swapped)) || fail "could not rename $db: sessions kept reconnecting for ${RESTORE_TERMINATE_WAIT_SECS:-30} s (stop the api and worker first)"
created_new=0
blocked_live=0
log "swapped: $db now holds the restored data; the previous database is $old_db"

if ((drop_old)); then
  psql_on "$BACKUP_MAINTENANCE_DB" "DROP DATABASE $(sql_ident "$old_db") WITH (FORCE)" >/dev/null ||
    fail "restore done, but dropping $old_db failed: drop it by hand"
  log "dropped $old_db (--drop-old)"
else
  log "kept $old_db for rollback; drop it with: psql -c 'DROP DATABASE \"$old_db\"' once the restore is checked"
fi
log "restore of $file into $db done in $((SECONDS - started)) s"
printf '%s\n' "$safety"
