#!/usr/bin/env bash
# First Let's Encrypt certificate for the compose stack (DOCKER_DEPLOYMENT.md). nginx cannot
# start without a certificate and certbot cannot get one without nginx answering the http-01
# challenge, so: a temporary self-signed certificate, nginx up, the real certificate over the
# webroot, nginx reloaded. Afterwards the certbot service renews it.
#   scripts/init-letsencrypt.sh [--staging] [--force]
# Reads KEEL_DOMAIN (comma-separated names) and LETSENCRYPT_EMAIL from .env.docker
# (KEEL_ENV_FILE); --staging uses Let's Encrypt's staging CA (untrusted, no rate limits) to
# rehearse; --force replaces an existing certificate.
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=${KEEL_ENV_FILE:-.env.docker}
compose_file=${KEEL_COMPOSE_FILE:-docker-compose.production.yml}
staging=0 force=0
for arg in "$@"; do
  case $arg in
    --staging) staging=1 ;;
    --force) force=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $arg (--staging, --force)" >&2; exit 2 ;;
  esac
done

die() { echo "error: $*" >&2; exit 1; }
[[ -f $env_file ]] || die "$env_file not found: cp .env.docker.example $env_file, then fill it in"
# env_value NAME: the value of NAME in the env file (not sourced: it is data, not a script).
env_value() {
  sed -n "s/^$1=//p" "$env_file" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
domains=$(env_value KEEL_DOMAIN)
email=$(env_value LETSENCRYPT_EMAIL)
[[ -n $domains ]] || die "KEEL_DOMAIN is empty in $env_file (the name(s) this server answers to)"
[[ -n $email ]] || die "LETSENCRYPT_EMAIL is empty in $env_file (expiry notices go there)"
[[ $(env_value KEEL_LETSENCRYPT_STAGING) == true ]] && staging=1

dc() { docker compose --env-file "$env_file" -f "$compose_file" "$@"; }
live=/etc/letsencrypt/live/keel

if ((!force)) && dc run --rm --no-deps --entrypoint test certbot -e "$live/fullchain.pem"; then
  echo "A certificate already exists (use --force to replace it)."
  exit 0
fi

echo "==> temporary self-signed certificate, so nginx can start"
dc run --rm --no-deps --entrypoint mkdir certbot -p "$live"
dc run --rm --no-deps --entrypoint openssl certbot req -x509 -nodes -newkey rsa:2048 -days 1 \
  -keyout "$live/privkey.pem" -out "$live/fullchain.pem" -subj "/CN=localhost"
dc run --rm --no-deps --entrypoint cp certbot "$live/fullchain.pem" "$live/chain.pem"

echo "==> starting nginx (and what it depends on)"
dc up -d nginx

echo "==> removing the temporary certificate"
dc run --rm --no-deps --entrypoint rm certbot -rf "$live" /etc/letsencrypt/archive/keel \
  /etc/letsencrypt/renewal/keel.conf

echo "==> requesting the certificate for $domains"
args=(certonly --webroot -w /var/www/certbot --cert-name keel --email "$email" --agree-tos
  --no-eff-email --non-interactive --key-type ecdsa)
IFS=, read -r -a names <<<"$domains"
for name in "${names[@]}"; do args+=(-d "${name// /}"); done
((staging)) && args+=(--staging)
dc run --rm --no-deps --entrypoint certbot certbot "${args[@]}"

echo "==> reloading nginx with the new certificate"
dc exec nginx nginx -s reload
echo "Done. The certbot service renews it; nginx reloads when it changes."
