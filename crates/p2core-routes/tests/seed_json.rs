//! Serde round trips against the JSON examples of the seed pages, copied verbatim.
//!
//! Where a seed example is not valid JSON, the test shows that the verbatim text is
//! rejected and round-trips the smallest correction, saying what was corrected.

use p2core_routes::{
    actor_idcerts, challenge, delete_session, legacy, register, rotate_session_idcert,
    server_idcert, server_public_key, session_identify, session_trust, upload_key_packages,
};
use p2core_types::{ErrorBody, ErrorCode, UnixTimestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Parses `text` as `T`, re-serializes it and checks the JSON value is unchanged (modulo
/// the normalizations listed in `expected`, which defaults to the input value).
fn round_trip<T: DeserializeOwned + Serialize>(text: &str, expected: Option<Value>) -> T {
    let parsed: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let back = serde_json::to_value(&parsed).unwrap();
    let expected = expected.unwrap_or_else(|| serde_json::from_str(text).unwrap());
    assert_eq!(back, expected);
    parsed
}

// ----- seed 003: Create Identity (/p2core/identity → /register) -----

/// Verbatim from seed 003. Note: the seed text is missing the closing brace of the outer
/// object, so it is not valid JSON.
const SEED_003_CREATE_IDENTITY_REQUEST: &str = r#"{
  "username": "alice",
  "password": "s3cr3t",
  "auth_payload": {
    "email": "alice@example.com"
}"#;

const SEED_003_CREATE_IDENTITY_RESPONSE: &str = r#"{
    "fid": "xenia@example.com",
    "payload": {
        "some_account_information": "important information"
    }
    }"#;

const SEED_003_FID_TAKEN: &str = r#"{
        "errcode": 409,
        "error": "P2CORE_FEDERATION_ID_TAKEN"
    }"#;

const SEED_003_SESSION_ID_TAKEN: &str = r#"{
        "errcode": 409,
        "error": "P2CORE_SESSION_ID_TAKEN"
    }"#;

#[test]
fn seed_003_create_identity() {
    // The verbatim text is rejected (missing `}`)...
    assert!(serde_json::from_str::<register::Request>(SEED_003_CREATE_IDENTITY_REQUEST).is_err());
    // ...the corrected text (one closing brace added) round-trips.
    let corrected = format!("{SEED_003_CREATE_IDENTITY_REQUEST}\n}}");
    let req: register::Request = round_trip(&corrected, None);
    assert_eq!(req.username, "alice");
    assert_eq!(req.password, "s3cr3t");
    assert_eq!(
        req.auth_payload,
        Some(json!({"email": "alice@example.com"}))
    );

    let resp: register::Response = round_trip(SEED_003_CREATE_IDENTITY_RESPONSE, None);
    assert_eq!(resp.fid.as_str(), "xenia@example.com");
    assert_eq!(
        resp.payload,
        Some(json!({"some_account_information": "important information"}))
    );

    // Optional fields are omitted, not written as null.
    let minimal = register::Request::new("alice", "s3cr3t");
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"username": "alice", "password": "s3cr3t"})
    );
    let r: register::Response = round_trip(r#"{"fid": "alice@example.com"}"#, None);
    assert_eq!(r.payload, None);
    // A FID that is not one is a decode error.
    assert!(serde_json::from_str::<register::Response>(r#"{"fid": "no at sign"}"#).is_err());
}

#[test]
fn seed_003_error_bodies() {
    for (text, code) in [
        (SEED_003_FID_TAKEN, ErrorCode::FederationIdTaken),
        (SEED_003_SESSION_ID_TAKEN, ErrorCode::SessionIdTaken),
    ] {
        let body: ErrorBody = serde_json::from_str(text).unwrap();
        assert_eq!(body.errcode, 409);
        assert_eq!(body.error, code);
        assert_eq!(body.message, "");
        // p2core adds `message` when writing.
        let mut expected: Value = serde_json::from_str(text).unwrap();
        expected["message"] = json!("");
        assert_eq!(serde_json::to_value(&body).unwrap(), expected);
    }
    // The routes that can answer these codes list them.
    assert!(
        register::INFO
            .errors
            .contains(&ErrorCode::FederationIdTaken)
    );
    assert!(
        session_trust::INFO
            .errors
            .contains(&ErrorCode::SessionIdTaken)
    );
}

// ----- seed 003: Authenticate Session (/p2core/session/trust → /session/trust) -----

#[test]
fn seed_003_session_trust_fields() {
    // Seed 003 gives the request fields as a table only (no JSON example):
    // `username`, `csr` (Base64 on the legacy path), `password`, `auth_payload`.
    let pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
    let text = json!({
        "username": "alice",
        "csr": pem,
        "password": "s3cr3t",
        "auth_payload": {"device": "phone"}
    })
    .to_string();
    let req: session_trust::Request = round_trip(&text, None);
    assert_eq!(req.csr, pem);

    // Legacy encoding: the same body with `csr` as Base64 of the PEM text.
    let mut legacy_body =
        json!({"username": "alice", "csr": legacy::pem_to_base64(pem), "password": "s3cr3t"});
    legacy::decode_request_value(&mut legacy_body).unwrap();
    let req: session_trust::Request = serde_json::from_value(legacy_body).unwrap();
    assert_eq!(req.csr, pem);

    let resp: session_trust::Response = round_trip(
        r#"{"id_cert": "-----BEGIN CERTIFICATE-----…", "token": "abc"}"#,
        None,
    );
    assert_eq!(resp.token, "abc");
}

// ----- seed 001 (and 003): Rotate session ID-Cert -----

const SEED_001_ROTATE_REQUEST: &str = r#"{
    "csr": "mQINBGSDs58BEADCXP1ArorBtOvGnQdAD26gsOMasyLMqnJyUp8XXCdmTx5..."
}"#;

const SEED_001_ROTATE_RESPONSE: &str = r#"{ 
        "id_cert": "LS0tLS1CRUdJTiBQR1AgUFVCTElDIEtFWS0tLS0tCk1JSUJqRENDQWlNQ0NRRHdFTE1Ba0dBMVVFQ2d3R2FWTnZiV0ZwYm...",
        "token": "Afnaopgi7BXVafjkl34ulvkc..."
    }"#;

