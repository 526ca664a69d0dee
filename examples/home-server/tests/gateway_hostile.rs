//! Attacks on the gateway's per-connection state over real loopback sockets
//! (issue 13 items 1 and 4): heartbeat amplification, the un-acknowledged
//! buffer's byte budget, a client that stops reading, ping floods.
//!
//! Waits are bounded generously (seconds) and never assert timings.

mod common;

use std::time::Duration;

use common::ws::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use p2core_types::gateway::{Envelope, ServerMessage};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Reads messages until op 7; returns the event messages before it (as text) and the op 7.
async fn until_heartbeat_ack(ws: &mut Ws) -> (Vec<String>, String) {
    let mut events = Vec::new();
    loop {
        let text = recv_text(ws).await;
        let env: Envelope = serde_json::from_str(&text).unwrap();
        match env.op {
            7 => return (events, text),
            11 => continue,
            _ => {
                assert!(env.is_event(), "{text}");
                events.push(text);
            }
        }
    }
}

/// The envelopes inside an op 7.
fn resent(op7: &str) -> Vec<Envelope> {
    let env: Envelope = serde_json::from_str(op7).unwrap();
    let Ok(ServerMessage::HeartbeatAck(ack)) = env.server_message() else {
        panic!("not op 7: {op7}")
    };
    ack.0
}

/// The reproduction: an `except` list that repeats one number, and a
/// second heartbeat asking for the first answer again. Before the fix the
/// answers grew 1,000-fold per heartbeat (the third aborted the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_amplification_is_refused_and_answers_stay_small() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let _two = trust(&base, &fid, "pw", "two").await; // queues op 3 for "one"

    // Duplicates: close 4002.
    let mut ws = raw_identify(&base, &one.token).await;
    let event = recv(&mut ws).await;
    assert_eq!(event.op, 3);
    let e = event.s.unwrap();
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": e, "except": vec![e; 1024]}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, 4002);
    // Two entries are enough to be refused.
    let mut ws = raw_identify(&base, &one.token).await;
    let e = recv(&mut ws).await.s.unwrap();
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": e, "except": [e, e]}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, 4002);

    // Without duplicates: the first answer re-sends the event, the second asks
    // for the event and for the first answer: only the event comes again (op 7
    // is not re-sendable), and the same for a third.
    let mut ws = raw_identify(&base, &one.token).await;
    let event = recv(&mut ws).await;
    let e = event.s.unwrap();
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": e, "except": [e]}}),
    )
    .await;
    let (_, first) = until_heartbeat_ack(&mut ws).await;
    let first_s = serde_json::from_str::<Envelope>(&first).unwrap().s.unwrap();
    assert_eq!(resent(&first).len(), 1);
    let mut last = first_s;
    for _ in 0..2 {
        send(
            &mut ws,
            json!({"n": "core", "op": 0, "d": {"from": 0, "to": last, "except": [e, last]}}),
        )
        .await;
        let (_, answer) = until_heartbeat_ack(&mut ws).await;
        let inner = resent(&answer);
        assert_eq!(inner.len(), 1, "only the event is re-sent: {answer}");
        assert_eq!((inner[0].op, inner[0].s), (3, Some(e)));
        assert!(answer.len() < 2 * first.len(), "{} bytes", answer.len());
        last = serde_json::from_str::<Envelope>(&answer)
            .unwrap()
            .s
            .unwrap();
    }
    // Op 12 (Identify ACK, number 1) is not re-sent either.
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": last, "except": [1]}}),
    )
    .await;
    let (_, answer) = until_heartbeat_ack(&mut ws).await;
    assert!(resent(&answer).is_empty(), "{answer}");

    // The server is alive and serves others.
    let mut other = raw_identify(&base, &_two.token).await;
    send(
        &mut other,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": 1}}),
    )
    .await;
    until_heartbeat_ack(&mut other).await;
    server.stop().await.unwrap();
}

