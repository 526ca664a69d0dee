#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60) and prints, per
# target, the executions, the coverage counter and any crash.
#
#   fuzz/run.sh 600                 # 10 minutes per target
#   TARGETS="idcert idcsr" fuzz/run.sh 60
#   SANITIZER=address fuzz/run.sh 60  # ASan (slower); default: none
#   PARALLEL=1 fuzz/run.sh 600        # all targets at the same time
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz passes nightly-only flags to
# rustc; on a stable toolchain RUSTC_BOOTSTRAP=1 lets them through.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-60}"
SANITIZER="${SANITIZER:-none}"
TARGETS="${TARGETS:-idcert idcsr identifiers keypackage legacy_pem route_bodies gateway_envelope gateway_connection}"
export RUSTC_BOOTSTRAP=1

[ -d corpus ] || ./seed.sh
mkdir -p logs
cargo fuzz build --release --sanitizer "$SANITIZER" >/dev/null
run_one() {
    local t="$1"
    mkdir -p "corpus/$t" "artifacts/$t"
    cargo fuzz run --release --sanitizer "$SANITIZER" "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" -rss_limit_mb=4096 >"logs/$t.log" 2>&1
    echo $? >"logs/$t.rc"
}

if [ -n "${PARALLEL:-}" ]; then
    for t in $TARGETS; do run_one "$t" & done
    wait
else
    for t in $TARGETS; do run_one "$t"; done
fi

status=0
printf '%-18s %12s %10s %8s %s\n' target executions "exec/s" cov result
for t in $TARGETS; do
    log="logs/$t.log"
    rc="$(cat "logs/$t.rc")"
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')"
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="CRASH (exit $rc; see $log and artifacts/$t/)"
        status=1
    fi
    printf '%-18s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "$result"
done
exit "$status"
