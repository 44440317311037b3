#!/usr/bin/env bash
# Back up Keel's PostgreSQL database: a compressed custom-format dump with a checksum and a
# manifest of per-table row counts and checksums, written atomically, then retention.
set -euo pipefail
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

usage() {
  cat <<'USAGE'
Usage: backup-database.sh [--help]

Dumps the database named by DATABASE_URL (or the PG* variables) with `pg_dump -Fc` into
BACKUP_DIR as <prefix>-<database>-<UTC timestamp>.dump, beside it <dump>.sha256 and
<dump>.manifest (per-table row counts and checksums, taken in the dump's own snapshot).
Prints the path of the dump as its last line; exit status 0 only on full success.

Environment:
  DATABASE_URL            postgres://user[:password]@host:port/database (else PGHOST, PGUSER, ...)
  BACKUP_DIR              where dumps go (default /var/backups/keel, created mode 0700)
  BACKUP_PREFIX           file name prefix (default keel)
  BACKUP_RETENTION_DAYS   delete dumps older than this many days (default 7; the newest stays)
  BACKUP_RETENTION_COUNT  also keep at most this many dumps (default 0: no count limit)
  BACKUP_AGE_RECIPIENT    encrypt with age to this recipient (age1...), or
  BACKUP_AGE_RECIPIENTS_FILE  ... to every recipient in this file
  BACKUP_GPG_RECIPIENT    encrypt with gpg to this key (when no age recipient is set)
  BACKUP_RCLONE_REMOTE    off-site copy with `rclone copy` to this remote:path
  BACKUP_S3_URI           off-site copy with `aws s3 cp` to this s3://bucket/prefix
  BACKUP_LOG_FILE         log file (default $BACKUP_DIR/keel-backup.log); lines also go to stdout
  BACKUP_LOCK_WAIT_SECS   wait this long for a running backup to finish (default 0: exit 75)
  BACKUP_METRICS_DIR      write keel_backup_last_success_timestamp_seconds (node_exporter textfile)
USAGE
}

case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 64 ;;
esac

BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-7}
BACKUP_RETENTION_COUNT=${BACKUP_RETENTION_COUNT:-0}
need_pg psql pg_dump
need sha256sum flock
ensure_backup_dir
take_lock backup

db=$(db_name)
[[ -n $db ]] || fail "no database name in DATABASE_URL / PGDATABASE"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
suffix=""
encrypt=(cat)
if [[ -n ${BACKUP_AGE_RECIPIENT:-} || -n ${BACKUP_AGE_RECIPIENTS_FILE:-} ]]; then
  need age
  suffix=.age
  encrypt=(age --encrypt)
  [[ -n ${BACKUP_AGE_RECIPIENT:-} ]] && encrypt+=(--recipient "$BACKUP_AGE_RECIPIENT")
  [[ -n ${BACKUP_AGE_RECIPIENTS_FILE:-} ]] && encrypt+=(--recipients-file "$BACKUP_AGE_RECIPIENTS_FILE")
elif [[ -n ${BACKUP_GPG_RECIPIENT:-} ]]; then
  need gpg
  suffix=.gpg
  encrypt=(gpg --batch --yes --trust-model always --encrypt --recipient "$BACKUP_GPG_RECIPIENT" --output -)
fi
name=$BACKUP_PREFIX-$db-$stamp.dump$suffix
# Two runs in the same second (the lock makes them sequential) get distinct names.
n=1
while [[ -e $BACKUP_DIR/$name ]]; do
  name=$BACKUP_PREFIX-$db-$stamp-$n.dump$suffix
  n=$((n + 1))
done
final=$BACKUP_DIR/$name
partial=$BACKUP_DIR/.$name.partial
snapshot_pid=""