/// The un-acknowledged buffer is bounded in bytes: with a 1 KiB budget, events
/// (about 700 bytes each) come one or two at a time, each batch within the
/// budget plus one event, the rest waits in the store and follows as
/// heartbeats acknowledge; nothing is lost, and an op 7 re-sending everything
/// unacknowledged stays within the same bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_events_are_bounded_in_bytes_and_delivery_resumes_after_acks() {
    const BUDGET: usize = 1024;
    const EVENTS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| {
        c.gateway_max_unacked_bytes = BUDGET;
        c.gateway_rate_limit = 10_000;
    })
    .await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    for i in 0..EVENTS {
        trust(&base, &fid, "pw", &format!("peer{i}")).await;
    }

    let mut ws = raw_identify(&base, &one.token).await;
    let mut seen = Vec::new();
    let mut last_acked = 1u64;
    let mut rounds = 0;
    while seen.len() < EVENTS {
        rounds += 1;
        assert!(rounds <= 4 * EVENTS, "delivery stalled after {seen:?}");
        // A heartbeat that acknowledges nothing new, asking for every event
        // not yet acknowledged: op 7 follows whatever was delivered.
        send(
            &mut ws,
            json!({"n": "core", "op": 0, "d": {"from": 0, "to": last_acked}}),
        )
        .await;
        let (batch, op7) = until_heartbeat_ack(&mut ws).await;
        let bytes: usize = batch.iter().map(String::len).sum();
        let largest = batch.iter().map(String::len).max().unwrap_or(0);
        assert!(
            bytes <= BUDGET + largest,
            "{} events, {bytes} bytes in one go",
            batch.len()
        );
        let op7_s = serde_json::from_str::<Envelope>(&op7).unwrap().s.unwrap();
        let numbers: Vec<u64> = batch
            .iter()
            .map(|t| serde_json::from_str::<Envelope>(t).unwrap().s.unwrap())
            .collect();
        if let (Some(&lo), Some(&hi)) = (numbers.first(), numbers.last()) {
            // Ask for all of them again: the answer re-sends at most the buffer.
            send(
                &mut ws,
                json!({"n": "core", "op": 0, "d": {"from": lo, "to": hi, "except": numbers}}),
            )
            .await;
            let (more, again) = until_heartbeat_ack(&mut ws).await;
            assert!(more.is_empty(), "nothing new while the buffer is full");
            assert_eq!(resent(&again).len(), numbers.len());
            assert!(again.len() <= BUDGET + largest + 200, "{}", again.len());
            let again_s = serde_json::from_str::<Envelope>(&again).unwrap().s.unwrap();
            last_acked = again_s;
        } else {
            last_acked = op7_s;
        }
        seen.extend(batch);
    }
    // Every event came exactly once, and the queue is empty once all are acknowledged.
    let payloads: std::collections::BTreeSet<String> = seen
        .iter()
        .map(|t| serde_json::from_str::<Envelope>(t).unwrap().d.to_string())
        .collect();
    assert_eq!((seen.len(), payloads.len()), (EVENTS, EVENTS));
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": last_acked}}),
    )
    .await;
    until_heartbeat_ack(&mut ws).await;
    let left = one.client.events_after(0).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    server.stop().await.unwrap();
}

