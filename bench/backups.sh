#!/usr/bin/env bash
# Backup and restore figures for a database of N users (default 100,000): generates the data
# in a throwaway database, then times backup-database.sh, verify-backup.sh and
# restore-database.sh and prints sizes. Drops everything it created.
#   ./bench/backups.sh [USERS]
# Data per user: an argon2-length password hash, 2 sessions with a refresh token each, 10
# recovery codes for one user in five, an OAuth identity for one in four, an email-token for
# one in ten; plus one outbox row per 20 users. Random hex where real data is random, so
# compression sees what it would in production.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$KEEL_ROOT"

users=${1:-100000}
[[ $users =~ ^[0-9]+$ ]] || die "USERS must be a number"
ensure_postgres ""
cargo build -p keel-api --bins --quiet
api=$CARGO_TARGET_DIR/debug/keel-api
db=keel_bench_backups_$$
work=$(mktemp -d)
admin=$DATABASE_URL
cleanup_bench() {
  local d
  for d in $(DATABASE_URL=$admin psql_admin "SELECT datname FROM pg_database WHERE datname LIKE '${db}%'"); do
    DATABASE_URL=$admin psql_admin "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)"
  done
  rm -rf "$work"
}
KEEL_CLEANUP+=(cleanup_bench)

psql_admin "CREATE DATABASE $db"
export DATABASE_URL
DATABASE_URL=$(url_with_database "$admin" "$db")
"$api" migrate >/dev/null 2>&1

say "generating $users users"
started=$SECONDS
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, email, email_verified_at, name, password_hash, created_at)
  SELECT gen_random_uuid(), 'user' || g || '@example.com', now() - (g % 300) * interval '1 day',
         'User ' || g,
         '\$argon2id\$v=19\$m=19456,t=2,p=1\$' || left(md5(g::text || 's'), 22) || '\$' || md5(g::text) || left(md5(g::text || 'h'), 11),
         now() - (g % 400) * interval '1 day'
  FROM generate_series(1, $users) g;
INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at)
  SELECT gen_random_uuid(), id, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/1' || s, '203.0.113.' || (s * 17 % 250),
         now() - interval '1 day', now(), now() + interval '30 days'
  FROM users, generate_series(1, 2) s;
INSERT INTO refresh_tokens (token_hash, session_id, created_at)
  SELECT decode(md5(id::text) || md5(id::text || 'r'), 'hex'), id, now() FROM sessions;
INSERT INTO recovery_codes (user_id, code_hash)
  SELECT id, decode(md5(id::text || c), 'hex') FROM users, generate_series(1, 10) c
  WHERE get_byte(uuid_send(id), 0) < 52;
INSERT INTO oauth_identities (provider, provider_user_id, user_id)
  SELECT 'github', md5(id::text), id FROM users WHERE get_byte(uuid_send(id), 1) < 64;
INSERT INTO user_tokens (token_hash, user_id, purpose, email, expires_at)
  SELECT decode(md5(id::text || 't') || md5(id::text), 'hex'), id, 'verify_email', email, now() + interval '1 day'
  FROM users WHERE get_byte(uuid_send(id), 2) < 26;
INSERT INTO job_outbox (envelope)
  SELECT jsonb_build_object('name', 'send_email', 'id', gen_random_uuid(), 'attempt', 0) FROM generate_series(1, $users / 20);
VACUUM ANALYZE;
SQL
gen_secs=$((SECONDS - started))
db_size=$(psql "$DATABASE_URL" -Atc "SELECT pg_database_size(current_database())")
rows=$(psql "$DATABASE_URL" -Atc "SELECT sum(n_live_tup) FROM pg_stat_user_tables")

export BACKUP_DIR=$work/backups BACKUP_LOG_FILE=$work/backup.log KEEL_API_BIN=$api
timed() {
  local t=$EPOCHREALTIME
  "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; return 1; }
  awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
say "backup-database.sh"
backup_secs=$(timed scripts/backup-database.sh)
dump=$(tail -n 1 "$work/out")
dump_size=$(stat -c %s "$dump")
say "verify-backup.sh"
verify_secs=$(timed scripts/verify-backup.sh "$dump")
say "restore-database.sh --yes --drop-old (includes its safety backup)"
restore_secs=$(timed scripts/restore-database.sh --yes --drop-old "$dump")
restore_only=$(grep -o 'restored in [0-9]* s' "$work/out" | head -n 1)
manifest_secs=$(grep -o 'manifest of [0-9]* tables in [0-9]* s' "$work/backup.log" | head -n 1)

mib() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1048576 }'; }
echo
printf '%-38s %s\n' "users" "$users" "rows (all tables)" "$rows" "generation" "${gen_secs} s" \
  "database size (pg_database_size)" "$(mib "$db_size") MiB" "dump size (pg_dump -Fc)" "$(mib "$dump_size") MiB" \
  "backup-database.sh" "${backup_secs} s" "  of which the manifest" "${manifest_secs##* in }" "verify-backup.sh (restore + compare)" "${verify_secs} s" \
  "restore-database.sh (total)" "${restore_secs} s" "  of which pg_restore" "${restore_only#restored in }"
