//! Connection slots over real loopback sockets (issue 13 items 2 and 9):
//! upgraded WebSockets keep their listener slot, the gateway's own caps
//! (global, per address, per session), the Identify deadline, the close frame
//! at shutdown, and the per-address cap of the listener.
//!
//! Waits are bounded generously and never assert timings.

mod common;

use std::path::Path;
use std::time::Duration;

use common::ws::*;
use common::*;
use p2core_home_server::{Config, RunningServer, start};
use p2core_types::DomainName;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn spawn_server(dir: &Path, tweak: impl FnOnce(&mut Config)) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new("localhost").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    tweak(&mut config);
    start(config, false).await.expect("server starts")
}

/// The attack of issue 13 item 2: forty gateway sockets on a server capped at
/// four connections. Each upgraded socket must keep its slot, so at most four
/// ever open; the rest wait in the listen backlog (and time out here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_gateway_sockets_do_not_fit_in_four_connection_slots() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| c.max_connections = 4).await;
    let base = server.base_url();
    // All at once (well within the Identify deadline, so none is closed meanwhile).
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let base = base.clone();
        tries.spawn(async move {
            let ws = tokio::time::timeout(Duration::from_secs(3), try_ws_connect(&base)).await;
            match ws {
                Ok(Ok(mut ws)) => {
                    ws_hello(&mut ws).await;
                    Some(ws)
                }
                Ok(Err(e)) => panic!("the upgrade failed instead of waiting: {e:?}"),
                Err(_) => None,
            }
        });
    }
    let mut open = Vec::new();
    let mut waiting = 0;
    while let Some(r) = tries.join_next().await {
        match r.unwrap() {
            Some(ws) => open.push(ws),
            None => waiting += 1,
        }
    }
    assert_eq!(
        open.len(),
        4,
        "gateway sockets open with --max-connections 4"
    );
    assert_eq!(waiting, 36);
    // The slots come back when the sockets close: a new socket gets in.
    drop(open);
    let mut ws = tokio::time::timeout(WAIT, raw_connect(&base))
        .await
        .expect("a slot is free again");
    ws_hello(&mut ws).await;
    server.stop().await.unwrap();
}

/// `--max-gateway-connections`: the next upgrade is answered 503 (JSON), and a
/// closed socket gives its slot back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_cap_refuses_the_next_upgrade_with_503() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| c.max_gateway_connections = 3).await;
    let base = server.base_url();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut ws = raw_connect(&base).await;
        ws_hello(&mut ws).await;
        open.push(ws);
    }
    assert_eq!(refused_status(try_ws_connect(&base).await), 503);
    // Plain HTTP still works: the gateway cap leaves the other slots alone.
    let (status, _) = raw(
        &base,
        p2core_routes::http::Method::GET,
        "/.p2/core/v1/gateway",
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(status, 200);
    open.pop();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match try_ws_connect(&base).await {
            Ok(mut ws) => {
                ws_hello(&mut ws).await;
                break;
            }
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "slot never came back: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    server.stop().await.unwrap();
}

/// `--max-gateway-connections-per-address`: the next upgrade from the same
/// address is answered 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_gateway_bound_refuses_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| c.max_gateway_connections_per_address = 2).await;
    let base = server.base_url();
    let mut a = raw_connect(&base).await;
    ws_hello(&mut a).await;
    let mut b = raw_connect(&base).await;
    ws_hello(&mut b).await;
    assert_eq!(refused_status(try_ws_connect(&base).await), 429);
    server.stop().await.unwrap();
}

/// `--max-gateway-connections-per-session`: the session's next Identify is
/// closed with 4008; the sockets already identified keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_session_gateway_bound_closes_the_next_identify_with_4008() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| c.max_gateway_connections_per_session = 2).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let other = trust(&base, &fid, "pw", "other").await;
    let mut first = raw_identify(&base, &one.token).await;
    let _second = raw_identify(&base, &one.token).await;
    let mut third = raw_connect(&base).await;
    ws_hello(&mut third).await;
    send(
        &mut third,
        json!({"n": "core", "op": 2, "d": {"token": one.token}}),
    )
    .await;
    let (code, reason, _) = ws_close_within(&mut third, WAIT).await;
    assert_eq!(code, 4008, "{reason}");
    // Another session of the same actor is not affected.
    let _other = raw_identify(&base, &other.token).await;
    // The first socket still answers heartbeats (after the events queued for it).
    send(
        &mut first,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": 0}}),
    )
    .await;
    while recv(&mut first).await.op != 7 {}
    server.stop().await.unwrap();
}

/// A socket that says nothing after Hello is closed with 4003 after
/// `--gateway-identify-seconds`, long before the heartbeat timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_closed_after_the_identify_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| {
        c.gateway_identify_seconds = 1;
        // 60 s heartbeats: the heartbeat timeout (150 s) is not what closes it.
        c.gateway_heartbeat_ms = 60_000;
    })
    .await;
    let base = server.base_url();
    let mut ws = raw_connect(&base).await;
    ws_hello(&mut ws).await;
    let (code, reason, seen) = ws_close_within(&mut ws, WAIT).await;
    assert_eq!(code, 4003, "{reason}");
    assert!(seen.is_empty(), "{seen:?}");
    assert!(reason.contains("Identify"), "{reason}");
    server.stop().await.unwrap();
}

/// A graceful shutdown closes an open gateway socket with 1001 (going away)
/// and returns once it is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_a_close_frame_to_gateway_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut identified = raw_identify(&base, &one.token).await;
    let mut fresh = raw_connect(&base).await;
    ws_hello(&mut fresh).await;
    let stop = tokio::spawn(server.stop());
    let (code, reason, _) = ws_close_within(&mut identified, WAIT).await;
    assert_eq!(code, 1001, "{reason}");
    let (code, _, _) = ws_close_within(&mut fresh, WAIT).await;
    assert_eq!(code, 1001);
    tokio::time::timeout(WAIT, stop)
        .await
        .expect("the shutdown finishes")
        .unwrap()
        .unwrap();
}

/// Reads what the server sends on a raw TCP connection until it closes it.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Issue 13 item 9: `--max-connections-per-address`. Idle keep-alive
/// connections (and gateway sockets) from one address fill its share; the
/// next connection is answered 429 with the JSON error body and closed; the
/// global slots are not used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), |c| {
        c.max_connections = 100;
        c.max_connections_per_address = 3;
    })
    .await;
    let addr = server.addr();
    let base = server.base_url();
    // Two idle TCP connections and one gateway socket: the address's 3 slots.
    let mut idle1 = TcpStream::connect(addr).await.unwrap();
    let _idle2 = TcpStream::connect(addr).await.unwrap();
    let mut ws = raw_connect(&base).await;
    ws_hello(&mut ws).await;
    // The slots are taken by the server's accept loop asynchronously: poll.
    let deadline = tokio::time::Instant::now() + WAIT;
    let answer = loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let answer = read_to_close(&mut s).await;
        if !answer.is_empty() {
            break answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "P2CORE_TOO_MANY_REQUESTS", "{body}");
    // Closing one gives the slot back: a request on a new connection is served.
    idle1.shutdown().await.unwrap();
    drop(idle1);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /.p2/core/v1/gateway HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_to_close(&mut s).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slot never came back: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await.unwrap();
}
