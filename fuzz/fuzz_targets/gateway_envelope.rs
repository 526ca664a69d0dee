//! The event envelope `{n, op, d, s}` and its payloads, as a client receives
//! them. (Named for the gateway: point it at the gateway message types once
//! they exist.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_types::events::{
    ActorCertificateInvalidation, Event, LowKeyPackages, NewSession, ServerCertificateChange,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = serde_json::from_slice::<Event>(data) {
        let _ = e.payload::<NewSession>();
        let _ = e.payload::<ActorCertificateInvalidation>();
        let _ = e.payload::<ServerCertificateChange>();
        let _ = e.payload::<LowKeyPackages>();
        // an accepted envelope can be sent on
        let text = serde_json::to_string(&e).expect("serialises");
        serde_json::from_str::<Event>(&text).expect("parses again");
    }
    let _ = serde_json::from_slice::<Vec<Event>>(data);
});
