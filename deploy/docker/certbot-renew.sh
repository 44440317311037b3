#!/bin/sh
# Entry point of the compose stack's certbot service: tries to renew twice a day (certbot only
# renews within 30 days of expiry), over the shared webroot. nginx reloads on its own when the
# certificate file changes. A heartbeat file feeds the service's health check.
set -u
trap 'exit 0' TERM INT
while :; do
  certbot renew --webroot -w /var/www/certbot --quiet --no-random-sleep-on-renew ||
    echo "certbot-renew: renewal failed; retrying in 12 h" >&2
  touch /tmp/keel-certbot-heartbeat
  sleep 12h &
  wait $!
done
