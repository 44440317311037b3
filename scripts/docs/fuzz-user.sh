#!/usr/bin/env bash
# Prints the access token of a fresh, verified user of the api at BASE_URL (database DB_URL),
# for schemathesis's authenticated pass. The address is marked verified in the database, as
# the emailed link would (no worker runs during the contract tests).
#   scripts/docs/fuzz-user.sh BASE_URL DB_URL
set -euo pipefail
base=$1 db_url=$2
email="fuzz-$$-$RANDOM@example.com" password="violet-anchor-mosaic-71"
curl -sf -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Fuzz Tester\"}" >/dev/null
psql "$db_url" -v ON_ERROR_STOP=1 -qAtc \
  "UPDATE users SET email_verified_at = now() WHERE email = '$email'" >/dev/null
curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
