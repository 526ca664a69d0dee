#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/<target>/ (not committed):
# the OpenSSL-made vectors of crates/p2core-certs/tests/vectors (DER and PEM),
# and KeyPackages, certificates, CSRs, bodies and events made by openmls and
# p2core (fuzz/examples/make_seeds.rs).
set -euo pipefail
cd "$(dirname "$0")"
command -v openssl >/dev/null || { echo "seed.sh needs openssl" >&2; exit 1; }
mkdir -p corpus/idcert corpus/idcsr
for pem in ../crates/p2core-certs/tests/vectors/*.pem; do
    name="$(basename "$pem" .pem)"
    if grep -q "BEGIN CERTIFICATE REQUEST" "$pem"; then
        openssl req -in "$pem" -outform DER -out "corpus/idcsr/$name.der"
        cp "$pem" "corpus/idcsr/$name.pem"
    elif grep -q "BEGIN CERTIFICATE" "$pem"; then
        openssl x509 -in "$pem" -outform DER -out "corpus/idcert/$name.der"
        cp "$pem" "corpus/idcert/$name.pem"
    fi
done
# the debug build shares the workspace target directory (already built by `cargo test`)
CARGO_TARGET_DIR=../target cargo run --quiet --example make_seeds -- corpus
for d in corpus/*/; do echo "$d: $(ls "$d" | wc -l) seeds"; done
