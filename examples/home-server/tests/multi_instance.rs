//! Several instances of one home server on one PostgreSQL database (issue 15):
//! two server processes (the real binary, `--database-url` and the same
//! `--key-encryption-key-file`, each with its own data directory and port)
//! must behave as one server. Every test gets a fresh database and fails when
//! PostgreSQL cannot be reached (`P2CORE_TEST_POSTGRES`, default the local
//! PostgreSQL 15 at 127.0.0.1:5432; `.ci/run` starts it).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::process::ServerProcess;
use common::ws::{raw_identify, recv};
use common::{admin_cli, assert_api_error, client, register, trust};
use p2core_server::storage::postgres::testing::TestDatabase;
use p2core_types::{ErrorCode, IdCert, UnixTimestamp};
use tempfile::TempDir;

/// One home server (`localhost`) of two instances on one database.
struct Cluster {
    db: TestDatabase,
    dir: TempDir,
    a: Option<ServerProcess>,
    b: ServerProcess,
}

/// Writes a key-encryption key (64 hex digits) to `path`.
fn write_kek(path: &Path) {
    std::fs::write(path, hex::encode(p2core_types::random::bytes::<32>())).unwrap();
}

/// The flags of an instance on `db` with data in `dir/name`.
fn instance(db: &TestDatabase, dir: &Path, name: &str, extra: &[&str]) -> ServerProcess {
    let mut command = Command::new(common::BIN);
    command
        .args(["--domain", "localhost", "--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(dir.join(name))
        .arg("--database-url")
        .arg(db.url())
        .arg("--key-encryption-key-file")
        .arg(dir.join("kek.hex"))
        .args([
            "--admin",
            "root@localhost",
            "--database-max-connections",
            "4",
        ])
        .args(extra)
        .env("RUST_LOG", "info,sqlx=warn,tower_http=warn");
    ServerProcess::start(command)
}

impl Cluster {
    /// A fresh database; the administrator `root` made with `admin create`
    /// before the instances start; then the instances, one after the other.
    async fn start(extra: &[&str]) -> Self {
        let db = TestDatabase::create().await;
        let dir = tempfile::tempdir().unwrap();
        write_kek(&dir.path().join("kek.hex"));
        let kek = dir.path().join("kek.hex");
        let flags = [
            "--domain",
            "localhost",
            "--database-url",
            db.url(),
            "--key-encryption-key-file",
            kek.to_str().unwrap(),
        ];
        let (ok, out, err) = admin_cli(
            &dir.path().join("admin"),
            &flags,
            &["create", "root"],
            "root-password\n",
        );
        assert!(ok, "admin create on PostgreSQL: {out} {err}");
        let a = instance(&db, dir.path(), "a", extra);
        let b = instance(&db, dir.path(), "b", extra);
        Self {
            db,
            dir,
            a: Some(a),
            b,
        }
    }

    fn a(&self) -> &str {
        &self.a.as_ref().expect("instance A runs").base
    }

    fn b(&self) -> &str {
        &self.b.base
    }
}

/// An event committed at A (a new session of the actor) reaches the actor's
/// gateway socket at B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_committed_at_a_reaches_a_socket_at_b() {
    let c = Cluster::start(&[]).await;
    let fid = register(c.a(), "alice", "alice-pw").await;
    let first = trust(c.a(), &fid, "alice-pw", "phone").await;
    // The token made at A opens a socket at B (one store of tokens).
    let mut ws = raw_identify(c.b(), &first.token).await;
    let second = trust(c.a(), &fid, "alice-pw", "laptop").await;
    let ev = tokio::time::timeout(Duration::from_secs(10), recv(&mut ws))
        .await
        .expect("the event of the session opened at A arrives at B within 10 s");
    assert_eq!(ev.op, 3, "op 3 (new session): {ev:?}");
    let d = serde_json::to_string(&ev.d).unwrap();
    assert!(
        d.contains(&second.cert_pem.replace('\n', "\\n")),
        "the event carries the new session's certificate: {d}"
    );
    drop(c.db);
}

/// A root rotated at A: B signs the next certificate with the new root at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_at_a_then_issue_at_b_verifies_against_the_new_root() {
    let c = Cluster::start(&[]).await;
    let root_fid = p2core_types::FederationId::new("root@localhost").unwrap();
    let admin = trust(c.a(), &root_fid, "root-password", "console").await;
    let old_pem = client(c.b()).server_idcert(None).await.unwrap();
    // B has signed with the old root before (its keys are loaded).
    let fid = register(c.b(), "bob", "bob-pw").await;
    let before = trust(c.b(), &fid, "bob-pw", "one").await;
    let old_root = IdCert::from_pem(&old_pem).unwrap();
    p2core_certs::verify_actor_cert(&before.cert(), &old_root, UnixTimestamp::now()).unwrap();

    let new_pem = admin.client.rotate_server_key().await.unwrap();
    assert_ne!(new_pem, old_pem);
    let new_root = IdCert::from_pem(&new_pem).unwrap();
    // Immediately: the next issue at B verifies against the new root.
    let after = trust(c.b(), &fid, "bob-pw", "two").await;
    p2core_certs::verify_actor_cert(&after.cert(), &new_root, UnixTimestamp::now())
        .expect("B signed with the root rotated at A");
    assert_eq!(client(c.b()).server_idcert(None).await.unwrap(), new_pem);
    // The sealed key in the database is what B signs with; nothing was
    // written to B's data directory for it.
    assert!(
        !c.dir.path().join("b/keys").exists(),
        "keys live in the database, not in an instance's data directory"
    );
}

