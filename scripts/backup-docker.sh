#!/usr/bin/env bash
# backup-database.sh for the compose stack: pg_dump and psql run inside the postgres container
# (`docker compose exec -T`), the dump streams out to BACKUP_DIR on the host.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: backup-docker.sh [--help]

Same dump, checksum, manifest, retention, encryption, off-site copy and lock as
backup-database.sh (see its --help for BACKUP_* variables), but PostgreSQL is the compose
stack's container: every PostgreSQL client runs as `$KEEL_COMPOSE exec -T <service> ...`,
so the host needs no postgresql-client. Prints the dump's path as its last line.

Environment:
  KEEL_COMPOSE              compose command (default "docker compose"; e.g.
                            "docker compose -f /opt/keel/compose.yaml --env-file /etc/keel/keel.env")
  KEEL_COMPOSE_DB_SERVICE   the PostgreSQL service (default postgres)
  POSTGRES_USER, POSTGRES_DB  role and database inside the container (default keel / keel)
USAGE
}
case ${1:-} in -h | --help) usage; exit 0 ;; esac

compose=${KEEL_COMPOSE:-docker compose}
service=${KEEL_COMPOSE_DB_SERVICE:-postgres}
user=${POSTGRES_USER:-keel}
export KEEL_PG_EXEC="$compose exec -T -e PGUSER=$user $service"
export PGDATABASE=${POSTGRES_DB:-keel}
unset DATABASE_URL
exec "$(dirname "$0")/backup-database.sh" "$@"