/// A client that stops reading while the server has plenty to send: the
/// server's writes time out, the connection ends (its task does not hang), the
/// events stay queued, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_by_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| {
        c.gateway_write_timeout_ms = 500;
        c.gateway_rate_limit = 1_000_000;
        // Long enough that the heartbeat timer is not what ends the connection.
        c.gateway_heartbeat_ms = 60_000;
    })
    .await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    for i in 0..4 {
        trust(&base, &fid, "pw", &format!("peer{i}")).await;
    }

    // A socket with a small receive buffer, so the server's writes block soon.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let tcp = sock.connect(server.addr()).await.unwrap();
    let url = p2core_routes::gateway_client::GatewayClient::url_for(&base).unwrap();
    let (ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .unwrap();
    let mut ws: Ws = ws;
    identify_on(&mut ws, &one.token).await;
    let mut numbers = Vec::new();
    while numbers.len() < 4 {
        let env = recv(&mut ws).await;
        if env.is_event() {
            numbers.push(env.s.unwrap());
        }
    }
    assert_eq!(server.server().stats().gateway_connections, 1);

    // From now on the client only writes: heartbeats asking for all four events
    // again, each answered with a few KiB the client never reads.
    let (mut tx, rx) = ws.split();
    let (lo, hi) = (numbers[0], numbers[3]);
    let writer = tokio::spawn(async move {
        let hb = json!({"n": "core", "op": 0, "d": {"from": lo, "to": hi, "except": numbers}})
            .to_string();
        for _ in 0..200_000 {
            if tx.send(Message::Text(hb.clone().into())).await.is_err() {
                return;
            }
        }
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.server().stats().gateway_connections != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a connection that does not read is still registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    writer.abort();
    drop(rx);

    // Nothing was acknowledged, so nothing is lost; the server keeps serving.
    let queued = one.client.events_after(0).await.unwrap();
    assert_eq!(queued.len(), 4, "{queued:?}");
    let mut ws = raw_identify(&base, &one.token).await;
    let mut again = 0;
    while again < 4 {
        if recv(&mut ws).await.is_event() {
            again += 1;
        }
    }
    server.stop().await.unwrap();
}

/// Ping (and pong) frames count against the per-connection message limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_floods_count_against_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| {
        c.gateway_rate_limit = 20;
        c.gateway_heartbeat_ms = 60_000;
    })
    .await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut ws = raw_identify(&base, &one.token).await;
    for i in 0..15u8 {
        ws.send(Message::Ping(vec![i].into())).await.unwrap();
        ws.send(Message::Pong(vec![i].into())).await.unwrap();
    }
    assert_eq!(recv_close(&mut ws).await.0, 4008);
    // The same before Identify.
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    for i in 0..30u8 {
        if ws.send(Message::Ping(vec![i].into())).await.is_err() {
            break;
        }
    }
    assert_eq!(recv_close(&mut ws).await.0, 4008);
    let _ = ws.next().await;
    server.stop().await.unwrap();
}

/// Resume records (what a closed connection leaves for Resume) are kept for
/// `--gateway-resume-seconds`, one per session; a client that opens and drops
/// sockets of many sessions could pile them up. They are bounded by
/// `--max-gateway-connections`: beyond it the oldest is forgotten (its client
/// gets 4010 and identifies again; its events are still queued).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_records_are_bounded_by_the_gateway_cap() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| c.max_gateway_connections = 2).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let mut tokens = Vec::new();
    for (i, name) in ["s1", "s2", "s3", "s4"].into_iter().enumerate() {
        let session = trust(&base, &fid, "pw", name).await;
        let ws = raw_identify(&base, &session.token).await;
        drop(ws);
        // Wait until the server has seen the socket go and kept its record.
        let want = (i + 1).min(2);
        let deadline = tokio::time::Instant::now() + WAIT;
        while server.server().stats().gateway_connections > 0
            || server.server().stats().gateway_resume_records < want
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "record of {name} not kept"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(server.server().stats().gateway_resume_records <= 2);
        tokens.push(session.token);
    }
    assert_eq!(server.server().stats().gateway_resume_records, 2);

    // The oldest records were forgotten: 4010; the newest resumes.
    for (token, resumable) in [(&tokens[0], false), (&tokens[1], false), (&tokens[3], true)] {
        let mut ws = raw_connect(&base).await;
        ws_hello(&mut ws).await;
        send(
            &mut ws,
            json!({"n": "core", "op": 5, "d": {"s": 1, "token": token}}),
        )
        .await;
        if resumable {
            let resumed = recv(&mut ws).await;
            assert!(
                matches!(resumed.server_message(), Ok(ServerMessage::Resumed(_))),
                "{resumed:?}"
            );
        } else {
            assert_eq!(recv_close(&mut ws).await.0, 4010);
        }
    }
}
