//! Operator-made administrators and the `admin` subcommands of the real
//! binary; SIGTERM handling and secrets in logs of the real binary.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use p2core_routes::http::Method;
use p2core_types::{ErrorCode, FederationId, IdCert, UnixTimestamp};

fn register_body(name: &str, password: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"username": name, "password": password})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_name_cannot_be_registered_over_http_and_the_cli_admin_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = admin_cli(
        dir.path(),
        &["--admin", "root@localhost"],
        &["create", "root"],
        "operator-pw\n",
    );
    assert!(ok, "admin create failed: {out} {err}");
    assert!(out.contains("created root@localhost"), "{out}");

    let server = spawn(dir.path(), "localhost", &["root@localhost"], &[]).await;
    let base = server.base_url();
    // nobody can register the administrator's name over HTTP (taken or not)
    let (status, body) = raw(
        &base,
        Method::POST,
        "/.p2/core/v1/register",
        None,
        Some("application/json"),
        register_body("root", "attacker-pw"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "P2CORE_FORBIDDEN");
    assert!(
        body["message"].as_str().unwrap().contains("admin create"),
        "{body}"
    );

    // the operator's account logs in with the password given on stdin and may rotate
    let fid = FederationId::new("root@localhost").unwrap();
    let admin_session = trust(&base, &fid, "operator-pw", "console").await;
    let old_root = client(&base).server_idcert(None).await.unwrap();
    let new_root = admin_session.client.rotate_server_key().await.unwrap();
    assert_ne!(old_root, new_root);
    assert_eq!(client(&base).server_idcert(None).await.unwrap(), new_root);

    // an ordinary account may not
    let user = register(&base, "mallory", "pw").await;
    let s = trust(&base, &user, "pw", "s").await;
    assert_api_error(
        s.client.rotate_server_key().await,
        403,
        ErrorCode::NotAdministrator,
    );
    server.stop().await.unwrap();

    // `admin create` of an existing name is refused with advice
    let (ok, _, err) = admin_cli(dir.path(), &[], &["create", "root"], "other\n");
    assert!(!ok);
    assert!(
        err.contains("already exists") && err.contains("reset-password"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_registered_before_its_name_became_admin_gets_no_rights_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    // someone registers "root" while the server has no --admin
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "root", "squatter-pw").await;
    let early = trust(&base, &fid, "squatter-pw", "early").await;
    server.stop().await.unwrap();

    // the operator then names root@localhost as administrator
    let server = spawn(dir.path(), "localhost", &["root@localhost"], &[]).await;
    let base = server.base_url();
    let early_client = authed(&base, &early.token);
    assert_api_error(
        early_client.rotate_server_key().await,
        403,
        ErrorCode::NotAdministrator,
    );
    let late = trust(&base, &fid, "squatter-pw", "late").await;
    assert_api_error(
        late.client.rotate_server_key().await,
        403,
        ErrorCode::NotAdministrator,
    );

    // the operator takes the account over while the server runs
    let (ok, out, err) = admin_cli(
        dir.path(),
        &["--admin", "root@localhost"],
        &["reset-password", "root"],
        "operator-pw\r\n",
    );
    assert!(ok, "reset-password failed: {out} {err}");
    assert!(out.contains("2 session(s) ended"), "{out}");
    // the squatter's sessions and password are gone; their certificates are invalidated
    assert_api_error(
        late.client.rotate_server_key().await,
        401,
        ErrorCode::Unauthorized,
    );
    assert_api_error(
        client(&base)
            .session_trust(&p2core_routes::session_trust::Request {
                username: "root".into(),
                csr: p2core_certs::build_csr(
                    &new_key(),
                    &fid,
                    &p2core_types::SessionId::new("again").unwrap(),
                )
                .unwrap()
                .to_pem(),
                password: "squatter-pw".into(),
                auth_payload: None,
            })
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    let listed = client(&base).actor_idcerts(&fid, None, None).await.unwrap();
    assert_eq!(listed.invalidated, vec![true, true]);

    let op = trust(&base, &fid, "operator-pw", "console").await;
    let new_root = op.client.rotate_server_key().await.unwrap();
    assert_eq!(client(&base).server_idcert(None).await.unwrap(), new_root);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cli_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = admin_cli(dir.path(), &[], &["create", "root"], "");
    assert!(!ok);
    assert!(err.contains("password"), "{err}");
    let (ok, _, err) = admin_cli(dir.path(), &[], &["reset-password", "nobody"], "pw\n");
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
    let (ok, _, err) = admin_cli(dir.path(), &[], &["create", "bad name!"], "pw\n");
    assert!(!ok);
    assert!(err.contains("invalid name"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_renew_root_keeps_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "ivy", "pw").await;
    let s = trust(&base, &fid, "pw", "desk").await;
    let old_pem = client(&base).server_idcert(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = UnixTimestamp::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // not under a running server, which holds the key in memory
    let (ok, _, err) = admin_cli(dir.path(), &[], &["renew-root"], "");
    assert!(!ok);
    assert!(
        err.contains("a server is running") && err.contains("stop it first"),
        "{err}"
    );
    // nor can a second server start on the same data
    let mut config = p2core_home_server::Config::with_data_dir(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let err = p2core_home_server::start(config, false)
        .await
        .err()
        .expect("a second server must not start on the same data directory");
    assert!(err.to_string().contains("a server is running"), "{err}");
    assert_eq!(client(&base).server_idcert(None).await.unwrap(), old_pem);
    server.stop().await.unwrap();

    let (ok, out, err) = admin_cli(dir.path(), &[], &["renew-root"], "");
    assert!(ok, "renew-root failed: {out} {err}");
    assert!(out.contains("renewed the root certificate"), "{out}");

    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let new_pem = client(&base).server_idcert(None).await.unwrap();
    assert_ne!(new_pem, old_pem);
    assert_eq!(
        client(&base).server_idcert(Some(before)).await.unwrap(),
        old_pem
    );
    let old_root = IdCert::from_pem(&old_pem).unwrap();
    let new_root = IdCert::from_pem(&new_pem).unwrap();
    p2core_certs::verify_actor_cert(&s.cert(), &old_root, UnixTimestamp::now()).unwrap();
    let fresh = trust(&base, &fid, "pw", "laptop").await;
    p2core_certs::verify_actor_cert(&fresh.cert(), &new_root, UnixTimestamp::now()).unwrap();
    server.stop().await.unwrap();
}

/// A running server binary whose stderr is collected in a file.
struct BinServer {
    child: Child,
    log: std::path::PathBuf,
    base: String,
}

impl BinServer {
    fn start(dir: &Path, port: u16, rust_log: &str, flags: &[&str]) -> Self {
        let log = dir.join("server.log");
        let child = Command::new(BIN)
            .arg("--data")
            .arg(dir.join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(flags)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("stdout.log")).unwrap(),
            ))
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("the server binary runs");
        Self {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_ready(&self) {
        for _ in 0..300 {
            if client(&self.base).server_idcert(None).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server binary did not answer within 30 s");
    }

    fn sigterm(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill(1) is needed for this test");
        assert!(ok.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("the server did not stop within 30 s of SIGTERM");
    }

    fn log(&self) -> String {
        let mut s = String::new();
        std::fs::File::open(&self.log)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }
}

impl Drop for BinServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_at_trace_level_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let password = "Pw-9f3c1e-unique-secret";
    let admin_pw = "Admin-77b2d0-unique-secret";
    let (ok, out, err) = admin_cli(
        &dir.path().join("data"),
        &["--admin", "root@localhost"],
        &["create", "root"],
        &format!("{admin_pw}\n"),
    );
    assert!(ok, "{out} {err}");
    let mut server = BinServer::start(
        dir.path(),
        free_port(),
        "trace",
        &["--admin", "root@localhost"],
    );
    server.wait_ready().await;
    let base = server.base.clone();

    let fid = register(&base, "lena", password).await;
    let s = trust(&base, &fid, password, "phone").await;
    // a password in a query string (wrong place, still never logged)
    let (status, _) = raw(
        &base,
        Method::POST,
        &format!("/.p2/core/v1/session/trust?username=lena&password={password}"),
        None,
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    // a failing login with the right user and a wrong password
    let (status, _) = raw(
        &base,
        Method::POST,
        "/.p2/core/v1/session/trust",
        None,
        Some("application/json"),
        serde_json::to_vec(&serde_json::json!({
            "username": "lena", "password": format!("{password}-wrong"), "csr": "x"}))
        .unwrap(),
    )
    .await;
    assert!(status == 400 || status == 401, "{status}");
    let admin_session = trust(
        &base,
        &FederationId::new("root@localhost").unwrap(),
        admin_pw,
        "c",
    )
    .await;
    admin_session.client.rotate_server_key().await.unwrap();
    let _ = s.client.events().await.unwrap();

    // SIGTERM: a clean exit
    let status = server.sigterm();
    assert!(status.success(), "exit status {status:?}");
    let log = server.log();
    assert!(log.contains("shutting down"), "no shutdown line in the log");
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is not verbose"
    );

    let mut secrets = vec![
        password.to_owned(),
        admin_pw.to_owned(),
        s.token.clone(),
        admin_session.token.clone(),
    ];
    // the private keys' base64 lines
    for entry in std::fs::read_dir(dir.path().join("data/keys")).unwrap() {
        let pem = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16)
                .map(str::to_owned),
        );
    }
    assert!(secrets.len() >= 6);
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret ({} chars) appears in the server log",
            secret.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_that_expires_soon_is_warned_about_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinServer::start(
        dir.path(),
        free_port(),
        "info",
        &["--root-cert-days", "1", "--root-renew-days", "0"],
    );
    server.wait_ready().await;
    let status = server.sigterm();
    assert!(status.success(), "exit status {status:?}");
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("root certificate expires soon")),
        "no warning in the log:\n{log}"
    );
}
