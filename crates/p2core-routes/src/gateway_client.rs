//! A typed WebSocket gateway client (feature `gateway`).
//!
//! [`GatewayClient::connect`] opens the connection, waits for Hello, identifies
//! with a session token and waits for the Identify ACK. A background task then
//! heartbeats on its own (acknowledging what was received, so the server can
//! drop it from the session's queue), answers heartbeat requests (op 11), and
//! after a dropped connection reconnects and resumes (op 5), falling back to a
//! fresh Identify when the server cannot resume. Events arrive through the
//! [`Stream`] implementation (or [`GatewayClient::next_event`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), p2core_routes::gateway_client::GatewayError> {
//! use p2core_routes::gateway_client::GatewayClient;
//!
//! let url = GatewayClient::url_for("http://127.0.0.1:3000")?;
//! let mut gateway = GatewayClient::connect(&url, "session token").await?;
//! while let Some(event) = gateway.next_event().await {
//!     let event = event?;
//!     println!("event {}/{}: {}", event.n, event.op, event.d);
//! }
//! # Ok(()) }
//! ```
//!
//! Only `ws://` URLs are supported (terminate TLS in a proxy or connect over a
//! trusted network).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use p2core_types::gateway::{
    CloseCode, Envelope, Heartbeat, Identify, Opcode, Resume, ServerMessage,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong on the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The URL is not a `ws://` URL.
    #[error("invalid gateway URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The connection could not be opened or broke.
    #[error("gateway connection failed: {0}")]
    Connection(String),
    /// The server sent something that is not the protocol.
    #[error("gateway protocol error: {0}")]
    Protocol(String),
    /// The server sent a message (or frame) larger than
    /// [`GatewayOptions::max_message_bytes`]; the connection is dropped.
    #[error("the server sent a gateway message larger than {limit} bytes")]
    MessageTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The server closed the connection with this code.
    #[error("the server closed the gateway connection with {code}: {reason}")]
    Closed {
        /// The close code (4000–4010 for gateway codes, see [`CloseCode::from_u16`]).
        code: u16,
        /// The server's reason text.
        reason: String,
    },
}

impl GatewayError {
    /// The gateway close code, for [`Closed`](Self::Closed) errors with one.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Closed { code, .. } => CloseCode::from_u16(*code),
            _ => None,
        }
    }
}

/// How the client behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayOptions {
    /// Send heartbeats on the interval Hello announces and answer op 11 (default `true`;
    /// turning it off lets a test watch the server's timeout).
    pub heartbeat: bool,
    /// Reconnect and resume after a dropped connection or a resumable close (default `true`).
    pub reconnect: bool,
    /// Reconnection attempts before giving up (default 5, with doubling delays from 100 ms).
    pub max_reconnects: u32,
    /// How long to wait for the server's Hello and Identify ACK / Resumed (default 10 s).
    pub handshake_timeout: Duration,
    /// Largest message (and frame) accepted from the server, in bytes (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`]); a larger one ends the connection with
    /// [`GatewayError::MessageTooLarge`] before it is buffered.
    pub max_message_bytes: usize,
}

/// Default of [`GatewayOptions::max_message_bytes`]: 4 MiB, well above the
/// largest message a p2core server sends (see `docs/operations.md`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            heartbeat: true,
            reconnect: true,
            max_reconnects: 5,
            handshake_timeout: Duration::from_secs(10),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

impl GatewayOptions {
    /// Sets [`heartbeat`](Self::heartbeat).
    pub fn heartbeat(mut self, on: bool) -> Self {
        self.heartbeat = on;
        self
    }

    /// Sets [`reconnect`](Self::reconnect).
    pub fn reconnect(mut self, on: bool) -> Self {
        self.reconnect = on;
        self
    }

    /// Sets [`max_message_bytes`](Self::max_message_bytes).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

enum Command {
    Raw(String),
    Drop,
    Close,
}

/// A connected, identified gateway session. See the [module docs](self).
pub struct GatewayClient {
    events: mpsc::Receiver<Result<Envelope, GatewayError>>,
    commands: mpsc::UnboundedSender<Command>,
    heartbeat_interval: Duration,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("heartbeat_interval", &self.heartbeat_interval)
            .finish_non_exhaustive()
    }
}

