//! One WebSocket connection: Hello, Identify/Resume, heartbeats, events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
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

/// Most messages kept for re-sending (op 7) and Resume; older ones are
/// forgotten (their events stay queued in the store).
const MAX_UNACKED: usize = 2048;
/// Longest `except` list accepted in a heartbeat.
const MAX_EXCEPT: usize = 1024;
/// Longest session token accepted.
const MAX_TOKEN: usize = 256;

/// Why the loop stopped.
enum End {
    /// Close with this gateway code and reason.
    Close(CloseCode, String),
    /// Close with a WebSocket code (e.g. 1009) and reason.
    CloseRaw(u16, String),
    /// The peer went away (or sent Close); nothing more to send.
    Gone,
}

struct Identified {
    key: SessionKey,
    /// Serial of the ID-Cert whose token identified the connection.
    serial: i64,
    conn_id: u64,
    events: mpsc::Receiver<StoredEvent>,
    shared: Arc<ConnShared>,
}

struct Conn<S: Store> {
    state: SharedState<S>,
    socket: WebSocket,
    next_seq: u64,
    unacked: BTreeMap<u64, Sent>,
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
pub(super) async fn run<S: Store>(state: SharedState<S>, socket: WebSocket, slots: GatewaySlots) {
    let now = Instant::now();
    let mut conn = Conn {
        state,
        socket,
        next_seq: 0,
        unacked: BTreeMap::new(),
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
        End::Gone => (None, String::new()),
    };
    if let Some(code) = code {
        let _ = conn
            .socket
            .send(Message::Close(Some(CloseFrame {
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

impl<S: Store> Conn<S> {
    fn config(&self) -> &super::GatewayConfig {
        &self.state.gateway_config
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
                msg = self.socket.recv() => self.on_socket(msg).await,
                ev = recv_event(&mut self.session) => match ev {
                    Some(ev) => self.deliver(vec![ev]).await,
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

    /// Sends one server message, numbered; `event_id` links it to the queue.
    async fn send_text(&mut self, text: String, event_id: Option<i64>) -> Result<(), End> {
        let s = self.next_seq;
        self.next_seq = s.checked_add(1).ok_or_else(|| {
            End::Close(
                CloseCode::Unresumeable,
                "sequence numbers exhausted; reconnect and identify".into(),
            )
        })?;
        let text: Arc<str> = Arc::from(text);
        if self.session.is_some() {
            self.unacked.insert(
                s,
                Sent {
                    text: text.clone(),
                    event_id,
                },
            );
            while self.unacked.len() > MAX_UNACKED {
                self.unacked.pop_first();
            }
        }
        self.socket
            .send(Message::Text(text.as_ref().into()))
            .await
            .map_err(|_| End::Gone)
    }

    async fn send_payload<P: GatewayPayload>(&mut self, p: &P) -> Result<(), End> {
        let env = Envelope::server(p, self.next_seq).map_err(|e| internal(&e))?;
        let text = serde_json::to_string(&env).map_err(|e| internal(&e))?;
        self.send_text(text, None).await
    }

    /// Sends a payload made of already-serialized envelopes (ops 7 and 10).
    async fn send_array(&mut self, op: Opcode, items: &[Arc<str>]) -> Result<(), End> {
        let d = format!("[{}]", items.join(","));
        let text = envelope_text("core", op.as_u16(), &d, self.next_seq);
        self.send_text(text, None).await
    }

    /// Sends events this connection has not delivered yet.
    async fn deliver(&mut self, events: Vec<StoredEvent>) -> Result<(), End> {
        for ev in events {
            if ev.id <= self.watermark {
                continue;
            }
            self.watermark = ev.id;
            let text = envelope_text(&ev.n, ev.op, &ev.d, self.next_seq);
            self.send_text(text, Some(ev.id)).await?;
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
        if s.shared.resync.swap(false, Ordering::AcqRel) {
            let evs = self.queued().await?;
            self.deliver(evs).await?;
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
                let text = e.to_string();
                if text.contains("too long") || text.contains("Space limit") {
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
        self.rate_check()?;
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
                let evs = self.queued().await?;
                self.deliver(evs).await
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

impl<S: Store> Conn<S> {
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
        self.state
            .store
            .ack_events(key.0, &key.1, serial, &acked)
            .await
            .map_err(store_error)?;
        self.attach(key, serial)?;
        // Everything still queued is replayed inside op 10, numbered on this connection.
        let evs = self.queued().await?;
        let resumed_seq = self.next_seq;
        self.next_seq += 1;
        let mut items = Vec::with_capacity(evs.len());
        let mut numbered = Vec::with_capacity(evs.len());
        for ev in evs {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.watermark = self.watermark.max(ev.id);
            let text: Arc<str> = Arc::from(envelope_text(&ev.n, ev.op, &ev.d, seq));
            items.push(text.clone());
            numbered.push((
                seq,
                Sent {
                    text,
                    event_id: Some(ev.id),
                },
            ));
        }
        let d = format!("[{}]", items.join(","));
        let text = envelope_text("core", Opcode::Resumed.as_u16(), &d, resumed_seq);
        self.unacked.extend(numbered);
        self.unacked.insert(
            resumed_seq,
            Sent {
                text: Arc::from(text.as_str()),
                event_id: None,
            },
        );
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| End::Gone)
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
        let acked: Vec<u64> = self
            .unacked
            .range(hb.from..=hb.to)
            .map(|(s, _)| *s)
            .filter(|s| !hb.except.contains(s))
            .collect();
        let mut ids = Vec::new();
        for s in acked {
            if let Some(m) = self.unacked.remove(&s)
                && let Some(id) = m.event_id
            {
                ids.push(id);
            }
        }
        if let Some(sess) = &self.session {
            self.state
                .store
                .ack_events(sess.key.0, &sess.key.1, sess.serial, &ids)
                .await
                .map_err(store_error)?;
        }
        let resend: Vec<Arc<str>> = hb
            .except
            .iter()
            .filter_map(|s| self.unacked.get(s).map(|m| m.text.clone()))
            .collect();
        self.last_heartbeat = Instant::now();
        self.nudged_at = None;
        self.send_array(Opcode::HeartbeatAck, &resend).await
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
