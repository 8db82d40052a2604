#!/usr/bin/env bash
# The official Binance Rust connector (crates.io binance-sdk, spot feature, pinned in Cargo.toml
# and Cargo.lock) against a running mock:
#
#   conformance/rust-sdk/run.sh WS_URL      e.g. ws://127.0.0.1:9443/ws-api/v3
#
# Builds the driver into target/ here (cargo fetches the pinned crates from crates.io the first
# time; later runs only check that nothing changed), then runs it with the demo key: one
# PASS/FAIL line per step on stdout, then RESULT PASS or RESULT FAIL; exits non-zero on any
# failure. cargo's output and the connector's log (RUST_LOG, warn by default) go to stderr.
#
# This directory is its own Cargo workspace, not a member of the repository's: the connector's
# dependency tree stays out of the mock's Cargo.lock. The build needs OpenSSL's headers and
# pkg-config (Debian: libssl-dev, pkg-config): the connector always links native-tls.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 WS_URL (e.g. ws://127.0.0.1:9443/ws-api/v3)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# A cold build compiles about 200 crates: minutes on two cores. The profile is the dev one,
# without debug info (Cargo.toml): quicker to build from cold than release, and the run waits
# on the mock, not on the CPU.
if ! timeout 1800 cargo build --locked --manifest-path "$here/Cargo.toml" --target-dir "$here/target" >&2; then
  echo "FAIL 0 cargo build: the driver could not be built (see stderr)"
  echo "RESULT FAIL"
  exit 1
fi

status=0
timeout 120 "$here/target/debug/conformance-rust-sdk" "$1" "$repo/mock-server/keys/demo-ed25519-private.pem" || status=$?
if [ "$status" -eq 124 ]; then
  echo "FAIL run: the driver did not finish within 120 s"
  echo "RESULT FAIL"
fi
exit "$status"
