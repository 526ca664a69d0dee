//! FederationId, DomainName, SessionId, UnixTimestamp and ChallengeString
//! parsing (from text and from JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_types::{ChallengeString, DomainName, FederationId, SessionId, UnixTimestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fid) = FederationId::new(s) {
        assert_eq!(FederationId::new(fid.as_str()).as_ref(), Ok(&fid));
    }
    let _ = FederationId::validate_local_name(s);
    if let Ok(d) = DomainName::new(s) {
        let _ = FederationId::from_parts(s, &d);
    }
    if let Ok(id) = SessionId::new(s) {
        assert_eq!(id.as_str(), s);
    }
    if let Some(t) = UnixTimestamp::parse_decimal(s) {
        let _ = t.to_system_time();
    }
    let _ = ChallengeString::new(s.to_owned(), UnixTimestamp(0));
    let _ = serde_json::from_str::<ChallengeString>(s);
    let _ = serde_json::from_str::<FederationId>(s);
    let _ = serde_json::from_str::<SessionId>(s);
    let _ = serde_json::from_str::<UnixTimestamp>(s);
});
