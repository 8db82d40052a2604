#!/usr/bin/env bash
# The official Python connector (PyPI binance-sdk-spot, pinned with hashes in requirements.txt)
# against a running mock:
#
#   conformance/python/run.sh WS_URL      e.g. ws://127.0.0.1:9443/ws-api/v3
#
# Installs the connector into .venv/ when it is missing or was installed from another
# requirements.txt or interpreter, then runs run.py: one PASS/FAIL line per step on stdout, then
# RESULT PASS or RESULT FAIL; exits non-zero on any failure. pip's output and the connector's
# log go to stderr. PYTHON names the interpreter (python3 by default; 3.11 is what CI has).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 WS_URL (e.g. ws://127.0.0.1:9443/ws-api/v3)" >&2
  exit 2
fi
cd "$(dirname "$0")"
python=${PYTHON:-python3}

# The stamp says which requirements.txt and interpreter the venv came from, so that a second run
# costs nothing and a changed pin or Python builds it anew.
stamp=.venv/.installed-from
wanted=$({ cat requirements.txt; "$python" -c 'import sys; print(sys.executable, sys.version)'; } \
  | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  rm -rf .venv
  # --require-hashes: every file pip takes must match a hash in requirements.txt.
  if ! { "$python" -m venv .venv >&2 &&
    timeout 300 .venv/bin/python -m pip install --quiet --no-input --require-hashes \
      -r requirements.txt >&2; }; then
    echo "FAIL 0 pip install: the connector could not be installed (see stderr)"
    echo "RESULT FAIL"
    exit 1
  fi
  echo "$wanted" >"$stamp"
fi

status=0
timeout 120 .venv/bin/python run.py "$1" || status=$?
if [ "$status" -eq 124 ]; then
  echo "FAIL run: the driver did not finish within 120 s"
  echo "RESULT FAIL"
fi
exit "$status"
