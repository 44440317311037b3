#!/usr/bin/env bash
# The API documentation checks (issue 9), called by scripts/test.sh:
#   1. Spectral (spectral:oas) and Redocly CLI (recommended) lint openapi.json clean;
#   2. the TypeScript client's types, regenerated from openapi.json, equal the committed ones,
#      and `tsc` compiles the client and its smoke script;
#   3. against a live keel-api (with keel-worker and an SMTP sink): the typed client registers,
#      verifies with the emailed token, logs in and reads users/me; headless Chromium (Debian's)
#      opens /api/docs/ and /api/redoc/ and finds zero console errors, CSP violations and
#      foreign requests, and "Try it out" on users/me answers 200.
# Pinned npm tools are installed once into $HOME/.cache/keel/ (reinstalled when a lock file
# changes). Screenshots and page weights go to $KEEL_ARTIFACTS (default .keel/artifacts/docs).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT"
ensure_postgres ""
ensure_redis

artifacts=${KEEL_ARTIFACTS:-$KEEL_STATE_DIR/artifacts/docs}
cache=$HOME/.cache/keel

# npm_ci DIR SOURCE: `npm ci` of SOURCE's package.json + lock into DIR, skipped when unchanged.
npm_ci() {
  local dir=$1 source=$2 stamp
  stamp=$(cat "$source/package.json" "$source/package-lock.json" | sha256sum | cut -c1-16)
  if [[ -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" && -d $dir/node_modules ]]; then return; fi
  say "installing pinned npm packages from $source into $dir"
  mkdir -p "$dir"
  cp "$source/package.json" "$source/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --silent >&2)
  echo "$stamp" >"$dir/.stamp"
}

command -v npm >/dev/null || apt_install npm
# CHROMIUM names another Chromium-based browser (GitHub's runners have Google Chrome; Ubuntu's
# `chromium` package is only a snap stub); otherwise Debian's chromium is used.
if [[ -z ${CHROMIUM:-} ]]; then command -v chromium >/dev/null || apt_install chromium; fi
tools=$cache/docs-tools
npm_ci "$tools" scripts/docs
client_modules=$cache/ts-client
npm_ci "$client_modules" clients/typescript
bin=$tools/node_modules/.bin

say "lint: Spectral (spectral:oas)"
"$bin/spectral" lint openapi.json --ruleset scripts/docs/spectral.yaml --fail-severity=hint
say "lint: Redocly CLI (recommended)"
# Any warning fails too; kept findings are listed with reasons in scripts/docs/.redocly.lint-ignore.yaml.
"$bin/redocly" lint openapi.json --config scripts/docs/redocly.yaml --max-problems 50 2>&1 |
  grep -v '[║╔╚]' | tee "$cache/redocly.out" >&2
grep -q 'Your API description is valid' "$cache/redocly.out"
if grep -q 'warning' "$cache/redocly.out"; then die "Redocly reported warnings"; fi

say "TypeScript client: generated types match openapi.json, and it compiles"
work=$(mktemp -d)
KEEL_CLEANUP+=("rm -rf '$work'")
cp -r clients/typescript/. "$work/"
rm -rf "$work/node_modules" "$work/dist"
ln -s "$client_modules/node_modules" "$work/node_modules"
(cd "$work" && ./node_modules/.bin/openapi-typescript "$KEEL_ROOT/openapi.json" -o "$work/fresh.d.ts" >&2)
if ! diff -u clients/typescript/src/schema.d.ts "$work/fresh.d.ts" >&2; then
  die "clients/typescript/src/schema.d.ts is out of date: run \`npm run generate\` in clients/typescript and commit it"
fi
(cd "$work" && ./node_modules/.bin/tsc --noEmit && ./node_modules/.bin/tsc)

say "a live api, worker and SMTP sink"
cargo build --workspace --all-features --bins --quiet
db=keel_docs_$$
psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
psql_admin "CREATE DATABASE $db"
KEEL_CLEANUP+=("psql_admin 'DROP DATABASE IF EXISTS $db WITH (FORCE)'")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port) smtp_port=$(free_port) worker_port=$(free_port)
mail=$work/mail
export DATABASE_URL
DATABASE_URL=$(url_with_database "$DATABASE_URL" "$db")
export KEEL_API_ADDR=127.0.0.1:$port KEEL_PUBLIC_URL=http://127.0.0.1:$port
export KEEL_REDIS_PREFIX=keeldocs:$$ RUST_LOG=warn KEEL_RATE_LIMIT_PER_IP=1000000
export KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000 KEEL_GLOBAL_RATE_LIMIT_PER_USER=1000000 KEEL_API_METRICS_ADDR=off
export SMTP_URL=smtp://127.0.0.1:$smtp_port KEEL_WORKER_HEALTH_ADDR=127.0.0.1:$worker_port
"$CARGO_TARGET_DIR/debug/keel-api" migrate
python3 -u scripts/dev-smtp-sink.py 127.0.0.1 "$smtp_port" "$mail" >&2 &
KEEL_CLEANUP+=("kill $!")
"$CARGO_TARGET_DIR/debug/keel-worker" run >&2 &
KEEL_CLEANUP+=("kill $!")
"$CARGO_TARGET_DIR/debug/keel-api" serve >&2 &
KEEL_CLEANUP+=("kill $!")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

say "TypeScript client against the live api"
node "$work/dist/smoke/flow.js" "http://127.0.0.1:$port" "$mail"

say "headless Chromium: Swagger UI and ReDoc"
cp scripts/docs/browser.mjs "$tools/browser.mjs"
node "$tools/browser.mjs" "http://127.0.0.1:$port" "$artifacts"
say "screenshots and page weights in $artifacts"
