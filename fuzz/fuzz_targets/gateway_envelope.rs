//! Gateway messages as the server and a client receive them: the envelope
//! `{n, op, d, s}` (op and s as numbers or strings), every opcode's payload
//! decoded as a client message and as a server message, and the REST event
//! envelope of `GET /events`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_types::events::{
    ActorCertificateInvalidation, Event, LowKeyPackages, NewSession, ServerCertificateChange,
};
use p2core_types::gateway::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = serde_json::from_slice::<Envelope>(data) {
        let _ = env.opcode();
        let _ = env.client_message();
        let _ = env.server_message();
        if env.is_event() {
            let _ = env.to_event();
        }
        // an accepted envelope is sent on in the one spelling p2core writes, and reads back
        let text = serde_json::to_string(&env).expect("serialises");
        let again = serde_json::from_str::<Envelope>(&text).expect("parses again");
        assert_eq!(again.opcode(), env.opcode());
    }
    if let Ok(e) = serde_json::from_slice::<Event>(data) {
        let _ = e.payload::<NewSession>();
        let _ = e.payload::<ActorCertificateInvalidation>();
        let _ = e.payload::<ServerCertificateChange>();
        let _ = e.payload::<LowKeyPackages>();
        let text = serde_json::to_string(&e).expect("serialises");
        serde_json::from_str::<Event>(&text).expect("parses again");
        let _ = Envelope::from_event(&e, 0);
    }
    let _ = serde_json::from_slice::<Vec<Event>>(data);
    let _ = serde_json::from_slice::<Vec<Envelope>>(data);
});
