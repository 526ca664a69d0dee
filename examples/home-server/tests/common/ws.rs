//! Raw WebSocket helpers for gateway tests that must break the protocol
//! (tokio-tungstenite sockets on loopback).

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use p2core_home_server::{Config, RunningServer, start};
use p2core_routes::gateway_client::GatewayClient;
use p2core_types::DomainName;
use p2core_types::gateway::{Envelope, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

/// Heartbeat interval of the test servers: short, so silence is detected quickly.
pub const HEARTBEAT_MS: u64 = 300;
/// Upper bound of every wait (the machine may be loaded).
pub const WAIT: Duration = Duration::from_secs(20);

/// A raw client socket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server for `localhost` with the test heartbeat interval and `tweak` applied.
pub async fn spawn_gateway(dir: &Path, tweak: impl FnOnce(&mut Config)) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new("localhost").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.gateway_heartbeat_ms = HEARTBEAT_MS;
    tweak(&mut config);
    start(config, false).await.expect("server starts")
}

/// Opens a raw socket on the gateway of the server at `base`.
pub async fn raw_connect(base: &str) -> Ws {
    let url = GatewayClient::url_for(base).unwrap();
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    ws
}

/// The next gateway message as text; panics on close or timeout.
pub async fn recv_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("connection open")
            .expect("no socket error");
        match msg {
            Message::Text(t) => return t.as_str().to_owned(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

/// The next gateway message; panics on close or timeout.
pub async fn recv(ws: &mut Ws) -> Envelope {
    serde_json::from_str(&recv_text(ws).await).expect("an envelope")
}

/// Reads until the close frame; returns its code and reason.
pub async fn recv_close(ws: &mut Ws) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => {
                return (u16::from(f.code), f.reason.as_str().to_owned());
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Sends a JSON text frame.
pub async fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Hello, then Identify with `token`; returns the socket right after the Identify ACK.
pub async fn raw_identify(base: &str, token: &str) -> Ws {
    let mut ws = raw_connect(base).await;
    identify_on(&mut ws, token).await;
    ws
}

/// Reads Hello, sends Identify and reads its ACK on `ws`.
pub async fn identify_on(ws: &mut Ws, token: &str) {
    let hello = recv(ws).await;
    assert!(matches!(
        hello.server_message(),
        Ok(ServerMessage::Hello(_))
    ));
    send(
        ws,
        serde_json::json!({"n": "core", "op": 2, "d": {"token": token}}),
    )
    .await;
    let ack = recv(ws).await;
    assert!(
        matches!(ack.server_message(), Ok(ServerMessage::IdentifyAck(ref a)) if a.token == token),
        "{ack:?}"
    );
}
