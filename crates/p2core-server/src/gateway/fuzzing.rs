//! Feeds frames to the gateway's connection state machine without a socket
//! (feature `fuzzing`; used by `fuzz/fuzz_targets/gateway_connection.rs`).
//!
//! [`Harness`] opens a real SQLite store in a directory with one actor and one
//! session whose token replaces [`TOKEN_PLACEHOLDER`] in text frames, keeps a
//! few events queued for that session, and [`Harness::run`] drives one
//! connection (the same code as a WebSocket connection) until its frames are
//! used up.

use std::collections::VecDeque;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use p2core_types::events::NewSession;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use crate::SqliteStore;
use crate::auth::new_token;
use crate::state::AppState;
use crate::storage::{NewIdCert, PendingEvent, Store};

/// Text frames have this replaced by the harness session's token.
pub const TOKEN_PLACEHOLDER: &str = "@TOKEN@";

/// One frame (or read outcome) the connection receives.
#[derive(Debug, Clone)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame.
    Close,
    /// A message over the size limit (the socket's capacity error).
    TooLarge,
    /// Any other read error.
    ReadError,
}

/// A transport that yields the frames, then ends, and keeps what was written.
struct Scripted {
    incoming: VecDeque<Result<Message, axum::Error>>,
    sent: Vec<Message>,
}

impl Stream for Scripted {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.incoming.pop_front())
    }
}

impl Sink<Message> for Scripted {
    type Error = axum::Error;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        // Keep only the lengths' worth of evidence: the last few messages.
        if self.sent.len() >= 64 {
            self.sent.remove(0);
        }
        self.sent.push(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

/// A store with one identified-able session, for driving connections.
pub struct Harness {
    /// The server state the connections use.
    pub(crate) state: Arc<AppState<SqliteStore>>,
    /// The session's token (what [`TOKEN_PLACEHOLDER`] becomes).
    pub token: String,
    actor_id: i64,
    /// Serial of the certificate of the session `fuzz`.
    serial: i64,
    peer: AtomicU64,
}

/// Why the harness could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("fuzzing harness: {0}")]
pub struct HarnessError(String);

fn err(e: impl std::fmt::Display) -> HarnessError {
    HarnessError(e.to_string())
}

impl Harness {
    /// Opens a store in `dir` (which must be empty or a previous harness's) with
    /// the actor `fuzz@localhost` and its session `fuzz`.
    pub async fn new(dir: &Path) -> Result<Self, HarnessError> {
        let domain = p2core_types::DomainName::new("localhost").map_err(err)?;
        let server = crate::ServerBuilder::new(domain)
            .keys(crate::settings::KeySettings::new().dir(dir.to_path_buf()))
            .build()
            .await
            .map_err(err)?;
        let state = server.state.clone();
        let now = UnixTimestamp::now();
        let fid = FederationId::new("fuzz@localhost").map_err(err)?;
        let actor_id = match state.store.actor_exists(&fid).await.map_err(err)? {
            Some(id) => id,
            None => state
                .store
                .create_actor(&fid, "not a password hash", None, now)
                .await
                .map_err(err)?,
        };
        let harness = Self {
            state,
            token: String::new(),
            actor_id,
            serial: 0,
            peer: AtomicU64::new(0),
        };
        let (token, serial) = harness.new_session("fuzz").await?;
        Ok(Self {
            token,
            serial,
            ..harness
        })
    }

    /// Creates a live session `id` (ending an earlier one of that ID); returns
    /// its token and its certificate's serial.
    async fn new_session(&self, id: &str) -> Result<(String, i64), HarnessError> {
        let now = UnixTimestamp::now();
        let session_id = SessionId::new(id).map_err(err)?;
        let no_event = |_: i64| None;
        self.state
            .store
            .end_session(self.actor_id, &session_id, now, &no_event)
            .await
            .map_err(err)?;
        let root_serial = self.state.keys.read().await.serial;
        let serial = i64::from_le_bytes(p2core_types::random::bytes::<8>()) & i64::MAX;
        let cert = NewIdCert {
            serial,
            session_id,
            cert_pem: "-----BEGIN CERTIFICATE-----\nfuzz\n-----END CERTIFICATE-----\n".into(),
            not_before: now,
            not_after: now.saturating_add(86_400 * 365),
            root_serial,
        };
        let (token, hash) = new_token();
        let event = PendingEvent::new(&NewSession {
            cert: cert.cert_pem.clone(),
        })
        .map_err(err)?;
        self.state
            .store
            .create_session(self.actor_id, &cert, &hash, now, &event, u64::MAX)
            .await
            .map_err(err)?;
        Ok((token, serial))
    }

    /// Queues events for the session until it has at least `n` (a peer session
    /// of the actor ends and a new one starts: ops 4/3).
    async fn top_up(&self, n: usize) -> Result<(), HarnessError> {
        let fuzz = SessionId::new("fuzz").map_err(err)?;
        for _ in 0..4 {
            let pending = self
                .state
                .store
                .pending_events(self.actor_id, &fuzz, self.serial, 0)
                .await
                .map_err(err)?;
            if pending.len() >= n {
                return Ok(());
            }
            let k = self.peer.fetch_add(1, Ordering::Relaxed) % 4;
            self.new_session(&format!("peer{k}")).await?;
        }
        Ok(())
    }

    /// Runs one connection over `frames` (text frames with the token put in)
    /// until they are used up; returns the messages the server wrote last.
    pub async fn run(&self, frames: Vec<Frame>) -> Result<Vec<Message>, HarnessError> {
        self.top_up(3).await?;
        let incoming = frames
            .into_iter()
            .map(|f| match f {
                Frame::Text(t) => Ok(Message::Text(
                    t.replace(TOKEN_PLACEHOLDER, &self.token).into(),
                )),
                Frame::Binary(b) => Ok(Message::Binary(b.into())),
                Frame::Ping(b) => Ok(Message::Ping(b.into())),
                Frame::Pong(b) => Ok(Message::Pong(b.into())),
                Frame::Close => Ok(Message::Close(None)),
                Frame::TooLarge => Err(axum::Error::new(
                    tokio_tungstenite::tungstenite::Error::Capacity(
                        tokio_tungstenite::tungstenite::error::CapacityError::MessageTooLong {
                            size: usize::MAX,
                            max_size: 0,
                        },
                    ),
                )),
                Frame::ReadError => Err(axum::Error::new(std::io::Error::other("read error"))),
            })
            .collect();
        let mut transport = Scripted {
            incoming,
            sent: Vec::new(),
        };
        // The same gateway slots a socket from loopback takes (and gives back at the end).
        let slots = self
            .state
            .gateway
            .admit(std::net::Ipv4Addr::LOCALHOST.into())
            .map_err(|e| err(format!("no gateway slot: {}", e.message)))?;
        super::connection::run(self.state.clone(), &mut transport, slots).await;
        Ok(transport.sent)
    }
}