impl Drop for GatewayClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GatewayClient {
    /// The WebSocket URL of the gateway of the server at `base_url`
    /// (`http://host:port` → `ws://host:port/.p2/core/v1/gateway/ws`).
    pub fn url_for(base_url: &str) -> Result<String, GatewayError> {
        let base = base_url.trim_end_matches('/');
        let rest = if let Some(r) = base.strip_prefix("http://") {
            r
        } else if let Some(r) = base.strip_prefix("ws://") {
            r
        } else {
            return Err(GatewayError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "expected http:// or ws:// (wss is not supported)".into(),
            });
        };
        Ok(format!("ws://{rest}{}", crate::gateway_ws::INFO.path))
    }

    /// Connects to `url`, identifies with `token`, and starts heartbeating.
    pub async fn connect(url: &str, token: &str) -> Result<Self, GatewayError> {
        Self::connect_with(url, token, GatewayOptions::default()).await
    }

    /// [`connect`](Self::connect) with options.
    pub async fn connect_with(
        url: &str,
        token: &str,
        options: GatewayOptions,
    ) -> Result<Self, GatewayError> {
        if !url.starts_with("ws://") {
            return Err(GatewayError::InvalidUrl {
                url: url.to_owned(),
                reason: "expected a ws:// URL".into(),
            });
        }
        let (socket, interval) = open(url, &options).await?;
        let mut conn = Connection {
            socket,
            url: url.to_owned(),
            token: token.to_owned(),
            options,
            interval,
            received: Vec::new(),
            last_seq: 0,
            next_beat: Instant::now() + interval,
        };
        let identify = Envelope::client(&Identify {
            token: conn.token.clone(),
        })
        .map_err(|e| GatewayError::Protocol(e.to_string()))?;
        conn.send(&identify).await?;
        let first = conn.expect_handshake(Opcode::IdentifyAck).await?;
        let (tx, rx) = mpsc::channel(1024);
        for ev in first {
            let _ = tx.try_send(Ok(ev));
        }
        let (ctx, crx) = mpsc::unbounded_channel();
        let task = tokio::spawn(conn.run(tx, crx));
        Ok(Self {
            events: rx,
            commands: ctx,
            heartbeat_interval: interval,
            task,
        })
    }

    /// The heartbeat interval the server announced.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// The next event (ops 3, 4, 6, service channel messages and events of other
    /// namespaces), an error (after which the client may reconnect on its own), or
    /// `None` when the client has stopped.
    pub async fn next_event(&mut self) -> Option<Result<Envelope, GatewayError>> {
        self.events.recv().await
    }

    /// Sends a text frame as is (for protocol tests and extensions).
    pub fn send_raw(&self, text: impl Into<String>) {
        let _ = self.commands.send(Command::Raw(text.into()));
    }

    /// Subscribes to or unsubscribes from a service channel (op 8); the answer (op 9)
    /// arrives through the event stream.
    pub fn service_channel(&self, message: &p2core_types::gateway::ServiceChannel) {
        if let Ok(env) = Envelope::client(message)
            && let Ok(text) = serde_json::to_string(&env)
        {
            self.send_raw(text);
        }
    }

    /// Drops the TCP connection without a close frame, as a network failure would;
    /// with [`GatewayOptions::reconnect`] the client then resumes.
    pub fn drop_connection(&self) {
        let _ = self.commands.send(Command::Drop);
    }

    /// Closes the connection normally (code 1000) and stops the client.
    pub async fn close(mut self) {
        let _ = self.commands.send(Command::Close);
        while self.events.recv().await.is_some() {}
    }
}

impl Stream for GatewayClient {
    type Item = Result<Envelope, GatewayError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

/// Opens a socket and reads Hello; returns the socket and the heartbeat interval.
async fn open(url: &str, options: &GatewayOptions) -> Result<(Socket, Duration), GatewayError> {
    let limit = options.max_message_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let (mut socket, _) = tokio::time::timeout(
        options.handshake_timeout,
        tokio_tungstenite::connect_async_with_config(url, Some(config), false),
    )
    .await
    .map_err(|_| GatewayError::Connection("timed out connecting".into()))?
    .map_err(|e| GatewayError::Connection(e.to_string()))?;
    let msg = tokio::time::timeout(options.handshake_timeout, next_envelope(&mut socket, limit))
        .await
        .map_err(|_| GatewayError::Protocol("no Hello from the server".into()))??;
    match msg.server_message() {
        Ok(ServerMessage::Hello(h)) => {
            Ok((socket, Duration::from_millis(h.heartbeat_interval.max(1))))
        }
        _ => Err(GatewayError::Protocol(format!(
            "expected Hello (op 1) first, got op {}",
            msg.op
        ))),
    }
}

/// Reads the next envelope, turning close frames into [`GatewayError::Closed`]
/// and messages over `limit` bytes into [`GatewayError::MessageTooLarge`].
async fn next_envelope(socket: &mut Socket, limit: usize) -> Result<Envelope, GatewayError> {
    loop {
        match socket.next().await {
            None => return Err(GatewayError::Connection("connection closed".into())),
            // Chosen by the error's kind, not its text.
            Some(Err(WsError::Capacity(_))) => return Err(GatewayError::MessageTooLarge { limit }),
            Some(Err(e)) => return Err(GatewayError::Connection(e.to_string())),
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .map_err(|e| GatewayError::Protocol(format!("not a gateway message: {e}")));
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
                    .unwrap_or((1005, String::new()));
                return Err(GatewayError::Closed { code, reason });
            }
            Some(Ok(_)) => continue,
        }
    }
}

