//! The embedding API over real HTTP on loopback with a real SQLite file: a
//! custom registration policy, events of the embedder's own namespace through
//! the queue, the embedder's routes next to p2core's, and settings checks.

use axum::Router;
use axum::routing::get;
use ed25519_dalek::SigningKey;
use p2core_routes::client::Client;
use p2core_routes::{register, session_trust};
use p2core_server::settings::{
    KeySettings, LimitSettings, RegistrationPolicy, RegistrationRefused, RegistrationRequest,
    ServerSettings,
};
use p2core_server::storage::Store;
use p2core_server::storage::sqlite::SqliteStore;
use p2core_server::{PublishError, RunningServer, Server, ServerBuilder, StartError};
use p2core_types::events::EventPayload;
use p2core_types::{DomainName, ErrorCode, FederationId, SessionId};
use serde::{Deserialize, Serialize};

fn builder(dir: &std::path::Path) -> ServerBuilder {
    Server::builder(DomainName::new("chat.example").expect("a domain"))
        .keys(KeySettings::new().dir(dir.to_path_buf()))
}

async fn start(b: ServerBuilder) -> RunningServer<SqliteStore> {
    let server = b.build().await.expect("the server builds");
    server
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the server starts")
}

async fn register(
    base: &str,
    name: &str,
) -> Result<FederationId, p2core_routes::client::ClientError> {
    let c = Client::new(base).expect("a client");
    c.register(&register::Request {
        username: name.into(),
        password: "pw-of-the-test".into(),
        auth_payload: None,
    })
    .await
    .map(|r| r.fid)
}

/// Opens session `session` of `fid`; returns a client with its token.
async fn trust(base: &str, fid: &FederationId, session: &str) -> Client {
    trust_token(base, fid, session).await.0
}

/// Opens session `session` of `fid`; returns a client with its token, and the token.
async fn trust_token(base: &str, fid: &FederationId, session: &str) -> (Client, String) {
    let key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    let sid = SessionId::new(session).expect("a session ID");
    let csr = p2core_certs::build_csr(&key, fid, &sid).expect("a CSR");
    let resp = Client::new(base)
        .expect("a client")
        .session_trust(&session_trust::Request {
            username: fid.local_name().into(),
            csr: csr.to_pem(),
            password: "pw-of-the-test".into(),
            auth_payload: None,
        })
        .await
        .expect("session trust");
    (
        Client::new(base).expect("a client").with_token(&resp.token),
        resp.token,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_registration_policy_decides_over_http() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = RegistrationPolicy::custom(|req: RegistrationRequest| async move {
        assert!(req.client.is_loopback(), "the hook sees the client address");
        if req.fid.local_name().starts_with("bot-") {
            Ok(())
        } else {
            Err(RegistrationRefused::new(
                "only bot-* accounts register here",
            ))
        }
    });
    let running = start(builder(dir.path()).registration(policy)).await;
    let base = running.base_url();
    let fid = register(&base, "bot-one").await.expect("a bot registers");
    assert_eq!(fid.as_str(), "bot-one@chat.example");
    let refused = register(&base, "alice").await.expect_err("refused");
    assert_eq!(refused.status(), Some(403));
    assert_eq!(refused.error_code(), Some(&ErrorCode::Forbidden));
    assert!(
        format!("{refused}").contains("only bot-* accounts"),
        "{refused}"
    );
    // the refused name was not taken: nothing was stored
    assert!(
        running
            .server()
            .store()
            .actor_by_local_name("alice")
            .await
            .expect("a read")
            .is_none()
    );
    running.stop().await.expect("stops");
}

/// An event of the embedder's own namespace.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct NewMessage {
    channel: String,
    id: u64,
}

impl EventPayload for NewMessage {
    const NAMESPACE: &'static str = "chat";
    const OPCODE: u16 = 7;
}

/// Claims the core namespace: must be refused.
#[derive(Debug, Serialize, Deserialize)]
struct Forged {
    cert: String,
}

impl EventPayload for Forged {
    const NAMESPACE: &'static str = "core";
    const OPCODE: u16 = 4;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedder_events_reach_the_sessions_queue_and_core_is_reserved() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let running = start(builder(dir.path())).await;
    let base = running.base_url();
    let fid = register(&base, "alice").await.expect("registers");
    let phone = trust(&base, &fid, "phone").await;
    let laptop = trust(&base, &fid, "laptop").await;
    let events = running.server().events();

    let msg = NewMessage {
        channel: "general".into(),
        id: 42,
    };
    assert_eq!(events.to_actor(&fid, &msg).await.expect("queued"), 2);
    let phone_sid = SessionId::new("phone").expect("a session ID");
    let direct = NewMessage {
        channel: "dm".into(),
        id: 43,
    };
    assert_eq!(
        events
            .to_session(&fid, &phone_sid, &direct)
            .await
            .expect("queued"),
        1
    );

    let chat = |evs: Vec<p2core_types::events::Event>| -> Vec<NewMessage> {
        evs.into_iter()
            .filter(|e| e.n == "chat" && e.op == 7)
            .map(|e| serde_json::from_value(e.d).expect("the payload as sent"))
            .collect()
    };
    assert_eq!(
        chat(phone.events().await.expect("events")),
        vec![msg, direct]
    );
    assert_eq!(
        chat(laptop.events().await.expect("events")),
        vec![NewMessage {
            channel: "general".into(),
            id: 42
        }]
    );

