#!/usr/bin/env bats
# backup-database.sh, restore-database.sh and verify-backup.sh against the real local PostgreSQL.

# Each @test runs in its own subshell: exports in one test are meant to stay there.
# shellcheck disable=SC2030,SC2031
bats_require_minimum_version 1.5.0
load helpers

setup_file() { setup_template_database; }
teardown_file() { teardown_template_database; }
setup() { setup_database; }
teardown() { teardown_database; }

@test "every database script answers --help with its usage and exit status 0" {
  for script in backup-database restore-database verify-backup backup-docker restore-docker backup-media security-audit; do
    run "$SCRIPTS/$script.sh" --help
    [ "$status" -eq 0 ]
    [[ $output == Usage:* ]]
  done
}

@test "round trip: a restored backup has the tables as they were at backup time" {
  seed_database 300
  before=$(table_checksums)
  run --separate-stderr "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 0 ]
  dump=${lines[-1]}
  [[ $dump == "$BACKUP_DIR"/keel-"$TEST_DB"-*Z.dump ]]
  [ -s "$dump" ] && [ -s "$dump.sha256" ] && [ -s "$dump.manifest" ]
  grep -q $'^public.blobs\t1\t' "$dump.manifest"
  grep -q $'^public.users\t300\t' "$dump.manifest"

  mutate_database
  [ "$(table_checksums)" != "$before" ]

  run --separate-stderr "$SCRIPTS/restore-database.sh" --yes "$dump"
  [ "$status" -eq 0 ]
  safety=${lines[-1]}
  [[ $safety == "$BACKUP_DIR"/safety/keel-pre-restore-"$TEST_DB"-*.dump ]]
  [ "$(table_checksums)" = "$before" ]
  # The previous database is kept for rollback, holding the mutated data.
  prev=$(psql_admin "SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB}_prev_%'")
  [ -n "$prev" ]
  # ... closed to connections, so a stale writer cannot reach it by its old name.
  [ "$(psql_admin "SELECT datallowconn FROM pg_database WHERE datname = '$prev'")" = f ]
  psql "$(db_url "$TEST_DB")" -Atc "SELECT count(*) FROM blobs WHERE length(data) = 1048576" | grep -qx 1
}

@test "restore --drop-old drops the previous database and the safety backup restores the pre-restore state" {
  seed_database 50
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  mutate_database
  mutated=$(table_checksums)
  run --separate-stderr "$SCRIPTS/restore-database.sh" --yes --drop-old "$dump"
  [ "$status" -eq 0 ]
  safety=${lines[-1]}
  [ -z "$(psql_admin "SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB}_prev_%'")" ]
  # Rolling forward again from the safety backup brings the mutation back.
  run --separate-stderr "$SCRIPTS/restore-database.sh" --yes --drop-old "$safety"
  [ "$status" -eq 0 ]
  [ "$(table_checksums)" = "$mutated" ]
}

@test "a dump with a flipped byte is refused by its checksum and nothing changes" {
  seed_database 20
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  mutate_database
  live=$(table_checksums)
  offset=$(($(stat -c %s "$dump") / 2))
  byte=$(od -An -tu1 -j "$offset" -N1 "$dump" | tr -d ' ')
  printf '%b' "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$dump" bs=1 seek="$offset" conv=notrunc status=none
  run "$SCRIPTS/restore-database.sh" --yes "$dump"
  [ "$status" -ne 0 ]
  [[ $output == *"checksum mismatch"* ]]
  [ "$(table_checksums)" = "$live" ]
  [ ! -d "$BACKUP_DIR/safety" ]
  run "$SCRIPTS/verify-backup.sh" "$dump"
  [ "$status" -ne 0 ]
  [[ $output == *"checksum mismatch"* ]]
}