/// Seed 003's legacy response of `/p2core/session/idcert` (no token; Base64 id_cert).
const SEED_003_ROTATE_RESPONSE: &str = r#"{ 
    "id_cert": "LS0tLS1CRUdJTiBQR1AgUFVCTElDIEtFWS0tLS0tCk1JSUJqRENDQWlNQ0NRRHdFTE1Ba0dBMVVFQ2d3R2FWTnZiV0ZwYm..."
}"#;

#[test]
fn seed_001_rotate_session_idcert() {
    let req: rotate_session_idcert::Request = round_trip(SEED_001_ROTATE_REQUEST, None);
    assert!(req.csr.starts_with("mQINBGSDs58"));
    let resp: rotate_session_idcert::Response = round_trip(SEED_001_ROTATE_RESPONSE, None);
    assert_eq!(resp.token, "Afnaopgi7BXVafjkl34ulvkc...");
    assert!(resp.id_cert.starts_with("LS0tLS1CRUdJTi"));
    // The current route always returns a token.
    assert!(
        serde_json::from_str::<rotate_session_idcert::Response>(SEED_003_ROTATE_RESPONSE).is_err()
    );
}

#[test]
fn seed_003_legacy_base64_values() {
    use base64::Engine as _;
    // The seed's Base64 id_cert is truncated ("..."); its complete 4-character groups
    // decode to the start of a PEM block, confirming "Base64 of the PEM text".
    let v: Value = serde_json::from_str(SEED_003_ROTATE_RESPONSE).unwrap();
    let b64 = v["id_cert"].as_str().unwrap().trim_end_matches('.');
    let whole = &b64[..b64.len() / 4 * 4];
    let prefix = base64::engine::general_purpose::STANDARD
        .decode(whole)
        .unwrap();
    assert!(String::from_utf8_lossy(&prefix).starts_with("-----BEGIN PGP PUBLIC KEY-----\n"));
    // Truncated, it is not a whole PEM block, and the decoder says so.
    assert!(legacy::base64_to_pem(whole).is_err());

    // Seed 003's legacy `csr` example ("mQINB…", a binary PGP packet) is not Base64 of PEM.
    let v: Value = serde_json::from_str(SEED_001_ROTATE_REQUEST).unwrap();
    let csr = v["csr"].as_str().unwrap();
    assert!(legacy::base64_to_pem(csr).is_err());
}

// ----- seeds 000/001/002/003: KeyPackages -----

