#!/usr/bin/env bash
# Login-flood measurement of the example home server; the results go in docs/benchmarks.md.
# Starts the release server with its default limits on loopback, runs
# examples/login_flood.rs (N concurrent bogus POST /session/trust while GET /idcert/server is
# timed), stops the server. Bounded: N requests (default 300), loopback only.
#
#   examples/home-server/floodtest.sh          # N=300
#   N=1000 examples/home-server/floodtest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${N:-300}"; PORT="${PORT:-3101}"; BASE="http://127.0.0.1:$PORT"

cargo build --release -q -p p2core-home-server --bins --example login_flood
DATA="$(mktemp -d)"
./target/release/p2core-home-server --listen "127.0.0.1:$PORT" --data "$DATA" 2>"$DATA/server.log" & SRV=$!
trap 'kill $SRV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "$BASE/.p2/core/v1/idcert/server" >/dev/null 2>&1 && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
./target/release/examples/login_flood "$BASE" "$N"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
