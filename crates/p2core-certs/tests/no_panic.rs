//! No-panic sweep of p2core-certs: arbitrary bytes and random mutations of
//! valid certificates and CSRs (issued at test time, plus every committed
//! OpenSSL vector) go through parsing, `verify_root`, `verify_actor_cert`,
//! `verify_csr`, `Issuer::new` and `Issuer::issue`. Each returns, never panics;
//! whatever parses re-serialises to exactly the received bytes.

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use p2core_certs::{
    Issuer, build_csr, create_root_cert, verify_actor_cert, verify_csr, verify_root,
};
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, SessionId, UnixTimestamp};
use proptest::prelude::*;

struct Seeds {
    now: UnixTimestamp,
    domain: DomainName,
    fid: FederationId,
    root_key: SigningKey,
    root: IdCert,
    certs: Vec<Vec<u8>>,
    csrs: Vec<Vec<u8>>,
}

/// A root, an actor certificate and a CSR made by p2core now, plus the DER of
/// every PEM file in `tests/vectors` (made by OpenSSL; their exact contents do
/// not matter here).
fn seeds() -> &'static Seeds {
    static S: OnceLock<Seeds> = OnceLock::new();
    S.get_or_init(|| {
        let now = UnixTimestamp::now();
        let domain: DomainName = "example.com".parse().unwrap();
        let fid = FederationId::from_parts("alice", &domain).unwrap();
        let root_key = SigningKey::from_bytes(&[1; 32]);
        let root = create_root_cert(
            &root_key,
            &domain,
            UnixTimestamp(now.as_secs() - 86_400),
            now.saturating_add(86_400 * 30),
            1,
        )
        .unwrap();
        let issuer = Issuer::new(root.clone(), root_key.clone()).unwrap();
        let csr = build_csr(
            &SigningKey::from_bytes(&[2; 32]),
            &fid,
            &SessionId::new("s1").unwrap(),
        )
        .unwrap();
        let cert = issuer.issue(&csr, &fid, now, None, 77).unwrap();
        let mut certs = vec![root.as_der().to_vec(), cert.as_der().to_vec()];
        let mut csrs = vec![csr.as_der().to_vec()];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if let Ok(c) = IdCert::from_pem(&text) {
                certs.push(c.as_der().to_vec());
            } else if let Ok(c) = IdCsr::from_pem(&text) {
                csrs.push(c.as_der().to_vec());
            }
        }
        assert!(certs.len() > 5 && csrs.len() > 3, "the vectors are there");
        Seeds {
            now,
            domain,
            fid,
            root_key,
            root,
            certs,
            csrs,
        }
    })
}

fn mutate(
    mut b: Vec<u8>,
    flips: &[(usize, u8)],
    cut: Option<usize>,
    insert: Option<(usize, u8)>,
) -> Vec<u8> {
    for &(i, x) in flips {
        let n = b.len();
        if n > 0 {
            b[i % n] ^= x;
        }
    }
    if let Some((i, x)) = insert {
        let at = i % (b.len() + 1);
        b.insert(at, x);
    }
    if let Some(c) = cut {
        let n = b.len() + 1;
        b.truncate(c % n);
    }
    b
}

fn sweep_cert(b: &[u8]) {
    let s = seeds();
    let Ok(cert) = IdCert::from_der(b) else {
        return;
    };
    assert_eq!(cert.as_der(), b);
    for now in [s.now, UnixTimestamp(0), UnixTimestamp(u64::MAX)] {
        let _ = verify_root(&cert, now).map_err(|e| e.to_string());
        let _ = verify_actor_cert(&cert, &s.root, now).map_err(|e| e.to_string());
        // the mutated certificate as the root of the seed actor certificate
        if let Ok(actor) = IdCert::from_der(&s.certs[1]) {
            let _ = verify_actor_cert(&actor, &cert, now);
        }
    }
    if let Ok(issuer) = Issuer::new(cert, s.root_key.clone()) {
        let _ = issuer.validity_for(s.now, None);
        if let Ok(csr) = IdCsr::from_der(&s.csrs[0]) {
            let _ = issuer.issue(&csr, &s.fid, s.now, None, 5);
            let _ = issuer.issue(
                &csr,
                &s.fid,
                UnixTimestamp(u64::MAX),
                Some(std::time::Duration::MAX),
                u64::MAX,
            );
        }
    }
}

fn sweep_csr(b: &[u8]) {
    let s = seeds();
    let Ok(csr) = IdCsr::from_der(b) else {
        return;
    };
    assert_eq!(csr.as_der(), b);
    let _ = verify_csr(&csr, &s.fid, &s.domain).map_err(|e| e.to_string());
    if let Some(fid) = csr.subject_fid() {
        let _ = verify_csr(&csr, fid, fid.domain());
    }
    let issuer = Issuer::new(s.root.clone(), s.root_key.clone()).unwrap();
    let _ = issuer.issue(&csr, &s.fid, s.now, None, 9);
    let _ = issuer.issue(&csr, &s.fid, UnixTimestamp(u64::MAX), None, 0);
}

proptest! {
    #[test]
    fn arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..700)) {
        sweep_cert(&b);
        sweep_csr(&b);
    }

    #[test]
    fn mutated_certificates(
        seed in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        cut in prop::option::of(any::<usize>()),
        insert in prop::option::of((any::<usize>(), any::<u8>())),
    ) {
        let s = seeds();
        let b = mutate(seed.get(&s.certs).clone(), &flips, cut, insert);
        sweep_cert(&b);
    }

    #[test]
    fn mutated_csrs(
        seed in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        cut in prop::option::of(any::<usize>()),
        insert in prop::option::of((any::<usize>(), any::<u8>())),
    ) {
        let s = seeds();
        let b = mutate(seed.get(&s.csrs).clone(), &flips, cut, insert);
        sweep_csr(&b);
    }

    #[test]
    fn issuance_parameters(now in any::<u64>(), days in any::<u64>(), serial in any::<u64>()) {
        let s = seeds();
        let issuer = Issuer::new(s.root.clone(), s.root_key.clone()).unwrap();
        let csr = IdCsr::from_der(&s.csrs[0]).unwrap();
        let lifetime = std::time::Duration::from_secs(days);
        let _ = issuer.validity_for(UnixTimestamp(now), Some(lifetime));
        let _ = issuer.issue(&csr, &s.fid, UnixTimestamp(now), Some(lifetime), serial);
        let _ = create_root_cert(&s.root_key, &s.domain, UnixTimestamp(now), UnixTimestamp(days), serial);
    }
}
