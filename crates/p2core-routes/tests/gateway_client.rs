//! The gateway client against a hostile WebSocket server on loopback
//! (tokio-tungstenite, scripted): oversized messages, absurd sequence numbers.
#![cfg(feature = "gateway")]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use p2core_routes::gateway_client::{
    DEFAULT_MAX_MESSAGE_BYTES, GatewayClient, GatewayError, GatewayOptions,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const WAIT: Duration = Duration::from_secs(20);

type ServerWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Accepts one gateway connection, sends Hello and the Identify ACK, then runs
/// `script` on the socket; returns the URL to connect to.
async fn hostile_server<F, Fut>(script: F) -> String
where
    F: FnOnce(ServerWs) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = WebSocketConfig::default().max_write_buffer_size(usize::MAX);
        let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config))
            .await
            .unwrap();
        let hello = json!({"n": "core", "op": "1", "d": {"heartbeatInterval": "60000"}, "s": "0"});
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .unwrap();
        // Identify → Identify ACK.
        let identify = next_json(&mut ws).await;
        assert_eq!(identify["op"], "2");
        let token = identify["d"]["token"].clone();
        let ack = json!({"n": "core", "op": "12", "d": {"token": token}, "s": "1"});
        ws.send(Message::Text(ack.to_string().into()))
            .await
            .unwrap();
        script(ws).await;
    });
    format!("ws://{addr}/.p2/core/v1/gateway/ws")
}

async fn next_json(ws: &mut ServerWs) -> Value {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("client went away: {other:?}"),
        }
    }
}

fn big_event(bytes: usize, s: u64) -> String {
    json!({"n": "p2core", "op": "1", "d": {"pad": "x".repeat(bytes)}, "s": s.to_string()})
        .to_string()
}

/// Issue 13 item 13: a message above the client's cap ends the connection with
/// `MessageTooLarge` instead of being buffered; the default cap holds too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_server_messages_are_refused() {
    // A configured cap of 64 KiB: a 100 KiB event is refused, a 10 KiB one is not.
    let url = hostile_server(|mut ws| async move {
        ws.send(Message::Text(big_event(10 * 1024, 2).into()))
            .await
            .unwrap();
        ws.send(Message::Text(big_event(100 * 1024, 3).into()))
            .await
            .unwrap();
        let _ = tokio::time::timeout(WAIT, ws.next()).await;
    })
    .await;
    let options = GatewayOptions::default()
        .reconnect(false)
        .heartbeat(false)
        .max_message_bytes(64 * 1024);
    let mut gw = GatewayClient::connect_with(&url, "t", options)
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, gw.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.s, Some(2));
    let err = tokio::time::timeout(WAIT, gw.next_event())
        .await
        .unwrap()
        .unwrap()
        .map(|ev| ev.d.to_string().len())
        .expect_err("too large");
    assert_eq!(err, GatewayError::MessageTooLarge { limit: 64 * 1024 });

    // The default cap: a message of twice the default is refused.
    let url = hostile_server(|mut ws| async move {
        let _ = ws
            .send(Message::Text(
                big_event(2 * DEFAULT_MAX_MESSAGE_BYTES, 2).into(),
            ))
            .await;
        let _ = tokio::time::timeout(WAIT, ws.next()).await;
    })
    .await;
    let options = GatewayOptions::default().reconnect(false).heartbeat(false);
    let mut gw = GatewayClient::connect_with(&url, "t", options)
        .await
        .unwrap();
    let err = tokio::time::timeout(WAIT, gw.next_event())
        .await
        .unwrap()
        .unwrap()
        .map(|ev| ev.d.to_string().len())
        .expect_err("too large");
    assert_eq!(
        err,
        GatewayError::MessageTooLarge {
            limit: DEFAULT_MAX_MESSAGE_BYTES
        }
    );
}

/// Issue 13 item 14: a server numbering a message `u64::MAX - 1` once made the
/// client's heartbeat list every number in between (an abort). Now the
/// heartbeats stay small and the far number is acknowledged on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_sequence_number_does_not_blow_up_heartbeats() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let url = hostile_server(move |mut ws| async move {
        let far = u64::MAX - 1;
        ws.send(Message::Text(big_event(1, far).into()))
            .await
            .unwrap();
        for s in [2u64, 3] {
            // "Heartbeat now" (op 11); the client answers with op 0.
            let nudge = json!({"n": "core", "op": "11", "d": {}, "s": s.to_string()});
            ws.send(Message::Text(nudge.to_string().into()))
                .await
                .unwrap();
            let hb = next_json(&mut ws).await;
            tx.send(hb).unwrap();
        }
        let _ = tokio::time::timeout(WAIT, ws.next()).await;
    })
    .await;
    let options = GatewayOptions::default().reconnect(false);
    let mut gw = GatewayClient::connect_with(&url, "t", options)
        .await
        .unwrap();
    let event = tokio::time::timeout(WAIT, gw.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event.s, Some(u64::MAX - 1));
    let first = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first["op"], "0");
    assert_eq!(
        (first["d"]["from"].as_str(), first["d"]["to"].as_str()),
        (Some("1"), Some("2"))
    );
    assert!(first["d"].get("except").is_none(), "{first}");
    let second = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let except = second["d"]["except"].as_array().map_or(0, Vec::len);
    assert!(except <= 1024, "{except} entries");
    assert_eq!(second["d"]["from"], "3");
}
