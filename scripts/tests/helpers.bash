# Shared by the bats suites: a uniquely named database per test on the real local PostgreSQL,
# a BACKUP_DIR per test, and an independent way to checksum a database's tables.
# shellcheck shell=bash

# shellcheck disable=SC2034  # used by the suites that load this file
SCRIPTS=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${KEEL_API_BIN:=${CARGO_TARGET_DIR:-$HOME/.cache/keel/target}/debug/keel-api}"
export KEEL_API_BIN

# admin_url: the maintenance database of the server in DATABASE_URL (default: local, trust).
admin_url() {
  local url=${KEEL_TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
  url=${url%%\?*}
  echo "${url%/*}/postgres"
}
db_url() { echo "${ADMIN_URL%/*}/$1"; }
psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# setup_template_database: a migrated template for this suite (from setup_file), so each test's
# database is a cheap copy instead of a fresh migration.
setup_template_database() {
  ADMIN_URL=$(admin_url)
  [[ -n ${KEEL_TEST_DATABASE_URL:-} ]] || export KEEL_TEST_DATABASE_URL=${DATABASE_URL:-$ADMIN_URL}
  [[ -x $KEEL_API_BIN ]] || { echo "build keel-api first: cargo build -p keel-api --bins ($KEEL_API_BIN)" >&2; return 1; }
  export KEEL_TEST_TEMPLATE_DB=keel_bt_${BATS_ROOT_PID}_template
  psql_admin "DROP DATABASE IF EXISTS $KEEL_TEST_TEMPLATE_DB WITH (FORCE)"
  psql_admin "CREATE DATABASE $KEEL_TEST_TEMPLATE_DB"
  DATABASE_URL=$(db_url "$KEEL_TEST_TEMPLATE_DB") "$KEEL_API_BIN" migrate >/dev/null 2>&1
}

teardown_template_database() {
  ADMIN_URL=$(admin_url)
  psql_admin "DROP DATABASE IF EXISTS ${KEEL_TEST_TEMPLATE_DB:?} WITH (FORCE)"
}

setup_database() {
  ADMIN_URL=$(admin_url)
  [[ -n ${KEEL_TEST_DATABASE_URL:-} ]] || export KEEL_TEST_DATABASE_URL=${DATABASE_URL:-$ADMIN_URL}
  [[ -x $KEEL_API_BIN ]] || { echo "build keel-api first: cargo build -p keel-api --bins ($KEEL_API_BIN)" >&2; return 1; }
  TEST_DB=keel_bt_${BATS_ROOT_PID}_${BATS_SUITE_TEST_NUMBER}
  psql_admin "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)"
  export DATABASE_URL BACKUP_DIR=$BATS_TEST_TMPDIR/backups BACKUP_LOG_FILE=$BATS_TEST_TMPDIR/backup.log
  DATABASE_URL=$(db_url "$TEST_DB")
  if [[ -n ${KEEL_TEST_TEMPLATE_DB:-} ]]; then
    psql_admin "CREATE DATABASE $TEST_DB TEMPLATE $KEEL_TEST_TEMPLATE_DB"
  else
    psql_admin "CREATE DATABASE $TEST_DB"
    "$KEEL_API_BIN" migrate >/dev/null 2>&1
  fi
}

teardown_database() {
  local db
  [[ -n ${TEST_DB:-} ]] || return 0
  for db in $(psql_admin "SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB}%'"); do
    psql_admin "ALTER DATABASE \"$db\" WITH ALLOW_CONNECTIONS true" || true
    psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
  done
}

# seed_database [USERS]: users, sessions, outbox rows and a 1 MiB bytea.
seed_database() {
  local users=${1:-200}
  psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, email, name, password_hash, email_verified_at)
  SELECT gen_random_uuid(), 'user' || g || '@example.test', 'User ' || g, '\$argon2id\$v=19\$fake' || g, now()
  FROM generate_series(1, $users) g;
INSERT INTO sessions (id, user_id, user_agent, ip, expires_at)
  SELECT gen_random_uuid(), id, 'bats', '127.0.0.1', now() + interval '30 days' FROM users;
INSERT INTO job_outbox (envelope)
  SELECT jsonb_build_object('name', 'send_email', 'n', g) FROM generate_series(1, 50) g;
CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
INSERT INTO blobs SELECT 1, string_agg(decode(md5(g::text), 'hex'), '' ORDER BY g)
  FROM generate_series(1, 65536) g;
SQL
}

# mutate_database: changes in every seeded table.
mutate_database() {
  psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 <<'SQL'
UPDATE users SET name = name || ' (changed)' WHERE email LIKE 'user1%';
DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email LIKE 'user2%');
INSERT INTO job_outbox (envelope) VALUES ('{"name": "after_backup"}');
UPDATE blobs SET data = overlay(data PLACING '\xff'::bytea FROM 500000);
SQL
}

# table_checksums [URL]: `table rows md5` per table, computed independently of the scripts.
table_checksums() {
  local url=${1:-$DATABASE_URL} table
  for table in $(psql "$url" -X -A -t -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"); do
    psql "$url" -X -A -t -F ' ' -c "SELECT '$table', count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) FROM $table t"
  done
}

