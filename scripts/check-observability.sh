#!/usr/bin/env bash
# deploy/observability's Prometheus files: the alert rules (promtool check rules), their unit
# tests (promtool test rules) and the example scrape config (promtool check config). A step of
# scripts/test.sh; the metric names they use are checked against the code by
# api/tests/api/observability.rs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$KEEL_ROOT/deploy/observability"

# Debian's prometheus package carries promtool.
command -v promtool >/dev/null || apt_install prometheus
promtool check rules alerts.yml
promtool test rules alerts.test.yml
promtool check config prometheus.yml
