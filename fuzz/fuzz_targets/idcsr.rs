//! `IdCsr::from_der` / `from_pem`, then the issuance checks of a fixed issuer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_certs::{verify_actor_cert, verify_csr};
use p2core_fuzz::{FIXTURE, NOW};
use p2core_types::IdCsr;

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;
    let csr = match IdCsr::from_der(data) {
        Ok(c) => {
            assert_eq!(c.as_der(), data);
            c
        }
        Err(_) => match std::str::from_utf8(data)
            .ok()
            .and_then(|t| IdCsr::from_pem(t).ok())
        {
            Some(c) => c,
            None => return,
        },
    };
    let _ = (csr.subject_fid(), csr.session_id(), csr.is_self_signed());
    let _ = verify_csr(&csr, &f.actor, &f.domain);
    if let Ok(cert) = f.issuer.issue(&csr, &f.actor, NOW, None, 42) {
        // anything the issuer signs passes the verifier
        verify_actor_cert(&cert, &f.root, NOW).expect("issued certificates verify");
    }
});
