//! The typed client against a scripted in-process HTTP server (loopback only).
#![cfg(feature = "client")]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use p2core_routes::client::{Client, ClientError};
use p2core_routes::{register, rotate_session_idcert, session_trust};
use p2core_types::{ErrorCode, FederationId, SessionId, UnixTimestamp};
use serde_json::{Value, json};

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const CHALLENGE: &str = "UH675678rbnFGNHJV2ijcnr3ghjHV74jahUH675678";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path_and_query: String,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct State {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// When set, `GET /events` answers 204.
    no_events: Arc<Mutex<bool>>,
}

impl State {
    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
    fn last_json(&self) -> Value {
        serde_json::from_slice(&self.last().body).unwrap()
    }
}

fn json_response(status: u16, value: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn pem_response(status: u16, text: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

async fn script(
    axum::extract::State(state): axum::extract::State<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    state.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path_and_query: uri.path_and_query().unwrap().to_string(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body: body.to_vec(),
    });
    let path = uri.path();
    match (method.as_str(), path) {
        ("POST", "/.p2/core/v1/register") => {
            let Ok(req) = serde_json::from_slice::<Value>(&body) else {
                return json_response(400, json!({"errcode": 400, "error": "P2CORE_BAD_REQUEST"}));
            };
            if req["username"] == "taken" {
                json_response(
                    409,
                    json!({"errcode": 409, "error": "P2CORE_FEDERATION_ID_TAKEN"}),
                )
            } else {
                json_response(
                    201,
                    json!({"fid": format!("{}@localhost", req["username"].as_str().unwrap())}),
                )
            }
        }
        ("POST", "/.p2/core/v1/session/trust") => {
            json_response(201, json!({"id_cert": PEM, "token": "tok-1"}))
        }
        ("POST", "/.p2/core/v1/session/idcert") => {
            json_response(201, json!({"id_cert": PEM, "token": "tok-2"}))
        }
        ("POST", "/.p2/core/v1/keypackage/@me") => StatusCode::CREATED.into_response(),
        ("PUT", "/.p2/core/v1/keypackage_lr") => StatusCode::NO_CONTENT.into_response(),
        ("GET", "/.p2/core/v1/challenge") => json_response(
            200,
            json!({"challenge": CHALLENGE, "expires": "1620000000"}),
        ),
        ("PUT", "/.p2/core/v1/key/server") => {
            if header("authorization").as_deref() == Some("Bearer admin") {
                pem_response(200, PEM)
            } else {
                json_response(
                    403,
                    json!({"errcode": 403, "error": "P2CORE_NOT_ADMINISTRATOR", "message": "admins only"}),
                )
            }
        }
        ("GET", "/.p2/core/v1/idcert/server") => pem_response(200, PEM),
        ("GET", "/.p2/core/v1/key/server") => pem_response(
            200,
            "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n",
        ),
        ("GET", p) if p.starts_with("/.p2/core/v1/idcert/actor/") => json_response(
            200,
            json!({"idcerts": [PEM, PEM], "invalidated": [true, false]}),
        ),
        ("PUT", "/.p2/core/v1/session/idcert/extern") => StatusCode::CREATED.into_response(),
        ("DELETE", "/.p2/core/v1/session") => StatusCode::NO_CONTENT.into_response(),
        ("GET", p) if p.starts_with("/.p2/core/v1/keypackage/") => {
            json_response(200, json!(["AAEAAQ==", "AAEAAg=="]))
        }
        ("GET", "/.p2/core/v1/events") => {
            if *state.no_events.lock().unwrap() {
                StatusCode::NO_CONTENT.into_response()
            } else {
                json_response(
                    200,
                    json!([{"n": "core", "op": 3, "d": {"cert": PEM}, "s": 0}]),
                )
            }
        }
        ("POST", "/.p2/core/v1/session/identify") => {
            json_response(201, json!({"token": "foreign"}))
        }
        // Misbehaving answers for the error tests.
        (_, p) if p.starts_with("/broken/") => {
            (StatusCode::BAD_GATEWAY, "upstream down").into_response()
        }
        (_, p) if p.starts_with("/empty/") => StatusCode::UNAUTHORIZED.into_response(),
        (_, p) if p.starts_with("/wrong/") => StatusCode::OK.into_response(),
        _ => json_response(
            404,
            json!({"errcode": 404, "error": "P2CORE_NOT_FOUND", "message": path}),
        ),
    }
}

async fn start() -> (Client, State) {
    let state = State::default();
    let app = Router::new().fallback(script).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (Client::new(format!("http://{addr}/")).unwrap(), state)
}

#[tokio::test]
async fn every_route_method() {
    let (client, state) = start().await;

    // register: JSON body, no token even if one is set.
    let client = client.with_token("tok-0");
    let created = client
        .register(&register::Request::new("alice", "pw"))
        .await
        .unwrap();
    assert_eq!(created.fid.as_str(), "alice@localhost");
    let seen = state.last();
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.authorization, None);
    assert_eq!(
        state.last_json(),
        json!({"username": "alice", "password": "pw"})
    );

    let trusted = client
        .session_trust(&session_trust::Request {
            username: "alice".into(),
            csr: PEM.into(),
            password: "pw".into(),
            auth_payload: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (trusted.id_cert.as_str(), trusted.token.as_str()),
        (PEM, "tok-1")
    );
    assert_eq!(state.last_json()["csr"], PEM);

    let mut client = client;
    client.set_token(trusted.token);
    let rotated = client
        .rotate_session_idcert(&rotate_session_idcert::Request { csr: PEM.into() })
        .await
        .unwrap();
    assert_eq!(rotated.token, "tok-2");
    assert_eq!(state.last().authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(client.token(), Some("tok-1"));

    client
        .upload_key_packages(&["AAEAAQ==".into()])
        .await
        .unwrap();
    assert_eq!(state.last_json(), json!(["AAEAAQ=="]));
    assert_eq!(state.last().path_and_query, "/.p2/core/v1/keypackage/@me");

    client
        .replace_last_resort_key_package("AAEAAg==")
        .await
        .unwrap();
    assert_eq!(state.last_json(), json!("AAEAAg=="));
    assert_eq!(state.last().method, Method::PUT);

    let challenge = client.challenge().await.unwrap();
    assert_eq!(challenge.challenge(), CHALLENGE);
    assert_eq!(challenge.expires(), UnixTimestamp(1620000000));
    assert_eq!(state.last().authorization, None);

    // Admin route: the server refuses this token with its own error body.
    let err = client.rotate_server_key().await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.error_code(), Some(&ErrorCode::NotAdministrator));
    assert_eq!(err.error_body().unwrap().message, "admins only");
    let admin = client.clone().with_token("admin");
    assert_eq!(admin.rotate_server_key().await.unwrap(), PEM);

    assert_eq!(client.server_idcert(None).await.unwrap(), PEM);
    assert_eq!(state.last().path_and_query, "/.p2/core/v1/idcert/server");
    client
        .server_idcert(Some(UnixTimestamp(1620000000)))
        .await
        .unwrap();
    assert_eq!(
        state.last().path_and_query,
        "/.p2/core/v1/idcert/server?timestamp=1620000000"
    );

    let key = client
        .server_public_key(Some(UnixTimestamp(5)))
        .await
        .unwrap();
    assert!(key.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(
        state.last().path_and_query,
        "/.p2/core/v1/key/server?timestamp=5"
    );

    let fid: FederationId = "alice@localhost".parse().unwrap();
    let session = SessionId::new("phone 1").unwrap();
    let certs = client
        .actor_idcerts(&fid, None, Some(&session))
        .await
        .unwrap();
    assert_eq!(
        certs.iter().map(|(_, i)| i).collect::<Vec<_>>(),
        vec![true, false]
    );
    assert_eq!(
        state.last().path_and_query,
        "/.p2/core/v1/idcert/actor/alice@localhost?session_id=phone%201"
    );

    client.update_extern_idcert(PEM).await.unwrap();
    let seen = state.last();
    assert_eq!(
        seen.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(seen.body, PEM.as_bytes());
    assert_eq!(seen.authorization.as_deref(), Some("Bearer tok-1"));

    client.delete_session(&session).await.unwrap();
    assert_eq!(state.last().method, Method::DELETE);
    assert_eq!(state.last_json(), json!({"session_id": "phone 1"}));

    let kps = client.get_key_packages(&fid).await.unwrap();
    assert_eq!(kps, vec!["AAEAAQ==", "AAEAAg=="]);
    assert_eq!(
        state.last().path_and_query,
        "/.p2/core/v1/keypackage/alice@localhost"
    );

    let events = client.events().await.unwrap();
    assert_eq!((events.len(), events[0].op), (1, 3));
    *state.no_events.lock().unwrap() = true;
    assert!(client.events().await.unwrap().is_empty());

    let foreign = Client::new(client.base_url()).unwrap();
    let key = p2core_types::ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let identified = foreign.identify(&key, PEM, None).await.unwrap();
    assert_eq!(identified.token, "foreign");
    // the client signed the challenge it fetched from this very server, and nothing else
    let sent = state.last_json();
    assert_eq!(sent["completed_challenge"]["challenge"], CHALLENGE);
    assert_eq!(sent["id_cert"], PEM);
    let signature = sent["completed_challenge"]["signature"].as_str().unwrap();
    p2core_types::challenge::verify_hex_signature(
        CHALLENGE.as_bytes(),
        signature,
        &key.verifying_key(),
    )
    .unwrap();
}

#[tokio::test]
async fn errors_are_typed() {
    let (client, _state) = start().await;

    // The seed's 409 body without `message`.
    let err = client
        .register(&register::Request::new("taken", "pw"))
        .await
        .unwrap_err();
    match &err {
        ClientError::Api { status, body } => {
            assert_eq!(*status, 409);
            assert_eq!(body.error, ErrorCode::FederationIdTaken);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.error_code(), Some(&ErrorCode::FederationIdTaken));

    // A body that is not p2core's JSON is synthesized from the status (this base URL has
    // a path prefix, which the client keeps).
    let broken = Client::new(client.url("/broken")).unwrap();
    let err = broken.challenge().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.error_code(), Some(&ErrorCode::UpstreamFailed));
    assert_eq!(err.error_body().unwrap().message, "upstream down");
    let empty = Client::new(client.url("/empty")).unwrap();
    let err = empty.events().await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::Unauthorized));
    assert_eq!(err.error_body().unwrap().message, "Unauthorized");

    // A success status other than the route's is reported, not decoded.
    let wrong = Client::new(client.url("/wrong")).unwrap();
    let err = wrong
        .register(&register::Request::new("a", "b"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::UnexpectedStatus {
                status: 200,
                expected: 201
            }
        ),
        "{err:?}"
    );
    // A success whose body is not the route's type is a decode error.
    let err = wrong.challenge().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Decode { status: 200, .. }),
        "{err:?}"
    );

    // Raw requests reach the server as sent, malformed or not.
    let resp = client
        .send_raw(
            Method::POST,
            "/.p2/core/v1/register",
            Some("application/json"),
            b"{".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        client
            .http()
            .get(client.url("/.p2/core/v1/nothing"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Nothing listens here: a transport error, no status.
    let dead = Client::new("http://127.0.0.1:9").unwrap();
    let err = dead.challenge().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    assert_eq!(err.error_code(), None);

    assert!(matches!(
        Client::new("not a url"),
        Err(ClientError::InvalidBaseUrl { .. })
    ));
}
