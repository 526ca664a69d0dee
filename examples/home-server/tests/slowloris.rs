//! Connection handling over real TCP on loopback: slowloris, body and idle
//! timeouts, the connection cap, and graceful shutdown.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for "the server closed it within its timeout" on a loaded machine.
const SLACK: Duration = Duration::from_secs(30);

/// Reads until EOF or error; `true` if the server closed the connection before `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Reads a whole HTTP/1.1 response with a Content-Length; returns (status, body).
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(SLACK, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(
            n > 0,
            "connection closed before a complete response: {data:?}"
        );
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if body.len() >= len {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, body[..len].to_owned());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_half_sent_requests_are_closed_while_a_normal_request_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.header_timeout_seconds = 2;
        c.idle_timeout_seconds = 600;
        // Attacker and normal client share 127.0.0.1 here: the header timeout is
        // tested, not the per-address connection cap (tests/gateway_slots.rs).
        c.max_connections_per_address = 0;
    })
    .await;
    let addr = server.addr();
    let mut slow = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // a request line and part of the header, never finished
        s.write_all(
            format!("POST /.p2/core/v1/register HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: a").as_bytes(),
        )
        .await
        .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    // a normal client is served meanwhile
    let base = server.base_url();
    client(&base).server_idcert(None).await.unwrap();
    register(&base, "normal", "pw").await;

    // every half-sent request is closed by the server (2 s timeout, generous bound)
    let mut open = 0;
    for s in &mut slow {
        if !closed_within(s, SLACK.saturating_sub(started.elapsed())).await {
            open += 1;
        }
    }
    assert_eq!(open, 0, "{open} slow connections are still open");
    // and the server still serves
    client(&base).server_idcert(None).await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_408_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.body_timeout_seconds = 1;
        c.idle_timeout_seconds = 2;
    })
    .await;
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(
        b"POST /.p2/core/v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"username\":",
    )
    .await
    .unwrap();
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, 408, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "P2CORE_REQUEST_TIMEOUT");

    // a connection that sends nothing at all is closed after the idle timeout
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    assert!(closed_within(&mut idle, SLACK).await);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.max_connections = 4;
        c.header_timeout_seconds = 600;
        c.idle_timeout_seconds = 600;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /.p2/core/v1/idcert/server HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (status, _) = read_response(&mut s).await;
        assert_eq!(status, 200);
        held.push(s); // kept alive: each holds a slot
    }
    // the fifth connection is accepted by the kernel but not served
    let mut fifth = TcpStream::connect(server.addr()).await.unwrap();
    fifth
        .write_all(b"GET /.p2/core/v1/idcert/server HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), fifth.read(&mut buf))
            .await
            .is_err(),
        "served beyond the cap"
    );
    // one client leaves: the fifth is served
    drop(held.pop());
    let (status, _) = read_response(&mut fifth).await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight_and_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let addr = server.addr();
    let body = br#"{"username":"inflight","password":"pw"}"#;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "POST /.p2/core/v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // the server is told to stop while the request's body is half sent
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stopping.is_finished(), "stopped with a request in flight");
    s.write_all(&body[10..]).await.unwrap();
    let (status, text) = read_response(&mut s).await;
    assert_eq!(status, 201, "{text}");
    tokio::time::timeout(SLACK, stopping)
        .await
        .expect("stops once the request finished")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");

    // the acknowledged registration was written completely
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let fid = p2core_types::FederationId::new("inflight@localhost").unwrap();
    let _ = trust(&server.base_url(), &fid, "pw", "s").await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_whole_request_timeout_gets_a_json_503() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.request_timeout_seconds = 1;
        c.body_timeout_seconds = 600;
    })
    .await;
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(
        b"POST /.p2/core/v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "P2CORE_UNAVAILABLE");
    assert!(json["message"].as_str().unwrap().contains("within 1 s"));
    // the server is fine afterwards
    client(&server.base_url())
        .server_idcert(None)
        .await
        .unwrap();
    server.stop().await.unwrap();
}
