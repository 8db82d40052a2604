#!/usr/bin/env bash
# The official JavaScript connector (npm @binance/spot, pinned in conformance/js/package-lock.json)
# against the mock binary: logon with the demo Ed25519 key, status, logout, status.
# Any unexpected reply, a crash or a timeout fails the script (and CI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "JS connector: npm ci (conformance/js)"
(cd conformance/js && timeout 300 npm ci --no-audit --no-fund)

step "JS connector: build the mock"
cargo build --release -p mock-server

step "JS connector: session.logon, session.status, session.logout, session.status"
# The mock prints its URL as the first stdout line; logs go to stderr.
exec 3< <(exec target/release/mock-server --listen 127.0.0.1:0 --log-level warn)
mock_pid=$!
stop_mock() {
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
}
trap stop_mock EXIT

if ! read -r -t 30 first_line <&3; then
  echo "the mock did not print its URL within 30 s" >&2
  exit 1
fi
url=${first_line##* }
case "$url" in
  ws://*) ;;
  *) echo "unexpected first line from the mock: $first_line" >&2; exit 1 ;;
esac
echo "mock: $url"

api_key=demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q
timeout 60 node conformance/js/session.mjs "$url" "$api_key" \
  mock-server/keys/demo-ed25519-private.pem