/// `--rate-register-per-minute 3` is 3 per minute across both instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_shared_by_the_instances() {
    // Stay inside one clock minute (the shared counters' window).
    let second = UnixTimestamp::now().0 % 60;
    if second > 40 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    let c = Cluster::start(&[
        "--rate-register-per-minute",
        "3",
        "--rate-session-writes-per-minute",
        "2",
    ])
    .await;
    register(c.a(), "r1", "pw-pw-pw-1").await;
    register(c.b(), "r2", "pw-pw-pw-2").await;
    register(c.a(), "r3", "pw-pw-pw-3").await;
    // Each instance alone has seen at most 2: only the shared count refuses.
    let refused = client(c.b())
        .register(&p2core_routes::register::Request {
            username: "r4".into(),
            password: "pw-pw-pw-4".into(),
            auth_payload: None,
        })
        .await;
    assert_api_error(refused, 429, ErrorCode::TooManyRequests);

    // Per session: 2 writes per minute in all (here ID-Cert rotations, at A then B).
    let fid = p2core_types::FederationId::new("r1@localhost").unwrap();
    let mut token = trust(c.a(), &fid, "pw-pw-pw-1", "desk").await.token;
    let session = p2core_types::SessionId::new("desk").unwrap();
    let rotate = |base: String, token: String| {
        let (fid, session) = (fid.clone(), session.clone());
        async move {
            let csr = p2core_certs::build_csr(&common::new_key(), &fid, &session).unwrap();
            common::authed(&base, &token)
                .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request {
                    csr: csr.to_pem(),
                })
                .await
        }
    };
    token = rotate(c.a().to_owned(), token)
        .await
        .expect("first write, at A")
        .token;
    token = rotate(c.b().to_owned(), token)
        .await
        .expect("second write, at B")
        .token;
    assert_api_error(
        rotate(c.a().to_owned(), token).await,
        429,
        ErrorCode::TooManyRequests,
    );
}

/// SIGKILL of instance A in the middle of writes at both instances: every
/// registration and session acknowledged (at A or B) is there afterwards, and
/// B keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_loses_nothing_acknowledged() {
    let mut c = Cluster::start(&[
        "--rate-register-per-minute",
        "0",
        "--rate-trust-per-minute",
        "0",
    ])
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, base) in [c.a(), c.b(), c.a(), c.b()].into_iter().enumerate() {
        let base = base.to_owned();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("w{w}n{i}");
                let res = client(&base)
                    .register(&p2core_routes::register::Request {
                        username: name.clone(),
                        password: "storm-password".into(),
                        auth_payload: None,
                    })
                    .await;
                match res {
                    Ok(r) => acked.push(r.fid),
                    // Instance A is gone: this writer is done.
                    Err(_) if w % 2 == 0 => break,
                    Err(e) => panic!("B failed a registration: {e}"),
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let a = c.a.take().unwrap();
    let _log = a.kill_9();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("a writer panicked"));
    }
    assert!(
        acked.len() > 10,
        "the storm made only {} registrations",
        acked.len()
    );
    // Every acknowledged actor can open a session at B.
    for (i, fid) in acked.iter().enumerate() {
        let s = trust(c.b(), fid, "storm-password", &format!("after{i}")).await;
        assert_eq!(&s.fid, fid);
    }
    // And B goes on serving new work.
    let fid = register(c.b(), "late", "late-password").await;
    trust(c.b(), &fid, "late-password", "desk").await;
}

