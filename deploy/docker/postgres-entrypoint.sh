#!/bin/sh
# Entry point of the compose stack's postgres service: makes a self-signed server certificate
# once (kept in the postgres-tls volume), then runs the image's own entry point ("$@").
# scripts/test-deploy.sh runs it outside a container (KEEL_PG_TLS_DIR, KEEL_PG_TLS_OWNER).
set -eu
dir=${KEEL_PG_TLS_DIR:-/var/lib/postgresql/tls}
owner=${KEEL_PG_TLS_OWNER:-postgres}
if [ ! -s "$dir/server.key" ] || [ ! -s "$dir/server.crt" ]; then
  mkdir -p "$dir"
  umask 077
  openssl req -new -x509 -days 3650 -nodes -newkey rsa:2048 -subj "/CN=postgres" \
    -addext "subjectAltName=DNS:postgres,DNS:localhost" \
    -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
  chown "$owner" "$dir/server.key" "$dir/server.crt"
  chmod 600 "$dir/server.key"
  chmod 644 "$dir/server.crt"
  echo "postgres-entrypoint: created a self-signed TLS certificate in $dir" >&2
fi
exec "$@"
