#!/usr/bin/env bash
# restore-database.sh for the compose stack: psql and pg_restore run inside the postgres
# container, migrations in a one-off api container.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: restore-docker.sh [--yes] [--drop-old] FILE

restore-database.sh (see its --help: checksum, confirmation, safety backup, restore into a new
database, migrations, one-transaction rename swap, --drop-old) against the compose stack:
PostgreSQL clients run as `$KEEL_COMPOSE exec -T <db service> ...` and the migrations as
`$KEEL_COMPOSE run --rm -T -e DATABASE_URL=<url of the new database> <api service> migrate`.
Stop the writers first: `docker compose stop api worker scheduler` (start them after).
Prints the path of the safety backup as its last line.

Environment:
  KEEL_COMPOSE                 compose command (default "docker compose")
  KEEL_COMPOSE_DB_SERVICE      the PostgreSQL service (default postgres)
  KEEL_COMPOSE_API_SERVICE     the service whose image runs `keel-api migrate` (default api)
  POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB  as in the compose env file (default keel/-/keel)
  BACKUP_DIR, BACKUP_AGE_IDENTITY, ... as restore-database.sh
USAGE
}
case ${1:-} in -h | --help) usage; exit 0 ;; esac

compose=${KEEL_COMPOSE:-docker compose}
service=${KEEL_COMPOSE_DB_SERVICE:-postgres}
user=${POSTGRES_USER:-keel}
export KEEL_PG_EXEC="$compose exec -T -e PGUSER=$user $service"
export PGDATABASE=${POSTGRES_DB:-keel}
# {db} is replaced by the new database's name; the host name is the service's on the network.
export KEEL_MIGRATE_CMD="$compose run --rm -T -e DATABASE_URL=postgres://$user:${POSTGRES_PASSWORD:-}@$service:5432/{db} ${KEEL_COMPOSE_API_SERVICE:-api} migrate"
unset DATABASE_URL
exec "$(dirname "$0")/restore-database.sh" "$@"
