//! The login-flood measurement of `docs/benchmarks.md`: N concurrent bogus
//! `POST /session/trust` requests (unknown user, wrong password: each admitted
//! one costs an argon2 verification) while one client measures the latency of
//! `GET /idcert/server`, one request after the other.
//!
//! `cargo run --release -p p2core-home-server --example login_flood -- http://127.0.0.1:3100 300`
//!
//! Loopback only: it refuses any other host. Bounded: N requests, then it stops.

use std::time::{Duration, Instant};

use p2core_routes::client::Client;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3100".to_owned());
    let n: usize = args.next().map_or(Ok(300), |s| s.parse())?;
    if !(base.starts_with("http://127.") || base.starts_with("http://[::1]")) {
        return Err("only loopback targets (http://127.x.x.x:PORT or http://[::1]:PORT)".into());
    }
    let n = n.min(10_000);
    let client = Client::new(&base)?;
    let api = format!("{base}/.p2/core/v1");
    let body = r#"{"username":"nobody","password":"wrong password","csr":"not a CSR"}"#;

    // warm-up and baseline
    let mut baseline = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        client
            .http()
            .get(format!("{api}/idcert/server"))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        baseline.push(t.elapsed());
    }
    baseline.sort();

    let started = Instant::now();
    let flood: Vec<_> = (0..n)
        .map(|_| {
            let http = client.http().clone();
            let url = format!("{api}/session/trust");
            tokio::spawn(async move {
                let t = Instant::now();
                let resp = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key("retry-after");
                        let json = r
                            .json::<serde_json::Value>()
                            .await
                            .map(|v| v.get("errcode").is_some())
                            .unwrap_or(false);
                        Some((status, retry_after, json, t.elapsed()))
                    }
                    Err(_) => None,
                }
            })
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let done = done.clone();
        let http = client.http().clone();
        let url = format!("{api}/idcert/server");
        tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => failures += 1,
                }
            }
            (lat, failures)
        })
    };
    let mut results = Vec::new();
    for t in flood {
        results.push(t.await?);
    }
    let flood_time = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut lat, probe_failures) = probe.await?;
    lat.sort();

    let errors = results.iter().filter(|r| r.is_none()).count();
    let ok: Vec<_> = results.into_iter().flatten().collect();
    let limited: Vec<_> = ok.iter().filter(|r| r.0 == 429).collect();
    let limited_ok = limited.iter().filter(|r| r.1 && r.2).count();
    let admitted = ok.len() - limited.len();
    let mut admitted_lat: Vec<_> = ok.iter().filter(|r| r.0 != 429).map(|r| r.3).collect();
    admitted_lat.sort();

    println!("target: {base}, {n} concurrent bogus POST /session/trust");
    println!(
        "flood: {:.2} s; admitted (401/400): {admitted}; 429: {} (with Retry-After and JSON body: {limited_ok}); transport errors: {errors}",
        flood_time.as_secs_f64(),
        limited.len()
    );
    println!(
        "admitted login latency: p50 {}  p99 {}  max {}",
        ms(percentile(&admitted_lat, 0.5)),
        ms(percentile(&admitted_lat, 0.99)),
        ms(admitted_lat.last().copied().unwrap_or_default())
    );
    println!(
        "GET /idcert/server before the flood (50 requests): p50 {}  p99 {}",
        ms(percentile(&baseline, 0.5)),
        ms(percentile(&baseline, 0.99))
    );
    println!(
        "GET /idcert/server during the flood ({} requests, {probe_failures} failed): p50 {}  p90 {}  p99 {}  max {}",
        lat.len(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.9)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default())
    );
    Ok(())
}
