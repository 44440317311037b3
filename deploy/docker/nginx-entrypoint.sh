#!/bin/sh
# Entry point of the compose stack's nginx service: runs nginx in the foreground and reloads it
# when certbot has renewed the certificate (checked every 5 minutes), so a renewal needs no
# docker socket and no restart.
set -eu
cert=/etc/letsencrypt/live/keel/fullchain.pem
watch() {
  last=$(stat -L -c %Y "$cert" 2>/dev/null || echo 0)
  while sleep 300; do
    now=$(stat -L -c %Y "$cert" 2>/dev/null || echo 0)
    if [ "$now" != "$last" ]; then
      echo "nginx-entrypoint: certificate changed, reloading nginx" >&2
      nginx -s reload || true
      last=$now
    fi
  done
}
watch &
exec nginx -g 'daemon off;'