    // the core namespace is the server's alone; other servers' actors and unknown ones are refused
    let forged = Forged { cert: "x".into() };
    assert!(matches!(
        events.to_actor(&fid, &forged).await,
        Err(PublishError::ReservedNamespace)
    ));
    let foreign = FederationId::new("bob@elsewhere.example").expect("a FID");
    assert!(matches!(
        events
            .to_actor(
                &foreign,
                &NewMessage {
                    channel: "c".into(),
                    id: 1
                }
            )
            .await,
        Err(PublishError::NotLocal(_))
    ));
    let nobody = FederationId::new("nobody@chat.example").expect("a FID");
    assert!(matches!(
        events
            .to_actor(
                &nobody,
                &NewMessage {
                    channel: "c".into(),
                    id: 1
                }
            )
            .await,
        Err(PublishError::UnknownActor(_))
    ));
    // an ended session gets nothing
    let gone = SessionId::new("tablet").expect("a session ID");
    assert_eq!(
        events
            .to_session(
                &fid,
                &gone,
                &NewMessage {
                    channel: "c".into(),
                    id: 2
                }
            )
            .await
            .expect("no error"),
        0
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedder_routes_merge_with_p2core_and_keep_their_own_fallback() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = builder(dir.path()).build().await.expect("builds");
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .merge(server.router())
        .fallback(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "embedder's fallback") });
    let running = server
        .start_router("127.0.0.1:0".parse().expect("an address"), app)
        .await
        .expect("starts");
    let base = running.base_url();
    let http = p2core_routes::client::http_client_builder()
        .expect("a builder")
        .build()
        .expect("a client");
    let hello = http
        .get(format!("{base}/hello"))
        .send()
        .await
        .expect("answered");
    assert_eq!(hello.text().await.expect("a body"), "hello");
    let challenge = Client::new(&base)
        .expect("a client")
        .challenge()
        .await
        .expect("a challenge");
    assert!(!challenge.challenge().is_empty());
    let unknown = http
        .get(format!("{base}/nope"))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        unknown.status().as_u16(),
        418,
        "the embedder's fallback, not p2core's"
    );
    // p2core's layers hold for its routes inside the merged app: a body over the limit is 413
    let big = http
        .post(format!("{base}/.p2/core/v1/register"))
        .header("content-type", "application/json")
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .expect("answered");
    assert_eq!(big.status().as_u16(), 413);
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_the_build_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let domain = DomainName::new("chat.example").expect("a domain");
    let cases: Vec<(ServerSettings, &str)> = vec![
        {
            let mut s = ServerSettings::new(domain.clone());
            s.admins = vec![FederationId::new("root@other.example").expect("a FID")];
            (s, "admins")
        },
        {
            let mut s = ServerSettings::new(domain.clone());
            s.keys = KeySettings::new()
                .root_cert_days(30)
                .root_renew_days(Some(30));
            (s, "keys.root_renew_days")
        },
        {
            let mut s = ServerSettings::new(domain.clone());
            s.limits = LimitSettings::new().register_per_minute(Some(0));
            (s, "limits.register_per_minute")
        },
    ];
    for (mut settings, name) in cases {
        settings.keys.dir = dir.path().to_path_buf();
        match ServerBuilder::from_settings(settings).build().await {
            Err(StartError::Settings(e)) => assert_eq!(e.setting, name, "{e}"),
            Err(e) => panic!("{name}: another error: {e}"),
            Ok(_) => panic!("{name}: built"),
        }
    }
    // nothing was created for a refused build
    assert!(!dir.path().join(p2core_server::DATABASE_FILE).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_directory_serves_one_server() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = builder(dir.path()).build().await.expect("builds");
    match builder(dir.path()).build().await {
        Err(StartError::Keys(e)) => assert!(
            e.to_string().contains("lock") || e.to_string().contains("running"),
            "{e}"
        ),
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a second server on the same key directory"),
    }
    drop(first);
    builder(dir.path())
        .build()
        .await
        .expect("the directory is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedder_events_reach_a_live_gateway_socket() {
    use p2core_routes::gateway_client::{GatewayClient, GatewayOptions};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let running = start(builder(dir.path())).await;
    let base = running.base_url();
    let fid = register(&base, "alice").await.expect("registers");
    let (_, token) = trust_token(&base, &fid, "phone").await;
    let url = GatewayClient::url_for(&base).expect("a gateway URL");
    let mut gw =
        GatewayClient::connect_with(&url, &token, GatewayOptions::default().reconnect(false))
            .await
            .expect("the gateway identifies the session");
    let msg = NewMessage {
        channel: "general".into(),
        id: 99,
    };
    assert_eq!(
        running
            .server()
            .events()
            .to_actor(&fid, &msg)
            .await
            .expect("queued"),
        1
    );
    let wait = std::time::Duration::from_secs(10);
    let env = loop {
        let env = tokio::time::timeout(wait, gw.next_event())
            .await
            .expect("an event in time")
            .expect("the socket is open")
            .expect("no gateway error");
        if env.n == "chat" {
            break env;
        }
    };
    assert_eq!(env.op, 7);
    assert!(
        env.s.is_some(),
        "a sequence number, so the client can acknowledge it"
    );
    let got: NewMessage = serde_json::from_value(env.d).expect("the payload as sent");
    assert_eq!(got, msg);
    gw.close().await;
    running.stop().await.expect("stops");
}
