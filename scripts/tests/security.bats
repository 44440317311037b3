#!/usr/bin/env bats
# security-audit.sh against fixtures: each check's PASS/WARN/FAIL lines and the exit status.

# Each @test runs in its own subshell: exports in one test are meant to stay there.
# shellcheck disable=SC2030,SC2031
bats_require_minimum_version 1.5.0
load helpers

FIX=$BATS_TEST_DIRNAME/fixtures/security

setup() {
  cd "$BATS_TEST_TMPDIR" || return
  export AUDIT_REPORT_DIR=$BATS_TEST_TMPDIR/report
}

audit() { run "$SCRIPTS/security-audit.sh" "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

@test "sshd: a hardened config passes, root login and password auth fail (Match blocks ignored)" {
  AUDIT_SSHD_CONFIG=$FIX/sshd_config.good audit --checks sshd
  [ "$status" -eq 0 ]
  [[ $output == *"PASS sshd       PermitRootLogin no"* ]]
  [[ $output == *"PASS sshd       PasswordAuthentication no"* ]]
  AUDIT_SSHD_CONFIG=$FIX/sshd_config.bad audit --checks sshd
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL sshd       PermitRootLogin yes"* ]]
  [[ $output == *"FAIL sshd       PasswordAuthentication yes (default)"* ]]
}

@test "postgres: ssl, scram and remote trust lines are checked" {
  AUDIT_PG_SETTINGS=$FIX/pg_settings.good AUDIT_PG_HBA=$FIX/pg_hba.good audit --checks postgres
  [ "$status" -eq 0 ]
  [[ $output == *"PASS postgres   ssl = on"* ]]
  [[ $output == *"PASS postgres   password_encryption = scram-sha-256"* ]]
  [[ $output == *"PASS postgres   pg_hba.conf: no trust for remote hosts"* ]]
  AUDIT_PG_SETTINGS=$FIX/pg_settings.bad AUDIT_PG_HBA=$FIX/pg_hba.bad audit --checks postgres
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL postgres   ssl = off"* ]]
  [[ $output == *"FAIL postgres   password_encryption = md5"* ]]
  [[ $output == *"FAIL postgres   pg_hba.conf trusts non-local hosts without a password: host 0.0.0.0/0 host 192.168.0.0"* ]]
  [[ $output == *"WARN postgres   pg_hba.conf uses weak password hashing: host    keel      keel  10.0.0.0/8     md5"* ]]
}

@test "redis: requirepass, protected-mode and bind" {
  AUDIT_REDIS_CONF=$FIX/redis.good audit --checks redis
  [ "$status" -eq 0 ]
  [[ $output == *"PASS redis      requirepass set"* ]]
  [[ $output == *"PASS redis      bind 127.0.0.1 -::1"* ]]
  AUDIT_REDIS_CONF=$FIX/redis.bad audit --checks redis
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL redis      requirepass empty"* ]]
  [[ $output == *"FAIL redis      protected-mode no"* ]]
  [[ $output == *"FAIL redis      bound to every interface (0.0.0.0)"* ]]
}

@test "env: a .env with mode 0644 fails, 0640 warns, 0600 passes; a tracked .env fails" {
  mkdir app && cd app && git init -q
  printf 'KEEL_SECRET_KEY=x\n' >.env && chmod 0644 .env
  printf 'A=1\n' >.env.example
  AUDIT_ENV_DIRS=$PWD audit --checks env
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL env        $PWD/.env is readable by everyone (mode 644)"* ]]
  [[ $output != *".env.example"* ]]
  chmod 0640 .env
  AUDIT_ENV_DIRS=$PWD audit --checks env
  [ "$status" -eq 0 ]
  [[ $output == *"WARN env        $PWD/.env is readable by its group"* ]]
  chmod 0600 .env
  AUDIT_ENV_DIRS=$PWD audit --checks env
  [ "$status" -eq 0 ]
  [[ $output == *"PASS env        $PWD/.env mode 600"* ]]
  git add -f .env && git -c user.name=t -c user.email=t@t commit -qm env
  AUDIT_ENV_DIRS=$PWD audit --checks env
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL env        tracked by git in $PWD: .env"* ]]
}

@test "secrets: a private key anywhere in git history fails, even after it was deleted" {
  mkdir repo && cd repo && git init -q
  git() { command git -c user.name=t -c user.email=t@t "$@"; }
  printf 'hello\n' >README && git add README && git commit -qm one
  AUDIT_GIT_DIR=$PWD audit --checks secrets
  [ "$status" -eq 0 ]
  [[ $output == *"PASS secrets    no private key or known token format in 1 commits"* ]]
  # Assembled at run time, so this file itself holds no key-shaped line.
  printf -- '-----BEGIN OPENSSH %s-----\nabc\n' "PRIVATE KEY" >id_key && git add id_key && git commit -qm key
  git rm -q id_key && git commit -qm "remove key"
  AUDIT_GIT_DIR=$PWD audit --checks secrets
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL secrets    secret-looking lines in git history: "*":id_key"* ]]
  # Known test material can be allowed by path prefix.
  AUDIT_GIT_DIR=$PWD AUDIT_SECRETS_ALLOW="docs/ id_" audit --checks secrets
  [ "$status" -eq 0 ]
}

@test "deploy: world-writable files and an open backup directory fail" {
  mkdir -p etc/keel backups && chmod 0700 backups
  touch etc/keel/keel.env && chmod 0600 etc/keel/keel.env
  AUDIT_DEPLOY_PATHS="$PWD/etc/keel $PWD/backups" audit --checks deploy
  [ "$status" -eq 0 ]
  chmod 0666 etc/keel/keel.env && chmod 0755 backups
  AUDIT_DEPLOY_PATHS="$PWD/etc/keel $PWD/backups" audit --checks deploy
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL deploy     world-writable under $PWD/etc/keel: $PWD/etc/keel/keel.env"* ]]
  [[ $output == *"FAIL deploy     $PWD/backups is accessible to others (mode 755)"* ]]
}

@test "firewall and fail2ban read their status commands" {
  AUDIT_FIREWALL_CMD="cat $FIX/ufw.active" AUDIT_FAIL2BAN_CMD="cat $FIX/fail2ban.status" audit --checks firewall,fail2ban
  [ "$status" -eq 0 ]
  [[ $output == *"PASS firewall   Status: active"* ]]
  [[ $output == *"PASS fail2ban   running with an sshd jail"* ]]
  AUDIT_FIREWALL_CMD="cat $FIX/ufw.inactive" AUDIT_FAIL2BAN_CMD="false" audit --checks firewall,fail2ban
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL firewall   firewall inactive: Status: inactive"* ]]
  [[ $output == *"WARN fail2ban   fail2ban is not running"* ]]
}

@test "advisories: a Cargo.lock with smallvec 1.6.0 fails against the RustSec snapshot, a clean one passes" {
  [[ -n ${KEEL_ADVISORY_DB:-} ]] || skip "no RustSec snapshot (KEEL_ADVISORY_DB)"
  AUDIT_CARGO_LOCK=$FIX/lock-vulnerable/Cargo.lock AUDIT_DENY_TOML=/dev/null audit --advisory-db "$KEEL_ADVISORY_DB" --checks advisories
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL advisories cargo audit: vulnerable crates: "*"RUSTSEC-2021-0003"* ]]
  AUDIT_CARGO_LOCK=$FIX/lock-clean/Cargo.lock AUDIT_DENY_TOML=/dev/null audit --advisory-db "$KEEL_ADVISORY_DB" --checks advisories
  [ "$status" -eq 0 ]
  [[ $output == *"PASS advisories cargo audit: no known vulnerability in 2 crates"* ]]
  run "$SCRIPTS/security-audit.sh" --advisory-db "$BATS_TEST_TMPDIR/nope" --checks advisories
  [ "$status" -eq 1 ]
  [[ $output == *"advisory database $BATS_TEST_TMPDIR/nope does not exist"* ]]
}

@test "tls and headers: a CA-signed TLS 1.2+ site with the headers passes; a short-lived bare one fails" {
  # A CA, a localhost certificate valid 90 days and one valid 5 days.
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=keel-test-ca 2>/dev/null
  for days in 90 5; do
    openssl req -newkey rsa:2048 -nodes -keyout "leaf$days.key" -out "leaf$days.csr" -subj /CN=localhost 2>/dev/null
    openssl x509 -req -in "leaf$days.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "leaf$days.pem" -days "$days" \
      -extfile <(printf 'subjectAltName=DNS:localhost\n') 2>/dev/null
  done
  good=$(free_port)
  python3 "$FIX/https_server.py" "$good" leaf90.pem leaf90.key good 3>&- &
  good_pid=$!
  bare=$(free_port)
  python3 "$FIX/https_server.py" "$bare" leaf5.pem leaf5.key bare 3>&- &
  bare_pid=$!
  for port in "$good" "$bare"; do
    for _ in $(seq 300); do curl -sk -o /dev/null "https://127.0.0.1:$port/" && break; sleep 0.1; done
  done

  AUDIT_TLS_CONNECT=127.0.0.1:$good AUDIT_TLS_CAFILE=$PWD/ca.pem AUDIT_URL=https://localhost:$good/ \
    AUDIT_CURL_OPTS="--cacert $PWD/ca.pem" audit --checks tls,headers localhost
  good_status=$status good_output=$output
  AUDIT_TLS_CONNECT=127.0.0.1:$bare AUDIT_URL=https://localhost:$bare/ \
    AUDIT_CURL_OPTS="--insecure" audit --checks tls,headers localhost
  kill "$good_pid" "$bare_pid"
  printf '%s\n' "--- good site:" "$good_output" "--- bare site:" "$output"
  [ "$good_status" -eq 0 ]
  [[ $good_output == *"PASS tls        negotiated TLSv1.3"* ]]
  [[ $good_output == *"PASS tls        TLS 1.1 and older refused"* ]]
  [[ $good_output == *"PASS tls        certificate chain valid for localhost"* ]]
  [[ $good_output == *"PASS tls        certificate valid beyond 14 days"* ]]
  [[ $good_output == *"PASS headers    Strict-Transport-Security set"* ]]
  [[ $good_output == *"PASS headers    framing restricted"* ]]
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL tls        certificate chain not valid for localhost"* ]]
  [[ $output == *"FAIL tls        certificate expires within 14 days"* ]]
  [[ $output == *"FAIL headers    Strict-Transport-Security missing"* ]]
  [[ $output == *"FAIL headers    X-Content-Type-Options: nosniff missing"* ]]
  [[ $output == *"WARN headers    Server header reveals a version: server: nginx/1.22.1"* ]]
}

@test "reports: Markdown and JSON list every result; plain text when not a terminal" {
  AUDIT_SSHD_CONFIG=$FIX/sshd_config.bad AUDIT_REDIS_CONF=$FIX/redis.good audit --checks sshd,redis
  [ "$status" -eq 1 ]
  [[ $output != *$'\033'* ]]
  [ "${lines[-1]}" = "$AUDIT_REPORT_DIR/security-audit.json" ]
  grep -q '^| FAIL | sshd | PermitRootLogin yes |$' "$AUDIT_REPORT_DIR/security-audit.md"
  python3 - "$AUDIT_REPORT_DIR/security-audit.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["summary"] == {"pass": 3, "warn": 0, "fail": 2}, report["summary"]
assert {"level": "FAIL", "check": "sshd", "message": "PermitRootLogin yes"} in report["results"]
PY
}
