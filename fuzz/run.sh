#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60) and prints, per
# target, the executions, the coverage counter and any crash.
#
#   fuzz/run.sh 600                 # 10 minutes per target
#   TARGETS="idcert idcsr" fuzz/run.sh 60
#   SANITIZER=address fuzz/run.sh 60  # ASan (slower); default: none
#   PARALLEL=1 fuzz/run.sh 600        # all targets at the same time
#
# Exits non-zero, and prints CRASH, when any target crashed or recorded no exit
# status (fuzz/selftest.sh proves it with a target that crashes on purpose).
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz passes nightly-only flags to
# rustc; on a stable toolchain RUSTC_BOOTSTRAP=1 lets them through.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-60}"
SANITIZER="${SANITIZER:-none}"
TARGETS="${TARGETS:-idcert idcsr identifiers keypackage legacy_pem route_bodies gateway_envelope address_filter gateway_connection}"
export RUSTC_BOOTSTRAP=1

[ -d corpus ] || ./seed.sh
mkdir -p logs
# Results of an earlier run must never be read as this run's: remove them first.
for t in $TARGETS; do rm -f "logs/$t.log" "logs/$t.rc"; done
cargo fuzz build --release --sanitizer "$SANITIZER" >/dev/null

# Runs one target and writes its exit status to logs/<target>.rc (also when it fails:
# `set -e` must not end the function before the status is recorded).
run_one() {
    local t="$1" rc=0
    mkdir -p "corpus/$t" "artifacts/$t"
    cargo fuzz run --release --sanitizer "$SANITIZER" "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" -rss_limit_mb=4096 >"logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"logs/$t.rc"
    return "$rc"
}

status=0
if [ -n "${PARALLEL:-}" ]; then
    declare -A pids=()
    for t in $TARGETS; do
        run_one "$t" &
        pids[$t]=$!
    done
    # Wait for each job by its PID, so every exit status is collected.
    for t in $TARGETS; do
        wait "${pids[$t]}" || status=1
    done
else
    for t in $TARGETS; do run_one "$t" || status=1; done
fi

printf '%-18s %12s %10s %8s %s\n' target executions "exec/s" cov result
for t in $TARGETS; do
    log="logs/$t.log"
    rc="$(cat "logs/$t.rc" 2>/dev/null || true)"
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | tail -1 || true)"
    speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | tail -1 || true)"
    cov="$(grep -o 'cov: [0-9]*' "$log" 2>/dev/null | tail -1 | grep -o '[0-9]*' || true)"
    result=ok
    if [ -z "$rc" ]; then
        result="CRASH (no exit status recorded; see $log)"
        status=1
    elif [ "$rc" != 0 ]; then
        result="CRASH (exit $rc; see $log and artifacts/$t/)"
        status=1
    fi
    printf '%-18s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "$result"
done
exit "$status"
