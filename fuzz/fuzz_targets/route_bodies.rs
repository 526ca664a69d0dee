//! Every route's JSON request body type (and the query-string forms), as a
//! server receives them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2core_routes::query::TimestampQuery;
use p2core_routes::{
    actor_idcerts, delete_session, register, replace_last_resort_key_package,
    rotate_session_idcert, session_identify, session_trust, upload_key_packages,
};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<register::Request>(data);
    let _ = serde_json::from_slice::<session_trust::Request>(data);
    let _ = serde_json::from_slice::<rotate_session_idcert::Request>(data);
    let _ = serde_json::from_slice::<upload_key_packages::Request>(data);
    let _ = serde_json::from_slice::<replace_last_resort_key_package::Request>(data);
    let _ = serde_json::from_slice::<session_identify::Request>(data);
    let _ = serde_json::from_slice::<delete_session::Request>(data);
    let _ = serde_json::from_slice::<actor_idcerts::Query>(data);
    let _ = serde_json::from_slice::<TimestampQuery>(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = TimestampQuery::from_query_str(s);
        let _ = actor_idcerts::Query::from_query_str(s);
        let _ = delete_session::Request::from_query_str(s);
        let _ = p2core_routes::path::parse_query(s);
        let _ = p2core_routes::find_route(&p2core_routes::http::Method::GET, s);
    }
});
