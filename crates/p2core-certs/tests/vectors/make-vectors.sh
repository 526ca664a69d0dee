#!/bin/sh
# Regenerates the OpenSSL-made test vectors in this directory.
# Made with: OpenSSL 3.0.19 (any OpenSSL 3 works). Keys are random, so every
# run produces different files; tests only rely on the properties below.
#
# Validity: roots 36500 days, actor certificates 36000 days (so they end
# before the root), both starting when the script runs; the tests verify at
# a fixed time after generation (see openssl_vectors.rs).
set -eu
cd "$(dirname "$0")"
rm -f ./*.pem ./*.key ./*.srl

CNF=openssl.cnf
# Domain components most significant first (RFC 2247, X.501): example.com is
# DC=com, DC=example. OpenSSL's -subj lists RDNs in encoded order; its RFC 2253
# RFC 2253 printout (-nameopt RFC2253) shows them reversed: DC=example,DC=com.
# Actor subjects: DC..., UID, CN, uniqueIdentifier (the order p2core writes).
SUBJ_ROOT="/DC=com/DC=example"
SUBJ_ALICE="/DC=com/DC=example/UID=alice@example.com/CN=alice/uniqueIdentifier=laptop-1"
# The order p2core wrote before 0.2 (least significant first): rejected now.
SUBJ_OLD_ROOT="/DC=example/DC=com"
SUBJ_OLD_ALICE="/DC=example/DC=com/CN=alice/UID=alice@example.com/uniqueIdentifier=laptop-1"

key() { openssl genpkey -algorithm ed25519 -out "$1.key"; }

# root <out> <key> <subject> <extension section>
root() {
    openssl req -new -x509 -config "$CNF" -key "$2" -subj "$3" -days 36500 \
        -set_serial 1 -extensions "$4" -out "$1"
}

# csr <out> <key> <subject> [-addext ...]
csr() {
    out=$1 k=$2 subj=$3
    shift 3
    openssl req -new -config "$CNF" -key "$k" -subj "$subj" "$@" -out "$out"
}

# actor <out> <csr> <extension section> <serial>   (signed by root.pem)
actor() {
    openssl x509 -req -in "$2" -CA root.pem -CAkey root.key -days 36000 \
        -extfile "$CNF" -extensions "$3" -set_serial "$4" -out "$1"
}

# ---------------------------------------------------------------- good
key root
root root.pem root.key "$SUBJ_ROOT" root

key alice
csr alice.csr.pem alice.key "$SUBJ_ALICE" -addext "keyUsage=critical,digitalSignature"
actor alice.pem alice.csr.pem actor 4660
actor alice-content-commitment.pem alice.csr.pem actor_cc 4661
actor alice-unknown-noncritical.pem alice.csr.pem actor_unknown_noncrit 4662
# OpenSSL's default serial: random, 20 octets, >= 2^63 (accepted: RFC 5280 allows 1-20 octets)
openssl x509 -req -in alice.csr.pem -CA root.pem -CAkey root.key -days 36000 \
    -extfile "$CNF" -extensions actor -out alice-random-serial.pem
# CN, UID and uniqueIdentifier may follow the DCs in any order
csr alice-cn-first.csr.pem alice.key "/DC=com/DC=example/CN=alice/UID=alice@example.com/uniqueIdentifier=laptop-1"
csr alice-session-first.csr.pem alice.key "/DC=com/DC=example/uniqueIdentifier=laptop-1/CN=alice/UID=alice@example.com"
actor alice-cn-first.pem alice-cn-first.csr.pem actor 4680
actor alice-session-first.pem alice-session-first.csr.pem actor 4681

# ---------------------------------------------------------------- bad roots
root bad-root-bc-noncritical.pem root.key "$SUBJ_ROOT" root_bc_noncrit
root bad-root-no-pathlen.pem root.key "$SUBJ_ROOT" root_no_pathlen
root bad-root-ku-noncritical.pem root.key "$SUBJ_ROOT" root_ku_noncrit
root bad-root-no-keyusage.pem root.key "$SUBJ_ROOT" root_no_ku
root bad-root-cn.pem root.key "$SUBJ_ROOT/CN=example.com" root
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key
root bad-root-ec.pem ec.key "$SUBJ_ROOT" root

# ---------------------------------------------------------------- bad actor certificates
actor bad-actor-ku-noncritical.pem alice.csr.pem actor_ku_noncrit 4663
actor bad-actor-bc-noncritical.pem alice.csr.pem actor_bc_noncrit 4664
actor bad-actor-ca.pem alice.csr.pem actor_ca 4665
actor bad-actor-keycertsign.pem alice.csr.pem actor_kcs 4666
actor bad-actor-no-keyusage.pem alice.csr.pem actor_no_ku 4667
actor bad-actor-unknown-critical.pem alice.csr.pem actor_unknown_crit 4668
# serial 0 and a 21-octet serial (RFC 5280: positive, at most 20 octets)
actor bad-actor-serial-zero.pem alice.csr.pem actor 0
actor bad-actor-serial-21-octets.pem alice.csr.pem actor 0x7f0102030405060708090a0b0c0d0e0f1011121314
# no extensions at all: OpenSSL writes an X.509 v1 certificate
openssl x509 -req -in alice.csr.pem -CA root.pem -CAkey root.key -days 36000 \
    -set_serial 4669 -out bad-actor-v1.pem
# longer than the root
openssl x509 -req -in alice.csr.pem -CA root.pem -CAkey root.key -days 40000 \
    -extfile "$CNF" -extensions actor -set_serial 4670 -out bad-actor-outside-root.pem
# signed by another key under the same name
key other-root
root other-root.pem other-root.key "$SUBJ_ROOT" root
openssl x509 -req -in alice.csr.pem -CA other-root.pem -CAkey other-root.key -days 36000 \
    -extfile "$CNF" -extensions actor -set_serial 4671 -out bad-actor-other-key.pem

# subjects that break one rule each; the CSRs are vectors too
csr bad-csr-missing-uid.csr.pem alice.key "/DC=com/DC=example/CN=alice/uniqueIdentifier=laptop-1"
csr bad-csr-cn-mismatch.csr.pem alice.key "/DC=com/DC=example/UID=alice@example.com/CN=bob/uniqueIdentifier=laptop-1"
csr bad-csr-dc-order.csr.pem alice.key "$SUBJ_OLD_ALICE"
csr bad-csr-foreign-dcs.csr.pem alice.key "/DC=org/DC=other/UID=alice@other.org/CN=alice/uniqueIdentifier=laptop-1"
csr bad-csr-long-session.csr.pem alice.key "/DC=com/DC=example/UID=alice@example.com/CN=alice/uniqueIdentifier=123456789012345678901234567890123"
csr bad-csr-duplicate-cn.csr.pem alice.key "/DC=com/DC=example/UID=alice@example.com/CN=alice/CN=alice/uniqueIdentifier=laptop-1"
csr bad-csr-dc-not-first.csr.pem alice.key "/DC=com/UID=alice@example.com/DC=example/CN=alice/uniqueIdentifier=laptop-1"
actor bad-actor-missing-uid.pem bad-csr-missing-uid.csr.pem actor 4672
actor bad-actor-cn-mismatch.pem bad-csr-cn-mismatch.csr.pem actor 4673
actor bad-actor-dc-order.pem bad-csr-dc-order.csr.pem actor 4674
actor bad-actor-foreign-dcs.pem bad-csr-foreign-dcs.csr.pem actor 4675
actor bad-actor-long-session.pem bad-csr-long-session.csr.pem actor 4676
actor bad-actor-duplicate-cn.pem bad-csr-duplicate-cn.csr.pem actor 4677
actor bad-actor-dc-not-first.pem bad-csr-dc-not-first.csr.pem actor 4678

# ---------------------------------------------------------------- the old DC order
# A root and actor certificate both written least significant first, consistent
# with each other: the DCs spell com.example, not the UID's example.com.
root old-order-root.pem root.key "$SUBJ_OLD_ROOT" root
csr old-order-alice.csr.pem alice.key "$SUBJ_OLD_ALICE"
openssl x509 -req -in old-order-alice.csr.pem -CA old-order-root.pem -CAkey root.key -days 36000 \
    -extfile "$CNF" -extensions actor -set_serial 4679 -out old-order-alice.pem

# ---------------------------------------------------------------- bad CSRs (requests)
csr bad-csr-ca.csr.pem alice.key "$SUBJ_ALICE" -addext "basicConstraints=critical,CA:TRUE"
csr bad-csr-keycertsign.csr.pem alice.key "$SUBJ_ALICE" -addext "keyUsage=critical,digitalSignature,keyCertSign"
csr bad-csr-ec.csr.pem ec.key "$SUBJ_ALICE"

rm -f ./*.srl
