#!/usr/bin/env bash
# Mutation testing of the harness: how many of the mock's observable faults the conformance
# tests catch. `cargo mutants` mutates the mock's core (timing, signature, auth, session,
# socketless, state, keepalive, rate_limit, envelope, method/*), and for each mutant runs only
# the `conformance` crate's tests: a mutant they miss is a fault the harness would not report
# against a real endpoint.
# The request path, keepalive and shutdown of a connection live in socketless.rs, what
# connections share in state.rs (the session's own state in session.rs).
#
# Not run in CI: the full selection takes about an hour on 2 free cores (a build and the
# conformance suite per mutant), far longer on a busy machine. Arguments pass through to
# cargo mutants, for example:
#   scripts/mutants.sh --shard 0/8          # the first eighth of the mutants (K/N: K from 0
#                                           # to N-1)
#   scripts/mutants.sh --list               # the mutants, without running them
#   scripts/mutants.sh -F 'Limiter::charge' # only those whose name matches
#   scripts/mutants.sh -- --test against_mock   # after --, arguments for cargo test
#   scripts/mutants.sh --in-place           # build in ./target, not a fresh copy (faster;
#                                           # leave the tree alone while it runs)
# Builds take most of the time: CARGO_PROFILE_DEV_DEBUG=0 (no debug info, so quicker links)
# with --in-place brought a shard of 37 mutants down to 5-22 minutes on a busy 2-core machine.
# The outcome is in target/mutants/mutants.out (caught.txt, missed.txt, unviable.txt,
# timeout.txt, outcomes.json); the summary line is printed at the end.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! cargo mutants --version >/dev/null 2>&1; then
    cargo install --locked cargo-mutants
fi

# Files by glob, so that modules renamed or added under these names stay covered.
files=(
    'mock-server/src/**/timing.rs'
    'mock-server/src/**/signature.rs'
    'mock-server/src/**/auth.rs'
    'mock-server/src/**/session.rs'
    'mock-server/src/**/rate_limit.rs'
    'mock-server/src/**/envelope.rs'
    'mock-server/src/**/socketless.rs'
    'mock-server/src/**/state.rs'
    'mock-server/src/**/keepalive.rs'
    'mock-server/src/method/**'
)
file_args=()
for glob in "${files[@]}"; do
    file_args+=(--file "$glob")
done

# cargo mutants' own baseline is skipped because it runs the mutated package's tests (not
# --test-package), which is not the suite measured here; the script runs the conformance
# tests on the unmutated tree instead (below). Hence an explicit timeout: a mutant that hangs
# the suite counts as timed out after two minutes (the suite takes about 15 s).
#
# The conformance tests that run the harness against the in-process mock. Left out unless
# asked for (`-- --tests`): the doc tests and `broken_target`, which runs the harness against
# broken proxies in front of the mock (the faults it checks for are the proxy's; against_mock
# runs the same cases on the mock itself) and would add 20 s to each mutant.
tests=(--lib --test against_mock --test error_table --test cli)
listing=false
for arg in "$@"; do
    case $arg in
        --) tests=() ;;
        --list | --list-files) listing=true ;;
    esac
done
test_args=()
if ((${#tests[@]} > 0)); then
    test_args=(-- "${tests[@]}")
    # In place of cargo mutants' baseline: the suite must pass on the unmutated tree, or
    # every mutant would count as caught.
    if ! $listing; then
        cargo test --package conformance "${tests[@]}"
    fi
fi

stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
status=0
cargo mutants \
    --package mock-server \
    --test-package conformance \
    "${file_args[@]}" \
    --output target/mutants \
    --baseline skip \
    --timeout 120 \
    "$@" "${test_args[@]}" || status=$?

out=target/mutants/mutants.out
if [[ $out/outcomes.json -nt $stamp ]]; then
    count() { if [[ -f $out/$1.txt ]]; then wc -l <"$out/$1.txt"; else echo 0; fi; }
    caught=$(count caught)
    missed=$(count missed)
    unviable=$(count unviable)
    timeout=$(count timeout)
    viable=$((caught + missed))
    if ((viable > 0)); then
        echo "caught $caught of $viable viable mutants ($((100 * caught / viable)) %);" \
            "$unviable unviable, $timeout timed out"
    fi
    # With --iterate, what earlier runs caught or found unviable is not tested again.
    earlier=$(count previously_caught)
    if ((earlier > 0)); then
        echo "not tested again: $earlier caught or unviable in earlier runs (previously_caught.txt)"
    fi
    if ((missed > 0)); then
        echo "missed:"
        cat "$out/missed.txt"
    fi
fi
# cargo mutants exits 2 when some mutant was missed, 3 on timeouts: the summary says which.
exit "$status"