/// `admin copy-to-postgres`: a SQLite deployment moves to PostgreSQL with its
/// actors, sessions (tokens keep working), queued events, root certificate and
/// key; the identities continue after the copied ids; a second copy into the
/// filled database is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deployment_moves_to_postgres() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_kek(&dir.path().join("kek.hex"));
    let old_data = dir.path().join("sqlite-data");
    let server = common::spawn_local_with(&old_data, |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "carol", "carol-pw").await;
    let phone = trust(&base, &fid, "carol-pw", "phone").await;
    let laptop = trust(&base, &fid, "carol-pw", "laptop").await;
    let root_pem = client(&base).server_idcert(None).await.unwrap();
    // GET /events hands the queue over: the laptop's event (taken now) ...
    let taken = phone.client.events().await.unwrap();
    assert_eq!(
        taken.len(),
        1,
        "the laptop's new-session event waits for the phone"
    );
    // ... and the tablet's, still queued when the server stops.
    trust(&base, &fid, "carol-pw", "tablet").await;
    server.stop().await.unwrap();

    let kek = dir.path().join("kek.hex");
    let flags = ["--key-encryption-key-file", kek.to_str().unwrap()];
    let (ok, out, err) = admin_cli(
        &old_data,
        &flags,
        &["copy-to-postgres", "--to", db.url()],
        "",
    );
    assert!(ok, "copy-to-postgres: {out} {err}");
    assert!(
        out.contains("actors 1") && out.contains("1 server key(s) sealed"),
        "{out}"
    );

    let pg = instance(&db, dir.path(), "pg", &[]);
    // The same root, and its key: a new session verifies against it.
    assert_eq!(
        client(&pg.base).server_idcert(None).await.unwrap(),
        root_pem
    );
    let desk = trust(&pg.base, &fid, "carol-pw", "desk").await;
    let root = IdCert::from_pem(&root_pem).unwrap();
    p2core_certs::verify_actor_cert(&desk.cert(), &root, UnixTimestamp::now()).unwrap();
    // Old tokens work, and the queue came along (plus the desk's event).
    let phone_at_pg = common::authed(&pg.base, &phone.token);
    let events = phone_at_pg.events().await.unwrap();
    assert_eq!(
        events.len(),
        2,
        "the tablet's (copied) and the desk's event: {events:?}"
    );
    assert_eq!(events[0].s, taken[0].s + 1, "event ids are kept");
    assert!(
        events[1].s > events[0].s,
        "new event ids continue after every id SQLite gave out: {events:?}"
    );
    common::authed(&pg.base, &laptop.token)
        .events()
        .await
        .expect("the laptop's token works on PostgreSQL");
    // New rows get new ids (no collision with the copied ones).
    register(&pg.base, "dave", "dave-pw").await;
    drop(pg);

    let (ok, out, err) = admin_cli(
        &old_data,
        &flags,
        &["copy-to-postgres", "--to", db.url()],
        "",
    );
    assert!(!ok, "a second copy into a filled database must fail: {out}");
    assert!(err.contains("already holds server data"), "{err}");
}

/// A challenge issued by A is answered at B (a foreign actor logs in), once
/// in all: the same answer is refused at both instances afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_issued_at_a_is_answered_at_b_once() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = common::spawn(home_dir.path(), "h.localhost", &[], &[]).await;
    let peer = format!("h.localhost={}", home.base_url());
    let c = Cluster::start(&["--peer", &peer]).await;
    let fid = register(&home.base_url(), "erin", "erin-pw").await;
    let s = trust(&home.base_url(), &fid, "erin-pw", "laptop").await;

    let challenge = client(c.a()).challenge().await.unwrap();
    let req = p2core_routes::session_identify::Request {
        completed_challenge: p2core_types::CompletedChallenge {
            challenge: challenge.challenge().to_owned(),
            signature: challenge.solve(&s.key),
        },
        id_cert: s.cert_pem.clone(),
        auth_payload: None,
    };
    let at_b = common::post_identify(c.b(), &req).await;
    assert_eq!(at_b.0, 201, "answered at B: {}", at_b.1);
    let token = at_b.1["token"].as_str().unwrap().to_owned();
    // The session opened at B is known at A.
    common::authed(c.a(), &token)
        .events()
        .await
        .expect("the foreign session opened at B authenticates at A");
    for base in [c.a(), c.b()] {
        common::assert_raw_error(
            &common::post_identify(base, &req).await,
            401,
            ErrorCode::ChallengeUnknown,
        );
    }
}