@test "a dump that fails mid-restore leaves the live database exactly as it was" {
  seed_database 200
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  mutate_database
  live=$(table_checksums)
  # Truncated after the table of contents, with a checksum that matches the truncated file:
  # pg_restore itself has to fail part-way.
  truncate -s $(($(stat -c %s "$dump") * 2 / 3)) "$dump"
  sed -i "1s/^[0-9a-f]*/$(sha256sum <"$dump" | cut -d' ' -f1)/" "$dump.sha256"
  run "$SCRIPTS/restore-database.sh" --yes "$dump"
  [ "$status" -ne 0 ]
  [[ $output == *"pg_restore into ${TEST_DB}_restore_"*"failed; $TEST_DB is untouched"* ]]
  [ "$(table_checksums)" = "$live" ]
  [ -z "$(psql_admin "SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB}\_%'")" ]
  [ "$(psql_admin "SELECT datallowconn FROM pg_database WHERE datname = '$TEST_DB'")" = t ]
}

@test "retention deletes only dumps older than the window, with their sidecars, and never the newest" {
  mkdir -p "$BACKUP_DIR"
  for age in 30 10 8; do
    f=$BACKUP_DIR/keel-$TEST_DB-old$age.dump
    touch "$f" "$f.sha256" "$f.manifest"
    touch -d "$age days ago" "$f"
  done
  touch -d "6 days ago" "$BACKUP_DIR/keel-$TEST_DB-recent6.dump"
  touch -d "1 day ago" "$BACKUP_DIR/keel-$TEST_DB-recent1.dump"
  touch -d "40 days ago" "$BACKUP_DIR/unrelated.txt"
  run --separate-stderr env BACKUP_RETENTION_DAYS=7 "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 0 ]
  new=${lines[-1]}
  [ -f "$new" ]
  [ -f "$BACKUP_DIR/keel-$TEST_DB-recent6.dump" ] && [ -f "$BACKUP_DIR/keel-$TEST_DB-recent1.dump" ]
  [ -f "$BACKUP_DIR/unrelated.txt" ]
  for age in 30 10 8; do
    [ ! -e "$BACKUP_DIR/keel-$TEST_DB-old$age.dump" ]
    [ ! -e "$BACKUP_DIR/keel-$TEST_DB-old$age.dump.sha256" ]
    [ ! -e "$BACKUP_DIR/keel-$TEST_DB-old$age.dump.manifest" ]
  done
  # A count limit keeps the newest N.
  run --separate-stderr env BACKUP_RETENTION_COUNT=2 "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 0 ]
  [ "$(find "$BACKUP_DIR" -maxdepth 1 -name '*.dump' | wc -l)" -eq 2 ]
  [ -f "${lines[-1]}" ] && [ -f "$new" ]
}

@test "retention never deletes the newest dump, however old" {
  mkdir -p "$BACKUP_DIR"
  touch -d "20 days ago" "$BACKUP_DIR/keel-x-a.dump"
  touch -d "15 days ago" "$BACKUP_DIR/keel-x-b.dump"
  run bash -c "source '$SCRIPTS/backup-common.sh'; apply_retention '$BACKUP_DIR' 7"
  [ "$status" -eq 0 ]
  [ ! -e "$BACKUP_DIR/keel-x-a.dump" ]
  [ -f "$BACKUP_DIR/keel-x-b.dump" ]
}

@test "a second backup while one runs exits 75 with a clear message; a killed one leaves no file under a final name" {
  seed_database 20
  mkdir -p "$BACKUP_DIR"
  # Hold an exclusive table lock: the first backup blocks inside its dump.
  PGAPPNAME=bats_locker psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "BEGIN" -c "LOCK TABLE users IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(60)" 3>&- &
  locker=$!
  sleep 1
  setsid "$SCRIPTS/backup-database.sh" >"$BATS_TEST_TMPDIR/first.out" 2>&1 &
  first=$!
  for _ in $(seq 300); do grep -q "backing up" "$BATS_TEST_TMPDIR/first.out" && break; sleep 0.2; done
  grep -q "backing up" "$BATS_TEST_TMPDIR/first.out"
  run "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 75 ]
  [[ $output == *"another backup run holds"*"not starting a second one"* ]]
  # Stopped the way systemd stops a unit: SIGTERM to the whole process group.
  kill -TERM -- "-$first"
  wait "$first" || true
  psql_admin "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$TEST_DB' AND application_name = 'bats_locker'" >/dev/null
  wait "$locker" || true
  [ -z "$(find "$BACKUP_DIR" -name '*.dump*')" ]
  [ -z "$(find "$BACKUP_DIR" -name '*.partial*')" ]
  # With the lock free again, backups wait for each other when told to and both complete.
  BACKUP_LOCK_WAIT_SECS=120 "$SCRIPTS/backup-database.sh" >"$BATS_TEST_TMPDIR/a.out" &
  a=$!
  BACKUP_LOCK_WAIT_SECS=120 "$SCRIPTS/backup-database.sh" >"$BATS_TEST_TMPDIR/b.out"
  wait "$a"
  [ "$(tail -n 1 "$BATS_TEST_TMPDIR/a.out")" != "$(tail -n 1 "$BATS_TEST_TMPDIR/b.out")" ]
  for f in "$(tail -n 1 "$BATS_TEST_TMPDIR/a.out")" "$(tail -n 1 "$BATS_TEST_TMPDIR/b.out")"; do
    (cd "$BACKUP_DIR" && sha256sum --check --quiet "$(basename "$f").sha256")
  done
}

