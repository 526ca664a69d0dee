//! The WebSocket gateway over real loopback connections: the typed client
//! (`p2core_routes::gateway_client`) for the normal flows, raw
//! tokio-tungstenite sockets where the test must break the protocol.
//!
//! Waits are bounded generously (seconds) and never assert timings.

mod common;

use std::time::Duration;

use common::ws::*;
use common::*;
use futures_util::StreamExt;
use p2core_routes::gateway_client::{GatewayClient, GatewayError, GatewayOptions};
use p2core_types::SessionId;
use p2core_types::events::{NewSession, ServerCertificateChange};
use p2core_types::gateway::{
    CloseCode, Envelope, GatewayInfo, ServerMessage, ServiceChannel, ServiceChannelAction,
};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// The next event of a typed client (errors fail the test).
async fn next_event(gw: &mut GatewayClient) -> Envelope {
    tokio::time::timeout(WAIT, gw.next_event())
        .await
        .expect("an event in time")
        .expect("client still running")
        .expect("no gateway error")
}

/// Polls `GET /events?ack=0` (which removes nothing) until `done` accepts the events.
async fn wait_for_queue(
    s: &Session,
    what: &str,
    done: impl Fn(&[p2core_types::Event]) -> bool,
) -> Vec<p2core_types::Event> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let evs = s.client.events_after(0).await.unwrap();
        if done(&evs) {
            return evs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: queue is still {evs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_the_websocket_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let (status, body) = raw(
        &server.base_url(),
        p2core_routes::http::Method::GET,
        "/.p2/core/v1/gateway",
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["heartbeatInterval"], "300");
    let info: GatewayInfo = serde_json::from_value(body).unwrap();
    assert_eq!(info.path, "/.p2/core/v1/gateway/ws");
    assert!(info.services.is_empty());
    // A plain GET on the WebSocket path is a JSON 400, not a hang or a 500.
    let (status, body) = raw(
        &server.base_url(),
        p2core_routes::http::Method::GET,
        &info.path,
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_identify_and_heartbeats_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;

    let mut ws = raw_connect(&base).await;
    let Message::Text(hello) = ws.next().await.unwrap().unwrap() else {
        panic!("Hello is a text frame")
    };
    // What polyproto 0.21 accepts: op, s and the interval as strings.
    let hello: serde_json::Value = serde_json::from_str(hello.as_str()).unwrap();
    assert_eq!(
        hello,
        json!({"n": "core", "op": "1", "d": {"heartbeatInterval": "300"}, "s": "0"})
    );
    // Numbers are accepted on input as well.
    send(
        &mut ws,
        json!({"n": "core", "op": 2, "d": {"token": one.token}}),
    )
    .await;
    let ack = recv(&mut ws).await;
    assert_eq!((ack.op, ack.s), (12, Some(1)));
    // Strings as polyproto sends them; acknowledges Hello only.
    send(
        &mut ws,
        json!({"n": "core", "op": "0", "d": {"from": "0", "to": "0"}}),
    )
    .await;
    let hb_ack = recv(&mut ws).await;
    assert_eq!((hb_ack.op, hb_ack.s), (7, Some(2)));
    assert_eq!(hb_ack.d, json!([]));
    // A heartbeat naming a missing control message (the Identify ACK) gets an
    // empty op 7: only events are re-sent (see gateway_hostile.rs for those).
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 1, "to": 2, "except": [1]}}),
    )
    .await;
    let resent = recv(&mut ws).await;
    let Ok(ServerMessage::HeartbeatAck(inner)) = resent.server_message() else {
        panic!("{resent:?}")
    };
    assert!(inner.0.is_empty(), "{resent:?}");
    // Service channels: none offered, answered with success:false and a reason.
    send(
        &mut ws,
        json!({"n": "core", "op": 8, "d": {"action": "subscribe", "service": "chat"}}),
    )
    .await;
    let sc = recv(&mut ws).await;
    let Ok(ServerMessage::ServiceChannelAck(a)) = sc.server_message() else {
        panic!("{sc:?}")
    };
    assert!(!a.success);
    assert_eq!(a.service, "chat");
    assert!(a.error.unwrap().contains("no service channel"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_gets_a_heartbeat_request_then_4009() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut ws = raw_identify(&base, &one.token).await;
    let nudge = recv(&mut ws).await;
    assert_eq!(nudge.op, 11, "{nudge:?}");
    assert_eq!(nudge.d, json!({}));
    let (code, _) = recv_close(&mut ws).await;
    assert_eq!(code, 4009);

    // A client that answers op 11 is not dropped, however late its own heartbeats.
    let mut ws = raw_identify(&base, &one.token).await;
    for _ in 0..3 {
        let nudge = recv(&mut ws).await;
        assert_eq!(nudge.op, 11);
        let s = nudge.s.unwrap();
        send(
            &mut ws,
            json!({"n": "core", "op": 0, "d": {"from": s, "to": s}}),
        )
        .await;
        assert_eq!(recv(&mut ws).await.op, 7);
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_close_code_the_server_sends() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| {
        c.gateway_rate_limit = 20;
        c.gateway_max_message_bytes = 1024;
    })
    .await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;

    // 4003: a heartbeat before Identify.
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    send(
        &mut ws,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": 0}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, 4003);

    // 4004: an unknown token.
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    send(
        &mut ws,
        json!({"n": "core", "op": 2, "d": {"token": "nope"}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, 4004);

    // 4010: Resume with nothing to resume.
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    send(
        &mut ws,
        json!({"n": "core", "op": 5, "d": {"s": "0", "token": one.token}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, 4010);

    // 1009: a message above the size limit.
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    let big = "x".repeat(4096);
    send(&mut ws, json!({"n": "core", "op": 2, "d": {"token": big}})).await;
    assert_eq!(recv_close(&mut ws).await.0, 1009);

    // The rest through the typed client (identified, no reconnection).
    let cases: Vec<(serde_json::Value, CloseCode)> = vec![
        (
            json!({"n": "core", "op": 99, "d": {}}),
            CloseCode::UnknownOpcode,
        ),
        (
            json!({"n": "core", "op": 1, "d": {}}),
            CloseCode::UnknownOpcode,
        ),
        (
            json!({"n": "other", "op": 0, "d": {}}),
            CloseCode::UnknownOpcode,
        ),
        (json!("not an envelope"), CloseCode::InvalidPayload),
        (
            json!({"n": "core", "op": 0, "d": {"from": "x"}}),
            CloseCode::InvalidPayload,
        ),
        (
            json!({"n": "core", "op": 2, "d": {"token": one.token}}),
            CloseCode::AlreadyAuthenticated,
        ),
        (
            json!({"n": "core", "op": 0, "d": {"from": 0, "to": 1000}}),
            CloseCode::InvalidSequence,
        ),
    ];
    for (msg, want) in cases {
        let mut gw = GatewayClient::connect_with(
            &GatewayClient::url_for(&base).unwrap(),
            &one.token,
            GatewayOptions::default().reconnect(false),
        )
        .await
        .unwrap();
        gw.send_raw(if msg.is_string() {
            "{not json".to_owned()
        } else {
            msg.to_string()
        });
        let err = tokio::time::timeout(WAIT, gw.next_event())
            .await
            .expect("closed in time")
            .expect("an item")
            .expect_err("a close");
        assert_eq!(err.close_code(), Some(want), "{msg}: {err}");
        assert!(
            tokio::time::timeout(WAIT, gw.next_event())
                .await
                .unwrap()
                .is_none()
        );
    }

    // 4008: too many messages.
    let gw = GatewayClient::connect_with(
        &GatewayClient::url_for(&base).unwrap(),
        &one.token,
        GatewayOptions::default().reconnect(false).heartbeat(false),
    )
    .await
    .unwrap();
    let mut gw = gw;
    for _ in 0..30 {
        gw.send_raw(
            json!({"n": "core", "op": 8, "d": {"action": "unsubscribe", "service": "x"}})
                .to_string(),
        );
    }
    let code = loop {
        match tokio::time::timeout(WAIT, gw.next_event()).await.unwrap() {
            Some(Ok(env)) => assert_eq!(env.op, 9),
            Some(Err(e)) => break e.close_code(),
            None => panic!("stream ended without a close code"),
        }
    };
    assert_eq!(code, Some(CloseCode::RateLimited));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_are_acknowledged_by_heartbeats_and_gone_from_get_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut gw = GatewayClient::connect(&GatewayClient::url_for(&base).unwrap(), &one.token)
        .await
        .unwrap();
    let two = trust(&base, &fid, "pw", "two").await;
    let ev = next_event(&mut gw).await;
    let ns: NewSession = ev.payload().unwrap();
    assert_eq!(ns.cert, two.cert_pem);
    // The client's own heartbeat acknowledges it; then the REST door has nothing.
    wait_for_queue(&one, "acknowledged over the gateway", |e| e.is_empty()).await;
    assert!(one.client.events().await.unwrap().is_empty());
    gw.close().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_events_stay_for_get_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| c.gateway_heartbeat_ms = 60_000).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut gw = GatewayClient::connect_with(
        &GatewayClient::url_for(&base).unwrap(),
        &one.token,
        GatewayOptions::default().heartbeat(false),
    )
    .await
    .unwrap();
    let two = trust(&base, &fid, "pw", "two").await;
    let live = next_event(&mut gw).await;
    // Not acknowledged: GET /events?ack=0 returns it (and keeps it).
    let queued = one.client.events_after(0).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].n.as_str(), queued[0].op), ("core", 3));
    assert_eq!(queued[0].d, live.d);
    assert_eq!(
        queued[0].payload::<NewSession>().unwrap().cert,
        two.cert_pem
    );
    assert_eq!(one.client.events_after(0).await.unwrap(), queued);
    // Acknowledging its `s` removes it.
    assert!(
        one.client
            .events_after(queued[0].s)
            .await
            .unwrap()
            .is_empty()
    );

    // The seed behaviour (no `ack`): returned once, then gone.
    let _three = trust(&base, &fid, "pw", "three").await;
    next_event(&mut gw).await;
    let once = one.client.events().await.unwrap();
    assert_eq!(once.len(), 1);
    assert!(one.client.events().await.unwrap().is_empty());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_what_a_killed_connection_missed() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| c.gateway_heartbeat_ms = 60_000).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;

    // Raw: receive one event, die, miss another, resume with the last `s`.
    let mut ws = raw_identify(&base, &one.token).await;
    let two = trust(&base, &fid, "pw", "two").await;
    let first = recv(&mut ws).await;
    assert_eq!(first.payload::<NewSession>().unwrap().cert, two.cert_pem);
    let last = first.s.unwrap();
    drop(ws);
    let three = trust(&base, &fid, "pw", "three").await;
    let mut ws = raw_connect(&base).await;
    recv(&mut ws).await;
    send(
        &mut ws,
        json!({"n": "core", "op": 5, "d": {"s": last, "token": one.token}}),
    )
    .await;
    let resumed = recv(&mut ws).await;
    let Ok(ServerMessage::Resumed(r)) = resumed.server_message() else {
        panic!("{resumed:?}")
    };
    // Only the missed event: the one received before the kill is acknowledged by `s`.
    assert_eq!(r.0.len(), 1, "{r:?}");
    assert_eq!(r.0[0].payload::<NewSession>().unwrap().cert, three.cert_pem);
    drop(ws);

    // The typed client does the same on its own.
    let mut gw = GatewayClient::connect(&GatewayClient::url_for(&base).unwrap(), &one.token)
        .await
        .unwrap();
    // Catch-up after Identify: the event replayed above was never acknowledged.
    let again = next_event(&mut gw).await;
    assert_eq!(again.payload::<NewSession>().unwrap().cert, three.cert_pem);
    gw.drop_connection();
    let four = trust(&base, &fid, "pw", "four").await;
    let missed = next_event(&mut gw).await;
    assert_eq!(missed.payload::<NewSession>().unwrap().cert, four.cert_pem);
    // Nothing twice on this door.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), gw.next_event())
            .await
            .is_err()
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificate_change_reaches_every_connected_session() {
    let dir = tempfile::tempdir().unwrap();
    // alice is an administrator, made by the operator (she rotates the server key)
    let alice = create_admin(dir.path(), "localhost", "alice", "pw").await;
    let admin = alice.clone();
    let server = spawn_gateway(dir.path(), move |c| c.admins = vec![admin]).await;
    let base = server.base_url();
    let bob = register(&base, "bob", "pw").await;
    let a = trust(&base, &alice, "pw", "one").await;
    let b = trust(&base, &bob, "pw", "one").await;
    let url = GatewayClient::url_for(&base).unwrap();
    let mut ga = GatewayClient::connect(&url, &a.token).await.unwrap();
    let mut gb = GatewayClient::connect(&url, &b.token).await.unwrap();
    let new_root = a.client.rotate_server_key().await.unwrap();
    for gw in [&mut ga, &mut gb] {
        let ev = next_event(gw).await;
        let change: ServerCertificateChange = ev.payload().unwrap();
        assert_eq!(change.cert.trim(), new_root.trim());
    }
    wait_for_queue(&b, "op 6 acknowledged", |e| e.is_empty()).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_session_id_never_inherits_events_and_queues_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |c| c.max_pending_events = 3).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let _two = trust(&base, &fid, "pw", "two").await;
    let _three = trust(&base, &fid, "pw", "three").await;
    // "two" has an op 3 (about "three") queued; end it and reuse its ID.
    one.client
        .delete_session(&SessionId::new("two").unwrap())
        .await
        .unwrap();
    let two_again = trust(&base, &fid, "pw", "two").await;
    assert!(two_again.client.events_after(0).await.unwrap().is_empty());

    // "one" got op 3 (two), op 3 (three), op 4 (two ended), op 3 (two again), then
    // two more: only the newest 3 are kept.
    let _five = trust(&base, &fid, "pw", "five").await;
    let queued = one.client.events_after(0).await.unwrap();
    assert_eq!(queued.len(), 3, "{queued:?}");
    assert!(queued.windows(2).all(|w| w[0].s < w[1].s));
    let last: NewSession = queued[2].payload().unwrap();
    assert_eq!(last.cert, _five.cert_pem);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_channel_through_the_typed_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_gateway(dir.path(), |_| {}).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut gw = GatewayClient::connect(&GatewayClient::url_for(&base).unwrap(), &one.token)
        .await
        .unwrap();
    gw.service_channel(&ServiceChannel {
        action: ServiceChannelAction::Subscribe,
        service: "chat".into(),
    });
    let ack = next_event(&mut gw).await;
    assert!(matches!(
        ack.server_message(),
        Ok(ServerMessage::ServiceChannelAck(a)) if !a.success && a.error.is_some()
    ));
    let _unused: Option<GatewayError> = None;
    server.stop().await.unwrap();
}