cleanup() {
  rm -f -- "$partial" "$partial.manifest" "$partial.sha256"
  if [[ -n $snapshot_pid ]]; then kill "$snapshot_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

log "backing up database $db to $final"
started=$SECONDS

# One snapshot for the manifest and the dump: a session exports it and stays in its
# transaction while pg_dump imports it, so the manifest describes exactly what was dumped.
coproc SNAP { "${PG_EXEC[@]}" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(conn_for "$db")" 2>&1; }
snapshot_pid=$SNAP_PID
snap_in=${SNAP[1]}
snap_out=${SNAP[0]}
printf '%s\n' "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;" "SELECT pg_export_snapshot();" >&"$snap_in"
IFS= read -r -t 60 snapshot <&"$snap_out" || fail "could not open a snapshot on $db"
[[ $snapshot =~ ^[0-9A-F-]+$ ]] || fail "could not open a snapshot on $db: $snapshot"

# snapshot_query SQL TIMEOUT: run SQL in the snapshot's session, print its output lines.
snapshot_query() {
  printf '%s;\n\\echo __keel_end__\n' "$1" >&"$snap_in"
  local line
  while true; do
    IFS= read -r -t "$2" line <&"$snap_out" || fail "a query in the snapshot of $db did not finish (or psql died)"
    [[ $line == __keel_end__ ]] && break
    printf '%s\n' "$line"
  done
}

manifest_started=$SECONDS
# The tables as the snapshot sees them: exactly the ones pg_dump will dump.
mapfile -t tables < <(snapshot_query "$MANIFEST_TABLES_SQL" 60)
[[ ${#tables[@]} -eq 0 || ${tables[0]} != *ERROR* ]] || fail "could not list the tables of $db: ${tables[0]}"
snapshot_query "$(manifest_sql "${tables[@]}")" 3600 >"$partial.manifest"
if grep -qv $'\t.*\t' "$partial.manifest"; then
  fail "the manifest query on $db failed: $(grep -v $'\t.*\t' "$partial.manifest" | head -n 1)"
fi

log "manifest of ${#tables[@]} tables in $((SECONDS - manifest_started)) s"
if ! "${PG_EXEC[@]}" pg_dump --format=custom --snapshot="$snapshot" --dbname="$(conn_for "$db")" | "${encrypt[@]}" >"$partial"; then
  fail "pg_dump of $db failed"
fi
printf 'COMMIT;\n\\q\n' >&"$snap_in"
wait "$snapshot_pid" || true
snapshot_pid=""

# A dump that pg_restore cannot read is no backup: read its table of contents back.
if [[ -z $suffix ]]; then
  "${PG_EXEC[@]}" pg_restore --list <"$partial" >/dev/null || fail "the new dump cannot be read back by pg_restore"
fi
[[ -s $partial ]] || fail "pg_dump wrote an empty file"

{
  printf '%s  %s\n' "$(sha256sum <"$partial" | cut -d' ' -f1)" "$name"
  printf '%s  %s\n' "$(sha256sum <"$partial.manifest" | cut -d' ' -f1)" "$name.manifest"
} >"$partial.sha256"

# Sidecars first, the dump last: whoever sees the dump under its final name sees it whole,
# with its checksum and manifest already there.
sync -f "$partial" 2>/dev/null || sync
mv -f -- "$partial.manifest" "$final.manifest"
mv -f -- "$partial.sha256" "$final.sha256"
mv -f -- "$partial" "$final"
size=$(stat -c %s "$final")
log "wrote $final ($size bytes, ${#tables[@]} tables, $((SECONDS - started)) s)"

if [[ -n ${BACKUP_RCLONE_REMOTE:-} ]]; then
  need rclone
  rclone copy "$final" "$final.sha256" "$final.manifest" "$BACKUP_RCLONE_REMOTE" ||
    fail "off-site copy to $BACKUP_RCLONE_REMOTE failed (the local backup $final is complete)"
  log "copied off-site to $BACKUP_RCLONE_REMOTE"
fi
if [[ -n ${BACKUP_S3_URI:-} ]]; then
  need aws
  for f in "$final" "$final.sha256" "$final.manifest"; do
    aws s3 cp --only-show-errors "$f" "${BACKUP_S3_URI%/}/$(basename "$f")" ||
      fail "off-site copy to $BACKUP_S3_URI failed (the local backup $final is complete)"
  done
  log "copied off-site to $BACKUP_S3_URI"
fi

apply_retention "$BACKUP_DIR" "$BACKUP_RETENTION_DAYS" "$BACKUP_RETENTION_COUNT"
write_metric keel_backup_last_success_timestamp_seconds "$(date +%s)" "Unix time of the last complete database backup."
write_metric keel_backup_last_size_bytes "$size" "Size of the last database backup."
printf '%s\n' "$final"
