//! Parsing ID-Certs and ID-CSRs from PEM and DER.

use p2core_types::{CertParseError, IdCert, IdCsr};

const ROOT_PEM: &str = include_str!("vectors/root.pem");
const ALICE_PEM: &str = include_str!("vectors/alice.pem");
const CSR_PEM: &str = include_str!("vectors/alice.csr.pem");

#[test]
fn to_pem_reproduces_openssl_pem_exactly() {
    for pem in [ROOT_PEM, ALICE_PEM] {
        assert_eq!(IdCert::from_pem(pem).unwrap().to_pem(), pem);
    }
    assert_eq!(IdCsr::from_pem(CSR_PEM).unwrap().to_pem(), CSR_PEM);
}

#[test]
fn pem_variants_that_are_accepted() {
    let der = IdCert::from_pem(ALICE_PEM).unwrap().as_der().to_vec();
    let crlf = ALICE_PEM.replace('\n', "\r\n");
    let preamble = format!("Subject: alice\nIssuer: example.com\n{ALICE_PEM}");
    let padded = format!("\n\n  {ALICE_PEM}\n\n");
    let one_line = {
        let body: String = ALICE_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----")
    };
    for pem in [crlf, preamble, padded, one_line] {
        assert_eq!(IdCert::from_pem(&pem).unwrap().as_der(), der, "{pem}");
    }
}

#[test]
fn pem_variants_that_are_rejected() {
    let two = format!("{ALICE_PEM}{ROOT_PEM}");
    assert_eq!(
        IdCert::from_pem(&two).unwrap_err(),
        CertParseError::PemBlockCount(2)
    );
    assert_eq!(
        IdCert::from_pem("").unwrap_err(),
        CertParseError::PemBlockCount(0)
    );
    assert!(matches!(
        IdCert::from_pem(CSR_PEM).unwrap_err(),
        CertParseError::PemLabel { .. }
    ));
    assert!(matches!(
        IdCsr::from_pem(ALICE_PEM).unwrap_err(),
        CertParseError::PemLabel { .. }
    ));
    let trailing = format!("{ALICE_PEM}and then some");
    assert!(matches!(
        IdCert::from_pem(&trailing).unwrap_err(),
        CertParseError::Pem(_)
    ));
    let header = ALICE_PEM.replacen(
        "-----BEGIN CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n",
        1,
    );
    assert!(matches!(
        IdCert::from_pem(&header).unwrap_err(),
        CertParseError::Pem(_)
    ));
    let bad_b64 = ALICE_PEM.replacen("M", "*", 2);
    assert!(matches!(
        IdCert::from_pem(&bad_b64).unwrap_err(),
        CertParseError::Pem(_)
    ));
    let end_mismatch = ALICE_PEM.replace("-----END CERTIFICATE-----", "-----END X509 CRL-----");
    assert!(matches!(
        IdCert::from_pem(&end_mismatch).unwrap_err(),
        CertParseError::Pem(_)
    ));
    let truncated = &ALICE_PEM[..ALICE_PEM.len() - 10];
    assert!(IdCert::from_pem(truncated).is_err());
}

#[test]
fn der_must_be_exactly_one_certificate() {
    let cert = IdCert::from_pem(ALICE_PEM).unwrap();
    let mut der = cert.as_der().to_vec();
    der.push(0);
    assert!(matches!(
        IdCert::from_der(&der).unwrap_err(),
        CertParseError::Der(_)
    ));
    der.pop();
    der.pop();
    assert!(matches!(
        IdCert::from_der(&der).unwrap_err(),
        CertParseError::Der(_)
    ));
    // a CSR is not a certificate and vice versa
    assert!(IdCert::from_der(IdCsr::from_pem(CSR_PEM).unwrap().as_der()).is_err());
    assert!(IdCsr::from_der(cert.as_der()).is_err());
    assert!(IdCert::from_der(&[]).is_err());
    assert!(IdCert::from_der(&[0x30, 0x80, 0x00, 0x00]).is_err()); // BER indefinite length
}

#[test]
fn accessors_on_an_openssl_certificate() {
    let cert = IdCert::from_pem(ALICE_PEM).unwrap();
    assert_eq!(cert.subject_fid().unwrap().as_str(), "alice@example.com");
    assert_eq!(cert.session_id().unwrap().as_str(), "laptop-1");
    assert_eq!(cert.serial_u64(), Some(4660));
    assert!(cert.not_before() < cert.not_after());
    assert_eq!(cert.signature_bytes().len(), 64);
    assert!(cert.has_ed25519_key() && cert.public_key().is_some());
    // the TBS bytes are the first element inside the outer SEQUENCE
    let der = cert.as_der();
    let tbs = cert.tbs_der();
    assert_eq!(tbs[0], 0x30);
    assert_eq!(&der[4..4 + tbs.len()], tbs); // outer header is 30 82 LL LL
    let root = IdCert::from_pem(ROOT_PEM).unwrap();
    assert_eq!(root.subject_fid(), None);
    assert_eq!(root.session_id(), None);
    assert!(root.is_self_signed());
    assert!(cert.is_signed_by(root.public_key().unwrap()));
    assert!(!cert.is_self_signed());
    let csr = IdCsr::from_pem(CSR_PEM).unwrap();
    assert!(csr.is_self_signed());
    assert_eq!(csr.public_key(), cert.public_key());
    let info = csr.info_der();
    let offset = info.as_ptr() as usize - csr.as_der().as_ptr() as usize;
    assert_eq!(offset, 4); // after the outer header 30 82 LL LL
    assert_eq!(info[0], 0x30);
}

#[test]
fn certificates_with_other_keys_parse_without_an_ed25519_key() {
    let ec = IdCert::from_pem(include_str!("vectors/bad-root-ec.pem")).unwrap();
    assert!(!ec.has_ed25519_key());
    assert_eq!(ec.public_key(), None);
    let ec_csr = IdCsr::from_pem(include_str!("vectors/bad-csr-ec.csr.pem")).unwrap();
    assert_eq!(ec_csr.public_key(), None);
    assert!(!ec_csr.is_self_signed());
}