#[test]
fn key_package_bodies() {
    // The seeds show `[ {...}, {...} ]` and `{...}` as placeholders (not JSON); p2core
    // sends each KeyPackage as a standard-Base64 JSON string.
    assert!(serde_json::from_str::<Value>("[ {...}, {...} ]").is_err());
    let req: upload_key_packages::Request = round_trip(r#"["AAEAAQ==", "AAEAAg=="]"#, None);
    assert_eq!(req.0.len(), 2);
    let lr: p2core_routes::replace_last_resort_key_package::Request =
        round_trip(r#""AAEAAQ==""#, None);
    assert_eq!(lr.0, "AAEAAQ==");
}

// ----- seed 004 -----

const SEED_004_CHALLENGE: &str = r#"{
        "challenge": "UH675678rbnFGNHJV2ijcnr3ghjHV74jah...",
        "expires": "1620000000"
    }"#;

const SEED_004_TIMESTAMP_BODY: &str = r#"{
    "timestamp": "1620000000"
}"#;

const SEED_004_ACTOR_IDCERTS_BODY: &str = r#"{
    "timestamp": "1620000000",
    "session_id": "593b30d8-0c98-4393-9331-988281b46782"
}"#;

const SEED_004_DELETE_SESSION_BODY: &str = r#"{
    "session_id": "593b30d8-0c98-4393-9331-988281b46782"
}"#;

const SEED_004_ACTOR_IDCERTS_RESPONSE: &str = r#"{
        "idcerts": [
            "-----BEGIN CERTIFICATE-----
            mQINBGSDs58BEADCXP1ArorBtOvGnQdAD26gsOMasyLMqnJyUp8XXCdmTx5+gREs
            vtItmjIshHU6CLUyTwO2IqIb2Fds+AmDsdM1Qx/vM0fVtPAS13T3Tu9rknldJvvN
            GyT3urrgvZ1leqQnwvuHd3WMdtgQ29lc7F/XaP4v2RIlqUiV+bnBoe/6LL7HXTaW
            zy2oKXr/odOD4+476J5APxxXCWVLXr3qfAXmSBQERznYuuRmhyL...
            -----END CERTIFICATE-----"
        ],
        "invalidated": [
            false
        ]
    }"#;

