//! One WebSocket connection: Hello, Identify/Resume, heartbeats, events.
//!
//! Memory per connection is bounded whatever the client sends (see
//! `docs/operations.md`, "Gateway"): only event messages are kept for
//! re-sending, within `--gateway-max-unacked-bytes`; a full buffer pauses live
//! delivery (the events stay queued in the store) until a heartbeat
//! acknowledges some; an op 7 or op 10 answer holds only messages of that
//! buffer; every write has a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use p2core_types::UnixTimestamp;
use p2core_types::gateway::{
    ClientMessage, CloseCode, DecodeError, Envelope, GatewayPayload, Heartbeat, HeartbeatRequest,
    Hello, IdentifyAck, Opcode, ServiceChannel, ServiceChannelAck,
};
use tokio::sync::mpsc;

use super::{ConnShared, GatewaySlots, ResumeRecord, SERVICES, Sent, SessionKey};
use crate::auth::hash_token;
use crate::state::SharedState;
use crate::storage::{Caller, Store, StoreError, StoredEvent};

/// Most event messages kept for re-sending (op 7) and Resume (the byte budget
/// `--gateway-max-unacked-bytes` usually binds first); when full, live delivery
/// pauses until a heartbeat acknowledges some.
pub(super) const MAX_UNACKED: usize = 2048;
/// Longest `except` list accepted in a heartbeat.
const MAX_EXCEPT: usize = p2core_types::gateway::MAX_HEARTBEAT_EXCEPT;
/// Longest session token accepted.
const MAX_TOKEN: usize = 256;

/// Why the loop stopped.
enum End {
    /// Close with this gateway code and reason.
    Close(CloseCode, String),
    /// Close with a WebSocket code (e.g. 1009) and reason.
    CloseRaw(u16, String),
    /// The peer went away (or sent Close, or a write failed); nothing more to send.
    Gone,
    /// A write did not finish within the write timeout: the peer does not read.
    Stalled,
}

/// What a connection reads and writes: axum's `WebSocket`, or any stream and
/// sink of messages (the fuzz entry point feeds frames without a socket).
pub(crate) trait Transport:
    Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin + Send
{
}

impl<T> Transport for T where
    T: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Unpin
        + Send
{
}

struct Identified {
    key: SessionKey,
    /// Serial of the ID-Cert whose token identified the connection.
    serial: i64,
    conn_id: u64,
    events: mpsc::Receiver<StoredEvent>,
    shared: Arc<ConnShared>,
}

struct Conn<S: Store, T: Transport> {
    state: SharedState<S>,
    socket: T,
    next_seq: u64,
    /// Event messages sent and not acknowledged (for op 7 and Resume).
    unacked: BTreeMap<u64, Sent>,
    /// Sum of the texts' lengths in `unacked`.
    unacked_bytes: usize,
    /// Live delivery is paused (the buffer was full): events wait in the store
    /// until a heartbeat makes room and the connection re-reads the queue.
    backlog: bool,
    /// Highest queue id delivered on this connection (events arrive in id order).
    watermark: i64,
    session: Option<Identified>,
    last_heartbeat: Instant,
    nudged_at: Option<Instant>,
    window_start: Instant,
    window_count: u32,
    /// When Hello was sent (the Identify deadline counts from here).
    opened: Instant,
    /// The connection's slots (released when the connection ends) and the shutdown signal.
    slots: GatewaySlots,
}

/// Runs a connection until it ends.
pub(crate) async fn run<S: Store, T: Transport>(
    state: SharedState<S>,
    socket: T,
    slots: GatewaySlots,
) {
    let now = Instant::now();
    let mut conn = Conn {
        state,
        socket,
        next_seq: 0,
        unacked: BTreeMap::new(),
        unacked_bytes: 0,
        backlog: false,
        watermark: 0,
        session: None,
        last_heartbeat: now,
        nudged_at: None,
        window_start: now,
        window_count: 0,
        opened: now,
        slots,
    };
    let end = conn.serve().await;
    let (code, reason) = match end {
        End::Close(code, reason) => (Some(code.as_u16()), reason),
        End::CloseRaw(code, reason) => (Some(code), reason),
        End::Gone | End::Stalled => (None, String::new()),
    };
    if let Some(code) = code {
        let _ = conn
            .write(Message::Close(Some(CloseFrame {
                code,
                reason: truncate(reason).into(),
            })))
            .await;
    }
    conn.finish();
}