struct Connection {
    socket: Socket,
    url: String,
    token: String,
    options: GatewayOptions,
    interval: Duration,
    /// Sequence numbers received since the last heartbeat.
    received: Vec<u64>,
    /// Highest sequence number received on the current connection.
    last_seq: u64,
    next_beat: Instant,
}

enum Outcome {
    /// Stop; the client is finished.
    Stop,
    /// The connection broke; try to resume.
    Reconnect,
}

impl Connection {
    async fn send(&mut self, env: &Envelope) -> Result<(), GatewayError> {
        let text = serde_json::to_string(env)
            .map_err(|e| GatewayError::Protocol(format!("encoding: {e}")))?;
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| GatewayError::Connection(e.to_string()))
    }

    fn note(&mut self, env: &Envelope) {
        if let Some(s) = env.s {
            self.received.push(s);
            self.last_seq = self.last_seq.max(s);
        }
    }

    /// Waits for op 12 or op 10 after Identify/Resume; returns the events to hand out.
    async fn expect_handshake(&mut self, want: Opcode) -> Result<Vec<Envelope>, GatewayError> {
        let deadline = Instant::now() + self.options.handshake_timeout;
        loop {
            let env = tokio::time::timeout_at(
                deadline,
                next_envelope(&mut self.socket, self.options.max_message_bytes),
            )
            .await
            .map_err(|_| {
                GatewayError::Protocol(format!("no op {} from the server", want.as_u16()))
            })??;
            self.note(&env);
            match env.server_message() {
                Ok(ServerMessage::IdentifyAck(_)) if want == Opcode::IdentifyAck => {
                    return Ok(Vec::new());
                }
                Ok(ServerMessage::Resumed(r)) if want == Opcode::Resumed => {
                    let mut out = Vec::new();
                    for inner in r.0 {
                        self.note(&inner);
                        out.push(inner);
                    }
                    return Ok(out);
                }
                Ok(ServerMessage::HeartbeatRequest) => self.heartbeat().await?,
                _ => {
                    return Err(GatewayError::Protocol(format!(
                        "expected op {}, got op {}",
                        want.as_u16(),
                        env.op
                    )));
                }
            }
        }
    }

    async fn heartbeat(&mut self) -> Result<(), GatewayError> {
        let hb = Heartbeat::from_received(&self.received).unwrap_or(Heartbeat {
            from: self.last_seq,
            to: self.last_seq,
            except: Vec::new(),
        });
        // Numbers above the heartbeat's range (far apart from the rest) go in the next one.
        self.received.retain(|s| *s > hb.to);
        self.next_beat = Instant::now() + self.interval;
        self.send(&Envelope::client(&hb).map_err(|e| GatewayError::Protocol(e.to_string()))?)
            .await
    }

    async fn run(
        mut self,
        tx: mpsc::Sender<Result<Envelope, GatewayError>>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            match self.serve(&tx, &mut commands).await {
                Outcome::Stop => return,
                Outcome::Reconnect => {
                    if !self.reconnect(&tx).await {
                        return;
                    }
                }
            }
        }
    }

    async fn serve(
        &mut self,
        tx: &mpsc::Sender<Result<Envelope, GatewayError>>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Outcome {
        loop {
            let beat = self.next_beat;
            let heartbeat_on = self.options.heartbeat;
            tokio::select! {
                msg = next_envelope(&mut self.socket, self.options.max_message_bytes) => match msg {
                    Ok(env) => {
                        if let Err(e) = self.on_message(env, tx).await {
                            let _ = tx.send(Err(e)).await;
                            return self.after_failure();
                        }
                    }
                    Err(e) => {
                        let resumable = match &e {
                            GatewayError::Closed { code, .. } => {
                                CloseCode::from_u16(*code).is_some_and(CloseCode::is_resumable)
                            }
                            _ => true,
                        };
                        let _ = tx.send(Err(e)).await;
                        return if resumable { self.after_failure() } else { Outcome::Stop };
                    }
                },
                cmd = commands.recv() => match cmd {
                    Some(Command::Raw(text)) => {
                        if self.socket.send(Message::Text(text.into())).await.is_err() {
                            return self.after_failure();
                        }
                    }
                    Some(Command::Drop) => return self.after_failure(),
                    Some(Command::Close) | None => {
                        let _ = self.socket.send(Message::Close(Some(CloseFrame {
                            code: 1000.into(),
                            reason: "bye".into(),
                        }))).await;
                        return Outcome::Stop;
                    }
                },
                () = sleep_until(beat), if heartbeat_on => {
                    if self.heartbeat().await.is_err() {
                        return self.after_failure();
                    }
                }
            }
        }
    }

    fn after_failure(&self) -> Outcome {
        if self.options.reconnect {
            Outcome::Reconnect
        } else {
            Outcome::Stop
        }
    }

    async fn on_message(
        &mut self,
        env: Envelope,
        tx: &mpsc::Sender<Result<Envelope, GatewayError>>,
    ) -> Result<(), GatewayError> {
        self.note(&env);
        match env.server_message() {
            Ok(ServerMessage::HeartbeatRequest) => {
                if self.options.heartbeat {
                    self.heartbeat().await?;
                }
            }
            Ok(ServerMessage::HeartbeatAck(ack)) => {
                for inner in ack.0 {
                    self.note(&inner);
                    if inner.is_event() {
                        let _ = tx.send(Ok(inner)).await;
                    }
                }
            }
            Ok(ServerMessage::Resumed(r)) => {
                for inner in r.0 {
                    self.note(&inner);
                    let _ = tx.send(Ok(inner)).await;
                }
            }
            Ok(ServerMessage::Hello(_) | ServerMessage::IdentifyAck(_)) => {}
            Ok(_) => {
                let _ = tx.send(Ok(env)).await;
            }
            Err(e) => return Err(GatewayError::Protocol(e.to_string())),
        }
        Ok(())
    }

    /// Reconnects: Resume first, Identify when the server cannot resume.
    async fn reconnect(&mut self, tx: &mpsc::Sender<Result<Envelope, GatewayError>>) -> bool {
        // The old socket is dropped without a close frame.
        let mut delay = Duration::from_millis(100);
        for _ in 0..self.options.max_reconnects.max(1) {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            let (socket, interval) = match open(&self.url, &self.options).await {
                Ok(x) => x,
                Err(_) => continue,
            };
            let last = self.last_seq;
            self.socket = socket;
            self.interval = interval;
            // Hello of the new connection was number 0.
            self.received = vec![0];
            self.last_seq = 0;
            let resume = Resume {
                s: last,
                token: self.token.clone(),
            };
            let result = match Envelope::client(&resume) {
                Ok(env) => match self.send(&env).await {
                    Ok(()) => self.expect_handshake(Opcode::Resumed).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(GatewayError::Protocol(e.to_string())),
            };
            let events = match result {
                Ok(events) => events,
                Err(GatewayError::Closed { code, .. })
                    if CloseCode::from_u16(code) == Some(CloseCode::Unresumeable) =>
                {
                    // Start over: a new connection and Identify (the server re-sends
                    // whatever is still queued).
                    match self.identify_fresh().await {
                        Ok(()) => Vec::new(),
                        Err(_) => continue,
                    }
                }
                Err(_) => continue,
            };
            self.next_beat = Instant::now() + self.interval;
            for ev in events {
                let _ = tx.send(Ok(ev)).await;
            }
            return true;
        }
        let _ = tx
            .send(Err(GatewayError::Connection(
                "could not reconnect; giving up".into(),
            )))
            .await;
        false
    }

    async fn identify_fresh(&mut self) -> Result<(), GatewayError> {
        let (socket, interval) = open(&self.url, &self.options).await?;
        self.socket = socket;
        self.interval = interval;
        self.received = vec![0];
        self.last_seq = 0;
        let identify = Envelope::client(&Identify {
            token: self.token.clone(),
        })
        .map_err(|e| GatewayError::Protocol(e.to_string()))?;
        self.send(&identify).await?;
        self.expect_handshake(Opcode::IdentifyAck).await.map(drop)
    }
}
