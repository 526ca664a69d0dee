//! Raw gateway sockets (tokio-tungstenite) for tests that must break the
//! protocol or watch close frames. Waits are bounded by [`WAIT`].

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use p2core_routes::gateway_client::GatewayClient;
use p2core_types::gateway::{Envelope, ServerMessage};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Upper bound of every wait (the machine may be loaded).
pub const WAIT: Duration = Duration::from_secs(20);

/// A raw client WebSocket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the gateway WebSocket of `base`; the error if the upgrade fails.
pub async fn try_ws_connect(base: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = GatewayClient::url_for(base).unwrap();
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
}

/// Opens the gateway WebSocket of `base` (panics if it fails).
pub async fn ws_connect(base: &str) -> Ws {
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

/// The next gateway message; panics on close or timeout.
pub async fn ws_recv(ws: &mut Ws) -> Envelope {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("connection open")
            .expect("no socket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("an envelope"),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
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

/// Sends one JSON text message.
pub async fn ws_send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Reads Hello on a fresh socket.
pub async fn ws_hello(ws: &mut Ws) {
    let hello = ws_recv(ws).await;
    assert!(
        matches!(hello.server_message(), Ok(ServerMessage::Hello(_))),
        "{hello:?}"
    );
}

/// Hello, Identify, Identify ACK on a raw socket.
pub async fn ws_identify(base: &str, token: &str) -> Ws {
    let mut ws = ws_connect(base).await;
    ws_hello(&mut ws).await;
    ws_send(
        &mut ws,
        json!({"n": "core", "op": 2, "d": {"token": token}}),
    )
    .await;
    let ack = ws_recv(&mut ws).await;
    assert!(
        matches!(ack.server_message(), Ok(ServerMessage::IdentifyAck(ref a)) if a.token == token),
        "{ack:?}"
    );
    ws
}
