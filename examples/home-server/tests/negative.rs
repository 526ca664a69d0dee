//! Bad input on every route: always the JSON error body with the right
//! status and code, never a 500, never a dropped connection.

mod common;

use common::*;
use p2core_routes::http::Method;

const V1: &str = "/.p2/core/v1";

/// method, path, token, content type, body, expected status, expected code
type Case<'a> = (
    Method,
    String,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let json = Some("application/json");
    let alice = register(&base, "alice", "pw-alice").await;
    let s = trust(&base, &alice, "pw-alice", "one").await;
    let tok = Some(s.token.as_str());
    let long_token = "x".repeat(1000);

    let cases: Vec<Case> = vec![
        // register
        (Method::POST, format!("{V1}/register"), None, json, b"{not json".to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": 5, "password": "x"}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": "bob"}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/register"), None, None, br#"{"username": "bob", "password": "x"}"#.to_vec(), 415, "P2CORE_UNSUPPORTED_MEDIA_TYPE"),
        (Method::POST, format!("{V1}/register"), None, Some("text/plain"), br#"{"username": "bob", "password": "x"}"#.to_vec(), 415, "P2CORE_UNSUPPORTED_MEDIA_TYPE"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": "b b", "password": "x"}"#.to_vec(), 400, "P2CORE_INVALID_FEDERATION_ID"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": "bob@evil.com", "password": "x"}"#.to_vec(), 400, "P2CORE_INVALID_FEDERATION_ID"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": "bob", "password": ""}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/register"), None, json, br#"{"username": "ALICE", "password": "x"}"#.to_vec(), 409, "P2CORE_FEDERATION_ID_TAKEN"),
        (Method::POST, format!("{V1}/register"), None, json, vec![b' '; 300 * 1024], 413, "P2CORE_PAYLOAD_TOO_LARGE"),
        // session trust
        (Method::POST, format!("{V1}/session/trust"), None, json, br#"{"username": "alice", "password": "wrong", "csr": "x"}"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        (Method::POST, format!("{V1}/session/trust"), None, json, br#"{"username": "nobody", "password": "pw", "csr": "x"}"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        (Method::POST, format!("{V1}/session/trust"), None, json, br#"{"username": "alice", "password": "pw-alice", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}"#.to_vec(), 400, "P2CORE_INVALID_CSR"),
        (Method::POST, format!("{V1}/session/trust"), None, json, br#"{"username": "alice", "password": "pw-alice", "csr": "garbage"}"#.to_vec(), 400, "P2CORE_INVALID_CSR"),
        (Method::POST, format!("{V1}/session/trust"), None, json, br#"[1,2,3]"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        // rotation
        (Method::POST, format!("{V1}/session/idcert"), None, json, br#"{"csr": "x"}"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        (Method::POST, format!("{V1}/session/idcert"), Some("forged-token"), json, br#"{"csr": "x"}"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        (Method::POST, format!("{V1}/session/idcert"), tok, json, br#"{"csr": "x"}"#.to_vec(), 400, "P2CORE_INVALID_CSR"),
        (Method::POST, format!("{V1}/session/idcert"), tok, json, br#"{"csr": 12}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        // KeyPackages
        (Method::POST, format!("{V1}/keypackage/@me"), None, json, br#"["AAAA"]"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        (Method::POST, format!("{V1}/keypackage/@me"), tok, json, br#"["%%%not base64"]"#.to_vec(), 400, "P2CORE_INVALID_KEY_PACKAGE"),
        (Method::POST, format!("{V1}/keypackage/@me"), tok, json, br#"["AAAA"]"#.to_vec(), 400, "P2CORE_INVALID_KEY_PACKAGE"),
        (Method::POST, format!("{V1}/keypackage/@me"), tok, json, b"[]".to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/keypackage/@me"), tok, json, br#"{"a": 1}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::PUT, format!("{V1}/keypackage_lr"), tok, json, b"42".to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::PUT, format!("{V1}/keypackage_lr"), tok, json, br#""AAAA""#.to_vec(), 400, "P2CORE_INVALID_KEY_PACKAGE"),
        (Method::GET, format!("{V1}/keypackage/alice@localhost"), None, None, vec![], 401, "P2CORE_UNAUTHORIZED"),
        (Method::GET, format!("{V1}/keypackage/nobody@localhost"), tok, None, vec![], 404, "P2CORE_NOT_FOUND"),
        (Method::GET, format!("{V1}/keypackage/not-a-fid"), tok, None, vec![], 400, "P2CORE_INVALID_FEDERATION_ID"),
        // server certificate and key
        (Method::GET, format!("{V1}/idcert/server?timestamp=abc"), None, None, vec![], 400, "P2CORE_BAD_REQUEST"),
        (Method::GET, format!("{V1}/idcert/server?timestamp=-5"), None, None, vec![], 400, "P2CORE_BAD_REQUEST"),
        (Method::GET, format!("{V1}/key/server"), None, json, br#"{"timestamp": true}"#.to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::PUT, format!("{V1}/key/server"), tok, None, vec![], 403, "P2CORE_NOT_ADMINISTRATOR"),
        (Method::PUT, format!("{V1}/key/server"), None, None, vec![], 401, "P2CORE_UNAUTHORIZED"),
        // actor certificates
        (Method::GET, format!("{V1}/idcert/actor/not-a-fid"), None, None, vec![], 400, "P2CORE_INVALID_FEDERATION_ID"),
        (Method::GET, format!("{V1}/idcert/actor/alice@localhost?session_id={}", "x".repeat(33)), None, None, vec![], 400, "P2CORE_BAD_REQUEST"),
        // extern update from a home-server session with a certificate that is not its own
        (Method::PUT, format!("{V1}/session/idcert/extern"), tok, Some("text/plain"), b"not pem".to_vec(), 400, "P2CORE_INVALID_CERTIFICATE"),
        (Method::PUT, format!("{V1}/session/idcert/extern"), tok, Some("image/png"), b"x".to_vec(), 415, "P2CORE_UNSUPPORTED_MEDIA_TYPE"),
        (Method::PUT, format!("{V1}/session/idcert/extern"), None, Some("text/plain"), b"x".to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        // session deletion
        (Method::DELETE, format!("{V1}/session"), tok, json, b"{}".to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::DELETE, format!("{V1}/session"), tok, json, br#"{"session_id": "nope"}"#.to_vec(), 404, "P2CORE_NOT_FOUND"),
        (Method::DELETE, format!("{V1}/session"), None, json, br#"{"session_id": "one"}"#.to_vec(), 401, "P2CORE_UNAUTHORIZED"),
        // events
        (Method::GET, format!("{V1}/events"), None, None, vec![], 401, "P2CORE_UNAUTHORIZED"),
        (Method::GET, format!("{V1}/events"), Some(long_token.as_str()), None, vec![], 401, "P2CORE_UNAUTHORIZED"),
        // foreign identification
        (Method::POST, format!("{V1}/session/identify"), None, json, b"{}".to_vec(), 400, "P2CORE_BAD_REQUEST"),
        (Method::POST, format!("{V1}/session/identify"), None, json, br#"{"completed_challenge": {"challenge": "x", "signature": "y"}, "id_cert": "garbage"}"#.to_vec(), 400, "P2CORE_INVALID_CERTIFICATE"),
        // routing
        (Method::GET, "/nothing/here".to_string(), None, None, vec![], 404, "P2CORE_NOT_FOUND"),
        (Method::PATCH, format!("{V1}/register"), None, None, vec![], 405, "P2CORE_METHOD_NOT_ALLOWED"),
        (Method::POST, "/p2core/key/user/@me".to_string(), tok, json, br#""-----BEGIN PGP PUBLIC KEY BLOCK-----""#.to_vec(), 410, "P2CORE_GONE"),
    ];
    for (method, path, token, ct, body, status, code) in cases {
        let (got, json) = raw(&base, method.clone(), &path, token, ct, body).await;
        assert_eq!(
            (got, json["error"].as_str()),
            (status, Some(code)),
            "{method} {path}: {json}"
        );
    }

    // a session's own current certificate is accepted by the extern route (no-op)
    let (got, _) = raw(
        &base,
        Method::PUT,
        &format!("{V1}/session/idcert/extern"),
        tok,
        Some("text/plain"),
        s.cert_pem.clone().into_bytes(),
    )
    .await;
    assert_eq!(got, 201);
    // a local actor cannot use the foreign-actor route
    let c = client(&base).challenge().await.unwrap();
    let body = serde_json::json!({
        "completed_challenge": {"challenge": c.challenge(), "signature": c.solve(&s.key)},
        "id_cert": s.cert_pem,
    });
    let (got, _) = raw(
        &base,
        Method::POST,
        &format!("{V1}/session/identify"),
        None,
        json,
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(got, 400);

    // CSRs for another actor or another domain are refused
    let bob = register(&base, "bob", "pw-bob").await;
    for (fid, why) in [
        (bob.as_str(), "another actor"),
        ("alice@elsewhere.example", "another domain"),
    ] {
        let fid = p2core_types::FederationId::new(fid).unwrap();
        let csr = p2core_certs::build_csr(
            &new_key(),
            &fid,
            &p2core_types::SessionId::new("two").unwrap(),
        )
        .unwrap();
        let body =
            serde_json::json!({"username": "alice", "password": "pw-alice", "csr": csr.to_pem()});
        let (got, json) = raw(
            &base,
            Method::POST,
            &format!("{V1}/session/trust"),
            None,
            json,
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(
            (got, json["error"].as_str()),
            (400, Some("P2CORE_INVALID_CSR")),
            "{why}: {json}"
        );
    }

    // the server still works after all of that
    assert!(s.client.events().await.unwrap().is_empty());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_paths_are_aliases_with_legacy_encodings() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let json = Some("application/json");
    let (st, body) = raw(
        &base,
        Method::POST,
        "/p2core/identity",
        None,
        json,
        br#"{"username": "xenia", "password": "s3cr3t"}"#.to_vec(),
    )
    .await;
    assert_eq!((st, body["fid"].as_str()), (201, Some("xenia@localhost")));
    let fid = p2core_types::FederationId::new("xenia@localhost").unwrap();
    let key = new_key();
    let csr =
        p2core_certs::build_csr(&key, &fid, &p2core_types::SessionId::new("old").unwrap()).unwrap();
    let req = serde_json::json!({"username": "xenia", "password": "s3cr3t", "csr": STANDARD.encode(csr.to_pem())});
    let (st, body) = raw(
        &base,
        Method::POST,
        "/p2core/session/trust",
        None,
        json,
        req.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let pem =
        String::from_utf8(STANDARD.decode(body["id_cert"].as_str().unwrap()).unwrap()).unwrap();
    let cert = p2core_types::IdCert::from_pem(&pem).unwrap();
    assert_eq!(cert.subject_fid(), Some(&fid));
    let token = body["token"].as_str().unwrap().to_owned();
    // legacy rotate with a Base64 CSR
    let csr2 = p2core_certs::build_csr(
        &new_key(),
        &fid,
        &p2core_types::SessionId::new("old").unwrap(),
    )
    .unwrap();
    let req = serde_json::json!({"csr": STANDARD.encode(csr2.to_pem())});
    let (st, body) = raw(
        &base,
        Method::POST,
        "/p2core/session/idcert",
        Some(&token),
        json,
        req.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    assert!(STANDARD.decode(body["id_cert"].as_str().unwrap()).is_ok());
    // a PEM (not Base64) CSR on the legacy path is a clear 400
    let req = serde_json::json!({"csr": csr2.to_pem()});
    let token2 = body["token"].as_str().unwrap().to_owned();
    let (st, _) = raw(
        &base,
        Method::POST,
        "/p2core/session/idcert",
        Some(&token2),
        json,
        req.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, 400);
    server.stop().await.unwrap();
}
