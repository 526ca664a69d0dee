//! Crash safety of the real server binary: it is killed with SIGKILL in the
//! middle of a storm of registrations, session trusts, KeyPackage uploads and
//! KeyPackage claims, then restarted on the same data directory. After the
//! restart every request that was answered 2xx before the kill is still in
//! effect, no regular KeyPackage is handed out twice, and SQLite's
//! `PRAGMA integrity_check` passes. Each test is one kill point.
//!
//! What the two kinds of test prove (see docs/security.md, "What the crash tests prove"):
//!
//! - `kill_9_*`: a **process crash**. SIGKILL ends the process, but every byte it
//!   wrote is already in the kernel's page cache and survives, so these tests pass
//!   with `PRAGMA synchronous = OFF` as well: they prove that SQLite's WAL and
//!   transactions keep the database consistent and that the server answers 2xx
//!   only after the commit, not that anything reached the disk.
//! - `power_cut_*`: a **power cut**, simulated without root and without timing.
//!   The server runs with `tests/powercut/fsync_shadow.c` preloaded, which copies a
//!   file of the data directory at every successful `fsync`/`fdatasync`. After the
//!   SIGKILL every file is replaced by its last copy and files never synced are
//!   deleted: all writes that were not flushed are lost, as the page cache is in a
//!   power cut. These tests fail with `synchronous = OFF` or `NORMAL` (a 2xx answered
//!   before the WAL was synced is lost) and pass only with `FULL`. They need a C
//!   compiler (`cc`) and fail with a clear message without one.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::ServerProcess;
use common::{authed, client, new_key};
use ed25519_dalek::SigningKey;
use p2core_routes::client::{Client, ClientError};
use p2core_routes::{register, session_trust};
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{FederationId, SessionId};

/// Producers (registrations, trusts, uploads) sending requests at the same time.
const PRODUCERS: usize = 3;
/// Claimers (KeyPackage claims) sending requests at the same time.
const CLAIMERS: usize = 2;
/// The longest a storm runs before the kill, whatever the kill point.
const STORM_LIMIT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ the power cut

/// The `fsync_shadow` library, compiled once per test binary.
fn fsync_shadow_library() -> &'static Path {
    static LIB: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/powercut/fsync_shadow.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fsync_shadow-{}.so", std::process::id()));
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
            .arg(&out)
            .arg(&src)
            .arg("-ldl")
            .status()
            .unwrap_or_else(|e| {
                panic!("the power-cut tests need a C compiler (`cc`) to build {src:?}: {e}")
            });
        assert!(status.success(), "cc failed to build {src:?}: {status}");
        out
    })
}

/// A data directory whose unsynced writes a simulated power cut takes away.
struct PowerCut {
    /// The data directory (canonical, as `/proc/self/fd` links name it).
    data: PathBuf,
    /// The last `fsync`ed copy of each file (`/` in its relative path spelled `%`).
    shadow: PathBuf,
}

impl PowerCut {
    fn new(root: &Path, data: &Path) -> Self {
        std::fs::create_dir_all(data).unwrap();
        let shadow = root.join("fsynced");
        std::fs::create_dir_all(&shadow).unwrap();
        Self {
            data: data.canonicalize().unwrap(),
            shadow: shadow.canonicalize().unwrap(),
        }
    }

    /// The environment that preloads the library for the server.
    fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("LD_PRELOAD", fsync_shadow_library().into()),
            ("P2CORE_POWERCUT_DIR", self.data.clone().into()),
            ("P2CORE_POWERCUT_SHADOW", self.shadow.clone().into()),
        ]
    }

    /// After the process is gone: every file of the data directory becomes its last
    /// synced copy; files never synced are deleted. Returns (restored, deleted) paths.
    fn cut(&self) -> (Vec<String>, Vec<String>) {
        let (mut restored, mut deleted) = (Vec::new(), Vec::new());
        let mut dirs = vec![self.data.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&self.data).unwrap().to_string_lossy();
                let copy = self.shadow.join(rel.replace('/', "%"));
                if copy.exists() {
                    std::fs::copy(&copy, &path).unwrap();
                    restored.push(rel.into_owned());
                } else {
                    std::fs::remove_file(&path).unwrap();
                    deleted.push(rel.into_owned());
                }
            }
        }
        assert!(
            restored.iter().any(|f| f.starts_with("p2core.sqlite3")),
            "no synced copy of the database exists: the fsync_shadow library did not run \
             (restored {restored:?}, deleted {deleted:?})"
        );
        (restored, deleted)
    }
}

