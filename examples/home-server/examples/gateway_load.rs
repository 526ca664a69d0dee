//! Gateway load generator (docs/benchmarks.md, "WebSocket gateway").
//!
//! Opens `--actors × --sessions × --per-session` identified WebSocket connections to a
//! running server on loopback, keeps them heartbeating, measures the server's
//! resident memory (from `/proc/<pid>/status`) before and after, then rotates
//! the server key once and measures how long op 6 takes to reach every
//! connection. Bounded: it gives up after `--timeout-secs` and exits.
//!
//! ```sh
//! echo bench-password | cargo run -p p2core-home-server -- --data /tmp/gw-bench \
//!     --admin bench0@localhost admin create bench0
//! cargo run -p p2core-home-server -- --data /tmp/gw-bench --listen 127.0.0.1:3900 \
//!     --admin bench0@localhost --gateway-heartbeat-ms 10000 \
//!     --rate-register-per-minute 0 --rate-trust-per-minute 0 &
//! cargo run -p p2core-home-server --example gateway_load -- \
//!     --url http://127.0.0.1:3900 --actors 100 --sessions 10 --per-session 10 --server-pid $!
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use p2core_routes::client::Client;
use p2core_routes::gateway_client::GatewayClient;
use p2core_routes::{register, session_trust};
use p2core_types::gateway::Envelope;
use p2core_types::{FederationId, SessionId};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    url: String,
    actors: usize,
    sessions: usize,
    per_session: usize,
    server_pid: Option<u32>,
    timeout: Duration,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:3900".into(),
        actors: 10,
        sessions: 10,
        per_session: 10,
        server_pid: None,
        timeout: Duration::from_secs(600),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--url" => a.url = v,
            "--actors" => a.actors = v.parse().expect("--actors N"),
            "--sessions" => a.sessions = v.parse().expect("--sessions N"),
            "--per-session" => a.per_session = v.parse().expect("--per-session N"),
            "--server-pid" => a.server_pid = Some(v.parse().expect("--server-pid PID")),
            "--timeout-secs" => a.timeout = Duration::from_secs(v.parse().expect("seconds")),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One connection: identify, then heartbeat every interval and report op 6 arrivals.
