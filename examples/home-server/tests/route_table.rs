//! The server against `p2core_routes::all_routes()`: every route is served on
//! its current path and every legacy path, and every status the route table
//! documents for a route — its success status(es) and each of its error codes —
//! is actually answered in a situation that calls for it. A route answering
//! 500, or an undocumented status, or never a documented one, fails here.

mod common;

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use p2core_routes::http::Method;
use p2core_routes::{AuthRequirement, BodyKind, COMMON_ERRORS, RouteInfo, all_routes, find_route};
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{CompletedChallenge, ErrorCode, FederationId, SessionId};
use serde_json::{Value, json};

const V1: &str = "/.p2/core/v1";
const JSON: Option<&str> = Some("application/json");
const TEXT: Option<&str> = Some("text/plain");

/// Error codes of a route that this file does not provoke, with the test file
/// that does (checked: the file must name the code).
const COVERED_ELSEWHERE: &[(&str, ErrorCode, &str)] = &[
    // needs a challenge older than the shortest configurable lifetime
    (
        "session_identify",
        ErrorCode::ChallengeExpired,
        "tests/federation.rs",
    ),
    // --registration closed / invite (a server per mode, tokens from the admin CLI)
    (
        "register",
        ErrorCode::RegistrationClosed,
        "tests/registration.rs",
    ),
    (
        "register",
        ErrorCode::InvalidInvite,
        "tests/registration.rs",
    ),
    // per-session limits of KeyPackage claims and authenticated writes
    (
        "get_key_packages",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
    (
        "upload_key_packages",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
    (
        "replace_last_resort_key_package",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
    (
        "rotate_session_idcert",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
    (
        "update_extern_idcert",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
    (
        "delete_session",
        ErrorCode::TooManyRequests,
        "tests/hardening_limits.rs",
    ),
];

/// Sends requests, checks each answer against the route table and records
/// which of the documented statuses were seen.
struct Table {
    /// (route, status, code) seen, `code` empty for 2xx.
    seen: HashSet<(&'static str, u16, String)>,
    /// (route, path template) answered with a success status.
    served: HashSet<(&'static str, &'static str)>,
    /// Error answers other than the expected one (collected, reported at the end).
    wrong: Vec<String>,
}

impl Table {
    fn new() -> Self {
        Self {
            seen: HashSet::new(),
            served: HashSet::new(),
            wrong: Vec::new(),
        }
    }

    /// Sends one request that the route table says is `route`'s, and asserts
    /// the answer is `want` (a success status, or the status of `code`).
    #[allow(clippy::too_many_arguments)]
    async fn expect(
        &mut self,
        base: &str,
        route: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
        want: Want,
    ) -> Value {
        let without_query = path.split('?').next().unwrap_or(path);
        let matched = find_route(&method, without_query)
            .unwrap_or_else(|| panic!("{method} {path} is not a route of the table"));
        assert_eq!(matched.route.name, route, "{method} {path}");
        let info: &'static RouteInfo = matched.route;
        let template = match matched.variant {
            p2core_routes::PathVariant::Current => info.path,
            p2core_routes::PathVariant::Legacy(l) => l.path,
        };

        let (status, json) =
            raw(base, method.clone(), path, token, content_type, body.into()).await;
        let what = format!("{method} {path} ({route})");
        assert_ne!(status, 500, "{what} answered 500: {json}");
        match want {
            Want::Success(s) => {
                assert_eq!(status, s, "{what}: {json}");
                let documented = if info.gone.is_some() {
                    s == 410 && json["error"] == "P2CORE_GONE"
                } else {
                    s == info.success_status || Some(s) == info.alt_success_status
                };
                assert!(documented, "{what}: {s} is not a documented success status");
                self.seen.insert((info.name, s, String::new()));
                self.served.insert((info.name, template));
            }
            Want::Error(code) => {
                let got = ErrorCode::from_wire(json["error"].as_str().unwrap_or(""));
                if (status, &got) != (code.status(), &code) {
                    self.wrong.push(format!(
                        "{what}: expected {} {code}, got {status}: {json}",
                        code.status()
                    ));
                    return json;
                }
                assert!(
                    info.errors.contains(&code) || COMMON_ERRORS.contains(&code),
                    "{what} answered {code}, which its route table entry does not declare"
                );
                self.seen
                    .insert((info.name, status, code.as_str().to_owned()));
            }
        }
        json
    }

    /// Every documented status of every route was seen (or is provoked by
    /// the test named in [`COVERED_ELSEWHERE`]), and every path answered a
    /// success at least once.
    fn assert_complete(&self) {
        let mut missing = Vec::new();
        for info in all_routes() {
            let mut want = vec![(info.success_status, String::new())];
            if let Some(alt) = info.alt_success_status {
                want.push((alt, String::new()));
            }
            if info.gone.is_none() {
                want.extend(
                    info.errors
                        .iter()
                        .map(|c| (c.status(), c.as_str().to_owned())),
                );
            }
            for (status, code) in want {
                if self.seen.contains(&(info.name, status, code.clone())) {
                    continue;
                }
                let elsewhere = COVERED_ELSEWHERE
                    .iter()
                    .find(|(r, c, _)| *r == info.name && c.as_str() == code);
                if let Some((_, c, file)) = elsewhere {
                    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(
                        text.contains(&format!("ErrorCode::{c:?}")),
                        "{file} is said to provoke {c} but does not name it"
                    );
                    continue;
                }
                missing.push(format!("{} {status} {code}", info.name));
            }
            for (_, template, _) in info.all_paths() {
                if !self.served.contains(&(info.name, template)) {
                    missing.push(format!(
                        "{} on {template}: never answered a success",
                        info.name
                    ));
                }
            }
        }
        assert!(
            missing.is_empty() && self.wrong.is_empty(),
            "answers other than the documented error for the situation:\n{}\n\n\
             documented statuses never answered here (add a request that should provoke \
             each, or correct the route table):\n{}",
            self.wrong.join("\n"),
            missing.join("\n")
        );
    }
}

#[derive(Clone)]
enum Want {
    Success(u16),
    Error(ErrorCode),
}
use Want::{Error as E, Success as Ok_};

fn csr_pem(key: &ed25519_dalek::SigningKey, fid: &FederationId, session: &str) -> String {
    p2core_certs::build_csr(key, fid, &SessionId::new(session).unwrap())
        .unwrap()
        .to_pem()
}

/// A CSR for `fid` whose uniqueIdentifier is `session` (which need not be a
/// valid session ID), made with the `openssl` command line tool.
fn openssl_csr_with_session(fid: &FederationId, session: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "`openssl` is not installed or not on PATH ({e}); this test needs it \
                     (Debian: apt-get install openssl; `.ci/run` installs it)"
                )
            });
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    run(&["genpkey", "-algorithm", "ed25519", "-out", "k.pem"]);
    // the DC order of a CSR p2core builds, so only the session ID is wrong
    let ours = p2core_certs::build_csr(&new_key(), fid, &SessionId::new("x").unwrap()).unwrap();
    let mut subject = String::new();
    for atv in ours.subject().iter() {
        if atv.oid == p2core_types::pdn::OID_DC {
            let dc = p2core_types::pdn::directory_string(&atv.value).unwrap();
            subject.push_str(&format!("/DC={dc}"));
        }
    }
    subject.push_str(&format!(
        "/CN={}/UID={fid}/uniqueIdentifier={session}",
        fid.local_name()
    ));
    run(&[
        "req", "-new", "-key", "k.pem", "-subj", &subject, "-out", "r.csr",
    ]);
    std::fs::read_to_string(dir.path().join("r.csr")).unwrap()
}

fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[rustfmt::skip] // one request per line reads as a table
async fn every_documented_status_of_every_route_is_answered() {
    let (dir_a, dir_b, dir_c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    // administrators are made by the operator, not registered over HTTP
    let root_fid = create_admin(dir_a.path(), "a.localhost", "root", "pw").await;
    let a = spawn(dir_a.path(), "a.localhost", &["root@a.localhost"], &[]).await;
    let b = spawn(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
    )
    .await;
    // c.localhost believes a.localhost lives where nothing listens
    let c = spawn(
        dir_c.path(),
        "c.localhost",
        &[],
        &[("a.localhost", "http://127.0.0.1:9".into())],
    )
    .await;
    let (base, base_b) = (a.base_url(), b.base_url());
    let mut t = Table::new();

    // ---------------------------------------------------------------- register
    let r = "register";
    let reg = |name: &str| body(json!({"username": name, "password": "pw"}));
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, JSON, reg("alice"), Ok_(201)).await;
    t.expect(&base, r, Method::POST, "/p2core/identity", None, JSON, reg("bob"), Ok_(201)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, JSON, reg("root"), E(ErrorCode::Forbidden)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, JSON, &b"{not json"[..], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, TEXT, reg("carol"), E(ErrorCode::UnsupportedMediaType)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, JSON, reg("c a r o l"), E(ErrorCode::InvalidFederationId)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/register"), None, JSON, reg("ALICE"), E(ErrorCode::FederationIdTaken)).await;
    let alice = FederationId::new("alice@a.localhost").unwrap();
    let bob_fid = FederationId::new("bob@a.localhost").unwrap();

    // ---------------------------------------------------------------- session_trust
    let r = "session_trust";
    let trust_body =
        |csr: String, pw: &str| body(json!({"username": "alice", "password": pw, "csr": csr}));
    let mut key1 = new_key();
    let j = t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, trust_body(csr_pem(&key1, &alice, "one"), "pw"), Ok_(201)).await;
    let mut token1 = j["token"].as_str().unwrap().to_owned();
    let key_leg = new_key();
    let legacy_csr = STANDARD.encode(csr_pem(&key_leg, &alice, "leg"));
    let j = t.expect(&base, r, Method::POST, "/p2core/session/trust", None, JSON, trust_body(legacy_csr, "pw"), Ok_(201)).await;
    let token_leg = j["token"].as_str().unwrap().to_owned();
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, trust_body(csr_pem(&new_key(), &alice, "two"), "wrong"), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, trust_body("garbage".into(), "pw"), E(ErrorCode::InvalidCsr)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, trust_body(csr_pem(&new_key(), &alice, "one"), "pw"), E(ErrorCode::SessionIdTaken)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, &b"[1,2,3]"[..], E(ErrorCode::BadRequest)).await;
    let long_session = openssl_csr_with_session(&alice, &"x".repeat(33));
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, JSON, trust_body(long_session, "pw"), E(ErrorCode::InvalidSessionId)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/session/trust"), None, TEXT, trust_body(csr_pem(&new_key(), &alice, "two"), "pw"), E(ErrorCode::UnsupportedMediaType)).await;
    let bob = trust(&base, &bob_fid, "pw", "desk").await;
    let root = trust(&base, &root_fid, "pw", "console").await;

    // ---------------------------------------------------------------- rotate_session_idcert
    let r = "rotate_session_idcert";
    let rotate = format!("{V1}/session/idcert");
    let new1 = new_key();
    let j = t.expect(&base, r, Method::POST, &rotate, Some(&token1), JSON, body(json!({"csr": csr_pem(&new1, &alice, "one")})), Ok_(201)).await;
    (key1, token1) = (new1, j["token"].as_str().unwrap().to_owned());
    // the key of the first rotation is replaced by the legacy rotation below
    let _ = &key1;
    let new1 = new_key();
    let legacy_csr = STANDARD.encode(csr_pem(&new1, &alice, "one"));
    let j = t.expect(&base, r, Method::POST, "/p2core/session/idcert", Some(&token1), JSON, body(json!({"csr": legacy_csr})), Ok_(201)).await;
    (key1, token1) = (new1, j["token"].as_str().unwrap().to_owned());
    let cert1 =
        String::from_utf8(STANDARD.decode(j["id_cert"].as_str().unwrap()).unwrap()).unwrap();
    t.expect(&base, r, Method::POST, &rotate, None, JSON, body(json!({"csr": "x"})), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::POST, &rotate, Some(&token1), JSON, body(json!({"csr": 12})), E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::POST, &rotate, Some(&token1), TEXT, body(json!({"csr": "x"})), E(ErrorCode::UnsupportedMediaType)).await;
    t.expect(&base, r, Method::POST, &rotate, Some(&token1), JSON, body(json!({"csr": "x"})), E(ErrorCode::InvalidCsr)).await;

    // ---------------------------------------------------------------- upload_key_packages
    let r = "upload_key_packages";
    let kps = |n| -> Vec<String> {
        generate_key_packages(&key1, &alice, n, false)
            .unwrap()
            .iter()
            .map(|k| k.to_base64())
            .collect()
    };
    t.expect(&base, r, Method::POST, &format!("{V1}/keypackage/@me"), Some(&token1), JSON, body(json!(kps(2))), Ok_(201)).await;
    t.expect(&base, r, Method::POST, "/p2core/keypackage/@me", Some(&token1), JSON, body(json!(kps(1))), Ok_(201)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/keypackage/@me"), None, JSON, body(json!(kps(1))), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/keypackage/@me"), Some(&token1), JSON, &b"[]"[..], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/keypackage/@me"), Some(&token1), TEXT, body(json!(kps(1))), E(ErrorCode::UnsupportedMediaType)).await;
    t.expect(&base, r, Method::POST, &format!("{V1}/keypackage/@me"), Some(&token1), JSON, &br#"["AAAA"]"#[..], E(ErrorCode::InvalidKeyPackage)).await;

    // ---------------------------------------------------------------- replace_last_resort_key_package
    let r = "replace_last_resort_key_package";
    let lr = || generate_key_packages(&key1, &alice, 1, true).unwrap()[0].to_base64();
    t.expect(&base, r, Method::PUT, &format!("{V1}/keypackage_lr"), Some(&token1), JSON, body(json!(lr())), Ok_(204)).await;
    t.expect(&base, r, Method::PUT, "/p2core/keypackage_lr", Some(&token1), JSON, body(json!(lr())), Ok_(204)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/keypackage_lr"), None, JSON, body(json!(lr())), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/keypackage_lr"), Some(&token1), JSON, &b"42"[..], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/keypackage_lr"), Some(&token1), TEXT, body(json!(lr())), E(ErrorCode::UnsupportedMediaType)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/keypackage_lr"), Some(&token1), JSON, &br#""AAAA""#[..], E(ErrorCode::InvalidKeyPackage)).await;

    // ---------------------------------------------------------------- get_key_packages
    let r = "get_key_packages";
    let j = t.expect(&base, r, Method::GET, &format!("{V1}/keypackage/{alice}"), Some(&bob.token), None, vec![], Ok_(200)).await;
    assert!(
        !j.as_array().unwrap().is_empty(),
        "alice has KeyPackages: {j}"
    );
    t.expect(&base, r, Method::GET, &format!("{V1}/keypackage/{alice}"), None, None, vec![], E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/keypackage/not-a-fid"), Some(&bob.token), None, vec![], E(ErrorCode::InvalidFederationId)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/keypackage/nobody@a.localhost"), Some(&bob.token), None, vec![], E(ErrorCode::NotFound)).await;

    // ---------------------------------------------------------------- challenge, server certificate and key
    t.expect(&base, "challenge", Method::GET, &format!("{V1}/challenge"), None, None, vec![], Ok_(200)).await;
    for (r, path) in [
        ("server_idcert", "idcert/server"),
        ("server_public_key", "key/server"),
    ] {
        t.expect(&base, r, Method::GET, &format!("{V1}/{path}"), None, None, vec![], Ok_(200)).await;
        t.expect(&base, r, Method::GET, &format!("{V1}/{path}?timestamp=abc"), None, None, vec![], E(ErrorCode::BadRequest)).await;
        t.expect(&base, r, Method::GET, &format!("{V1}/{path}?timestamp=1"), None, None, vec![], E(ErrorCode::NotFound)).await;
    }

    // ---------------------------------------------------------------- actor_idcerts
    let r = "actor_idcerts";
    let j = t.expect(&base, r, Method::GET, &format!("{V1}/idcert/actor/{alice}"), None, None, vec![], Ok_(200)).await;
    assert!(j["idcerts"].as_array().unwrap().len() >= 2, "{j}");
    t.expect(&base, r, Method::GET, &format!("{V1}/idcert/actor/{alice}?timestamp=abc"), None, None, vec![], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/idcert/actor/not-a-fid"), None, None, vec![], E(ErrorCode::InvalidFederationId)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/idcert/actor/{alice}?session_id={}", "x".repeat(33)), None, None, vec![], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/idcert/actor/nobody@a.localhost"), None, None, vec![], E(ErrorCode::NotFound)).await;

    // ---------------------------------------------------------------- events
    let r = "events";
    // "leg" was told about the rotations of "one" ...
    t.expect(&base, r, Method::GET, &format!("{V1}/events"), Some(&token_leg), None, vec![], Ok_(200)).await;
    // ... and nothing else happened since
    t.expect(&base, r, Method::GET, &format!("{V1}/events"), Some(&token_leg), None, vec![], Ok_(204)).await;
    t.expect(&base, r, Method::GET, &format!("{V1}/events"), None, None, vec![], E(ErrorCode::Unauthorized)).await;

    // ---------------------------------------------------------------- delete_session
    let r = "delete_session";
    let three = trust(&base, &alice, "pw", "three").await;
    let four = trust(&base, &alice, "pw", "four").await;
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session"), Some(&token1), JSON, body(json!({"session_id": "three"})), Ok_(204)).await;
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session?session_id=four"), Some(&token1), None, vec![], Ok_(204)).await;
    drop((three, four));
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session"), None, JSON, body(json!({"session_id": "leg"})), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session"), Some(&token1), JSON, &b"{}"[..], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session"), Some(&token1), JSON, body(json!({"session_id": "x".repeat(33)})), E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::DELETE, &format!("{V1}/session"), Some(&token1), JSON, body(json!({"session_id": "nope"})), E(ErrorCode::NotFound)).await;

    // ---------------------------------------------------------------- update_extern_idcert (local session)
    let r = "update_extern_idcert";
    let ext = format!("{V1}/session/idcert/extern");
    t.expect(&base, r, Method::PUT, &ext, Some(&token1), TEXT, cert1.clone(), Ok_(201)).await;
    t.expect(&base, r, Method::PUT, &ext, None, TEXT, cert1.clone(), E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::PUT, &ext, Some(&token1), TEXT, vec![0xff, 0xfe, 0x00], E(ErrorCode::BadRequest)).await;
    t.expect(&base, r, Method::PUT, &ext, Some(&token1), Some("image/png"), cert1.clone(), E(ErrorCode::UnsupportedMediaType)).await;
    t.expect(&base, r, Method::PUT, &ext, Some(&token1), TEXT, "not a pem", E(ErrorCode::InvalidCertificate)).await;

    // ---------------------------------------------------------------- session_identify (alice of A on B)
    let r = "session_identify";
    let fed = trust(&base, &alice, "pw", "fed").await;
    let identify_body = |challenge: &str, signature: String, cert: &str| {
        body(json!({
            "completed_challenge": CompletedChallenge { challenge: challenge.to_owned(), signature },
            "id_cert": cert,
        }))
    };
    let ch = client(&base_b).challenge().await.unwrap();
    let j = t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&fed.key), &fed.cert_pem), Ok_(201)).await;
    let token_b = j["token"].as_str().unwrap().to_owned();
    t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, JSON, &b"{}"[..], E(ErrorCode::BadRequest)).await;
    let ch = client(&base_b).challenge().await.unwrap();
    t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, TEXT, identify_body(ch.challenge(), ch.solve(&fed.key), &fed.cert_pem), E(ErrorCode::UnsupportedMediaType)).await;
    let never_issued = "N".repeat(64);
    let sig =
        hex::encode(ed25519_dalek::Signer::sign(&fed.key, never_issued.as_bytes()).to_bytes());
    t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(&never_issued, sig, &fed.cert_pem), E(ErrorCode::ChallengeUnknown)).await;
    let ch = client(&base_b).challenge().await.unwrap();
    t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&new_key()), &fed.cert_pem), E(ErrorCode::ChallengeFailed)).await;
    let ch = client(&base_b).challenge().await.unwrap();
    t.expect(&base_b, r, Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&fed.key), "garbage"), E(ErrorCode::InvalidCertificate)).await;
    let ch = client(&c.base_url()).challenge().await.unwrap();
    t.expect(&c.base_url(), r, Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&fed.key), &fed.cert_pem), E(ErrorCode::UpstreamFailed)).await;

    // a foreign session may not rotate (its home server does that)
    t.expect(&base_b, "rotate_session_idcert", Method::POST, &rotate, Some(&token_b), JSON, body(json!({"csr": csr_pem(&fed.key, &alice, "fed")})), E(ErrorCode::Forbidden)).await;
    // nor push another session's certificate; its own works
    t.expect(&base_b, "update_extern_idcert", Method::PUT, &ext, Some(&token_b), TEXT, cert1.clone(), E(ErrorCode::Forbidden)).await;
    t.expect(&base_b, "update_extern_idcert", Method::PUT, &ext, Some(&token_b), TEXT, fed.cert_pem.clone(), Ok_(201)).await;

    // ---------------------------------------------------------------- rotate_server_key
    let r = "rotate_server_key";
    t.expect(&base, r, Method::PUT, &format!("{V1}/key/server"), Some(&bob.token), None, vec![], E(ErrorCode::NotAdministrator)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/key/server"), None, None, vec![], E(ErrorCode::Unauthorized)).await;
    t.expect(&base, r, Method::PUT, &format!("{V1}/key/server"), Some(&root.token), None, vec![], Ok_(200)).await;

    // ---------------------------------------------------------------- legacy_key_user (gone)
    t.expect(&base, "legacy_key_user", Method::POST, "/p2core/key/user/@me", Some(&token1), JSON, &br#""-----BEGIN PGP PUBLIC KEY BLOCK-----""#[..], Ok_(410)).await;

    // ---------------------------------------------------------------- gateway
    let j = t.expect(&base, "gateway", Method::GET, &format!("{V1}/gateway"), None, None, vec![], Ok_(200)).await;
    assert!(j.to_string().contains("/gateway/ws"), "discovery names the WebSocket path: {j}");
    // the WebSocket upgrade itself (101) needs a WebSocket handshake, which `expect` does not send
    let ws_url = format!("{}{V1}/gateway/ws", base.replacen("http://", "ws://", 1));
    let (ws, response) = tokio_tungstenite::connect_async(ws_url.as_str()).await.expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    t.seen.insert(("gateway_ws", 101, String::new()));
    t.served.insert(("gateway_ws", "/.p2/core/v1/gateway/ws"));
    drop(ws);

    // ---------------------------------------------------------------- limits: sizes, sessions, rates
    // d: a 16-byte auth_payload limit and one live session per actor; e: one request per
    // minute and client address on each rate-limited route
    let (dir_d, dir_e) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let d = spawn_with(dir_d.path(), "d.localhost", &[], &[("a.localhost", base.clone())], |c| {
        c.max_auth_payload_bytes = 16;
        c.max_sessions_per_actor = 1;
    })
    .await;
    let e = spawn_with(dir_e.path(), "e.localhost", &[], &[], |c| {
        c.rate_register_per_minute = 1;
        c.rate_trust_per_minute = 1;
        c.rate_challenge_per_minute = 1;
        c.rate_identify_per_minute = 1;
    })
    .await;
    let (base_d, base_e) = (d.base_url(), e.base_url());
    let big = json!({"note": "x".repeat(64)});
    let dora = FederationId::new("dora@d.localhost").unwrap();
    let dora_trust = |session: &str, payload: Option<&Value>| {
        let mut j = json!({"username": "dora", "password": "pw", "csr": csr_pem(&new_key(), &dora, session)});
        if let Some(p) = payload { j["auth_payload"] = p.clone(); }
        body(j)
    };
    t.expect(&base_d, "register", Method::POST, &format!("{V1}/register"), None, JSON, body(json!({"username": "dora", "password": "pw", "auth_payload": big})), E(ErrorCode::PayloadTooLarge)).await;
    t.expect(&base_d, "register", Method::POST, &format!("{V1}/register"), None, JSON, reg("dora"), Ok_(201)).await;
    t.expect(&base_d, "session_trust", Method::POST, &format!("{V1}/session/trust"), None, JSON, dora_trust("one", Some(&big)), E(ErrorCode::PayloadTooLarge)).await;
    t.expect(&base_d, "session_trust", Method::POST, &format!("{V1}/session/trust"), None, JSON, dora_trust("one", None), Ok_(201)).await;
    t.expect(&base_d, "session_trust", Method::POST, &format!("{V1}/session/trust"), None, JSON, dora_trust("two", None), E(ErrorCode::TooManySessions)).await;
    // (sessions made after A's key rotation above, so that D verifies them against A's current root)
    let (fed2, fed3) = (trust(&base, &alice, "pw", "fed2").await, trust(&base, &alice, "pw", "fed3").await);
    let ch = client(&base_d).challenge().await.unwrap();
    let mut with_payload: Value = serde_json::from_slice(&identify_body(ch.challenge(), ch.solve(&fed2.key), &fed2.cert_pem)).unwrap();
    with_payload["auth_payload"] = big.clone();
    t.expect(&base_d, "session_identify", Method::POST, &format!("{V1}/session/identify"), None, JSON, body(with_payload), E(ErrorCode::PayloadTooLarge)).await;
    let ch = client(&base_d).challenge().await.unwrap();
    t.expect(&base_d, "session_identify", Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&fed2.key), &fed2.cert_pem), Ok_(201)).await;
    let ch = client(&base_d).challenge().await.unwrap();
    t.expect(&base_d, "session_identify", Method::POST, &format!("{V1}/session/identify"), None, JSON, identify_body(ch.challenge(), ch.solve(&fed3.key), &fed3.cert_pem), E(ErrorCode::TooManySessions)).await;
    // the second request of a minute from one address: 429 with Retry-After
    t.expect(&base_e, "register", Method::POST, &format!("{V1}/register"), None, JSON, reg("erin"), Ok_(201)).await;
    t.expect(&base_e, "register", Method::POST, &format!("{V1}/register"), None, JSON, reg("eric"), E(ErrorCode::TooManyRequests)).await;
    let erin = FederationId::new("erin@e.localhost").unwrap();
    let erin_trust = body(json!({"username": "erin", "password": "wrong", "csr": csr_pem(&new_key(), &erin, "one")}));
    t.expect(&base_e, "session_trust", Method::POST, &format!("{V1}/session/trust"), None, JSON, erin_trust.clone(), E(ErrorCode::Unauthorized)).await;
    t.expect(&base_e, "session_trust", Method::POST, &format!("{V1}/session/trust"), None, JSON, erin_trust, E(ErrorCode::TooManyRequests)).await;
    t.expect(&base_e, "challenge", Method::GET, &format!("{V1}/challenge"), None, None, vec![], Ok_(200)).await;
    t.expect(&base_e, "challenge", Method::GET, &format!("{V1}/challenge"), None, None, vec![], E(ErrorCode::TooManyRequests)).await;
    t.expect(&base_e, "session_identify", Method::POST, &format!("{V1}/session/identify"), None, JSON, &b"{}"[..], E(ErrorCode::BadRequest)).await;
    t.expect(&base_e, "session_identify", Method::POST, &format!("{V1}/session/identify"), None, JSON, &b"{}"[..], E(ErrorCode::TooManyRequests)).await;
    d.stop().await.unwrap();
    e.stop().await.unwrap();

    // ---------------------------------------------------------------- A goes away: B cannot ask it
    a.stop().await.unwrap();
    t.expect(&base_b, "update_extern_idcert", Method::PUT, &ext, Some(&token_b), TEXT, fed.cert_pem.clone(), E(ErrorCode::UpstreamFailed)).await;

    t.assert_complete();
    c.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_is_served_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw-alice").await;
    let s = trust(&base, &fid, "pw-alice", "one").await;

    let mut checked = 0;
    for route in all_routes() {
        for (method, template, _) in route.all_paths() {
            let path = template.replace("{fid}", fid.as_str());
            let token = (route.auth != AuthRequirement::None).then_some(s.token.as_str());
            let (ct, body): (Option<&str>, Vec<u8>) = match route.request_body {
                BodyKind::Json => (Some("application/json"), b"{}".to_vec()),
                BodyKind::PemText => (Some("text/plain"), b"not a pem".to_vec()),
                BodyKind::None => (None, vec![]),
                other => panic!("no test body for {other:?} (BodyKind is non_exhaustive)"),
            };
            let (status, json) = raw(&base, method.clone(), &path, token, ct, body).await;
            assert_ne!(status, 500, "{method} {path} answered 500: {json}");
            let ok = status == route.success_status || Some(status) == route.alt_success_status;
            if !ok {
                let code = p2core_types::ErrorCode::from_wire(json["error"].as_str().unwrap());
                assert!(
                    route.errors.contains(&code) || COMMON_ERRORS.contains(&code),
                    "{method} {path} ({}) answered {status} {code}, which its route table entry does not declare: {json}",
                    route.name
                );
                assert_ne!(
                    json["message"], "no such route",
                    "{method} {path} is not served"
                );
                assert_ne!(
                    status, 405,
                    "{method} {path} is not served with that method"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= all_routes().len());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_names_the_allowed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let resp = client(&server.base_url())
        .http()
        .delete(format!("{}/.p2/core/v1/register", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allow.as_deref(), Some("POST"));
    server.stop().await.unwrap();
}
