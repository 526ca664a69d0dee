//! Certificate benchmarks: parsing, full verification and issuance, next to
//! the raw Ed25519 operations they are built on.
//!
//! Run: `cargo bench -p p2core-certs --bench certs -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, SigningKey};
use p2core_certs::{Issuer, build_csr, create_root_cert, verify_actor_cert};
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, SessionId, UnixTimestamp};

const NOW: UnixTimestamp = UnixTimestamp(1_800_000_000);

struct Fixture {
    issuer: Issuer,
    root: IdCert,
    root_key: SigningKey,
    csr: IdCsr,
    csr_pem: String,
    cert: IdCert,
    cert_pem: String,
    actor: FederationId,
}

fn fixture() -> Fixture {
    let domain: DomainName = "example.com".parse().unwrap();
    let root_key = SigningKey::from_bytes(&[1; 32]);
    let root = create_root_cert(
        &root_key,
        &domain,
        UnixTimestamp(NOW.0 - 86400),
        UnixTimestamp(NOW.0 + 365 * 86400),
        1,
    )
    .unwrap();
    let issuer = Issuer::new(root.clone(), root_key.clone()).unwrap();
    let actor: FederationId = "alice@example.com".parse().unwrap();
    let session_key = SigningKey::from_bytes(&[2; 32]);
    let csr = build_csr(&session_key, &actor, &SessionId::new("laptop-1").unwrap()).unwrap();
    let cert = issuer.issue(&csr, &actor, NOW, None, 4242).unwrap();
    Fixture {
        csr_pem: csr.to_pem(),
        cert_pem: cert.to_pem(),
        issuer,
        root,
        root_key,
        csr,
        cert,
        actor,
    }
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let root_vk = f.root_key.verifying_key();
    let cert_sig = Signature::from_slice(f.cert.signature_bytes()).unwrap();
    let csr_vk = *f.csr.public_key().unwrap();
    let csr_sig = Signature::from_slice(f.csr.signature_bytes()).unwrap();
    // the root is cached by a verifier; its self-signature is checked once
    verify_actor_cert(&f.cert, &f.root, NOW).unwrap();

    let mut g = c.benchmark_group("verify");
    g.bench_function("raw verify_strict (baseline)", |b| {
        b.iter(|| {
            root_vk
                .verify_strict(black_box(f.cert.tbs_der()), black_box(&cert_sig))
                .unwrap()
        })
    });
    g.bench_function("parse PEM actor cert", |b| {
        b.iter(|| IdCert::from_pem(black_box(&f.cert_pem)).unwrap())
    });
    g.bench_function("parse DER actor cert", |b| {
        b.iter(|| IdCert::from_der(black_box(f.cert.as_der())).unwrap())
    });
    g.bench_function("verify parsed actor cert", |b| {
        b.iter(|| verify_actor_cert(black_box(&f.cert), &f.root, NOW).unwrap())
    });
    g.bench_function("full: parse DER + verify actor cert", |b| {
        b.iter(|| {
            let cert = IdCert::from_der(black_box(f.cert.as_der())).unwrap();
            verify_actor_cert(&cert, &f.root, NOW).unwrap()
        })
    });
    g.bench_function("full: parse PEM + verify actor cert", |b| {
        b.iter(|| {
            let cert = IdCert::from_pem(black_box(&f.cert_pem)).unwrap();
            verify_actor_cert(&cert, &f.root, NOW).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("issue");
    g.bench_function("raw verify_strict + sign (baseline)", |b| {
        b.iter(|| {
            csr_vk
                .verify_strict(black_box(f.csr.info_der()), black_box(&csr_sig))
                .unwrap();
            f.root_key.sign(black_box(f.cert.tbs_der()))
        })
    });
    g.bench_function("raw sign", |b| {
        b.iter(|| f.root_key.sign(black_box(f.cert.tbs_der())))
    });
    g.bench_function("issue from parsed CSR", |b| {
        b.iter(|| {
            f.issuer
                .issue(black_box(&f.csr), &f.actor, NOW, None, 4242)
                .unwrap()
        })
    });
    g.bench_function("issue from PEM CSR", |b| {
        b.iter(|| {
            let csr = IdCsr::from_pem(black_box(&f.csr_pem)).unwrap();
            f.issuer.issue(&csr, &f.actor, NOW, None, 4242).unwrap()
        })
    });
    g.finish();
}

criterion_group!(certs, benches);
criterion_main!(certs);
