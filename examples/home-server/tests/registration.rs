//! `--registration open|closed|invite` over real HTTP, with invite tokens made,
//! listed and revoked by the real binary's `admin invite` commands (issue 13
//! item 12).

mod common;

use std::path::Path;

use common::*;
use p2core_home_server::config::RegistrationMode;
use p2core_routes::http::Method;
use p2core_types::ErrorCode;

/// Runs `p2core-home-server --data DIR admin ARGS`; returns (success, stdout, stderr).
fn admin(dir: &Path, args: &[&str]) -> (bool, String, String) {
    admin_cli(dir, &[], args, "")
}

/// `admin invite create ARGS`: the token (last line of the output) and the invite's id.
fn create_invite(dir: &Path, args: &[&str]) -> (String, String) {
    let mut full = vec!["invite", "create"];
    full.extend_from_slice(args);
    let (ok, out, err) = admin(dir, &full);
    assert!(ok, "admin invite create failed: {out} {err}");
    let token = out
        .trim_end()
        .lines()
        .last()
        .expect("a token line")
        .trim()
        .to_owned();
    let id = out
        .split_whitespace()
        .nth(2)
        .expect("created invite ID:")
        .trim_end_matches(':')
        .to_owned();
    assert!(token.len() >= 40, "{out}");
    (token, id)
}

/// `POST /register` with an optional `auth_payload`; (status, JSON body).
async fn register_with(
    base: &str,
    name: &str,
    payload: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut body = serde_json::json!({"username": name, "password": "pw-long-enough"});
    if let Some(p) = payload {
        body["auth_payload"] = p;
    }
    raw(
        base,
        Method::POST,
        p2core_routes::register::INFO.path,
        None,
        Some("application/json"),
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn invite(token: &str) -> Option<serde_json::Value> {
    Some(serde_json::json!({ "invite": token }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_registration_refuses_everyone_but_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| c.registration = RegistrationMode::Closed).await;
    let base = server.base_url();
    for payload in [None, invite("anything")] {
        let answer = register_with(&base, "alice", payload).await;
        assert_raw_error(&answer, 403, ErrorCode::RegistrationClosed);
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .contains("does not accept"),
            "{}",
            answer.1
        );
    }
    // the legacy path is closed as well
    let (status, body) = raw(
        &base,
        Method::POST,
        "/p2core/identity",
        None,
        Some("application/json"),
        br#"{"username": "bob", "password": "pw"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("P2CORE_REGISTRATION_CLOSED"))
    );
    // the operator still makes accounts, and they can log in
    let fid = create_admin(dir.path(), "localhost", "carol", "pw-carol").await;
    trust(&base, &fid, "pw-carol", "laptop").await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_tokens_from_the_admin_cli_are_used_up_atomically_and_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| c.registration = RegistrationMode::Invite).await;
    let base = server.base_url();

    // without a token, with a made-up one, with one of the wrong type: 403
    for payload in [
        None,
        Some(serde_json::json!({})),
        invite("made-up-token"),
        Some(serde_json::json!({"invite": 12345})),
    ] {
        let answer = register_with(&base, "alice", payload).await;
        assert_raw_error(&answer, 403, ErrorCode::InvalidInvite);
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .contains("auth_payload.invite")
        );
    }

    // an invite for two registrations, made while the server runs
    let (token, id) = create_invite(dir.path(), &["--uses", "2", "--days", "1"]);
    let (status, body) = register_with(
        &base,
        "alice",
        Some(serde_json::json!({"invite": token, "email": "a@example.com"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // a taken name does not use the invite up
    let answer = register_with(&base, "alice", invite(&token)).await;
    assert_raw_error(&answer, 409, ErrorCode::FederationIdTaken);
    assert_eq!(register_with(&base, "bob", invite(&token)).await.0, 201);
    let answer = register_with(&base, "carol", invite(&token)).await;
    assert_raw_error(&answer, 403, ErrorCode::InvalidInvite);
    let (ok, out, _) = admin(dir.path(), &["invite", "list"]);
    assert!(ok);
    assert!(
        out.contains(&format!("invite {id}:")) && out.contains("used 2 of 2, used up"),
        "{out}"
    );
    assert!(!out.contains(&token), "list never shows tokens: {out}");
    let first_token = token.clone();

    // one use, ten registrations at once: exactly one gets the account
    let (token, _) = create_invite(dir.path(), &[]);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (base, token) = (base.clone(), token.clone());
            tokio::spawn(
                async move { register_with(&base, &format!("racer{i}"), invite(&token)).await },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().0);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 403, 403, 403, 403, 403, 403, 403, 403, 403]);

    // a revoked invite is refused
    let (token, id) = create_invite(dir.path(), &["--uses", "5"]);
    let (ok, out, err) = admin(dir.path(), &["invite", "revoke", &id]);
    assert!(ok, "{out} {err}");
    assert!(out.contains(&format!("revoked invite {id}")), "{out}");
    let answer = register_with(&base, "dave", invite(&token)).await;
    assert_raw_error(&answer, 403, ErrorCode::InvalidInvite);
    let (ok, out, _) = admin(dir.path(), &["invite", "list"]);
    assert!(ok && out.contains("used 0 of 5, revoked"), "{out}");
    // revoking again, or an unknown id: a clear error, exit status 1
    let (ok, _, err) = admin(dir.path(), &["invite", "revoke", &id]);
    assert!(!ok && err.contains("no unrevoked invite"), "{err}");
    let (ok, _, err) = admin(dir.path(), &["invite", "create", "--uses", "0"]);
    assert!(!ok && err.contains("--uses"), "{err}");

    // the accounts made with invites log in like any other
    let alice = p2core_types::FederationId::new("alice@localhost").unwrap();
    trust(&base, &alice, "pw-long-enough", "laptop").await;
    server.stop().await.unwrap();

    // the token is stored nowhere, neither in the invites table nor with the actor
    // (read after the stop: opening the file in this process would drop SQLite's locks)
    for file in ["p2core.sqlite3", "p2core.sqlite3-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes
                .windows(first_token.len())
                .any(|w| w == first_token.as_bytes()),
            "the token is in {file}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_ignores_invites() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |_| {}).await;
    let base = server.base_url();
    assert_eq!(register_with(&base, "alice", None).await.0, 201);
    assert_eq!(register_with(&base, "bob", invite("whatever")).await.0, 201);
    server.stop().await.unwrap();
}
