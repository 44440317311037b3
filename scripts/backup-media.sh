#!/usr/bin/env bash
# Back up user media. Local storage: a tar + zstd (gzip without zstd) archive of the media
# root with a checksum, written atomically, with retention. S3 storage: the bucket's own
# versioning (and replication) is the backup; this checks that versioning is on.
set -euo pipefail
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

usage() {
  cat <<'USAGE'
Usage: backup-media.sh [--help]

Local storage (KEEL_MEDIA_S3_BUCKET unset): archives KEEL_MEDIA_ROOT (default ./.keel/media)
into BACKUP_DIR/media/<prefix>-media-<UTC timestamp>.tar.zst (.tar.gz when zstd is missing)
with a .sha256 beside it; deletes archives older than BACKUP_RETENTION_DAYS (default 30; the
newest always stays). Prints the archive's path as its last line.

S3 storage (KEEL_MEDIA_S3_BUCKET set): nothing is copied. Enable bucket versioning (and
replication to a second region/account for off-site): that is the backup, with lifecycle rules
for retention. The script checks versioning with `aws s3api get-bucket-versioning` (python3
boto3 when the aws CLI is missing), exits 0 only when it is Enabled, and prints s3://<bucket>.

Environment:
  KEEL_MEDIA_ROOT           local media directory (default ./.keel/media)
  KEEL_MEDIA_S3_BUCKET      bucket name (switches to the S3 check)
  KEEL_MEDIA_S3_ENDPOINT    endpoint URL for S3-compatible stores (MinIO, R2, ...)
  KEEL_MEDIA_S3_REGION      region (default us-east-1)
  KEEL_MEDIA_S3_ACCESS_KEY_ID, KEEL_MEDIA_S3_SECRET_ACCESS_KEY
                            the processes' static key, used when set; else AWS_ACCESS_KEY_ID,
                            AWS_SECRET_ACCESS_KEY (or any source the AWS SDKs read)
  BACKUP_DIR, BACKUP_PREFIX, BACKUP_LOG_FILE, BACKUP_LOCK_WAIT_SECS, BACKUP_METRICS_DIR as
  backup-database.sh; BACKUP_RETENTION_DAYS (default 30), BACKUP_RETENTION_COUNT (default 0)
USAGE
}

case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 64 ;;
esac

# bucket_versioning BUCKET: prints the versioning status (Enabled, Suspended, or empty).
bucket_versioning() {
  local bucket=$1 region=${KEEL_MEDIA_S3_REGION:-us-east-1}
  if command -v aws >/dev/null 2>&1; then
    local args=(s3api get-bucket-versioning --bucket "$bucket" --region "$region" --output text --query Status)
    [[ -n ${KEEL_MEDIA_S3_ENDPOINT:-} ]] && args+=(--endpoint-url "$KEEL_MEDIA_S3_ENDPOINT")
    local status
    status=$(aws "${args[@]}") || return 1
    [[ $status == None ]] && status=""
    printf '%s\n' "$status"
  elif python3 -c 'import boto3' 2>/dev/null; then
    BUCKET=$bucket REGION=$region python3 - <<'PY'
import os, boto3
s3 = boto3.client("s3", region_name=os.environ["REGION"],
                  endpoint_url=os.environ.get("KEEL_MEDIA_S3_ENDPOINT") or None)
print(s3.get_bucket_versioning(Bucket=os.environ["BUCKET"]).get("Status", ""))
PY
  else
    fail "neither the aws CLI nor python3 boto3 is installed (pip install awscli, or apt-get install awscli)"
  fi
}

if [[ -n ${KEEL_MEDIA_S3_BUCKET:-} ]]; then
  METRIC_LABELS='storage="s3"'
  # The same key the api and the worker use (.env.example), when one is configured.
  if [[ -n ${KEEL_MEDIA_S3_ACCESS_KEY_ID:-} ]]; then
    export AWS_ACCESS_KEY_ID=$KEEL_MEDIA_S3_ACCESS_KEY_ID
    export AWS_SECRET_ACCESS_KEY=${KEEL_MEDIA_S3_SECRET_ACCESS_KEY:-}
  fi
  bucket=$KEEL_MEDIA_S3_BUCKET
  status=$(bucket_versioning "$bucket") || fail "could not read the versioning of bucket $bucket"
  if [[ $status != Enabled ]]; then
    fail "bucket $bucket has versioning ${status:-never enabled}: deleted or overwritten media cannot be recovered. Enable it: aws s3api put-bucket-versioning --bucket $bucket --versioning-configuration Status=Enabled"
  fi
  log "media live in S3 bucket $bucket: versioning is Enabled, so the bucket's object versions (and its replication, if configured) are the backup; nothing to copy"
  write_metric keel_media_backup_last_success_timestamp_seconds "$(date +%s)" "Unix time of the last successful media backup check."
  printf 's3://%s\n' "$bucket"
  exit 0
fi

METRIC_LABELS='storage="local"'
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-30}
BACKUP_RETENTION_COUNT=${BACKUP_RETENTION_COUNT:-0}
media_root=${KEEL_MEDIA_ROOT:-./.keel/media}
[[ -d $media_root ]] || fail "KEEL_MEDIA_ROOT $media_root is not a directory"
media_root=$(realpath -e "$media_root")
need tar sha256sum flock
ensure_backup_dir
take_lock media
dir=$BACKUP_DIR/media
mkdir -p "$dir"

if command -v zstd >/dev/null 2>&1; then ext=tar.zst compress=(zstd -q -T0 -3); else ext=tar.gz compress=(gzip -6); fi
name=$BACKUP_PREFIX-media-$(date -u +%Y%m%dT%H%M%SZ).$ext
n=1
while [[ -e $dir/$name ]]; do name=$BACKUP_PREFIX-media-$(date -u +%Y%m%dT%H%M%SZ)-$n.$ext; n=$((n + 1)); done
final=$dir/$name
partial=$dir/.$name.partial
trap 'rm -f -- "$partial" "$partial.sha256"' EXIT

log "archiving media root $media_root to $final"
started=$SECONDS
# Relative paths inside the archive: it restores under any root (tar -x -C NEW_ROOT).
tar --create --file - --directory "$media_root" --numeric-owner . | "${compress[@]}" >"$partial" ||
  fail "archiving $media_root failed"
printf '%s  %s\n' "$(sha256sum <"$partial" | cut -d' ' -f1)" "$name" >"$partial.sha256"
sync -f "$partial" 2>/dev/null || sync
mv -f -- "$partial.sha256" "$final.sha256"
mv -f -- "$partial" "$final"
size=$(stat -c %s "$final")
log "wrote $final ($size bytes, $(find "$media_root" -type f | wc -l) files, $((SECONDS - started)) s)"
apply_retention "$dir" "$BACKUP_RETENTION_DAYS" "$BACKUP_RETENTION_COUNT" "$BACKUP_PREFIX-media-*.tar.zst" "$BACKUP_PREFIX-media-*.tar.gz"
write_metric keel_media_backup_last_success_timestamp_seconds "$(date +%s)" "Unix time of the last successful media backup."
printf '%s\n' "$final"
