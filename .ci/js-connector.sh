#!/usr/bin/env bash
# The official JavaScript connector (npm @binance/spot, pinned in conformance/js/package-lock.json)
# against the mock binary: logon with the demo Ed25519 key, status, logout, status; then
# exchangeInfo, depth and order.test on the default market; then orders that rest, fill
# through the control plane and are cancelled, with their executionReports.
# Any unexpected reply, a crash or a timeout fails the script (and CI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "JS connector: npm ci (conformance/js)"
(cd conformance/js && timeout 300 npm ci --no-audit --no-fund)

step "JS connector: session.logon, session.status, session.logout, session.status"
# shellcheck source=.ci/mock.sh
source .ci/mock.sh
start_mock
trap stop_mock EXIT
url=$ws_url
echo "mock: $url"

api_key=demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q
timeout 60 node conformance/js/session.mjs "$url" "$api_key" \
  mock-server/keys/demo-ed25519-private.pem

step "JS connector: exchangeInfo, depth, order.test"
timeout 60 node conformance/js/market.mjs "$url" "$api_key" \
  mock-server/keys/demo-ed25519-private.pem

step "JS connector: orders (place, NEW report, control-plane fill, TRADE report, cancel, openOrders.status)"
timeout 60 node conformance/js/orders.mjs "$url" "$api_key" \
  mock-server/keys/demo-ed25519-private.pem