@test "restore without --yes and without a terminal refuses and changes nothing" {
  seed_database 10
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  mutate_database
  live=$(table_checksums)
  run "$SCRIPTS/restore-database.sh" "$dump" </dev/null
  [ "$status" -eq 2 ]
  [[ $output == *"no terminal to ask on; pass --yes"* ]]
  [ "$(table_checksums)" = "$live" ]
  [ ! -d "$BACKUP_DIR/safety" ]
}

@test "restore on a terminal prompts: 'no' changes nothing, 'yes' restores" {
  seed_database 10
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  before=$(table_checksums)
  mutate_database
  live=$(table_checksums)
  # script(1) gives the restore a pseudo-terminal; the answer arrives on it.
  run bash -c "printf 'no\n' | script -qec '$SCRIPTS/restore-database.sh $dump' /dev/null"
  [ "$status" -ne 0 ]
  [[ $output == *"Type yes to go on"* ]]
  [[ $output == *"not confirmed; nothing changed"* ]]
  [ "$(table_checksums)" = "$live" ]
  run bash -c "(sleep 2; printf 'yes\n') | script -qec '$SCRIPTS/restore-database.sh --drop-old $dump' /dev/null"
  [ "$status" -eq 0 ]
  [ "$(table_checksums)" = "$before" ]
}

