//! MLS KeyPackages from TLS bytes and from Base64, with the polyproto binding check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::keypackage::KeyPackage;
use p2core_types::{FederationId, UnixTimestamp};

fuzz_target!(|data: &[u8]| {
    let fid = FederationId::new("alice@example.com").expect("fid");
    let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
    if let Ok(kp) = KeyPackage::from_tls_bytes(data) {
        assert_eq!(kp.tls_bytes(), data);
        let _ = kp.verify_binding(&fid, &key);
        let _ = (
            kp.has_last_resort_extension(),
            kp.basic_credential_identity(),
        );
        let _ = kp.is_expired_at(UnixTimestamp(u64::MAX));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = KeyPackage::parse_for_session(s, &fid, &key);
    }
});
