//! The multi-instance measurements of `docs/benchmarks.md` (issue 15).
//!
//! ```text
//! cluster_bench events  A_URL SOCKET_URL [N]   # event committed at A → delivered on a socket at SOCKET_URL
//! cluster_bench signup  URL SECONDS [WORKERS]  # registrations + session trusts per second
//! cluster_bench lookups URL SECONDS [WORKERS]  # GET /idcert/actor/{fid} per second, p50/p99
//! ```
//!
//! `events` opens a gateway socket for one session of an actor at SOCKET_URL
//! and rotates another session's ID-Cert N times at A (`POST /session/idcert`:
//! no argon2, one transaction that queues op 4 for the watching session); each
//! sample is the time from sending the rotation to the event on the socket.
//! Run it with SOCKET_URL = A (same instance) and = B (another instance on the
//! same database) and compare. Rate limits must be off on the servers
//! (every request comes from 127.0.0.1). Loopback only; bounded by N or SECONDS.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use p2core_routes::client::Client;
use p2core_routes::gateway_client::GatewayClient;
use p2core_routes::{register, rotate_session_idcert, session_trust};
use p2core_types::{FederationId, SessionId};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn loopback(url: &str) -> Result<(), Error> {
    if url.starts_with("http://127.") || url.starts_with("http://[::1]") {
        Ok(())
    } else {
        Err(format!("only loopback targets, not {url}").into())
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&p2core_types::random::bytes::<32>())
}

async fn signup(base: &str, name: &str, session: &str) -> Result<(FederationId, String), Error> {
    let client = Client::new(base)?;
    let fid = client
        .register(&register::Request {
            username: name.into(),
            password: "bench-password".into(),
            auth_payload: None,
        })
        .await?
        .fid;
    let token = trust(base, &fid, session, &key()).await?;
    Ok((fid, token))
}

async fn trust(
    base: &str,
    fid: &FederationId,
    session: &str,
    key: &SigningKey,
) -> Result<String, Error> {
    let csr = p2core_certs::build_csr(key, fid, &SessionId::new(session)?)?;
    Ok(Client::new(base)?
        .session_trust(&session_trust::Request {
            username: fid.local_name().into(),
            password: "bench-password".into(),
            csr: csr.to_pem(),
            auth_payload: None,
        })
        .await?
        .token)
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        hex::encode(p2core_types::random::bytes::<4>())
    )
}

async fn events(a: &str, socket: &str, n: usize) -> Result<(), Error> {
    let (fid, watcher) = signup(a, &unique("ev"), "watcher").await?;
    let mover_key = key();
    let mut mover = trust(a, &fid, "mover", &mover_key).await?;
    let mut gw = GatewayClient::connect(&GatewayClient::url_for(socket)?, &watcher).await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 10 {
        let csr = p2core_certs::build_csr(&key(), &fid, &SessionId::new("mover")?)?;
        let t = Instant::now();
        let client = Client::new(a)?.with_token(&mover);
        let rotated = client
            .rotate_session_idcert(&rotate_session_idcert::Request { csr: csr.to_pem() })
            .await?;
        mover = rotated.token;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), gw.next_event()).await {
                Ok(Some(Ok(ev))) if ev.op == 4 => break,
                Ok(Some(Ok(_))) => continue,
                other => return Err(format!("no event on the socket: {other:?}").into()),
            }
        }
        if i >= 10 {
            samples.push(t.elapsed());
        }
    }
    samples.sort();
    println!(
        "events: {n} samples, socket at {socket}: p50 {} p90 {} p99 {} max {}",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.9)),
        ms(percentile(&samples, 0.99)),
        ms(percentile(&samples, 1.0)),
    );
    Ok(())
}

async fn signups(base: &str, seconds: u64, workers: usize) -> Result<(), Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (base, stop, done) = (base.to_owned(), stop.clone(), done.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    signup(&base, &unique("su"), "desk").await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "signup: {n} registrations + trusts in {:.1} s with {workers} workers: {:.1}/s",
        started.elapsed().as_secs_f64(),
        n as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn lookups(base: &str, seconds: u64, workers: usize) -> Result<(), Error> {
    let (fid, _) = signup(base, &unique("lk"), "one").await?;
    let url = format!("{base}/.p2/core/v1/idcert/actor/{fid}");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let http = Client::new(&url)?.http().clone();
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    http.get(&url)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    samples.push(t.elapsed());
                }
                Ok::<_, Error>(samples)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    println!(
        "lookups: {} in {:.1} s with {workers} workers: {:.0}/s, p50 {} p99 {}",
        all.len(),
        started.elapsed().as_secs_f64(),
        all.len() as f64 / started.elapsed().as_secs_f64(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or("missing argument (see the file's docs)")
    };
    match arg(0)?.as_str() {
        "events" => {
            let (a, socket) = (arg(1)?, arg(2)?);
            loopback(&a)?;
            loopback(&socket)?;
            let n = args.get(3).map_or(Ok(200), |s| s.parse())?;
            events(&a, &socket, n.min(10_000)).await
        }
        "signup" | "lookups" => {
            let base = arg(1)?;
            loopback(&base)?;
            let seconds: u64 = arg(2)?.parse()?;
            let workers = args.get(3).map_or(Ok(8), |s| s.parse())?;
            let (seconds, workers) = (seconds.min(600), workers.clamp(1, 256));
            if arg(0)? == "signup" {
                signups(&base, seconds, workers).await
            } else {
                lookups(&base, seconds, workers).await
            }
        }
        other => Err(format!("unknown measurement {other}").into()),
    }
}
