//! The legacy Base64-of-PEM fields (seed 003) and their in-place rewriting of JSON bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_routes::LegacyEncoding;
use p2core_routes::legacy::{base64_to_pem, decode_request_value, looks_like_pem, pem_to_base64};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pem) = base64_to_pem(s) {
        assert!(looks_like_pem(&pem));
        assert_eq!(
            base64_to_pem(&pem_to_base64(&pem)).as_deref(),
            Ok(pem.as_str())
        );
    }
    let _ = LegacyEncoding::Base64Pem.decode_pem(s);
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(s) {
        let _ = decode_request_value(&mut v);
    }
});
