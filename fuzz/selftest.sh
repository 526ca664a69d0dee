#!/usr/bin/env bash
# Proves that fuzz/run.sh fails when a target crashes, in parallel mode and with stale
# "ok" results of an earlier run lying in fuzz/logs/ (the bug of issue 13 item 15).
#
# Runs `PARALLEL=1 TARGETS="selftest_crash identifiers" run.sh 5` once: `selftest_crash`
# panics on its first input, `identifiers` is a normal target. Before that it writes logs
# and exit statuses (0) of a successful run for both. It asserts that run.sh exits
# non-zero, prints CRASH for selftest_crash and ok for identifiers, and that a crashing
# input was saved. Prints "selftest passed" and exits 0 when all of this holds.
set -euo pipefail
cd "$(dirname "$0")"
command -v cargo-fuzz >/dev/null || {
    echo "selftest.sh needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2
    exit 1
}

fail() { echo "selftest FAILED: $*" >&2; exit 1; }

# run.sh seeds fuzz/corpus/ when it is missing; a corpus dir made here only for this
# test would stop that later, so it is removed again.
made_corpus=
[ -d corpus ] || { mkdir -p corpus; made_corpus=1; }
rm -rf artifacts/selftest_crash corpus/selftest_crash
cleanup() {
    rm -rf artifacts/selftest_crash corpus/selftest_crash
    [ -z "$made_corpus" ] || rm -rf corpus
}
trap cleanup EXIT

# Stale results of a successful earlier run.
mkdir -p logs
for t in selftest_crash identifiers; do
    printf 'stat::number_of_executed_units: 1000000\nstat::average_exec_per_sec: 9999\ncov: 1 ft: 1\n' \
        >"logs/$t.log"
    echo 0 >"logs/$t.rc"
done

set +e
out="$(PARALLEL=1 TARGETS="selftest_crash identifiers" ./run.sh 5 2>&1)"
rc=$?
set -e
echo "$out"
echo "run.sh exit status: $rc"

[ "$rc" -ne 0 ] || fail "run.sh exited 0 although selftest_crash crashed"
echo "$out" | grep -Eq '^selftest_crash +.*CRASH' || fail "no CRASH line for selftest_crash"
echo "$out" | grep -Eq '^identifiers +.* ok$' || fail "identifiers was not reported ok"
grep -q 'crashing on purpose' logs/selftest_crash.log || fail "the crash is not in logs/selftest_crash.log"
ls artifacts/selftest_crash/crash-* >/dev/null 2>&1 || fail "no crashing input saved in artifacts/selftest_crash/"
echo "selftest passed"