/// An envelope's JSON text with its payload already serialized (no re-parse).
fn envelope_text(n: &str, op: u16, d: &str, s: u64) -> String {
    let n = serde_json::to_string(n).unwrap_or_else(|_| "\"core\"".to_owned());
    format!(r#"{{"n":{n},"op":"{op}","d":{d},"s":"{s}"}}"#)
}

impl<S: Store, T: Transport> Conn<S, T> {
    fn config(&self) -> &super::GatewayConfig {
        &self.state.gateway_config
    }

    /// Writes one message within the write timeout (a client that does not
    /// read cannot hold the task, its timers or its memory).
    async fn write(&mut self, msg: Message) -> Result<(), End> {
        let limit = self.config().write_timeout;
        match tokio::time::timeout(limit, self.socket.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Stalled),
        }
    }

    async fn serve(&mut self) -> End {
        let interval = self.config().heartbeat_interval;
        let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        if let Err(e) = self.send_payload(&Hello::new(ms)).await {
            return e;
        }
        self.opened = Instant::now();
        loop {
            let mut deadline = match self.nudged_at {
                Some(t) => t + self.config().answer_within(),
                None => self.last_heartbeat + self.config().nudge_after(),
            };
            if self.session.is_none() {
                deadline = deadline.min(self.opened + self.config().identify_within);
            }
            let shared = self.session.as_ref().map(|s| s.shared.clone());
            let step = tokio::select! {
                msg = self.socket.next() => self.on_socket(msg).await,
                ev = recv_event(&mut self.session) => match ev {
                    Some(ev) => self.deliver_live(ev).await,
                    None => Ok(()),
                },
                () = notified(shared.as_deref()) => self.on_notify().await,
                () = tokio::time::sleep_until(deadline.into()) => self.on_timer().await,
                () = stopping(&mut self.slots) => Err(End::CloseRaw(
                    1001,
                    "the server is shutting down; reconnect and identify".into(),
                )),
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Takes the next sequence number.
    fn take_seq(&mut self) -> Result<u64, End> {
        let s = self.next_seq;
        self.next_seq = s.checked_add(1).ok_or_else(|| {
            End::Close(
                CloseCode::Unresumeable,
                "sequence numbers exhausted; reconnect and identify".into(),
            )
        })?;
        Ok(s)
    }

    /// `true` if an event message of `len` bytes fits the un-acknowledged
    /// buffer (an empty buffer takes any one message, so delivery always progresses).
    fn has_room(&self, len: usize) -> bool {
        self.unacked.is_empty()
            || (self.unacked.len() < MAX_UNACKED
                && self.unacked_bytes.saturating_add(len) <= self.config().max_unacked_bytes)
    }

    /// Keeps an event message for re-sending until it is acknowledged.
    fn record(&mut self, s: u64, text: Arc<str>, event_id: i64) {
        self.unacked_bytes = self.unacked_bytes.saturating_add(text.len());
        let old = self.unacked.insert(
            s,
            Sent {
                text,
                event_id: Some(event_id),
            },
        );
        if let Some(old) = old {
            self.unacked_bytes = self.unacked_bytes.saturating_sub(old.text.len());
        }
    }

    /// Forgets an acknowledged message; returns it.
    fn forget(&mut self, s: u64) -> Option<Sent> {
        let m = self.unacked.remove(&s)?;
        self.unacked_bytes = self.unacked_bytes.saturating_sub(m.text.len());
        Some(m)
    }

    /// Sends one control message (never kept for re-sending: ops 1, 7, 9, 10, 11, 12).
    async fn send_control(&mut self, text: String) -> Result<(), End> {
        self.write(Message::Text(text.into())).await
    }

    async fn send_payload<P: GatewayPayload>(&mut self, p: &P) -> Result<(), End> {
        let s = self.take_seq()?;
        let env = Envelope::server(p, s).map_err(|e| internal(&e))?;
        let text = serde_json::to_string(&env).map_err(|e| internal(&e))?;
        self.send_control(text).await
    }

    /// Sends a payload made of already-serialized envelopes (ops 7 and 10).
    async fn send_array(&mut self, op: Opcode, items: &[Arc<str>]) -> Result<(), End> {
        let s = self.take_seq()?;
        let d = format!("[{}]", items.join(","));
        let text = envelope_text("core", op.as_u16(), &d, s);
        self.send_control(text).await
    }

    /// An event the hub routed here; ignored while delivery is paused (the
    /// store still has it and the re-read after the pause sends it in order).
    async fn deliver_live(&mut self, ev: StoredEvent) -> Result<(), End> {
        if self.backlog {
            return Ok(());
        }
        self.deliver(vec![ev]).await
    }

    /// Re-reads the session's queue above the watermark and sends what fits.
    async fn deliver_from_store(&mut self) -> Result<(), End> {
        self.backlog = false;
        let evs = self.queued().await?;
        self.deliver(evs).await
    }

    /// Sends events this connection has not delivered yet, while they fit the
    /// un-acknowledged buffer; the rest waits in the store (`backlog`).
    async fn deliver(&mut self, events: Vec<StoredEvent>) -> Result<(), End> {
        for ev in events {
            if ev.id <= self.watermark {
                continue;
            }
            let text = envelope_text(&ev.n, ev.op, &ev.d, self.next_seq);
            if !self.has_room(text.len()) {
                self.backlog = true;
                return Ok(());
            }
            let s = self.take_seq()?;
            self.watermark = ev.id;
            let text: Arc<str> = Arc::from(text);
            self.record(s, text.clone(), ev.id);
            self.write(Message::Text(text.as_ref().into())).await?;
        }
        Ok(())
    }

    /// Events queued for the session above the watermark (catch-up).
    async fn queued(&mut self) -> Result<Vec<StoredEvent>, End> {
        let Some(s) = &self.session else {
            return Ok(Vec::new());
        };
        self.state
            .store
            .pending_events(s.key.0, &s.key.1, s.serial, self.watermark)
            .await
            .map_err(store_error)
    }

    async fn on_notify(&mut self) -> Result<(), End> {
        let Some(s) = &self.session else {
            return Ok(());
        };
        if s.shared.revoked.load(Ordering::Acquire) {
            return Err(revoked());
        }
        if s.shared.replaced.load(Ordering::Acquire) {
            return Err(End::Close(
                CloseCode::UnknownError,
                "another connection resumed this one".into(),
            ));
        }
        if s.shared.resync.swap(false, Ordering::AcqRel) && !self.backlog {
            self.deliver_from_store().await?;
        }
        Ok(())
    }

    async fn on_timer(&mut self) -> Result<(), End> {
        let identify_within = self.config().identify_within;
        if self.session.is_none() && self.opened.elapsed() >= identify_within {
            return Err(End::Close(
                CloseCode::NotAuthenticated,
                format!(
                    "no Identify (op 2) or Resume (op 5) within {} s of Hello",
                    identify_within.as_secs()
                ),
            ));
        }
        if self.nudged_at.is_some() {
            return Err(End::Close(
                CloseCode::Timeout,
                "no heartbeat after a heartbeat request".into(),
            ));
        }
        self.nudged_at = Some(Instant::now());
        self.send_payload(&HeartbeatRequest {}).await
    }

    fn rate_check(&mut self) -> Result<(), End> {
        let (limit, window) = (self.config().rate_limit, self.config().rate_window);
        if self.window_start.elapsed() >= window {
            self.window_start = Instant::now();
            self.window_count = 0;
        }
        self.window_count += 1;
        if self.window_count > limit {
            return Err(End::Close(
                CloseCode::RateLimited,
                format!("more than {limit} messages in {} s", window.as_secs()),
            ));
        }
        Ok(())
    }

    async fn on_socket(&mut self, msg: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        let msg = match msg {
            None | Some(Ok(Message::Close(_))) => return Err(End::Gone),
            Some(Err(e)) => {
                if is_capacity_error(e) {
                    return Err(End::CloseRaw(
                        1009,
                        format!(
                            "message larger than {} bytes",
                            self.config().max_message_bytes
                        ),
                    ));
                }
                return Err(End::Gone);
            }
            Some(Ok(m)) => m,
        };
        // Every frame counts, control frames included (a ping flood costs pongs).
        self.rate_check()?;
        let text = match msg {
            Message::Text(t) => t,
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Binary(_) => {
                return Err(End::Close(
                    CloseCode::InvalidPayload,
                    "binary messages are not accepted; send JSON text".into(),
                ));
            }
            Message::Close(_) => return Err(End::Gone),
        };
        let env: Envelope = serde_json::from_str(text.as_str()).map_err(|e| {
            End::Close(
                CloseCode::InvalidPayload,
                truncate(format!("not a gateway message: {e}")),
            )
        })?;
        let msg = env.client_message().map_err(|e| match e {
            DecodeError::UnknownOpcode { .. } => {
                End::Close(CloseCode::UnknownOpcode, e.to_string())
            }
            DecodeError::InvalidPayload { .. } => {
                End::Close(CloseCode::InvalidPayload, truncate(e.to_string()))
            }
        })?;
        match msg {
            ClientMessage::Identify(i) => {
                self.check_not_identified()?;
                let (key, serial) = authenticate(&self.state, &i.token).await?;
                self.attach(key, serial)?;
                self.send_payload(&IdentifyAck { token: i.token }).await?;
                self.deliver_from_store().await
            }
            ClientMessage::Resume(r) => {
                self.check_not_identified()?;
                let (key, serial) = authenticate(&self.state, &r.token).await?;
                self.resume(key, serial, r.s).await
            }
            ClientMessage::Heartbeat(hb) => {
                self.require_identified()?;
                self.heartbeat(hb).await
            }
            ClientMessage::ServiceChannel(sc) => {
                self.require_identified()?;
                self.service_channel(sc).await
            }
            _ => Err(End::Close(
                CloseCode::UnknownOpcode,
                "unknown opcode".into(),
            )),
        }
    }

    fn check_not_identified(&self) -> Result<(), End> {
        if self.session.is_some() {
            return Err(End::Close(
                CloseCode::AlreadyAuthenticated,
                "this connection is already identified".into(),
            ));
        }
        Ok(())
    }

    fn require_identified(&self) -> Result<(), End> {
        if self.session.is_none() {
            return Err(End::Close(
                CloseCode::NotAuthenticated,
                "identify (op 2) or resume (op 5) first".into(),
            ));
        }
        Ok(())
    }
}

/// The session and certificate serial a token identifies.
async fn authenticate<S: Store>(
    state: &SharedState<S>,
    token: &str,
) -> Result<(SessionKey, i64), End> {
    {
        let bad = |m: &str| End::Close(CloseCode::AuthenticationFailed, m.to_owned());
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(bad("invalid session token"));
        }
        let caller = state
            .store
            .caller_by_token(&hash_token(token), UnixTimestamp::now())
            .await
            .map_err(|e| internal(&e))?;
        match caller {
            Some(Caller::Local(s)) => Ok(((s.actor_id, s.session_id), s.cert_serial)),
            Some(Caller::Foreign(_)) => Err(bad(
                "the gateway is for sessions of actors registered on this server",
            )),
            None => Err(bad("the session token is unknown, revoked or expired")),
        }
    }
}

/// `true` for a read error that is a size limit (tungstenite's capacity error),
/// told by the error's type, not its text.
fn is_capacity_error(e: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = e.into_inner();
    matches!(inner.downcast_ref::<WsError>(), Some(WsError::Capacity(_)))
}

impl<S: Store, T: Transport> Conn<S, T> {
    fn attach(&mut self, key: SessionKey, serial: i64) -> Result<(), End> {
        let max = self.config().max_per_session;
        let (conn_id, events, shared) =
            self.state
                .gateway
                .register(&key, serial, max)
                .map_err(|_| {
                    End::Close(
                        CloseCode::RateLimited,
                        format!(
                            "this session already has {max} gateway connections; close one first"
                        ),
                    )
                })?;
        self.session = Some(Identified {
            key,
            serial,
            conn_id,
            events,
            shared,
        });
        self.last_heartbeat = Instant::now();
        self.nudged_at = None;
        Ok(())
    }

    async fn resume(&mut self, key: SessionKey, serial: i64, s: u64) -> Result<(), End> {
        let hub = self.state.gateway.clone();
        let window = self.config().resume_window;
        let record = hub.take_resume_record(&key, serial).await;
        let Some(record) = record.filter(|r| r.ended.elapsed() <= window) else {
            return Err(End::Close(
                CloseCode::Unresumeable,
                "nothing to resume (unknown, or ended too long ago); identify instead".into(),
            ));
        };
        if s > record.last_seq {
            return Err(End::Close(
                CloseCode::Unresumeable,
                format!(
                    "sequence number {s} was never sent (the last was {})",
                    record.last_seq
                ),
            ));
        }
        // The client received everything up to `s`: those events are done.
        let acked: Vec<i64> = record
            .unacked
            .range(..=s)
            .filter_map(|(_, m)| m.event_id)
            .collect();
        drop(record);
        if !acked.is_empty() {
            self.state
                .store
                .ack_events(key.0, &key.1, serial, &acked)
                .await
                .map_err(store_error)?;
        }
        self.attach(key, serial)?;
        // What is still queued is replayed inside op 10, numbered on this
        // connection, as far as the un-acknowledged buffer takes it; the rest
        // follows as ordinary events once heartbeats make room.
        let evs = self.queued().await?;
        let resumed_seq = self.take_seq()?;
        let mut items = Vec::new();
        for ev in evs {
            if ev.id <= self.watermark {
                continue;
            }
            let text = envelope_text(&ev.n, ev.op, &ev.d, self.next_seq);
            if !self.has_room(text.len()) {
                self.backlog = true;
                break;
            }
            let seq = self.take_seq()?;
            self.watermark = ev.id;
            let text: Arc<str> = Arc::from(text);
            self.record(seq, text.clone(), ev.id);
            items.push(text);
        }
        let d = format!("[{}]", items.join(","));
        drop(items);
        let text = envelope_text("core", Opcode::Resumed.as_u16(), &d, resumed_seq);
        drop(d);
        self.send_control(text).await
    }

    async fn heartbeat(&mut self, hb: Heartbeat) -> Result<(), End> {
        if hb.from > hb.to || hb.to >= self.next_seq {
            return Err(End::Close(
                CloseCode::InvalidSequence,
                format!(
                    "heartbeat range {}..={} is not within the numbers sent (0..{})",
                    hb.from, hb.to, self.next_seq
                ),
            ));
        }
        if hb.except.len() > MAX_EXCEPT {
            return Err(End::Close(
                CloseCode::InvalidPayload,
                format!("more than {MAX_EXCEPT} missing sequence numbers"),
            ));
        }
        if let Some(bad) = hb.except.iter().find(|e| !(hb.from..=hb.to).contains(*e)) {
            return Err(End::Close(
                CloseCode::InvalidSequence,
                format!("missing number {bad} is outside the heartbeat's range"),
            ));
        }
        let except: BTreeSet<u64> = hb.except.iter().copied().collect();
        if except.len() != hb.except.len() {
            return Err(End::Close(
                CloseCode::InvalidPayload,
                "a missing sequence number is listed twice".into(),
            ));
        }
        let acked: Vec<u64> = self
            .unacked
            .range(hb.from..=hb.to)
            .map(|(s, _)| *s)
            .filter(|s| !except.contains(s))
            .collect();
        let mut ids = Vec::new();
        for s in acked {
            if let Some(m) = self.forget(s)
                && let Some(id) = m.event_id
            {
                ids.push(id);
            }
        }
        if let Some(sess) = &self.session
            && !ids.is_empty()
        {
            self.state
                .store
                .ack_events(sess.key.0, &sess.key.1, sess.serial, &ids)
                .await
                .map_err(store_error)?;
        }
        // Only kept event messages are re-sent, each at most once: the answer is
        // never larger than the un-acknowledged buffer.
        let resend: Vec<Arc<str>> = except
            .iter()
            .filter_map(|s| self.unacked.get(s).map(|m| m.text.clone()))
            .collect();
        self.last_heartbeat = Instant::now();
        self.nudged_at = None;
        self.send_array(Opcode::HeartbeatAck, &resend).await?;
        drop(resend);
        // Acknowledgements made room: send what waited in the store.
        if self.backlog && self.has_room(0) {
            self.deliver_from_store().await?;
        }
        Ok(())
    }

    async fn service_channel(&mut self, sc: ServiceChannel) -> Result<(), End> {
        let offered = SERVICES.contains(&sc.service.as_str());
        let ack = ServiceChannelAck {
            action: sc.action,
            error: (!offered).then(|| {
                format!(
                    "this server offers no service channel {:?} (offered: {})",
                    truncate(sc.service.clone()),
                    if SERVICES.is_empty() {
                        "none".to_owned()
                    } else {
                        SERVICES.join(", ")
                    }
                )
            }),
            service: sc.service,
            success: offered,
        };
        self.send_payload(&ack).await
    }

    /// Leaves the hub, keeping the state for Resume (unless the token was revoked).
    fn finish(&mut self) {
        if let Some(s) = self.session.take() {
            let record = (!s.shared.revoked.load(Ordering::Acquire)).then(|| ResumeRecord {
                last_seq: self.next_seq.saturating_sub(1),
                unacked: std::mem::take(&mut self.unacked),
                ended: Instant::now(),
                serial: s.serial,
            });
            self.unacked_bytes = 0;
            self.state.gateway.unregister(&s.key, s.conn_id, record);
        }
    }
}

async fn recv_event(session: &mut Option<Identified>) -> Option<StoredEvent> {
    match session {
        Some(s) => match s.events.recv().await {
            Some(ev) => Some(ev),
            // The hub dropped the sender (only when unregistering): nothing more will come.
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

async fn notified(shared: Option<&ConnShared>) {
    match shared {
        Some(s) => s.notify.notified().await,
        None => std::future::pending().await,
    }
}

/// Completes when the server shuts down (never without a listener slot).
async fn stopping(slots: &mut GatewaySlots) {
    match &mut slots.conn {
        Some(c) => c.stopping().await,
        None => std::future::pending().await,
    }
}

/// Close 4004: the token this connection identified with was revoked.
fn revoked() -> End {
    End::Close(
        CloseCode::AuthenticationFailed,
        "the session token was revoked (session ended or rotated)".into(),
    )
}

/// A store error: `NotFound` means the connection's certificate is no longer live.
fn store_error(e: StoreError) -> End {
    match e {
        StoreError::NotFound => revoked(),
        e => internal(&e),
    }
}

fn internal(e: &dyn std::fmt::Display) -> End {
    tracing::error!(error = %e, "gateway internal error");
    End::Close(CloseCode::UnknownError, "internal server error".into())
}

/// Close reasons must fit a control frame (123 bytes).
fn truncate(mut s: String) -> String {
    if s.len() > 120 {
        let mut cut = 117;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Error as WsError;
    use tokio_tungstenite::tungstenite::error::CapacityError;

    /// Close 1009 follows the error's kind; an error whose text merely looks
    /// like a size error is not one (issue 13 item 4).
    #[test]
    fn capacity_errors_are_told_by_kind_not_text() {
        let too_long = WsError::Capacity(CapacityError::MessageTooLong {
            size: 2,
            max_size: 1,
        });
        assert!(is_capacity_error(axum::Error::new(too_long)));
        assert!(is_capacity_error(axum::Error::new(WsError::Capacity(
            CapacityError::TooManyHeaders
        ))));
        let lookalike = std::io::Error::other("Space limit exceeded: Message too long");
        assert!(!is_capacity_error(axum::Error::new(lookalike)));
        assert!(!is_capacity_error(axum::Error::new(
            WsError::ConnectionClosed
        )));
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(200);
        let cut = truncate(long);
        assert!(cut.len() <= 123 && cut.ends_with("..."));
        assert_eq!(truncate("short".into()), "short");
    }
}