/// How the server goes down.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Crash {
    /// SIGKILL: the process dies, the page cache survives.
    Process,
    /// SIGKILL, then every write not flushed by `fsync` is lost.
    Power,
}

// ------------------------------------------------------------------ the process

/// Starts `p2core-home-server --data DATA --listen 127.0.0.1:0` and waits
/// until it logs the address it serves at; under `power`, with the
/// `fsync_shadow` library preloaded.
fn start_server(data: &Path, power: Option<&PowerCut>) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p2core-home-server"));
    if let Some(p) = power {
        command.envs(p.env());
    }
    command
        .args(["--domain", "localhost", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "info,sqlx=warn,tower_http=warn");
    ServerProcess::start(command)
}

// ------------------------------------------------------------------ the ledger

/// A session whose trust was answered 201.
#[derive(Clone)]
struct Trusted {
    fid: FederationId,
    session_id: SessionId,
    key: SigningKey,
    cert_pem: String,
    token: String,
}

/// What the server acknowledged (2xx) before the kill, and what it was sent.
#[derive(Default)]
struct Ledger {
    registered: Vec<FederationId>,
    trusted: Vec<Trusted>,
    /// KeyPackages of uploads answered 201, by actor.
    uploaded: HashMap<FederationId, Vec<String>>,
    /// Every KeyPackage sent in an upload, answered or not.
    sent: HashSet<String>,
    /// KeyPackages handed out by claims answered 200, with the claimed actor.
    claimed: Vec<(FederationId, String)>,
    /// Claims that got no answer (cut by the kill), by claimed actor: each may
    /// have handed out (and so removed) one KeyPackage per session.
    unanswered_claims: HashMap<FederationId, usize>,
}

struct Storm {
    base: String,
    ledger: Mutex<Ledger>,
    acks: AtomicUsize,
    /// Claims answered with at least one KeyPackage.
    claims: AtomicUsize,
    killed: AtomicBool,
    /// Transport errors seen before the kill (there must be none).
    early_failures: Mutex<Vec<String>>,
}

/// `Ok(Some(v))`: answered 2xx; `Ok(None)`: answered with an error status;
/// `Err(())`: no answer (the connection failed), which ends the worker.
fn answered<T>(storm: &Storm, what: &str, r: Result<T, ClientError>) -> Result<Option<T>, ()> {
    match r {
        Ok(v) => {
            storm.acks.fetch_add(1, Ordering::SeqCst);
            Ok(Some(v))
        }
        Err(e) if e.status().is_some() => Ok(None),
        Err(e) => {
            if !storm.killed.load(Ordering::SeqCst) {
                storm
                    .early_failures
                    .lock()
                    .unwrap()
                    .push(format!("{what}: {e}"));
            }
            Err(())
        }
    }
}

async fn trust_one(
    storm: &Storm,
    fid: &FederationId,
    session: &str,
) -> Result<Option<Trusted>, ()> {
    let key = new_key();
    let session_id = SessionId::new(session).unwrap();
    let csr = p2core_certs::build_csr(&key, fid, &session_id).unwrap();
    let r = client(&storm.base)
        .session_trust(&session_trust::Request {
            username: fid.local_name().into(),
            csr: csr.to_pem(),
            password: "pw".into(),
            auth_payload: None,
        })
        .await;
    Ok(answered(storm, "trust", r)?.map(|resp| Trusted {
        fid: fid.clone(),
        session_id,
        key,
        cert_pem: resp.id_cert,
        token: resp.token,
    }))
}

