#!/usr/bin/env bash
# Sourced by scripts/test-deploy.sh and bench/nginx.sh (after scripts/lib.sh): lays out
# deploy/nginx so that `nginx -p DIR -c DIR/nginx.conf` runs it on loopback ports, files under DIR,
# with a throwaway self-signed certificate (made once per $work).
# nginx_prefix DIR SITE API_PORT HTTP_PORT HTTPS_PORT: deploy/nginx laid out under DIR as nginx
# -p DIR would see it, with a throwaway certificate and this machine's ports and paths.
nginx_prefix() {
  : "${work:?nginx_prefix needs \$work, a scratch directory}"
  local dir=$1 site=$2 api_port=$3 http_port=$4 https_port=$5
  mkdir -p "$dir"/{logs,certs,acme,sites-enabled,temp}
  cp -r deploy/nginx/nginx.conf deploy/nginx/keel "$dir/"
  cp /etc/nginx/mime.types "$dir/"
  cp "deploy/nginx/sites/$site" "$dir/sites-enabled/keel.conf"
  if [[ ! -f $work/cert/fullchain.pem ]]; then
    mkdir -p "$work/cert"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$work/cert/privkey.pem" -out "$work/cert/fullchain.pem" 2>/dev/null
    cp "$work/cert/fullchain.pem" "$work/cert/chain.pem"
  fi
  cp "$work/cert"/*.pem "$dir/certs/"
  # Root is not needed here: no `user`, files under DIR, loopback ports.
  sed -i -e '/^user /d' -e "s#/run/nginx.pid#$dir/nginx.pid#" -e "s#/var/log/nginx/#$dir/logs/#" \
    -e "s#^http {#http {\n    client_body_temp_path $dir/temp/body;\n    proxy_temp_path $dir/temp/proxy;\n    fastcgi_temp_path $dir/temp/fastcgi;\n    uwsgi_temp_path $dir/temp/uwsgi;\n    scgi_temp_path $dir/temp/scgi;#" \
    "$dir/nginx.conf"
  sed -i "s#/etc/letsencrypt/live/keel/#$dir/certs/#" "$dir/keel/tls.conf"
  sed -i "s#/var/www/certbot#$dir/acme#" "$dir/keel/acme.conf"
  sed -i -e "s#listen 80 #listen 127.0.0.1:$http_port #" -e "s#listen 443 #listen 127.0.0.1:$https_port #" \
    -e '/listen \[::\]/d' -e "s#server 127.0.0.1:8000 #server 127.0.0.1:$api_port #" \
    -e "s#server api:8000 #server 127.0.0.1:$api_port #" -e "s#server frontend:8080;#server 127.0.0.1:$http_port;#" \
    -e "s#/var/www/keel/frontend#$KEEL_ROOT/deploy/frontend/dist#" "$dir/sites-enabled/keel.conf"
}

