//! `Debug` of request/response types never prints passwords, session tokens or
//! `auth_payload`, so servers and clients can log them; the other fields stay visible.

use p2core_routes::{register, rotate_session_idcert, session_identify, session_trust};
use serde_json::json;

const PASSWORD: &str = "hunter2-very-secret";
const TOKEN: &str = "tok3n-very-secret";
const PAYLOAD: &str = "payload-very-secret";

fn assert_redacted(debug: String, visible: &[&str]) {
    for secret in [PASSWORD, TOKEN, PAYLOAD] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    for v in visible {
        assert!(debug.contains(v), "{v} missing: {debug}");
    }
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn requests_hide_passwords_and_auth_payloads() {
    let mut req = register::Request::new("alice", PASSWORD);
    assert_redacted(format!("{req:?}"), &["alice", "auth_payload: None"]);
    req.auth_payload = Some(json!({ "invite": PAYLOAD }));
    assert_redacted(format!("{req:#?}"), &["alice", "auth_payload: Some("]);

    let req = session_trust::Request {
        username: "alice".into(),
        csr: "-----BEGIN CERTIFICATE REQUEST-----".into(),
        password: PASSWORD.into(),
        auth_payload: Some(json!(PAYLOAD)),
    };
    assert_redacted(format!("{req:?}"), &["alice", "BEGIN CERTIFICATE REQUEST"]);

    let req: session_identify::Request = serde_json::from_value(json!({
        "completed_challenge": {"challenge": "c".repeat(40), "signature": "ab"},
        "id_cert": "-----BEGIN CERTIFICATE-----",
        "auth_payload": {"otp": PAYLOAD},
    }))
    .unwrap();
    assert_redacted(format!("{req:?}"), &["BEGIN CERTIFICATE", &"c".repeat(40)]);
}

#[test]
fn responses_hide_tokens() {
    let resp = session_trust::Response {
        id_cert: "-----BEGIN CERTIFICATE-----".into(),
        token: TOKEN.into(),
    };
    assert_redacted(format!("{resp:?}"), &["BEGIN CERTIFICATE"]);
    let resp = rotate_session_idcert::Response {
        id_cert: "-----BEGIN CERTIFICATE-----".into(),
        token: TOKEN.into(),
    };
    assert_redacted(format!("{resp:?}"), &["BEGIN CERTIFICATE"]);
    let resp = session_identify::Response {
        token: TOKEN.into(),
        payload: Some(json!("visible-payload")),
    };
    assert_redacted(format!("{resp:?}"), &["visible-payload"]);
}

#[test]
fn redaction_does_not_change_the_wire_format() {
    let req = register::Request::new("alice", PASSWORD);
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"username": "alice", "password": PASSWORD})
    );
    let resp: session_trust::Response =
        serde_json::from_value(json!({"id_cert": "PEM", "token": TOKEN})).unwrap();
    assert_eq!(resp.token, TOKEN);
}