/// A producer: round after round, registers an actor, trusts two sessions
/// and uploads KeyPackages for each; until the server is killed.
async fn producer(storm: Arc<Storm>, w: usize) {
    let _ = produce(&storm, w).await;
}

async fn produce(storm: &Storm, w: usize) -> Result<(), ()> {
    for round in 0..1000 {
        if storm.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let name = format!("p{w}r{round}");
        let r = client(&storm.base)
            .register(&register::Request::new(&name, "pw"))
            .await;
        let Some(resp) = answered(storm, "register", r)? else {
            continue;
        };
        let fid = resp.fid;
        storm.ledger.lock().unwrap().registered.push(fid.clone());

        for s in ["a", "b"] {
            let Some(t) = trust_one(storm, &fid, s).await? else {
                continue;
            };
            storm.ledger.lock().unwrap().trusted.push(t.clone());
            let api = authed(&storm.base, &t.token);
            for _ in 0..2 {
                let kps: Vec<String> = generate_key_packages(&t.key, &t.fid, 2, false)
                    .expect("openmls makes KeyPackages")
                    .iter()
                    .map(|k| k.to_base64())
                    .collect();
                storm
                    .ledger
                    .lock()
                    .unwrap()
                    .sent
                    .extend(kps.iter().cloned());
                let r = api.upload_key_packages(&kps).await;
                if answered(storm, "upload", r)?.is_some() {
                    let mut l = storm.ledger.lock().unwrap();
                    l.uploaded.entry(t.fid.clone()).or_default().extend(kps);
                }
            }
        }
    }
    Ok(())
}

/// A claimer: registers its own actor and session, then keeps claiming
/// KeyPackages of the producers' actors (newest first), until the kill.
async fn claimer(storm: Arc<Storm>, w: usize) {
    let _ = claim(&storm, w).await;
}

