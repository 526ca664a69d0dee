//! No-panic sweep of p2core-routes: every public parsing function (paths,
//! query strings, legacy Base64-PEM fields, route matching) and every route's
//! JSON request and response type get arbitrary input and return — `Err` for
//! bad input, never a panic.

use http::Method;
use p2core_routes::legacy::{
    base64_to_pem, decode_request_value, encode_response_value, looks_like_pem,
};
use p2core_routes::path::{decode_segment, encode_segment, parse_query, single_values};
use p2core_routes::query::TimestampQuery;
use p2core_routes::{
    LegacyEncoding, actor_idcerts, all_routes, allowed_methods, challenge, delete_session, events,
    find_route, get_key_packages, register, replace_last_resort_key_package, rotate_session_idcert,
    session_identify, session_trust, upload_key_packages,
};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,60}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Field names of the route bodies, plus random ones.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "username",
            "password",
            "auth_payload",
            "csr",
            "id_cert",
            "token",
            "fid",
            "payload",
            "completed_challenge",
            "challenge",
            "signature",
            "expires",
            "session_id",
            "timestamp",
            "idcerts",
            "invalidated",
            "n",
            "op",
            "d",
            "s",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,120}",
        "([a-z_]{0,12}=[%0-9A-Fa-f+a-z]{0,12}&?){0,5}",
        "(/[.a-z0-9@%{}]{0,12}){0,6}",
        "[A-Za-z0-9+/=\\s]{0,200}",
    ]
}

/// Every JSON type the routes send or receive, from arbitrary text.
fn all_bodies(input: &str) {
    let _ = serde_json::from_str::<register::Request>(input);
    let _ = serde_json::from_str::<register::Response>(input);
    let _ = serde_json::from_str::<session_trust::Request>(input);
    let _ = serde_json::from_str::<session_trust::Response>(input);
    let _ = serde_json::from_str::<rotate_session_idcert::Request>(input);
    let _ = serde_json::from_str::<rotate_session_idcert::Response>(input);
    let _ = serde_json::from_str::<upload_key_packages::Request>(input);
    let _ = serde_json::from_str::<replace_last_resort_key_package::Request>(input);
    let _ = serde_json::from_str::<challenge::Response>(input);
    let _ = serde_json::from_str::<TimestampQuery>(input);
    let _ = serde_json::from_str::<actor_idcerts::Query>(input);
    if let Ok(r) = serde_json::from_str::<actor_idcerts::Response>(input) {
        // a parsed response has as many flags as certificates
        assert_eq!(r.iter().count(), r.len());
    }
    let _ = serde_json::from_str::<delete_session::Request>(input);
    let _ = serde_json::from_str::<get_key_packages::Response>(input);
    let _ = serde_json::from_str::<events::Response>(input);
    let _ = serde_json::from_str::<session_identify::Request>(input);
    let _ = serde_json::from_str::<session_identify::Response>(input);
}

proptest! {
    #[test]
    fn json_request_and_response_bodies(v in json_value(), s in text()) {
        all_bodies(&v.to_string());
        all_bodies(&s);
        // the legacy rewriting of PEM fields works on any JSON
        let mut w = v.clone();
        let _ = decode_request_value(&mut w);
        let mut w = v;
        encode_response_value(&mut w);
    }

    #[test]
    fn legacy_base64_pem(s in text()) {
        if let Ok(pem) = base64_to_pem(&s) {
            prop_assert!(looks_like_pem(&pem));
        }
        let _ = looks_like_pem(&s);
        let _ = LegacyEncoding::Base64Pem.decode_pem(&s);
        prop_assert_eq!(LegacyEncoding::Same.decode_pem(&s).unwrap(), s.clone());
        // anything PEM-shaped survives the legacy encoding both ways
        if looks_like_pem(&s) {
            let b64 = LegacyEncoding::Base64Pem.encode_pem(&s);
            prop_assert_eq!(base64_to_pem(&b64).unwrap(), s);
        }
    }

    #[test]
    fn paths_and_queries(s in text(), m in prop::sample::select(vec![
        Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH,
    ])) {
        let _ = decode_segment(&s);
        let round_trip = decode_segment(&encode_segment(&s));
        prop_assert_eq!(round_trip.as_deref(), Some(s.as_str()));
        let _ = parse_query(&s);
        let _ = single_values(&s, &["timestamp", "session_id"]);
        let _ = TimestampQuery::from_query_str(&s);
        let _ = actor_idcerts::Query::from_query_str(&s);
        let _ = delete_session::Request::from_query_str(&s);
        let _ = find_route(&m, &s);
        let _ = allowed_methods(&s);
        for r in all_routes() {
            let _ = r.match_request(&m, &s);
            let _ = r.matches_path(&s);
            let _ = r.fill_path(&[s.as_str()]);
        }
        // every route matches its own filled path
        for r in all_routes().iter().filter(|r| r.path_params().len() == 1) {
            if !s.is_empty()
                && let Some(p) = r.fill_path(&[s.as_str()])
            {
                let m = r.match_request(&r.method, &p).expect("own path matches");
                prop_assert_eq!(m.params[0].1.as_str(), s.as_str());
            }
        }
    }
}

#[cfg(feature = "client")]
proptest! {
    #[test]
    fn client_base_urls(s in text()) {
        let _ = p2core_routes::client::Client::new(&s);
        for status in [0u16, 99, 200, 400, 401, 404, 409, 418, 500, 599, 999, u16::MAX] {
            let _ = p2core_routes::client::error_code_for_status(status);
        }
    }
}
