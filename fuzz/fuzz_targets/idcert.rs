//! `IdCert::from_der` / `from_pem`, then verification against a fixed root
//! (as a root itself, and as an actor certificate under the fixed root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_certs::{verify_actor_cert, verify_root};
use p2core_fuzz::{FIXTURE, NOW};
use p2core_types::IdCert;

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;
    if let Ok(cert) = IdCert::from_der(data) {
        // whatever is accepted re-serialises to exactly the received bytes
        assert_eq!(cert.as_der(), data);
        let _ = (cert.subject_fid(), cert.session_id(), cert.public_key());
        let _ = (cert.serial_u64(), cert.is_self_signed());
        let _ = verify_root(&cert, NOW);
        let _ = verify_actor_cert(&cert, &f.root, NOW);
        let again = IdCert::from_pem(&cert.to_pem()).expect("own PEM parses");
        assert_eq!(again.as_der(), data);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cert) = IdCert::from_pem(text)
    {
        let _ = verify_actor_cert(&cert, &f.root, NOW);
    }
});