#[test]
fn seed_004_challenge_expires_as_string_or_number() {
    // `expires` is a string in the seed; it is read as a u64 and written as a number.
    let c: challenge::Response = round_trip(
        SEED_004_CHALLENGE,
        Some(json!({"challenge": "UH675678rbnFGNHJV2ijcnr3ghjHV74jah...", "expires": 1620000000})),
    );
    assert_eq!(c.expires(), UnixTimestamp(1620000000));
    let n: challenge::Response = round_trip(
        r#"{"challenge": "UH675678rbnFGNHJV2ijcnr3ghjHV74jah...", "expires": 1620000000}"#,
        None,
    );
    assert_eq!(c, n);
    for bad in [r#""-1""#, r#""1e9""#, r#""""#, "-1", "1.5"] {
        let text = format!(
            r#"{{"challenge": "UH675678rbnFGNHJV2ijcnr3ghjHV74jah...", "expires": {bad}}}"#
        );
        assert!(
            serde_json::from_str::<challenge::Response>(&text).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn seed_004_timestamp_bodies() {
    for q in [
        round_trip::<server_idcert::Query>(
            SEED_004_TIMESTAMP_BODY,
            Some(json!({"timestamp": 1620000000})),
        ),
        round_trip::<server_public_key::Query>(
            SEED_004_TIMESTAMP_BODY,
            Some(json!({"timestamp": 1620000000})),
        ),
    ] {
        assert_eq!(q.timestamp, Some(UnixTimestamp(1620000000)));
        assert_eq!(q.to_query_string(), "?timestamp=1620000000");
    }
    // An empty body or no query means "now".
    let q: server_idcert::Query = round_trip("{}", None);
    assert_eq!(q.timestamp, None);
    assert_eq!(server_idcert::Query::from_query_str("").unwrap(), q);
    assert!(server_idcert::Query::from_query_str("timestamp=soon").is_err());
    assert!(server_idcert::Query::from_query_str("timestamp=1&timestamp=2").is_err());
}

#[test]
fn seed_004_session_id_bodies() {
    // The seed's example session ID is a 36-character UUID, longer than the 32 characters
    // an ID-Cert's uniqueIdentifier may have (reference §3.2), so p2core rejects it...
    let err =
        serde_json::from_str::<actor_idcerts::Query>(SEED_004_ACTOR_IDCERTS_BODY).unwrap_err();
    assert!(err.to_string().contains("session ID"), "{err}");
    let err =
        serde_json::from_str::<delete_session::Request>(SEED_004_DELETE_SESSION_BODY).unwrap_err();
    assert!(err.to_string().contains("session ID"), "{err}");

    // ...and accepts the same bodies with a session ID of legal length (dashes removed).
    let fixed = SEED_004_ACTOR_IDCERTS_BODY.replace(
        "593b30d8-0c98-4393-9331-988281b46782",
        "593b30d80c98439393319882",
    );
    let q: actor_idcerts::Query = round_trip(
        &fixed,
        Some(json!({"timestamp": 1620000000, "session_id": "593b30d80c98439393319882"})),
    );
    assert_eq!(q.timestamp, Some(UnixTimestamp(1620000000)));
    assert_eq!(
        q.session_id.as_ref().unwrap().as_str(),
        "593b30d80c98439393319882"
    );
    assert_eq!(
        q.to_query_string(),
        "?timestamp=1620000000&session_id=593b30d80c98439393319882"
    );
    assert_eq!(
        actor_idcerts::Query::from_query_str(&q.to_query_string()).unwrap(),
        q
    );

    let fixed = SEED_004_DELETE_SESSION_BODY.replace(
        "593b30d8-0c98-4393-9331-988281b46782",
        "593b30d80c98439393319882",
    );
    let d: delete_session::Request = round_trip(&fixed, None);
    assert_eq!(d.to_query_string(), "?session_id=593b30d80c98439393319882");
    assert_eq!(
        delete_session::Request::from_query_str("session_id=593b30d80c98439393319882").unwrap(),
        Some(d)
    );
    assert_eq!(delete_session::Request::from_query_str("").unwrap(), None);
    assert!(
        delete_session::Request::from_query_str("session_id=593b30d8-0c98-4393-9331-988281b46782")
            .is_err()
    );
}

#[test]
fn seed_004_actor_idcerts_response() {
    // Verbatim, the seed puts raw line breaks inside a JSON string, which JSON forbids...
    assert!(
        serde_json::from_str::<actor_idcerts::Response>(SEED_004_ACTOR_IDCERTS_RESPONSE).is_err()
    );
    // ...with the line breaks escaped as `\n` it is the `{idcerts, invalidated}` shape.
    let corrected = escape_newlines_in_strings(SEED_004_ACTOR_IDCERTS_RESPONSE);
    let r: actor_idcerts::Response = round_trip(&corrected, None);
    assert_eq!(r.len(), 1);
    let (pem, invalidated) = r.iter().next().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.ends_with("-----END CERTIFICATE-----"));
    assert!(!invalidated);

    // The two arrays are parallel: different lengths are rejected.
    let err = serde_json::from_str::<actor_idcerts::Response>(
        r#"{"idcerts": ["a", "b"], "invalidated": [false]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("2 entries"), "{err}");
    assert!(actor_idcerts::Response::new(vec!["a".into()], vec![]).is_err());
    let built =
        actor_idcerts::Response::from_pairs([("a".to_owned(), true), ("b".to_owned(), false)]);
    assert_eq!(
        serde_json::to_value(&built).unwrap(),
        json!({"idcerts": ["a", "b"], "invalidated": [true, false]})
    );
    let mut pushed = actor_idcerts::Response::default();
    pushed.push("a".into(), true);
    pushed.push("b".into(), false);
    assert_eq!(pushed, built);
    let collected: actor_idcerts::Response = built.iter().map(|(p, i)| (p.to_owned(), i)).collect();
    assert_eq!(collected, built);
}

#[test]
fn session_identify_bodies() {
    // Reference §2.4: `{completed_challenge: {challenge, signature}, id_cert, auth_payload?}`
    // → `201 {token, payload?}`.
    let text = r#"{
        "completed_challenge": {"challenge": "UH675678rbnFGNHJV2ijcnr3ghjHV74jah...", "signature": "ab12"},
        "id_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    }"#;
    let req: session_identify::Request = round_trip(text, None);
    assert_eq!(req.completed_challenge.signature, "ab12");
    assert_eq!(req.auth_payload, None);
    let resp: session_identify::Response =
        round_trip(r#"{"token": "t", "payload": {"x": 1}}"#, None);
    assert_eq!(resp.token, "t");
}

/// Replaces raw line breaks (and the indentation after them) inside JSON strings with `\n`.
fn escape_newlines_in_strings(text: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_string = !in_string;
                out.push(c);
            }
            '\\' if in_string => {
                out.push(c);
                out.extend(chars.next());
            }
            '\n' if in_string => {
                out.push_str("\\n");
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}
