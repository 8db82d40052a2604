#!/usr/bin/env bash
# Reproduces the figures of docs/PERFORMANCE.md in one run: builds, runs the criterion benches
# and every `load` measurement, floor and mock side by side, and redraws docs/latency.svg.
#
#   scripts/perf.sh                  # the full run: about 15 minutes on 2 cores
#   DURATION=1s ROUNDS=1 CRITERION_ARGS="--warm-up-time 0.2 --measurement-time 0.5" \
#     IDLE=1000 scripts/perf.sh      # a quick look
#
# Everything lands in target/perf/: machine.txt, criterion-*.txt, *.jsonl (one JSON line per
# load), table.md (the Markdown table of the document). Load only ever goes to 127.0.0.1,
# from servers this script's tools start and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/perf
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
idle=${IDLE:-10000}
criterion_args=${CRITERION_ARGS:-}
mkdir -p "$out"
load=target/release/load

step() { printf '\n== %s\n' "$*" >&2; }

step "build"
cargo build --release -p benches -p mock-server
cargo bench -p benches --no-run

step "machine"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "kernel: $(uname -r)"
  rustc -V
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|L2|L3)' || true
  grep MemTotal /proc/meminfo
  echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"
  uptime
} | tee "$out/machine.txt" >&2

step "criterion, pinned to core 0 (client and server share one thread)"
# shellcheck disable=SC2086 # criterion_args is a list of flags
taskset -c 0 cargo bench -p benches --bench round_trip -- $criterion_args | tee "$out/criterion-round_trip.txt"
# shellcheck disable=SC2086
taskset -c 0 cargo bench -p benches --bench in_process -- $criterion_args | tee "$out/criterion-in_process.txt"

step "latency: 1 connection, 1 in flight, client and servers pinned to core 0"
for mix in ping status logon place test depth; do
  taskset -c 0 "$load" compare -c 1 -d 1 --duration "$duration" --mix "$mix" --rounds "$rounds" \
    | tee "$out/pinned-$mix.jsonl"
done

step "throughput and server CPU: 100 connections x 16 in flight, both cores"
for mix in ping status ping=8,status=1,logon=1; do
  name=$(echo "$mix" | tr ',=' '-_')
  "$load" compare -c 100 -d 16 --duration "$duration" --mix "$mix" --rounds "$rounds" \
    | tee "$out/load-$name.jsonl"
done

step "pipelined: server CPU per request against the floor that batches; server on core 1, load on core 0"
for mix in ping status; do
  taskset -c 0 "$load" compare -c 100 -d 16 --duration "$duration" --mix "$mix" --rounds "$rounds" \
    --server-cpu 1 --targets floor-json-batch,floor-json,mock | tee "$out/pipelined-$mix.jsonl"
done

step "the journal: status at 100 x 16, server on core 1, journal on (default) and off in each round"
taskset -c 0 "$load" compare -c 100 -d 16 --duration "$duration" --mix status \
  --rounds "$((rounds + 2))" --server-cpu 1 --targets mock,mock-journal-off \
  | tee "$out/journal.jsonl"

step "logons: 100 x 4, on both cores and on core 0 alone, alternating"
: > "$out/logon-2cores.jsonl"
: > "$out/logon-1core.jsonl"
for _ in $(seq "$rounds"); do
  "$load" run --target mock -c 100 -d 4 --duration "$duration" --mix logon \
    | tee -a "$out/logon-2cores.jsonl"
  taskset -c 0 "$load" run --target mock -c 100 -d 4 --duration "$duration" --mix logon \
    | tee -a "$out/logon-1core.jsonl"
done

step "1,000 connections placing orders, and placing and cancelling them, for 10 s"
"$load" run --target mock -c 1000 -d 1 --duration "$duration" --mix place \
  | tee "$out/connections-1000-place.jsonl"
"$load" run --target mock -c 1000 -d 1 --duration "${CANCEL_DURATION:-10s}" --mix place,cancel \
  | tee "$out/connections-1000-place-cancel.jsonl"

step "the mock-server binary at the same load"
"$load" run --target mock --mock-bin target/release/mock-server -c 100 -d 16 \
  --duration "$duration" --mix ping | tee "$out/mock-bin.jsonl"

step "1,000 concurrent connections"
"$load" run --target mock -c 1000 -d 1 --duration "$duration" --mix ping,status,logon \
  | tee "$out/connections-1000.jsonl"

step "$idle idle connections: server RSS"
{
  "$load" idle --target mock -n "$idle"
  "$load" idle --target floor-echo -n "$idle"
  "$load" idle --target floor-echo -n "$idle" --floor-read-buffer 4096
  "$load" idle --target floor-echo -n "$idle" --floor-read-buffer 2048
} | tee "$out/idle.jsonl"

# 50,000 connections need 50,000 open files in the tool and in the server (each inherits the
# tool's limit): with a lower hard limit, as many as it allows, from the same four addresses.
many=${MANY:-50000}
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$((many + 256))" ]; then
  echo "open files hard limit $hard: $many connections cannot be opened here" >&2
  many=$(( (hard - 1000) / 1000 * 1000 ))
fi
step "$many idle connections from 127.0.0.2-127.0.0.5, each pinged again after the hold"
"$load" idle --target mock -n "$many" --source-addresses 4 | tee "$out/idle-many.jsonl"

step "plot and table"
python3 scripts/plot_latency.py "$out/pinned-ping.jsonl" "$out/pinned-status.jsonl" \
  "$out/load-ping.jsonl" --out docs/latency.svg --table \
  | tee "$out/table.md"
python3 scripts/plot_latency.py "$out"/pinned-*.jsonl "$out"/load-*.jsonl \
  --out "$out/latency-all.svg" --table > "$out/table-all.md"
echo "figures in $out/, plot in docs/latency.svg" >&2
