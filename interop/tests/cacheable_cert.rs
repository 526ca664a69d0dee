//! The current revision's `CacheableIdCert` and JCS against the official SDK:
//! entries p2core signs deserialize into polyproto 0.21's type and pass its
//! own `verify`; p2core's canonical JSON is byte-identical to what
//! `serde_json_canonicalizer` (the RFC 8785 writer polyproto uses) makes.

mod common;

use common::PpPub;
use ed25519_dalek::SigningKey;
use p2core_certs::{Issuer, build_csr, create_root_cert, verify_cacheable};
use p2core_types::{
    CacheableIdCert, DomainName, FederationId, IdCert, SessionId, UnixTimestamp, jcs,
};
use serde_json::json;

fn issued() -> (SigningKey, IdCert, IdCert) {
    let now = UnixTimestamp::now();
    let root_key = SigningKey::from_bytes(&[4; 32]);
    let domain = DomainName::new("example.com").unwrap();
    let root =
        create_root_cert(&root_key, &domain, now, now.saturating_add(86_400), 12_345).unwrap();
    let fid = FederationId::new("alice@example.com").unwrap();
    let csr = build_csr(
        &SigningKey::from_bytes(&[5; 32]),
        &fid,
        &SessionId::new("phone").unwrap(),
    )
    .unwrap();
    let cert = Issuer::new(root.clone(), root_key.clone())
        .unwrap()
        .issue(&csr, &fid, now, None, 0x7fff_ffff_ffff_fff0)
        .unwrap();
    (root_key, root, cert)
}

#[test]
fn entries_signed_by_p2core_pass_the_sdk_verification() {
    let (root_key, root, cert) = issued();
    let now = UnixTimestamp::now();
    for invalidated in [None, Some(now)] {
        let ours =
            CacheableIdCert::sign(&cert, now, now.saturating_add(3600), invalidated, &root_key)
                .unwrap();
        let text = ours.to_canonical_json();
        let theirs: polyproto::api::cacheable_cert::CacheableIdCert =
            serde_json::from_str(&text).expect("polyproto reads p2core's JSON");
        assert_eq!(theirs.cache_not_valid_before, now.0);
        assert_eq!(theirs.invalidated_at, invalidated.map(|t| t.0));
        theirs
            .verify::<common::PpSig, PpPub>(&PpPub(root_key.verifying_key()))
            .expect("polyproto verifies p2core's cache signature");
        // And what polyproto writes back is what p2core reads and verifies.
        let back: CacheableIdCert =
            serde_json::from_str(&serde_json::to_string(&theirs).unwrap()).unwrap();
        assert_eq!(back, ours);
        verify_cacheable(&back, &root, now).unwrap();
    }
}

#[test]
fn the_sdk_accepts_what_p2core_refuses() {
    // polyproto 0.21's verify has no clock: an entry whose window ended a year
    // ago passes it. p2core refuses it (docs/interop.md).
    let (root_key, root, cert) = issued();
    let now = UnixTimestamp::now();
    let old = UnixTimestamp(now.0 - 400 * 86_400);
    let stale =
        CacheableIdCert::sign(&cert, old, old.saturating_add(3600), None, &root_key).unwrap();
    let theirs: polyproto::api::cacheable_cert::CacheableIdCert =
        serde_json::from_str(&stale.to_canonical_json()).unwrap();
    assert!(
        theirs
            .verify::<common::PpSig, PpPub>(&PpPub(root_key.verifying_key()))
            .is_ok()
    );
    assert!(verify_cacheable(&stale, &root, now).is_err());
}

#[test]
fn p2core_jcs_matches_the_canonicalizer_polyproto_uses() {
    let (root_key, _, cert) = issued();
    let now = UnixTimestamp::now();
    let entry =
        CacheableIdCert::sign(&cert, now, now.saturating_add(60), Some(now), &root_key).unwrap();
    let samples = vec![
        serde_json::to_value(&entry).unwrap(),
        serde_json::to_value(vec![entry.clone(), entry]).unwrap(),
        json!({
            "\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew",
            "1": "One", "\u{1f600}": "Emoji", "\u{80}": "Control", "\u{f6}": "o-umlaut"
        }),
        json!({"string": "\u{20ac}$\u{f}\nA'B\"\\\\\"/", "ctl": "\u{1}\u{1f}\u{7f}\u{8}\u{c}\t\r"}),
        json!({"b": [true, false, null, 0, -1, 9007199254740991u64, 18446744073709551615u64],
               "a": {"z": {}, "y": [], "": ""}}),
        json!({"problem": {"type": "about:blank", "status": 404, "namespace": "https://polyproto.org/core"}}),
        json!([
            0.5,
            4.5,
            0.002,
            333333333.3333333,
            1e20,
            123456789.125,
            -0.000001,
            9007199254740993u64,
            -9007199254740993i64,
            0.1,
            0.30000000000000004,
            1.7976931348623157e20
        ]),
    ];
    for v in samples {
        let ours = jcs::value_to_string(&v).unwrap();
        let theirs = serde_json_canonicalizer::to_string(&v).unwrap();
        assert_eq!(ours, theirs, "for {v}");
        assert!(jcs::is_canonical(&theirs));
    }
}

#[test]
fn p2core_problem_details_parse_as_the_sdks_p2_problem_details() {
    use p2core_types::problem::ProblemDetails;
    let ours = ProblemDetails::core(p2core_types::ErrorCode::NotFound, "no such actor");
    let text = ours.to_canonical_json();
    assert_eq!(serde_json_canonicalizer::pipe(&text).unwrap(), text);
    let theirs: polyproto::errors::problem_details::P2ProblemDetails =
        serde_json::from_str(&text).expect("polyproto reads p2core's problem details");
    assert_eq!(theirs.namespace().to_string(), "https://polyproto.org/core");
    let pd = theirs.as_problem_details();
    assert_eq!(pd.status.map(|s| s.as_u16()), Some(404));
    assert_eq!(pd.detail.as_deref(), Some("no such actor"));
}
