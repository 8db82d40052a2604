# Sourced by the CI steps that run against the mock binary.
#   start_mock [FLAG...]  builds (if need be) and starts target/release/mock-server on a free
#                         loopback port, and sets
#                         mock_pid and ws_url (ws://HOST:PORT/ws-api/v3, from the first line
#                         the mock prints on stdout; its logs go to stderr)
#   stop_mock             stops it
start_mock() {
  cargo build --release -p mock-server
  exec 3< <(exec target/release/mock-server --listen 127.0.0.1:0 --log-level warn "$@")
  mock_pid=$!
  local first_line
  if ! read -r -t 30 first_line <&3; then
    echo "the mock did not print its URL within 30 s" >&2
    exit 1
  fi
  ws_url=${first_line##* }
  case "$ws_url" in
    ws://*/ws-api/v3) ;;
    *) echo "unexpected first line from the mock: $first_line" >&2; exit 1 ;;
  esac
}

stop_mock() {
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
}
