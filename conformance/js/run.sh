#!/usr/bin/env bash
# The official JavaScript connector (npm @binance/spot, pinned in package-lock.json) against a
# running mock:
#
#   conformance/js/run.sh WS_URL      e.g. ws://127.0.0.1:9443/ws-api/v3
#
# Installs the connector into node_modules/ when it is missing or was installed from another
# package.json or lockfile, then runs run.mjs: one PASS/FAIL line per step on stdout, then
# RESULT PASS or RESULT FAIL; exits non-zero on any failure. npm's output and the connector's
# warnings go to stderr.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 WS_URL (e.g. ws://127.0.0.1:9443/ws-api/v3)" >&2
  exit 2
fi
cd "$(dirname "$0")"

# npm ci installs exactly the lockfile; the stamp says which package.json and lockfile the
# installed tree came from, so that a second run costs nothing and a changed pin reinstalls.
stamp=node_modules/.installed-from
wanted=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  if ! timeout 300 npm ci --no-audit --no-fund >&2; then
    echo "FAIL 0 npm ci: the connector could not be installed (see stderr)"
    echo "RESULT FAIL"
    exit 1
  fi
  echo "$wanted" >"$stamp"
fi

status=0
timeout 120 node run.mjs "$1" || status=$?
if [ "$status" -eq 124 ]; then
  echo "FAIL run: the driver did not finish within 120 s"
  echo "RESULT FAIL"
fi
exit "$status"
