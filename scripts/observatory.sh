#!/usr/bin/env bash
# The api's headers graded by the MDN HTTP Observatory scanner, offline: keel-api with
# APP_ENV=production behind an nginx TLS proxy on loopback (a throwaway CA), scanned at
# https://localhost:PORT/healthz. Fails unless the grade is A+. Prints grade and score.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT"

tools=$HOME/.cache/keel/tools/observatory
scanner=$tools/node_modules/@mdn/mdn-http-observatory
command -v nginx >/dev/null || apt_install nginx
command -v openssl >/dev/null || apt_install openssl
command -v npm >/dev/null || apt_install npm
if [[ ! -f $scanner/src/scan.js ]]; then
  say "installing @mdn/mdn-http-observatory (npm, scripts off)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent --ignore-scripts \
    @mdn/mdn-http-observatory@1.4.8 >&2
fi
# What its postinstall would have downloaded: empty lists are enough for a local scan.
[[ -s $scanner/conf/hsts-preload.json ]] || echo '{}' >"$scanner/conf/hsts-preload.json"
[[ -s $scanner/conf/tld-list.json ]] || echo '[]' >"$scanner/conf/tld-list.json"
mkdir -p "$tools/node_modules/node_extra_ca_certs_mozilla_bundle/ca_bundle"
touch "$tools/node_modules/node_extra_ca_certs_mozilla_bundle/ca_bundle/ca_intermediate_bundle.pem"

ensure_redis
cargo build -p keel-api --bins --quiet
dir=$(mktemp -d)
KEEL_CLEANUP+=("rm -rf '$dir'")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
tls_port=$(free_port)

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Keel test CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -CAcreateserial -days 1 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null

mkdir -p "$dir/logs" "$dir/tmp"
cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$tls_port ssl http2;
    server_name localhost;
    ssl_certificate $dir/server.pem;
    ssl_certificate_key $dir/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    # Plain HTTP on the TLS port: send it to https (the scanner tries both on one port).
    error_page 497 =301 https://\$host:\$server_port\$request_uri;
    location / {
      proxy_pass http://127.0.0.1:$api_port;
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
NGINX
nginx -t -q -p "$dir" -c "$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf"
KEEL_CLEANUP+=("kill \$(cat '$dir/nginx.pid')")

APP_ENV=production KEEL_SECRET_KEY=$(openssl rand -hex 32) KEEL_JWT_KEYS="k1=$(openssl rand -hex 32)" \
  SMTP_URL="smtps://keel:unused@smtp.invalid:465" KEEL_MEDIA_ROOT="$dir/media" \
  DATABASE_URL="postgres://keel:$(openssl rand -hex 12)@127.0.0.1:1/keel?sslmode=verify-full" \
  KEEL_REDIS_PREFIX="keelobservatory:$$" KEEL_API_ADDR="127.0.0.1:$api_port" RUST_LOG=error \
  KEEL_API_METRICS_ADDR=off "$CARGO_TARGET_DIR/debug/keel-api" serve &
api_pid=$!
KEEL_CLEANUP+=("kill -TERM $api_pid")
for _ in $(seq 100); do
  curl -sf --cacert "$dir/ca.pem" "https://localhost:$tls_port/healthz" >/dev/null && break
  sleep 0.1
done

report=$(NODE_EXTRA_CA_CERTS=$dir/ca.pem node "$scanner/src/scan.js" "localhost:$tls_port/healthz")
python3 - "$report" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
scan = report["scan"]
print(f"observatory grade: {scan['grade']}")
print(f"observatory score: {scan['score']}")
failed = [f"{name}: {t.get('result')}" for name, t in report.get("tests", {}).items() if not t.get("pass")]
for line in failed:
    print(f"  not passed: {line}")
sys.exit(0 if scan["grade"] == "A+" else 1)
PY
