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

/// Opens the gateway WebSocket of `base`; the error if the upgrade fails.
pub async fn try_ws_connect(base: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = GatewayClient::url_for(base).unwrap();
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
}

/// Opens a raw socket on the gateway of the server at `base` (panics if it fails).
pub async fn raw_connect(base: &str) -> Ws {
    try_ws_connect(base).await.expect("ws connect")
}

/// The HTTP status of a refused upgrade (panics if it was accepted or failed otherwise).
pub fn refused_status(res: Result<Ws, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match res {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e:?}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade was accepted"),
    }
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

/// Reads until the close frame (within `within`); returns its code and reason
/// and every envelope received before it.
pub async fn ws_close_within(ws: &mut Ws, within: Duration) -> (u16, String, Vec<Envelope>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no close frame within {within:?}; got {seen:?}"));
        match msg {
            Some(Ok(Message::Close(Some(f)))) => {
                return (u16::from(f.code), f.reason.as_str().to_owned(), seen);
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new(), seen),
            Some(Ok(Message::Text(t))) => {
                seen.push(serde_json::from_str(t.as_str()).expect("an envelope"));
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?} after {seen:?}"),
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

/// Reads Hello on a fresh socket.
pub async fn ws_hello(ws: &mut Ws) {
    let hello = recv(ws).await;
    assert!(
        matches!(hello.server_message(), Ok(ServerMessage::Hello(_))),
        "{hello:?}"
    );
}

/// Reads Hello, sends Identify and reads its ACK on `ws`.
pub async fn identify_on(ws: &mut Ws, token: &str) {
    ws_hello(ws).await;
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