/// A gateway client that resumes at the other instance is told to identify
/// again (4010: the resume state lives in the instance it was connected to),
/// and loses nothing: Identify at B replays every event not acknowledged at A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_at_the_other_instance_loses_nothing() {
    use common::ws::{raw_connect, send};
    let c = Cluster::start(&["--gateway-heartbeat-ms", "60000"]).await;
    let fid = register(c.a(), "frank", "frank-pw").await;
    let one = trust(c.a(), &fid, "frank-pw", "one").await;
    let mut ws = raw_identify(c.a(), &one.token).await;
    let two = trust(c.a(), &fid, "frank-pw", "two").await;
    let first = recv(&mut ws).await;
    let last = first.s.unwrap();
    drop(ws);
    let three = trust(c.b(), &fid, "frank-pw", "three").await;

    let mut ws = raw_connect(c.b()).await;
    recv(&mut ws).await;
    send(
        &mut ws,
        serde_json::json!({"n": "core", "op": 5, "d": {"s": last, "token": one.token}}),
    )
    .await;
    assert_eq!(common::ws::recv_close(&mut ws).await.0, 4010);

    let mut ws = raw_identify(c.b(), &one.token).await;
    let mut certs = Vec::new();
    for _ in 0..2 {
        let ev = tokio::time::timeout(Duration::from_secs(10), recv(&mut ws))
            .await
            .expect("catch-up after Identify at B");
        certs.push(ev.d["cert"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        certs,
        vec![two.cert_pem.clone(), three.cert_pem.clone()],
        "the event received (not acknowledged) at A and the one missed, in order"
    );
}

/// A free loopback port (bound and released; nginx binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `deploy/nginx.conf`, as shipped, in front of the two instances: HTTP and
/// the gateway's WebSocket upgrade go through it, and an instance that dies is
/// taken out of the rotation while the other serves every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_configuration_balances_http_and_websockets() {
    let nginx = which_nginx();
    let mut c = Cluster::start(&["--trust-forwarded-for", "--trusted-proxies", "1"]).await;
    let port = free_port();
    let conf =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"))
            .unwrap()
            .replace("127.0.0.1:3001", c.a().trim_start_matches("http://"))
            .replace("127.0.0.1:3002", c.b().trim_start_matches("http://"))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let prefix = c.dir.path().join("nginx");
    std::fs::create_dir_all(&prefix).unwrap();
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let proxy = std::process::Command::new(&nginx)
        .arg("-p")
        .arg(&prefix)
        .args(["-c", "nginx.conf", "-g", "daemon off;"])
        .spawn()
        .expect("start nginx");
    let lb = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "nginx did not listen on {port}");

    let fid = register(&lb, "gina", "gina-pw").await;
    let first = trust(&lb, &fid, "gina-pw", "phone").await;
    let mut ws = raw_identify(&lb, &first.token).await;
    // Sessions opened through the balancer land on both instances; each one's
    // event reaches the socket, wherever the socket's instance is.
    for i in 0..4 {
        let s = trust(&lb, &fid, "gina-pw", &format!("s{i}")).await;
        let ev = tokio::time::timeout(Duration::from_secs(10), recv(&mut ws))
            .await
            .expect("the event reaches the socket behind nginx");
        assert_eq!(ev.d["cert"].as_str(), Some(s.cert_pem.as_str()));
    }
    // Instance A dies: every request through the balancer is still answered.
    c.a.take().unwrap().kill_9();
    for i in 0..6 {
        register(&lb, &format!("after{i}"), "after-password").await;
    }
    stop_nginx(proxy);
}

/// SIGTERM to nginx's master (it stops its workers; SIGKILL would orphan them).
fn stop_nginx(mut proxy: std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &proxy.id().to_string()])
        .status();
    let _ = proxy.wait();
}

/// The nginx binary (`.ci/run` installs it); a clear failure without it.
fn which_nginx() -> std::path::PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join("nginx");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "this test runs the shipped nginx configuration and needs nginx (apt-get install nginx-light; .ci/run installs it)"
    )
}

/// B's response cache of `GET /idcert/actor/{fid}` forgets the list when A
/// issues a certificate: the next lookups at B show it within moments (the
/// notification's way from A to B), never a list that stays stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_at_a_invalidates_the_cache_at_b() {
    let c = Cluster::start(&[]).await;
    let fid = register(c.a(), "hugo", "hugo-pw").await;
    trust(c.a(), &fid, "hugo-pw", "one").await;
    let lookup = |base: String| {
        let fid = fid.clone();
        async move {
            client(&base)
                .actor_idcerts(&fid, None, None)
                .await
                .unwrap()
                .idcerts
        }
    };
    // Filled (and served from B's cache from now on).
    assert_eq!(lookup(c.b().to_owned()).await.len(), 1);
    assert_eq!(lookup(c.b().to_owned()).await.len(), 1);
    let two = trust(c.a(), &fid, "hugo-pw", "two").await;
    let started = std::time::Instant::now();
    loop {
        let list = lookup(c.b().to_owned()).await;
        if list.len() == 2 {
            assert!(
                list.contains(&two.cert_pem),
                "the new certificate: {list:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "B still serves the list from before A's write after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
