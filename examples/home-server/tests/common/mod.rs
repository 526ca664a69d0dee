//! Shared helpers of the server's integration tests: a real server on a
//! loopback port with its own temporary data directory (a real SQLite file),
//! driven through the `p2core-routes` client.
#![allow(dead_code)]

pub mod fake;
pub mod process;
pub mod ws;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use ed25519_dalek::SigningKey;
use p2core_home_server::config::Peer;
use p2core_home_server::{Config, RunningServer, start};
use p2core_routes::client::{Client, ClientError};
use p2core_routes::{register, session_trust};
use p2core_types::{DomainName, ErrorCode, FederationId, IdCert, SessionId};

/// Starts a server for `domain` with data in `dir` on an ephemeral loopback port.
pub async fn spawn(
    dir: &Path,
    domain: &str,
    admins: &[&str],
    peers: &[(&str, String)],
) -> RunningServer {
    spawn_with(dir, domain, admins, peers, |_| {}).await
}

/// Like [`spawn`], with `tweak` applied to the configuration before the start.
pub async fn spawn_with(
    dir: &Path,
    domain: &str,
    admins: &[&str],
    peers: &[(&str, String)],
    tweak: impl FnOnce(&mut Config),
) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new(domain).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admins = admins
        .iter()
        .map(|a| FederationId::new(a).unwrap())
        .collect();
    config.peers = peers
        .iter()
        .map(|(d, url)| Peer::new(DomainName::new(d).unwrap(), url).unwrap())
        .collect();
    tweak(&mut config);
    start(config, false).await.expect("server starts")
}

/// A client session of an actor: its key, IDs, certificate and token.
pub struct Session {
    pub key: SigningKey,
    pub fid: FederationId,
    pub session_id: SessionId,
    pub cert_pem: String,
    pub token: String,
    pub client: Client,
}

impl Session {
    pub fn cert(&self) -> IdCert {
        IdCert::from_pem(&self.cert_pem).unwrap()
    }
}

pub fn new_key() -> SigningKey {
    SigningKey::from_bytes(&p2core_types::random::bytes::<32>())
}

pub fn client(base: &str) -> Client {
    Client::new(base).unwrap()
}

pub fn authed(base: &str, token: &str) -> Client {
    Client::new(base).unwrap().with_token(token)
}

pub async fn register(base: &str, name: &str, password: &str) -> FederationId {
    let resp = client(base)
        .register(&register::Request {
            username: name.into(),
            password: password.into(),
            auth_payload: None,
        })
        .await
        .expect("register");
    resp.fid
}

/// Opens a session for `fid` with a fresh key and session ID `session`.
pub async fn trust(base: &str, fid: &FederationId, password: &str, session: &str) -> Session {
    let key = new_key();
    let session_id = SessionId::new(session).unwrap();
    let csr = p2core_certs::build_csr(&key, fid, &session_id).unwrap();
    let resp = client(base)
        .session_trust(&session_trust::Request {
            username: fid.local_name().into(),
            csr: csr.to_pem(),
            password: password.into(),
            auth_payload: None,
        })
        .await
        .expect("session trust");
    Session {
        key,
        fid: fid.clone(),
        session_id,
        cert_pem: resp.id_cert,
        client: authed(base, &resp.token),
        token: resp.token,
    }
}

/// Asserts an API error with `status` and `code`.
#[track_caller]
pub fn assert_api_error<T: std::fmt::Debug>(
    res: Result<T, ClientError>,
    status: u16,
    code: ErrorCode,
) {
    match res {
        Err(e) => {
            assert_eq!(e.status(), Some(status), "status of {e:?}");
            assert_eq!(e.error_code(), Some(&code), "code of {e:?}");
        }
        Ok(v) => panic!("expected {status} {code}, got Ok({v:?})"),
    }
}

/// Sends a raw request and returns (status, parsed JSON body). Every error
/// answer of the server must be the JSON error body; this asserts so.
pub async fn raw(
    base: &str,
    method: p2core_routes::http::Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let http = client(base);
    let mut req = http
        .http()
        .request(method, format!("{base}{path}"))
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    if status >= 400 {
        assert!(
            json.get("errcode").and_then(|v| v.as_u64()) == Some(u64::from(status))
                && json
                    .get("error")
                    .and_then(|v| v.as_str())
                    .is_some_and(|s| s.starts_with("P2CORE_"))
                && json.get("message").is_some(),
            "error answer {status} is not the JSON error body: {json}"
        );
    }
    (status, json)
}

// ---- helper B (issue 7): servers with adjusted limits, operator-made admins ----

/// Starts a server for `localhost` with data in `dir` after `adjust` changed the config.
pub async fn spawn_local_with(dir: &Path, adjust: impl FnOnce(&mut Config)) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    adjust(&mut config);
    start(config, false).await.expect("server starts")
}

/// Creates the operator-made account `name` in `dir` (as `admin create` does)
/// and returns its Federation ID on `domain`.
pub async fn create_admin(dir: &Path, domain: &str, name: &str, password: &str) -> FederationId {
    use p2core_home_server::admin::{AdminCommand, run};
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new(domain).unwrap();
    let cmd = AdminCommand::Create { name: name.into() };
    run(&config, &cmd, Some(password.into()))
        .await
        .expect("admin create");
    FederationId::from_parts(name, &config.domain).unwrap()
}

/// Sends a prepared `POST /session/identify` (the typed client only sends
/// challenges it fetched and signed itself) and returns (status, JSON body).
pub async fn post_identify(
    base: &str,
    req: &p2core_routes::session_identify::Request,
) -> (u16, serde_json::Value) {
    raw(
        base,
        p2core_routes::http::Method::POST,
        p2core_routes::session_identify::INFO.path,
        None,
        Some("application/json"),
        serde_json::to_vec(req).unwrap(),
    )
    .await
}

/// Asserts that a raw answer is the JSON error with `status` and `code`.
#[track_caller]
pub fn assert_raw_error(answer: &(u16, serde_json::Value), status: u16, code: ErrorCode) {
    assert_eq!(answer.0, status, "status of {}", answer.1);
    assert_eq!(
        answer.1["error"].as_str(),
        Some(code.as_str()),
        "code of {}",
        answer.1
    );
}

/// The server binary of this package (the `admin` subcommands, process tests).
pub const BIN: &str = env!("CARGO_BIN_EXE_p2core-home-server");

/// Runs `p2core-home-server --data DIR [flags] admin ARGS` with `stdin` as its
/// standard input; returns (success, stdout, stderr).
pub fn admin_cli(dir: &Path, flags: &[&str], args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .args(flags)
        .arg("admin")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