@test "verify-backup passes on a good dump, drops its scratch database and reports ok" {
  seed_database 100
  export BACKUP_METRICS_DIR=$BATS_TEST_TMPDIR/metrics
  mkdir -p "$BACKUP_METRICS_DIR"
  "$SCRIPTS/backup-database.sh" >/dev/null
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  run --separate-stderr "$SCRIPTS/verify-backup.sh"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$dump" ]
  [[ $output == *"keel-backup-verify result=ok file=$dump"* ]]
  grep -q '^keel_backup_verify_success{database="'"$TEST_DB"'"} 1$' "$BACKUP_METRICS_DIR/keel_backup_verify_success.prom"
  grep -q '^keel_backup_last_success_timestamp_seconds' "$BACKUP_METRICS_DIR/keel_backup_last_success_timestamp_seconds.prom"
  scratch=$(grep -o 'keel_verify_[0-9]*_[0-9]*' <<<"$output" | head -n 1)
  [ -n "$scratch" ]
  [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$scratch'")" ]
}

@test "verify-backup fails when the restored data disagrees with the manifest" {
  seed_database 100
  export BACKUP_METRICS_DIR=$BATS_TEST_TMPDIR/metrics
  mkdir -p "$BACKUP_METRICS_DIR"
  dump=$("$SCRIPTS/backup-database.sh" | tail -n 1)
  # A manifest that records one user more than the dump holds, with a matching checksum file.
  sed -i $'s/^public.users\t100\t/public.users\t101\t/' "$dump.manifest"
  sed -i "2s/^[0-9a-f]*/$(sha256sum <"$dump.manifest" | cut -d' ' -f1)/" "$dump.sha256"
  run "$SCRIPTS/verify-backup.sh" "$dump"
  [ "$status" -eq 1 ]
  [[ $output == *"differs from its manifest"* ]]
  [[ $output == *"-public.users"$'\t'"101"* ]]
  [[ $output == *"keel-backup-verify result=failed"* ]]
  grep -q ' 0$' "$BACKUP_METRICS_DIR/keel_backup_verify_success.prom"
  scratch=$(grep -o 'keel_verify_[0-9]*_[0-9]*' <<<"$output" | head -n 1)
  [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$scratch'")" ]
}

@test "age encryption: the dump on disk is ciphertext, restore and verify decrypt it" {
  command -v age-keygen >/dev/null || skip "age is not installed"
  seed_database 30
  age-keygen -o "$BATS_TEST_TMPDIR/key.txt" 2>/dev/null
  recipient=$(age-keygen -y "$BATS_TEST_TMPDIR/key.txt")
  before=$(table_checksums)
  dump=$(BACKUP_AGE_RECIPIENT=$recipient "$SCRIPTS/backup-database.sh" | tail -n 1)
  [[ $dump == *.dump.age ]]
  run pg_restore --list "$dump"
  [ "$status" -ne 0 ]
  run "$SCRIPTS/verify-backup.sh" "$dump"
  [ "$status" -ne 0 ]
  [[ $output == *"set BACKUP_AGE_IDENTITY"* ]]
  export BACKUP_AGE_IDENTITY=$BATS_TEST_TMPDIR/key.txt
  run "$SCRIPTS/verify-backup.sh" "$dump"
  [ "$status" -eq 0 ]
  mutate_database
  run "$SCRIPTS/restore-database.sh" --yes --drop-old "$dump"
  [ "$status" -eq 0 ]
  [ "$(table_checksums)" = "$before" ]
}

@test "backup-docker and restore-docker run every PostgreSQL client inside the compose service" {
  seed_database 40
  before=$(table_checksums)
  export FAKE_DOCKER_LOG=$BATS_TEST_TMPDIR/docker.log
  export PATH="$BATS_TEST_DIRNAME/fixtures/bin:$PATH" POSTGRES_USER=postgres POSTGRES_DB=$TEST_DB
  run --separate-stderr "$SCRIPTS/backup-docker.sh"
  [ "$status" -eq 0 ]
  dump=${lines[-1]}
  grep -q "^compose exec -T -e PGUSER=postgres postgres pg_dump --format=custom" "$FAKE_DOCKER_LOG"
  mutate_database
  run --separate-stderr "$SCRIPTS/restore-docker.sh" --yes --drop-old "$dump"
  [ "$status" -eq 0 ]
  [ "$(table_checksums)" = "$before" ]
  grep -q "^compose exec -T -e PGUSER=postgres postgres pg_restore --exit-on-error --dbname=dbname=${TEST_DB}_restore_" "$FAKE_DOCKER_LOG"
  grep -q "^compose run --rm -T -e DATABASE_URL=postgres://postgres:@postgres:5432/${TEST_DB}_restore_[0-9TZ]* api migrate$" "$FAKE_DOCKER_LOG"
}

@test "with PG* variables instead of DATABASE_URL: backup, verify and restore work the same" {
  seed_database 20
  before=$(table_checksums)
  url=$DATABASE_URL
  rest=${url#*://}
  export PGUSER=${rest%%@*} PGDATABASE=$TEST_DB
  rest=${rest#*@}
  rest=${rest%%/*}
  export PGHOST=${rest%%:*} PGPORT=${rest##*:}
  PGUSER=${PGUSER%%:*}
  run --separate-stderr env -u DATABASE_URL "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 0 ]
  dump=${lines[-1]}
  [[ $dump == *"keel-$TEST_DB-"* ]]
  run env -u DATABASE_URL "$SCRIPTS/verify-backup.sh"
  [ "$status" -eq 0 ]
  mutate_database
  run env -u DATABASE_URL "$SCRIPTS/restore-database.sh" --yes --drop-old "$dump"
  [ "$status" -eq 0 ]
  [ "$(table_checksums "$url")" = "$before" ]
}
