#!/usr/bin/env bash
# Load test of the example home server; the results go in docs/benchmarks.md.
# Targets: the actor certificate lookup and the server certificate (both answered from the
# response cache after the first request of each second / after a change), a challenge, and the
# bare axum ceiling (examples/bare_axum.rs).
# Needs wrk (Debian: apt-get install wrk), curl, jq and openssl. Runs everything on loopback,
# with bounded duration, and cleans up after itself.
#
#   examples/home-server/loadtest.sh            # 10 s per target, 2 wrk threads, 64 connections
#   DURATION=30s CONNS=128 examples/home-server/loadtest.sh
#   UNCACHED=1 examples/home-server/loadtest.sh   # also the uncached actor lookup (?timestamp=)
#
# Challenges are held in memory, at most --max-challenges (default 100,000) at once; a 10 s run
# issues more than that, so the server runs with MAX_CHALLENGES (default 2,000,000) to measure
# issuance rather than the 503 answers of a full store.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-10s}"; CONNS="${CONNS:-64}"; THREADS="${THREADS:-2}"
MAX_CHALLENGES="${MAX_CHALLENGES:-2000000}"
PORT=3100; BARE_PORT=3199
BASE="http://127.0.0.1:$PORT"; API="$BASE/.p2/core/v1"

cargo build --release -q -p p2core-home-server --bins --example bare_axum
DATA="$(mktemp -d)"; WORK="$(mktemp -d)"
# Rate limits off and the per-address / per-network bounds lifted: every request comes from
# 127.0.0.1, one address of one network (docs/operations.md). CONNS wrk connections stay open.
./target/release/p2core-home-server --listen "127.0.0.1:$PORT" --data "$DATA" \
  --rate-register-per-minute 0 --rate-trust-per-minute 0 --rate-challenge-per-minute 0 --rate-identify-per-minute 0 \
  --max-challenges "$MAX_CHALLENGES" --max-challenges-per-network "$MAX_CHALLENGES" \
  --max-connections-per-address 0 2>"$WORK/server.log" & SRV=$!
./target/release/examples/bare_axum "127.0.0.1:$BARE_PORT" & BARE=$!
trap 'kill $SRV $BARE 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA" "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "$API/challenge" >/dev/null 2>&1 && break; sleep 0.1; done

# one actor with one session, so that the certificate lookup returns a real certificate
cd "$WORK"
jq -n '{username: "bench", password: "bench-password"}' |
  curl -sS --fail-with-body -H 'content-type: application/json' --data @- "$API/register" >/dev/null
openssl genpkey -algorithm ed25519 -out s.key
openssl req -new -key s.key -out s.csr -subj "/DC=localhost/UID=bench@localhost/CN=bench/uniqueIdentifier=s1"
jq -n --rawfile csr s.csr '{username: "bench", password: "bench-password", csr: $csr}' |
  curl -sS --fail-with-body -H 'content-type: application/json' --data @- "$API/session/trust" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
TARGETS=("$API/idcert/actor/bench@localhost" "$API/idcert/server" "$API/challenge" "http://127.0.0.1:$BARE_PORT/bare")
# UNCACHED=1 adds the actor lookup with `timestamp`, which bypasses the response cache (a database
# read and a JSON encoding per request, as every lookup was before issue 14).
if [ "${UNCACHED:-0}" = 1 ]; then TARGETS+=("$API/idcert/actor/bench@localhost?timestamp=$(date +%s)"); fi
for target in "${TARGETS[@]}"; do
  echo; echo "== wrk -t$THREADS -c$CONNS -d$DURATION --latency $target"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$target"
done
