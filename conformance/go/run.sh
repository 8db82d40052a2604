#!/usr/bin/env bash
# Binance's official Go connector (github.com/binance/binance-connector-go/clients/spot, pinned
# in go.mod and go.sum) against a running mock:
#
#   conformance/go/run.sh WS_URL      e.g. ws://127.0.0.1:9443/ws-api/v3
#
# Downloads the pinned modules into .cache/ beside this file when they are missing (from the Go
# module proxy, checked against go.sum), builds the driver into .bin/ and runs it: one PASS/FAIL
# line per step on stdout, then RESULT PASS or RESULT FAIL; exits non-zero on any failure. The
# go command's output and the connector's log go to stderr.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 WS_URL (e.g. ws://127.0.0.1:9443/ws-api/v3)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"

# The machine's own Go (1.25 or later), never a toolchain fetched because of go.mod. The
# modules stay beside the driver; -modcacherw keeps that cache deletable by rm -rf. The build
# cache is the user's, unless there is none (no HOME); -trimpath keeps the paths of this clone
# out of what is compiled, so that another clone reuses it (the connector takes a minute and a
# half to compile from nothing, its generated models are large).
export GOTOOLCHAIN=local
export GOMODCACHE="$here/.cache/mod"
export GOFLAGS="-mod=readonly -modcacherw -buildvcs=false -trimpath"
if [ "$(go env GOCACHE)" = off ]; then
  export GOCACHE="$here/.cache/build"
fi

# go build downloads only what go.sum lists and is missing, and rebuilds only what changed, so a
# second run costs a second or so.
if ! timeout 300 go build -o .bin/driver . >&2; then
  echo "FAIL 0 go build: the connector could not be installed or the driver built (see stderr)"
  echo "RESULT FAIL"
  exit 1
fi

status=0
timeout 120 .bin/driver -key "$repo/mock-server/keys/demo-ed25519-private.pem" "$1" || status=$?
if [ "$status" -eq 124 ]; then
  echo "FAIL run: the driver did not finish within 120 s"
  echo "RESULT FAIL"
fi
exit "$status"
