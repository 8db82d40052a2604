#!/usr/bin/env bash
# The official Binance connectors, one driver per language, against ONE mock binary started
# with the demo key (conformance/<lang>/run.sh WS_URL; each installs what it needs from the
# registries, prints a PASS/FAIL line per step and RESULT PASS or RESULT FAIL, and exits
# non-zero on any failure). Every driver runs even when an earlier one failed; any failure
# fails the script, and CI with it. The table of what each connector passes is in README.md.
#
#   .ci/connectors.sh              every driver
#   .ci/connectors.sh js go        only those
set -uo pipefail
cd "$(dirname "$0")/.."

drivers=("$@")
if [ ${#drivers[@]} -eq 0 ]; then
  drivers=(js python rust-sdk java go)
fi

# The Rust connector always links OpenSSL: its headers and pkg-config, from Debian's packages.
if ! pkg-config --exists openssl 2>/dev/null; then
  apt-get install -y -q libssl-dev pkg-config >/dev/null
fi

# shellcheck source=.ci/mock.sh
source .ci/mock.sh
start_mock
trap stop_mock EXIT
echo "mock: $ws_url"

failed=()
for driver in "${drivers[@]}"; do
  printf '\n== connector driver: %s\n' "$driver"
  started=$SECONDS
  # Each driver bounds its own install and run; this bound catches a driver that does not.
  if timeout 1500 "conformance/$driver/run.sh" "$ws_url"; then
    echo "-- $driver: passed in $((SECONDS - started)) s"
  else
    echo "-- $driver: FAILED (exit $?) after $((SECONDS - started)) s"
    failed+=("$driver")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "connector drivers failed: ${failed[*]}" >&2
  exit 1
fi
echo "every connector driver passed: ${drivers[*]}"
