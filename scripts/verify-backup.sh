#!/usr/bin/env bash
# Prove a backup restores: checksum, restore into a scratch database, compare every table's row
# count and checksum with the manifest recorded at backup time, run migrations, drop the
# scratch database. Meant for a weekly timer; the result is a log line and a metric.
set -euo pipefail
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

usage() {
  cat <<'USAGE'
Usage: verify-backup.sh [FILE]

Verifies FILE (default: the newest dump in BACKUP_DIR):
  1. FILE and FILE.manifest against FILE.sha256;
  2. pg_restore into a scratch database keel_verify_<timestamp>_<pid> on the server of
     DATABASE_URL (or the PG* variables; the live database is only read for its server);
  3. per-table row counts and checksums of the scratch database == FILE.manifest, table by
     table (the manifest was taken in the dump's own snapshot);
  4. `keel-api migrate` on the scratch database (today's code can start on this data);
  5. drops the scratch database, whatever happened.
Logs `keel-backup-verify result=ok|failed file=... age_seconds=...` and, with
BACKUP_METRICS_DIR, writes keel_backup_verify_success (1/0) and
keel_backup_verify_last_run_timestamp_seconds for node_exporter's textfile collector.
Prints the path of the verified dump as its last line; exit status 0 only when it all matched.

Environment: DATABASE_URL, BACKUP_DIR, BACKUP_PREFIX, BACKUP_AGE_IDENTITY (for .age dumps),
KEEL_MIGRATE_CMD / KEEL_API_BIN (as restore-database.sh), BACKUP_METRICS_DIR, RESTORE_JOBS.
USAGE
}

file=""
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  -*) usage >&2; exit 64 ;;
  "") ;;
  *) file=$1 ;;
esac
(($# <= 1)) || { usage >&2; exit 64; }

need_pg psql pg_restore
need sha256sum flock
ensure_backup_dir
take_lock verify

if [[ -z $file ]]; then
  file=$(list_dumps "$BACKUP_DIR" | head -n 1)
  [[ -n $file ]] || fail "no dump in $BACKUP_DIR to verify"
fi
file=$(realpath -e -- "$file" 2>/dev/null) || fail "$file does not exist"

migrate=()
if [[ -n ${KEEL_MIGRATE_CMD:-} ]]; then
  read -r -a migrate <<<"$KEEL_MIGRATE_CMD"
else
  api_bin=${KEEL_API_BIN:-$(command -v keel-api || true)}
  [[ -n $api_bin && -x $api_bin ]] || fail "keel-api not found: set KEEL_API_BIN or KEEL_MIGRATE_CMD"
  migrate=("$api_bin" migrate)
fi

scratch=keel_verify_$(date -u +%Y%m%d%H%M%S)_$$
work=$(mktemp -d "$BACKUP_DIR/.verify.XXXXXX")
created=0
result=failed
report() {
  local status=$? age
  if ((created)); then
    psql_on "$BACKUP_MAINTENANCE_DB" "DROP DATABASE IF EXISTS $(sql_ident "$scratch") WITH (FORCE)" >/dev/null 2>&1 ||
      log "warning: could not drop the scratch database $scratch"
  fi
  rm -rf -- "$work"
  ((status == 0)) || result=failed
  age=$(($(date +%s) - $(stat -c %Y "$file" 2>/dev/null || date +%s)))
  log "keel-backup-verify result=$result file=$file age_seconds=$age"
  write_metric keel_backup_verify_success "$([[ $result == ok ]] && echo 1 || echo 0)" "1 when the last backup verification passed."
  write_metric keel_backup_verify_last_run_timestamp_seconds "$(date +%s)" "Unix time of the last backup verification."
  if [[ $result == ok ]]; then printf '%s\n' "$file"; fi
  exit "$status"
}
trap report EXIT

verify_checksum "$file"
[[ -f $file.manifest ]] || fail "$file.manifest is missing: nothing to compare the restore with"

plain=$work/dump
decrypted "$file" "$plain"
log "restoring $file into the scratch database $scratch"
started=$SECONDS
created=1
psql_on "$BACKUP_MAINTENANCE_DB" "CREATE DATABASE $(sql_ident "$scratch") TEMPLATE template0" >/dev/null ||
  fail "could not create the scratch database $scratch"
if ((${#PG_EXEC[@]} > 0)); then
  "${PG_EXEC[@]}" pg_restore --exit-on-error --no-owner --dbname="$(conn_for "$scratch")" <"$plain" ||
    fail "pg_restore of $file failed"
else
  pg_restore --exit-on-error --no-owner --jobs="${RESTORE_JOBS:-2}" --dbname="$(conn_for "$scratch")" "$plain" ||
    fail "pg_restore of $file failed"
fi
log "restored in $((SECONDS - started)) s; comparing tables with the manifest"

manifest_of "$scratch" >"$work/actual" || fail "could not compute the checksums of $scratch"
if ! diff -u --label "manifest (at backup time)" --label "restored" "$file.manifest" "$work/actual" >"$work/diff"; then
  while IFS= read -r line; do log "  $line"; done <"$work/diff"
  fail "the restore of $file differs from its manifest (lines above: - recorded, + restored)"
fi
log "$(wc -l <"$file.manifest") tables match the manifest (rows and checksums)"

# Compared before migrating: a newer migration may legitimately change rows. Migrating then
# proves today's code starts on this data.
migrate=("${migrate[@]//\{db\}/$scratch}")
DATABASE_URL=$(migrate_url_for "$scratch") KEEL_LOG_FORMAT=compact NO_COLOR=1 "${migrate[@]}" >"$work/migrate.log" 2>&1 || {
  while IFS= read -r line; do log "  $line"; done <"$work/migrate.log"
  fail "migrations failed on the restored data"
}
result=ok