async fn connection(
    url: String,
    token: String,
    ready: mpsc::Sender<()>,
    op6: mpsc::UnboundedSender<Instant>,
) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        eprintln!("connect failed");
        return;
    };
    let mut interval = Duration::from_secs(30);
    let mut received: Vec<u64> = Vec::new();
    let mut identified = false;
    let mut beat = tokio::time::Instant::now() + interval;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(Message::Text(t))) = msg else {
                    if let Some(Ok(Message::Ping(_) | Message::Pong(_))) = msg { continue; }
                    eprintln!("connection ended: {msg:?}");
                    return;
                };
                let Ok(env) = serde_json::from_str::<Envelope>(t.as_str()) else { continue };
                if let Some(s) = env.s { received.push(s); }
                match env.op {
                    1 => {
                        if let Some(ms) = env.d["heartbeatInterval"].as_str().and_then(|v| v.parse().ok()) {
                            interval = Duration::from_millis(ms);
                            beat = tokio::time::Instant::now() + interval;
                        }
                        let id = json!({"n": "core", "op": "2", "d": {"token": token}});
                        if ws.send(Message::Text(id.to_string().into())).await.is_err() { return; }
                    }
                    12 if !identified => {
                        identified = true;
                        let _ = ready.send(()).await;
                    }
                    6 => { let _ = op6.send(Instant::now()); }
                    11 => beat = tokio::time::Instant::now(),
                    _ => {}
                }
            }
            () = tokio::time::sleep_until(beat) => {
                let hb = p2core_types::gateway::Heartbeat::from_received(&received);
                received.clear();
                beat = tokio::time::Instant::now() + interval;
                if let Some(hb) = hb {
                    let Ok(env) = Envelope::client(&hb) else { return };
                    let text = serde_json::to_string(&env).unwrap_or_default();
                    if ws.send(Message::Text(text.into())).await.is_err() { return; }
                }
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let deadline = Instant::now() + a.timeout;
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(8));
    let mut regs = Vec::new();
    for n in 0..a.actors {
        let client = Client::new(&a.url).expect("base URL");
        let limit = limit.clone();
        regs.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.ok();
            let _ = client
                .register(&register::Request {
                    username: format!("bench{n}"),
                    password: "bench-password".into(),
                    auth_payload: None,
                })
                .await;
        }));
    }
    for r in regs {
        let _ = r.await;
    }
    let mut tasks = Vec::new();
    for i in 0..a.actors * a.sessions {
        let client = Client::new(&a.url).expect("base URL");
        let name = format!("bench{}", i / a.sessions.max(1));
        let fid = FederationId::new(&format!("{name}@localhost")).expect("fid");
        let limit = limit.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.ok()?;
            let key = ed25519_dalek::SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
            let sid = SessionId::new(&format!("b{i}-{}", std::process::id())).ok()?;
            let csr = p2core_certs::build_csr(&key, &fid, &sid).ok()?;
            let resp = client
                .session_trust(&session_trust::Request {
                    username: name,
                    csr: csr.to_pem(),
                    password: "bench-password".into(),
                    auth_payload: None,
                })
                .await
                .map_err(|e| eprintln!("session trust: {e}"))
                .ok()?;
            Some(resp.token)
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        if let Ok(Some(tok)) = t.await {
            tokens.push(tok);
        }
    }
    println!(
        "actors: {}, sessions: {} in {:.1} s",
        a.actors,
        tokens.len(),
        started.elapsed().as_secs_f64()
    );
    let admin = tokens.first().expect("at least one session").clone();

    let rss_before = rss_kib(a.server_pid);
    let ws_url = GatewayClient::url_for(&a.url).expect("url");
    let total = tokens.len() * a.per_session;
    let (ready_tx, mut ready_rx) = mpsc::channel(1024);
    let (op6_tx, mut op6_rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let opening = Arc::new(Semaphore::new(256));
    for tok in &tokens {
        for _ in 0..a.per_session {
            let (url, tok, ready, op6) = (
                ws_url.clone(),
                tok.clone(),
                ready_tx.clone(),
                op6_tx.clone(),
            );
            let permit = opening.clone().acquire_owned().await.expect("semaphore");
            let (inner_tx, mut inner_rx) = mpsc::channel::<()>(1);
            tokio::spawn(connection(url, tok, inner_tx, op6));
            tokio::spawn(async move {
                // A connection that is not identified within a minute frees its slot.
                let ok = matches!(
                    tokio::time::timeout(Duration::from_secs(60), inner_rx.recv()).await,
                    Ok(Some(()))
                );
                // Free the slot before reporting: the report may wait for `main`.
                drop(permit);
                if ok {
                    let _ = ready.send(()).await;
                }
            });
        }
    }
    drop(ready_tx);
    let mut identified = 0usize;
    while identified < total {
        match tokio::time::timeout_at(deadline.into(), ready_rx.recv()).await {
            Ok(Some(())) => identified += 1,
            _ => break,
        }
    }
    println!(
        "identified connections: {identified}/{total} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Let them idle through at least one heartbeat round.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let rss_after = rss_kib(a.server_pid);
    if let (Some(b), Some(af)) = (rss_before, rss_after) {
        println!(
            "server RSS: {b} KiB before, {af} KiB with {identified} connections: {:.1} KiB per connection",
            (af.saturating_sub(b)) as f64 / identified.max(1) as f64
        );
    }

    let admin_client = Client::new(&a.url).expect("url").with_token(admin);
    let t0 = Instant::now();
    admin_client
        .rotate_server_key()
        .await
        .expect("rotate the server key (is `bench0@localhost` an --admin?)");
    let answered = t0.elapsed();
    let mut lat: Vec<Duration> = Vec::with_capacity(identified);
    while lat.len() < identified {
        match tokio::time::timeout(Duration::from_secs(60), op6_rx.recv()).await {
            Ok(Some(at)) => lat.push(at.duration_since(t0)),
            _ => break,
        }
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "op 6: {}/{identified} connections; PUT /key/server answered after {:.1} ms; latency from the request: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        answered.as_secs_f64() * 1000.0,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    std::process::exit(0);
}
