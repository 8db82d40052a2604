#!/usr/bin/env bash
# The control plane (/__admin/*) against the mock binary: the Python and JavaScript example
# tests (examples/), then schemathesis over the binary's own GET /__admin/openapi.json, with
# generated bodies: every call must answer with a status the document lists, never a 5xx.
# Any failure, a crash of the mock or a timeout fails the script (and CI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Pinned: a new schemathesis release can add checks or change its flags.
SCHEMATHESIS_VERSION=4.32.5
venv=target/admin-venv

step "control plane: Python venv (examples/python/requirements.txt, schemathesis $SCHEMATHESIS_VERSION)"
mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
timeout 600 "$venv/bin/pip" install --quiet -r examples/python/requirements.txt \
  "schemathesis==$SCHEMATHESIS_VERSION"

step "control plane: npm ci (examples/js)"
(cd examples/js && timeout 300 npm ci --no-audit --no-fund)

step "control plane: start the mock"
# shellcheck source=.ci/mock.sh
source .ci/mock.sh
start_mock
clients_pid=
stop() {
  if [ -n "$clients_pid" ]; then
    kill "$clients_pid" 2>/dev/null || true
    wait "$clients_pid" 2>/dev/null || true
  fi
  stop_mock
}
trap stop EXIT

# ws://HOST:PORT/ws-api/v3 -> http://HOST:PORT
host_port=${ws_url#ws://}
host_port=${host_port%%/*}
base="http://$host_port"
echo "mock: $ws_url, control plane: $base/__admin/"

step "control plane: the Python example"
MOCK_URL=$base timeout 120 "$venv/bin/python" examples/python/control_plane.py

step "control plane: the JavaScript example"
MOCK_URL=$base timeout 120 node examples/js/control_plane.mjs

step "control plane: the served OpenAPI document is the file, and lists every call of the contract"
MOCK_URL=$base "$venv/bin/python" - <<'EOF'
import json, os, sys, urllib.request

with urllib.request.urlopen(os.environ["MOCK_URL"] + "/__admin/openapi.json", timeout=5) as response:
    served = response.read()
with open("mock-server/src/admin/openapi.json", "rb") as file:
    assert served == file.read(), "GET /__admin/openapi.json is not mock-server/src/admin/openapi.json"
document = json.loads(served)
documented = {
    (method.upper(), path)
    for path, item in document["paths"].items()
    for method in item
    if method in ("get", "put", "post", "delete", "patch")
}
# The contract's tables (control plane, market), row by row.
contract = {
    ("GET", "/__admin/health"),
    ("GET", "/__admin/clock"), ("POST", "/__admin/clock"),
    ("GET", "/__admin/keys"), ("POST", "/__admin/keys"), ("DELETE", "/__admin/keys/{apiKey}"),
    ("GET", "/__admin/accounts/{name}"), ("PUT", "/__admin/accounts/{name}"),
    ("POST", "/__admin/accounts/{name}/events"),
    ("GET", "/__admin/connections"),
    ("POST", "/__admin/connections/{id}/close"), ("POST", "/__admin/connections/{id}/drop"),
    ("POST", "/__admin/connections/{id}/stall"),
    ("POST", "/__admin/server-shutdown"),
    ("POST", "/__admin/faults"), ("GET", "/__admin/faults"), ("DELETE", "/__admin/faults"),
    ("DELETE", "/__admin/faults/{id}"),
    ("GET", "/__admin/requests"), ("DELETE", "/__admin/requests"),
    ("POST", "/__admin/reset"),
    ("GET", "/__admin/openapi.json"),
    # The market issue's rows.
    ("GET", "/__admin/symbols"),
    ("POST", "/__admin/symbols/{symbol}/price"), ("POST", "/__admin/symbols/{symbol}/status"),
    # The order methods issue's rows.
    ("GET", "/__admin/orders"), ("POST", "/__admin/orders/{orderId}/fill"),
}
if documented != contract:
    print("undocumented:", sorted(contract - documented), file=sys.stderr)
    print("not in the contract:", sorted(documented - contract), file=sys.stderr)
    sys.exit(1)
print(f"{len(documented)} calls documented, as the contract lists them")
EOF

step "control plane: schemathesis against $base/__admin/openapi.json"
# A few WebSocket clients stay connected meanwhile (reconnecting when a call ends them), so
# that close, drop, stall and server-shutdown also meet real connections.
"$venv/bin/python" .ci/admin-clients.py "$base" 4 &
clients_pid=$!
# Examples, boundary values, generated (valid and invalid) requests for every operation, and
# sequences that follow the document's links (an added fault's id to its removal, a listed
# connection's id to its close). Failures: a 5xx, a status the document does not list, an
# answer that does not match the document's schema or is not JSON. The seed is fixed so that
# a failure can be replayed (override with SCHEMATHESIS_SEED). It runs in target/, where it
# keeps its example database (.hypothesis/) and replays the failures found there first.
(cd target && timeout 900 "../$venv/bin/st" run "$base/__admin/openapi.json" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --seed "${SCHEMATHESIS_SEED:-20261202}" \
  --request-timeout 10 \
  --workers 1 \
  --report junit --report-junit-path schemathesis-admin.xml)

kill "$clients_pid" 2>/dev/null || true
wait "$clients_pid" 2>/dev/null || true
clients_pid=

step "control plane: the mock survived"
if ! kill -0 "$mock_pid" 2>/dev/null; then
  echo "the mock exited during the run" >&2
  exit 1
fi
MOCK_URL=$base "$venv/bin/python" - <<'EOF'
import json, os, urllib.request

with urllib.request.urlopen(os.environ["MOCK_URL"] + "/__admin/health", timeout=5) as response:
    health = json.load(response)
assert health["status"] == "ok", health
print("health after the run:", health)
EOF