async fn claim(storm: &Storm, w: usize) -> Result<(), ()> {
    let name = format!("c{w}");
    let r = client(&storm.base)
        .register(&register::Request::new(&name, "pw"))
        .await;
    let Some(resp) = answered(storm, "register", r)? else {
        return Ok(());
    };
    storm
        .ledger
        .lock()
        .unwrap()
        .registered
        .push(resp.fid.clone());
    let Some(me) = trust_one(storm, &resp.fid, "claims").await? else {
        return Ok(());
    };
    storm.ledger.lock().unwrap().trusted.push(me.clone());
    let api = authed(&storm.base, &me.token);
    for i in 0..100_000usize {
        if storm.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let target = {
            let l = storm.ledger.lock().unwrap();
            let producers: Vec<&FederationId> = l
                .registered
                .iter()
                .filter(|f| f.local_name().starts_with('p'))
                .collect();
            (!producers.is_empty())
                .then(|| producers[producers.len() - 1 - i % producers.len().min(3)].clone())
        };
        let Some(target) = target else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        match answered(storm, "claim", api.get_key_packages(&target).await) {
            Ok(Some(kps)) => {
                if !kps.is_empty() {
                    storm.claims.fetch_add(1, Ordering::SeqCst);
                }
                let mut l = storm.ledger.lock().unwrap();
                l.claimed
                    .extend(kps.into_iter().map(|k| (target.clone(), k)));
            }
            Ok(None) => {}
            Err(()) => {
                *storm
                    .ledger
                    .lock()
                    .unwrap()
                    .unanswered_claims
                    .entry(target)
                    .or_default() += 1;
                return Err(());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

// ------------------------------------------------------------------ the checks

/// How the kill point is chosen.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// After this many requests were answered 2xx.
    Acks(usize),
    /// This long after the first request was answered 2xx.
    FirstAckPlus(Duration),
    /// After this many claims handed out KeyPackages.
    Claims(usize),
}

async fn integrity_check(db: &Path) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the database after the crash");
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, ["ok"], "PRAGMA integrity_check");
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(fk.is_empty(), "foreign key violations in {fk:?}");
    pool.close().await;
}

/// Claims `fid`'s KeyPackages until none is left; returns them all.
async fn drain(api: &Client, fid: &FederationId) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..500 {
        let got = api
            .get_key_packages(fid)
            .await
            .expect("claim after restart");
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
    panic!("{fid}: KeyPackages never ran out");
}

async fn crash_and_recover(kill_point: KillPoint, crash: Crash) {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let power = (crash == Crash::Power).then(|| PowerCut::new(dir.path(), &data));
    let down = |server: ServerProcess| {
        let log = server.kill_9();
        if let Some(p) = &power {
            let (restored, deleted) = p.cut();
            eprintln!("power cut: restored the synced copies of {restored:?}, deleted {deleted:?}");
        }
        log
    };
    let server = start_server(&data, power.as_ref());

    let storm = Arc::new(Storm {
        base: server.base.clone(),
        ledger: Mutex::new(Ledger::default()),
        acks: AtomicUsize::new(0),
        claims: AtomicUsize::new(0),
        killed: AtomicBool::new(false),
        early_failures: Mutex::new(Vec::new()),
    });
    let mut workers: Vec<_> = (0..PRODUCERS)
        .map(|w| tokio::spawn(producer(storm.clone(), w)))
        .collect();
    workers.extend((0..CLAIMERS).map(|w| tokio::spawn(claimer(storm.clone(), w))));

    // ---- kill -9 at the kill point
    let began = Instant::now();
    let mut first_ack = None;
    loop {
        let acks = storm.acks.load(Ordering::SeqCst);
        if acks > 0 && first_ack.is_none() {
            first_ack = Some(Instant::now());
        }
        let due = match kill_point {
            KillPoint::Acks(n) => acks >= n,
            KillPoint::FirstAckPlus(d) => first_ack.is_some_and(|t| t.elapsed() >= d),
            KillPoint::Claims(n) => storm.claims.load(Ordering::SeqCst) >= n,
        };
        if due || began.elapsed() >= STORM_LIMIT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    storm.killed.store(true, Ordering::SeqCst);
    let acks_at_kill = storm.acks.load(Ordering::SeqCst);
    let log = down(server);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("workers stop once the server is gone")
            .unwrap();
    }
    let ledger = std::mem::take(&mut *storm.ledger.lock().unwrap());
    let early = storm.early_failures.lock().unwrap().clone();
    assert!(
        early.is_empty(),
        "requests failed before the kill: {early:?}\nserver log:\n{}",
        log.join("\n")
    );
    let reached = match kill_point {
        KillPoint::Acks(n) => acks_at_kill >= n,
        KillPoint::Claims(n) => storm.claims.load(Ordering::SeqCst) >= n,
        KillPoint::FirstAckPlus(_) => true,
    };
    assert!(
        reached,
        "the storm did not reach its kill point {kill_point:?} within {STORM_LIMIT:?}"
    );
    assert!(
        acks_at_kill >= 1 && !ledger.registered.is_empty(),
        "the storm got nothing acknowledged before the kill ({kill_point:?}), so it proves nothing"
    );
    eprintln!(
        "{crash:?} crash at {kill_point:?}: killed after {acks_at_kill} answered requests ({:?}): {} registered, \
         {} sessions, {} KeyPackages uploaded, {} claimed, {} claims cut",
        began.elapsed(),
        ledger.registered.len(),
        ledger.trusted.len(),
        ledger.uploaded.values().map(Vec::len).sum::<usize>(),
        ledger.claimed.len(),
        ledger.unanswered_claims.values().sum::<usize>(),
    );

    // ---- restart on the same data directory
    let server = start_server(&data, power.as_ref());
    let base = server.base.clone();

    // every acknowledged registration is there
    for fid in &ledger.registered {
        client(&base)
            .actor_idcerts(fid, None, None)
            .await
            .unwrap_or_else(|e| panic!("{fid} was registered (201) before the crash: {e}"));
    }
    // every acknowledged session: its certificate is listed, valid, and its token works
    for t in &ledger.trusted {
        let listed = client(&base)
            .actor_idcerts(&t.fid, None, Some(&t.session_id))
            .await
            .unwrap();
        let pairs: Vec<(&String, &bool)> = listed
            .idcerts
            .iter()
            .zip(listed.invalidated.iter())
            .collect();
        assert!(
            pairs.contains(&(&t.cert_pem, &false)),
            "{} session {}: its ID-Cert (201 before the crash) is gone: {pairs:?}",
            t.fid,
            t.session_id
        );
        let status = client(&base)
            .http()
            .get(format!("{base}/.p2/core/v1/events"))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status.is_success(),
            "{} session {}: its token stopped working after the crash ({status})",
            t.fid,
            t.session_id
        );
    }

    // KeyPackages: claim everything that is left, with a fresh session
    let checker = {
        let r = client(&base)
            .register(&register::Request::new("checker", "pw"))
            .await
            .unwrap();
        let key = new_key();
        let sid = SessionId::new("check").unwrap();
        let csr = p2core_certs::build_csr(&key, &r.fid, &sid).unwrap();
        let resp = client(&base)
            .session_trust(&session_trust::Request {
                username: "checker".into(),
                csr: csr.to_pem(),
                password: "pw".into(),
                auth_payload: None,
            })
            .await
            .unwrap();
        authed(&base, &resp.token)
    };
    let mut handed: Vec<(FederationId, String)> = ledger.claimed.clone();
    for fid in &ledger.registered {
        for kp in drain(&checker, fid).await {
            handed.push((fid.clone(), kp));
        }
    }
    let mut seen = HashSet::new();
    for (fid, kp) in &handed {
        assert!(
            ledger.sent.contains(kp),
            "{fid}: a KeyPackage nobody uploaded was handed out"
        );
        assert!(
            seen.insert(kp.as_str()),
            "{fid}: a KeyPackage was handed out twice (across the crash)"
        );
    }
    for (fid, kps) in &ledger.uploaded {
        let lost = kps.iter().filter(|k| !seen.contains(k.as_str())).count();
        // A claim cut by the kill may have committed without its answer
        // arriving: it removed at most one KeyPackage per session.
        let sessions = client(&base)
            .actor_idcerts(fid, None, None)
            .await
            .unwrap()
            .len();
        let cut = ledger.unanswered_claims.get(fid).copied().unwrap_or(0);
        assert!(
            lost <= cut * sessions,
            "{fid}: {lost} KeyPackages uploaded (201) before the crash were neither handed out \
             nor kept ({cut} claims were cut by the kill, {sessions} sessions)"
        );
    }

    // ---- a second crash, then the database must be intact
    down(server);
    integrity_check(&data.join("p2core.sqlite3")).await;
    // and it starts cleanly once more
    let server = start_server(&data, power.as_ref());
    client(&server.base).challenge().await.unwrap();
    server.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_after_the_first_acknowledged_request() {
    crash_and_recover(KillPoint::Acks(1), Crash::Process).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_after_12_acknowledged_requests() {
    crash_and_recover(KillPoint::Acks(12), Crash::Process).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_after_40_acknowledged_requests() {
    crash_and_recover(KillPoint::Acks(40), Crash::Process).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_in_the_middle_of_claims() {
    crash_and_recover(KillPoint::Claims(6), Crash::Process).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_a_random_moment() {
    let ms = u64::from(u16::from_le_bytes(p2core_types::random::bytes::<2>()) % 3000);
    crash_and_recover(
        KillPoint::FirstAckPlus(Duration::from_millis(ms)),
        Crash::Process,
    )
    .await;
}

// The power-cut tests: these fail if the store runs with `synchronous = OFF` or
// `NORMAL` (checked by editing `SqliteStore::open`), the kill_9 tests do not.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_cut_after_the_first_acknowledged_request() {
    crash_and_recover(KillPoint::Acks(1), Crash::Power).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_cut_after_40_acknowledged_requests() {
    crash_and_recover(KillPoint::Acks(40), Crash::Power).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_cut_in_the_middle_of_claims() {
    crash_and_recover(KillPoint::Claims(6), Crash::Power).await;
}
