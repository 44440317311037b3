#!/usr/bin/env bats
# backup-media.sh on a local media root, and its S3 versioning check against moto_server;
# backup-database.sh's off-site copy (aws s3 cp) into the same stand-in.

# Each @test runs in its own subshell: exports in one test are meant to stay there.
# shellcheck disable=SC2030,SC2031
bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  command -v moto_server >/dev/null || { echo "moto_server is not installed (scripts/test-scripts.sh installs it)" >&2; return 1; }
  MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$BATS_FILE_TMPDIR/moto.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/moto.pid"
  for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" || { echo "moto_server did not start: $(cat "$BATS_FILE_TMPDIR/moto.log")" >&2; return 1; }
  export MOTO_PORT
}

teardown_file() { kill "$(cat "$BATS_FILE_TMPDIR/moto.pid")" 2>/dev/null || true; }

setup() {
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
  export KEEL_MEDIA_S3_ENDPOINT=http://127.0.0.1:$MOTO_PORT KEEL_MEDIA_S3_REGION=us-east-1
  export BACKUP_DIR=$BATS_TEST_TMPDIR/backups BACKUP_LOG_FILE=$BATS_TEST_TMPDIR/backup.log
  BUCKET=keel-media-$BATS_SUITE_TEST_NUMBER-$$
  aws --endpoint-url "$KEEL_MEDIA_S3_ENDPOINT" s3api create-bucket --bucket "$BUCKET" >/dev/null
}

@test "local media: a tar.zst of the media root with a checksum; it extracts to the same files" {
  export KEEL_MEDIA_ROOT=$BATS_TEST_TMPDIR/media
  mkdir -p "$KEEL_MEDIA_ROOT/avatars/ab"
  head -c 300000 /dev/urandom >"$KEEL_MEDIA_ROOT/avatars/ab/user.webp"
  printf 'hello' >"$KEEL_MEDIA_ROOT/avatars/name with space.png"
  run --separate-stderr "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 0 ]
  archive=${lines[-1]}
  [[ $archive == "$BACKUP_DIR"/media/keel-media-*Z.tar.zst ]]
  (cd "$BACKUP_DIR/media" && sha256sum --check --quiet "$(basename "$archive").sha256")
  mkdir "$BATS_TEST_TMPDIR/out"
  zstd -dc "$archive" | tar -x -C "$BATS_TEST_TMPDIR/out"
  diff -r "$KEEL_MEDIA_ROOT" "$BATS_TEST_TMPDIR/out"
  [ -z "$(find "$BACKUP_DIR/media" -name '*.partial')" ]
}

@test "local media: retention keeps 30 days by default and never the newest" {
  export KEEL_MEDIA_ROOT=$BATS_TEST_TMPDIR/media
  mkdir -p "$KEEL_MEDIA_ROOT" "$BACKUP_DIR/media"
  touch -d "31 days ago" "$BACKUP_DIR/media/keel-media-old.tar.zst" "$BACKUP_DIR/media/keel-media-old.tar.zst.sha256"
  touch -d "29 days ago" "$BACKUP_DIR/media/keel-media-recent.tar.zst"
  run --separate-stderr "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 0 ]
  [ ! -e "$BACKUP_DIR/media/keel-media-old.tar.zst" ] && [ ! -e "$BACKUP_DIR/media/keel-media-old.tar.zst.sha256" ]
  [ -f "$BACKUP_DIR/media/keel-media-recent.tar.zst" ] && [ -f "${lines[-1]}" ]
}

@test "local media: a missing media root is an error" {
  run env KEEL_MEDIA_ROOT="$BATS_TEST_TMPDIR/nope" "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"is not a directory"* ]]
}

@test "S3 media: versioning off fails with the command that enables it; on passes and copies nothing" {
  export KEEL_MEDIA_S3_BUCKET=$BUCKET
  run "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"versioning never enabled"*"put-bucket-versioning"* ]]
  aws --endpoint-url "$KEEL_MEDIA_S3_ENDPOINT" s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Suspended
  run "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"versioning Suspended"* ]]
  aws --endpoint-url "$KEEL_MEDIA_S3_ENDPOINT" s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Enabled
  run --separate-stderr "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "s3://$BUCKET" ]
  [[ $output == *"versioning is Enabled"* ]]
  [ ! -d "$BACKUP_DIR/media" ]
}

@test "S3 media: without the aws CLI the check runs through python3 boto3" {
  python3 -c 'import boto3' || { echo "boto3 missing for $(command -v python3)" >&2; return 1; }
  mkdir "$BATS_TEST_TMPDIR/bin"
  for tool in python3 date cut realpath dirname basename mkdir chmod; do ln -s "$(command -v "$tool")" "$BATS_TEST_TMPDIR/bin/$tool"; done
  export KEEL_MEDIA_S3_BUCKET=$BUCKET
  run env PATH="$BATS_TEST_TMPDIR/bin" /bin/bash "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"versioning never enabled"* ]]
  aws --endpoint-url "$KEEL_MEDIA_S3_ENDPOINT" s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Enabled
  run env PATH="$BATS_TEST_TMPDIR/bin" /bin/bash "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"versioning is Enabled"* ]]
}

@test "S3 media: the processes' KEEL_MEDIA_S3_* key is used when the AWS variables are unset" {
  aws --endpoint-url "$KEEL_MEDIA_S3_ENDPOINT" s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Enabled
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true
  export KEEL_MEDIA_S3_BUCKET=$BUCKET
  run "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"could not read the versioning of bucket $BUCKET"* ]]
  export KEEL_MEDIA_S3_ACCESS_KEY_ID=testing KEEL_MEDIA_S3_SECRET_ACCESS_KEY=testing
  run --separate-stderr "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "s3://$BUCKET" ]
}

@test "S3 media: an unreachable endpoint is a failure, not a pass" {
  # One attempt: the CLI's retries with backoff only make the test slower.
  export KEEL_MEDIA_S3_BUCKET=$BUCKET KEEL_MEDIA_S3_ENDPOINT=http://127.0.0.1:9 AWS_MAX_ATTEMPTS=1
  run "$SCRIPTS/backup-media.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"could not read the versioning of bucket $BUCKET"* ]]
}

@test "database backup: the off-site hook copies the dump and its sidecars with aws s3 cp" {
  # keel-api migrates the test database: without a bucket, an S3 endpoint alone is a
  # configuration error (KEEL_MEDIA_S3_ENDPOINT is set above for backup-media.sh only).
  KEEL_MEDIA_S3_ENDPOINT='' setup_database
  export AWS_ENDPOINT_URL=$KEEL_MEDIA_S3_ENDPOINT
  run --separate-stderr env BACKUP_S3_URI="s3://$BUCKET/db/" "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 0 ]
  dump=$(basename "${lines[-1]}")
  listing=$(aws s3 ls "s3://$BUCKET/db/")
  for f in "$dump" "$dump.sha256" "$dump.manifest"; do [[ $listing == *" $f"* ]]; done
  aws s3 cp --only-show-errors "s3://$BUCKET/db/$dump" "$BATS_TEST_TMPDIR/copy"
  cmp "$BATS_TEST_TMPDIR/copy" "${lines[-1]}"
  # A failing copy fails the run, and says the local backup is complete.
  run env BACKUP_S3_URI="s3://no-such-bucket-$$/db/" "$SCRIPTS/backup-database.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"off-site copy to s3://no-such-bucket-$$/db/ failed (the local backup "*" is complete)"* ]]
  teardown_database
}
