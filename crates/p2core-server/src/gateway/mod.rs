//! The WebSocket gateway (`GET /.p2/core/v1/gateway/ws`) and its discovery
//! route (`GET /.p2/core/v1/gateway`).
//!
//! One queue, two doors: events live in the store's `events` table. The
//! gateway delivers them live (the [`Hub`] routes every batch the store
//! publishes after a commit to the connections of the sessions concerned)
//! and removes them when the client acknowledges them in a heartbeat;
//! `GET /events` returns whatever is still there. See
//! `docs/architecture.md` and `docs/protocol-choices.md`.
//!
//! Bounds: an upgraded socket keeps the listener's connection slot
//! ([`crate::serve::ConnSlot`]) for its whole life, and needs one of
//! `--max-gateway-connections` gateway slots and one of
//! `--max-gateway-connections-per-address`; at Identify/Resume a session may
//! hold at most `--max-gateway-connections-per-session` sockets (more: close
//! 4008). A socket that has not identified `--gateway-identify-seconds` after
//! Hello is closed (4003). A server shutdown closes every socket with 1001.
//!
//! Revocation: each identified socket is registered with the serial of the
//! ID-Cert whose token it presented. The store announces revoked serials and
//! the current serial of a session ID after each commit
//! ([`crate::storage::SessionNotice`]); the hub closes the affected sockets
//! with 4004 at once and stops routing events to them. Every
//! [`REVALIDATE_EVERY`] the hub also asks the store which serials are still
//! live, which catches revocations made by another process (`admin
//! reset-password` on the same database) and expired certificates. The
//! store refuses reads and acknowledgements of a revoked serial, so a stale
//! socket can neither see nor delete a successor's events.

mod connection;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use p2core_types::gateway::GatewayInfo;
use p2core_types::{ErrorCode, SessionId};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc};

use crate::error::ApiError;
use crate::serve::{ConnSlot, SlotHandle};
use crate::settings::GatewaySettings;
use crate::slots::{KeyedSlot, KeyedSlots, address_key};
use crate::state::{AppState, SharedState};
use crate::storage::{EventBatch, SessionNotice, Store, StoredEvent};

/// How often the hub re-checks in the store that the certificates of its
/// identified sockets are still live (revocations by another process, expiry).
pub const REVALIDATE_EVERY: Duration = Duration::from_millis(500);

/// Events a connection's channel holds before the hub tells it to re-read the store instead.
const CONNECTION_CHANNEL: usize = 64;

/// Gateway parameters (from [`Config`]).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Heartbeat interval announced in Hello.
    pub heartbeat_interval: Duration,
    /// Largest accepted message (bytes).
    pub max_message_bytes: usize,
    /// Messages a client may send per [`Self::rate_window`].
    pub rate_limit: u32,
    /// The rate limit's window.
    pub rate_window: Duration,
    /// How long after a connection ends it can be resumed.
    pub resume_window: Duration,
    /// Longest time one write to a client may take (then the connection ends, resumable).
    pub write_timeout: Duration,
    /// Byte budget of the event messages a connection keeps un-acknowledged
    /// (also the bound of one op 7 or op 10 answer).
    pub max_unacked_bytes: usize,
    /// Time after Hello to identify (or resume) before close 4003.
    pub identify_within: Duration,
    /// Most identified sockets per session (more: close 4008).
    pub max_per_session: usize,
}

impl GatewayConfig {
    /// The connection parameters of `g`.
    pub fn from_settings(g: &GatewaySettings) -> Self {
        Self {
            heartbeat_interval: g.heartbeat_interval,
            max_message_bytes: g.max_message_bytes,
            rate_limit: g.rate_limit,
            rate_window: Duration::from_secs(10),
            resume_window: g.resume_window,
            write_timeout: g.write_timeout,
            max_unacked_bytes: g.max_unacked_bytes,
            identify_within: g.identify_timeout,
            max_per_session: g.max_connections_per_session,
        }
    }

    /// The socket's write buffer cap: the largest message the server sends
    /// (the un-acknowledged budget plus one event over it) with room to spare.
    pub(crate) fn max_write_buffer_bytes(&self) -> usize {
        self.max_unacked_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024)
    }

    /// Silence after which the server sends op 11 (1.5 heartbeat intervals).
    pub(crate) fn nudge_after(&self) -> Duration {
        self.heartbeat_interval + self.heartbeat_interval / 2
    }

    /// Time a nudged client has to answer before close 4009 (one interval).
    pub(crate) fn answer_within(&self) -> Duration {
        self.heartbeat_interval
    }
}

/// A local session: actor row id and session ID.
pub(crate) type SessionKey = (i64, SessionId);

/// What the hub shares with one connection.
#[derive(Debug)]
pub(crate) struct ConnShared {
    /// The hub could not deliver (channel full or bus lagged): re-read the store.
    pub resync: AtomicBool,
    /// A Resume of the same session took over: close now.
    pub replaced: AtomicBool,
    /// The token the connection identified with was revoked: close 4004 now.
    pub revoked: AtomicBool,
    /// Wakes the connection for `resync` / `replaced` / `revoked`.
    pub notify: Notify,
}

struct Registered {
    id: u64,
    /// Serial of the ID-Cert whose token the connection presented.
    serial: i64,
    tx: mpsc::Sender<StoredEvent>,
    shared: Arc<ConnShared>,
}

/// A message sent on a connection and not yet acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    /// The envelope as sent (JSON text).
    pub text: Arc<str>,
    /// The queue id when the message carried an event.
    pub event_id: Option<i64>,
}

/// What remains of an identified connection after it ended, for Resume.
#[derive(Debug)]
pub(crate) struct ResumeRecord {
    /// Highest sequence number the connection sent.
    pub last_seq: u64,
    /// Messages it sent that were not acknowledged.
    pub unacked: BTreeMap<u64, Sent>,
    /// When it ended.
    pub ended: Instant,
    /// Serial of the ID-Cert it was identified with (only that one may resume it).
    pub serial: i64,
}

/// Why a socket may not be registered.
#[derive(Debug)]
pub(crate) struct TooManyForSession;

/// The hub's connection caps (from [`GatewaySettings`]).
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Most gateway sockets at once (`--max-gateway-connections`).
    pub max_connections: usize,
    /// Most gateway sockets per client address (IPv6: per /64); 0 = no limit.
    pub max_per_address: usize,
}

impl HubLimits {
    /// The caps `g` asks for.
    pub fn from_settings(g: &GatewaySettings) -> Self {
        Self {
            max_connections: g.max_connections,
            max_per_address: g.max_connections_per_address.unwrap_or(0),
        }
    }
}

/// What an upgraded socket holds for its whole life: the listener's slot,
/// a gateway slot and a per-address gateway slot.
#[derive(Debug)]
pub(crate) struct GatewaySlots {
    /// The listener's slot (and the shutdown signal); absent when the router
    /// is not driven by [`crate::serve::serve`].
    pub conn: Option<ConnSlot>,
    _gateway: OwnedSemaphorePermit,
    _address: KeyedSlot<IpAddr>,
}

/// Live connections by session, plus what ended connections left for Resume.
pub struct Hub {
    conns: Mutex<HashMap<SessionKey, Vec<Registered>>>,
    resumable: Mutex<HashMap<SessionKey, ResumeRecord>>,
    next_id: AtomicU64,
    live: AtomicU64,
    /// `--max-gateway-connections`.
    slots: Arc<Semaphore>,
    /// `--max-gateway-connections-per-address`.
    per_address: Arc<KeyedSlots<IpAddr>>,
    /// Asks the re-validation task for a sweep now (the notice channel lagged).
    revalidate_now: Notify,
    /// Most resume records kept at once (`--max-gateway-connections`: each
    /// open socket can leave one); beyond it the oldest is forgotten.
    max_records: usize,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(HubLimits {
            max_connections: 10_000,
            max_per_address: 0,
        })
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A hub with the connection caps `limits`.
    pub fn new(limits: HubLimits) -> Self {
        Self {
            conns: Mutex::default(),
            resumable: Mutex::default(),
            next_id: AtomicU64::new(0),
            live: AtomicU64::new(0),
            slots: Arc::new(Semaphore::new(
                limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            per_address: KeyedSlots::new(limits.max_per_address),
            revalidate_now: Notify::new(),
            max_records: limits.max_connections.max(1),
        }
    }

    /// Resume records held right now (at most `--max-gateway-connections`).
    pub fn resume_records(&self) -> usize {
        lock(&self.resumable).len()
    }

    /// Identified connections right now.
    pub fn live_connections(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Takes the gateway slots of a new socket from `ip`, or the error answer.
    fn admit(&self, ip: IpAddr) -> Result<GatewaySlots, ApiError> {
        let gateway = self.slots.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                ErrorCode::Unavailable,
                "the gateway is at its connection limit; retry later",
            )
        })?;
        let address = self
            .per_address
            .try_acquire(address_key(ip))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::TooManyRequests,
                    "too many gateway connections from this address; close one first",
                )
            })?;
        Ok(GatewaySlots {
            conn: None,
            _gateway: gateway,
            _address: address,
        })
    }

    /// Registers a connection of `key` identified by the certificate `serial`;
    /// returns its id, event receiver and shared flags, or refuses when the
    /// session already has `max_per_session` sockets.
    pub(crate) fn register(
        &self,
        key: &SessionKey,
        serial: i64,
        max_per_session: usize,
    ) -> Result<(u64, mpsc::Receiver<StoredEvent>, Arc<ConnShared>), TooManyForSession> {
        let mut conns = lock(&self.conns);
        let list = conns.entry(key.clone()).or_default();
        if list.len() >= max_per_session {
            if list.is_empty() {
                conns.remove(key);
            }
            return Err(TooManyForSession);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CONNECTION_CHANNEL);
        let shared = Arc::new(ConnShared {
            resync: AtomicBool::new(false),
            replaced: AtomicBool::new(false),
            revoked: AtomicBool::new(false),
            notify: Notify::new(),
        });
        list.push(Registered {
            id,
            serial,
            tx,
            shared: shared.clone(),
        });
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok((id, rx, shared))
    }

    /// Closes (4004) and forgets every socket identified by a certificate
    /// that `stale` picks, and drops their resume records.
    fn revoke_where(&self, stale: impl Fn(&SessionKey, i64) -> bool) -> usize {
        let mut closed = 0;
        let mut conns = lock(&self.conns);
        conns.retain(|key, list| {
            list.retain(|r| {
                if stale(key, r.serial) {
                    r.shared.revoked.store(true, Ordering::Release);
                    r.shared.notify.notify_one();
                    closed += 1;
                    false
                } else {
                    true
                }
            });
            !list.is_empty()
        });
        drop(conns);
        self.live.fetch_sub(closed as u64, Ordering::Relaxed);
        lock(&self.resumable).retain(|key, r| !stale(key, r.serial));
        closed
    }

    /// Acts on one committed session change.
    fn on_notice(&self, notice: &SessionNotice) {
        let closed = match notice {
            SessionNotice::Revoked(serials) => {
                self.revoke_where(|_, serial| serials.contains(&serial))
            }
            SessionNotice::Current {
                actor_id,
                session_id,
                serial,
            } => self
                .revoke_where(|(a, s), other| a == actor_id && s == session_id && other != *serial),
            SessionNotice::Resync => {
                self.resync_all();
                self.revalidate_now.notify_one();
                0
            }
            // Cache notices (response_cache): Revoked/Current name the sockets.
            _ => 0,
        };
        if closed > 0 {
            tracing::debug!(closed, "gateway sockets of revoked tokens closed");
        }
    }

    /// Serials of every identified socket (for the re-validation sweep).
    fn serials(&self) -> Vec<i64> {
        let set: HashSet<i64> = lock(&self.conns)
            .values()
            .flat_map(|l| l.iter().map(|r| r.serial))
            .collect();
        set.into_iter().collect()
    }

    /// Removes a connection; with `record`, keeps its state for Resume.
    pub(crate) fn unregister(&self, key: &SessionKey, id: u64, record: Option<ResumeRecord>) {
        let mut conns = lock(&self.conns);
        if let Some(list) = conns.get_mut(key) {
            let before = list.len();
            list.retain(|r| r.id != id);
            if list.len() < before {
                self.live.fetch_sub(1, Ordering::Relaxed);
            }
            if list.is_empty() {
                conns.remove(key);
            }
        }
        drop(conns);
        if let Some(record) = record {
            let mut resumable = lock(&self.resumable);
            if !resumable.contains_key(key) && resumable.len() >= self.max_records {
                // Full: forget the record that ended first (a scan of at most
                // `max_records` entries, only when full). Its client gets 4010 on
                // Resume and identifies again; its events are still queued.
                let oldest = resumable
                    .iter()
                    .min_by_key(|(_, r)| r.ended)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    resumable.remove(&oldest);
                }
            }
            resumable.insert(key.clone(), record);
        }
    }

    /// Takes the resume record of `key` left by a connection identified by the
    /// same certificate `serial`, asking a still-open connection of it to hand
    /// over first (the client may see it dead before we do).
    pub(crate) async fn take_resume_record(
        &self,
        key: &SessionKey,
        serial: i64,
    ) -> Option<ResumeRecord> {
        let open: Vec<Arc<ConnShared>> = lock(&self.conns)
            .get(key)
            .map(|l| {
                l.iter()
                    .filter(|r| r.serial == serial)
                    .map(|r| r.shared.clone())
                    .collect()
            })
            .unwrap_or_default();
        for shared in &open {
            shared.replaced.store(true, Ordering::Release);
            shared.notify.notify_one();
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            {
                let mut resumable = lock(&self.resumable);
                if resumable.get(key).is_some_and(|r| r.serial == serial) {
                    return resumable.remove(key);
                }
            }
            if open.is_empty() || Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Drops resume records older than `window`.
    pub(crate) fn expire_records(&self, window: Duration) {
        lock(&self.resumable).retain(|_, r| r.ended.elapsed() <= window);
    }

    /// Routes one committed batch to the connections concerned.
    fn dispatch(&self, batch: &EventBatch) {
        let conns = lock(&self.conns);
        if conns.is_empty() {
            return;
        }
        for ev in batch.iter() {
            let key = (ev.actor_id, ev.session_id.clone());
            let Some(list) = conns.get(&key) else {
                continue;
            };
            for r in list {
                if r.tx.try_send(ev.clone()).is_err() {
                    // Full (or closing): the event is in the store; the connection re-reads it.
                    r.shared.resync.store(true, Ordering::Release);
                    r.shared.notify.notify_one();
                }
            }
        }
    }

    /// Every connection re-reads the store (after the bus dropped batches).
    fn resync_all(&self) {
        for list in lock(&self.conns).values() {
            for r in list {
                r.shared.resync.store(true, Ordering::Release);
                r.shared.notify.notify_one();
            }
        }
    }

    /// Runs the dispatcher: acts on every session notice of `notices` and routes
    /// every batch of `rx` until the bus closes or the hub is dropped. Notices
    /// go first: a revocation announced before a batch is acted on before it.
    pub fn spawn_dispatcher(
        self: &Arc<Self>,
        mut rx: broadcast::Receiver<EventBatch>,
        mut notices: broadcast::Receiver<SessionNotice>,
    ) {
        let hub: Weak<Hub> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut notices_open = true;
            loop {
                let msg = tokio::select! {
                    biased;
                    n = notices.recv(), if notices_open => {
                        let Some(hub) = hub.upgrade() else { return };
                        match n {
                            Ok(n) => hub.on_notice(&n),
                            Err(broadcast::error::RecvError::Lagged(n)) => {
                                tracing::warn!(
                                    notices = n,
                                    "gateway dispatcher lagged on session notices; re-validating"
                                );
                                hub.revalidate_now.notify_one();
                            }
                            Err(broadcast::error::RecvError::Closed) => notices_open = false,
                        }
                        continue;
                    }
                    m = rx.recv() => m,
                };
                let Some(hub) = hub.upgrade() else { return };
                match msg {
                    Ok(batch) => hub.dispatch(&batch),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            batches = n,
                            "gateway dispatcher lagged; connections re-read the store"
                        );
                        hub.resync_all();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// Every [`REVALIDATE_EVERY`] (or at once when the hub asks), closes with
/// 4004 the sockets whose certificate is no longer live in the store.
pub fn spawn_revalidation<S: Store>(state: &SharedState<S>) {
    let weak: Weak<AppState<S>> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REVALIDATE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            {
                let Some(state) = weak.upgrade() else { return };
                let hub = state.gateway.clone();
                tokio::select! {
                    _ = tick.tick() => {}
                    () = hub.revalidate_now.notified() => {}
                }
            }
            let Some(state) = weak.upgrade() else { return };
            revalidate(&state).await;
        }
    });
}

/// One re-validation sweep (see [`spawn_revalidation`]).
pub async fn revalidate<S: Store>(state: &SharedState<S>) {
    let serials = state.gateway.serials();
    if serials.is_empty() {
        return;
    }
    match state
        .store
        .dead_cert_serials(&serials, p2core_types::UnixTimestamp::now())
        .await
    {
        Ok(dead) if dead.is_empty() => {}
        Ok(dead) => {
            let dead: HashSet<i64> = dead.into_iter().collect();
            let closed = state.gateway.revoke_where(|_, s| dead.contains(&s));
            if closed > 0 {
                tracing::info!(
                    closed,
                    "gateway sockets closed: their certificate was revoked or expired"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "re-validating gateway sockets failed"),
    }
}

/// Periodically prunes events of ended/expired sessions and old resume records.
pub fn spawn_housekeeping<S: Store>(state: &SharedState<S>, every: Duration) {
    let weak: Weak<AppState<S>> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { return };
            state
                .gateway
                .expire_records(state.gateway_config.resume_window);
            if let Err(e) = state
                .store
                .prune_events(p2core_types::UnixTimestamp::now())
                .await
            {
                tracing::warn!(error = %e, "pruning events failed");
            }
        }
    });
}

/// The service channels this server offers (none).
pub const SERVICES: &[&str] = &[];

/// `GET /.p2/core/v1/gateway`: discovery.
pub async fn discovery<S: Store>(State(state): State<SharedState<S>>) -> Json<GatewayInfo> {
    let c = &state.gateway_config;
    Json(GatewayInfo {
        path: p2core_routes::gateway_ws::INFO.path.to_owned(),
        heartbeat_interval: u64::try_from(c.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
        max_message_bytes: c.max_message_bytes as u64,
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// `GET /.p2/core/v1/gateway/ws`: the WebSocket upgrade. Refused with 503
/// at `--max-gateway-connections` and 429 at
/// `--max-gateway-connections-per-address`; an accepted socket takes over
/// its connection's listener slot for its whole life.
pub async fn upgrade<S: Store>(State(state): State<SharedState<S>>, req: Request) -> Response {
    let ip = crate::limits::client_ip(&req, state.client_addresses)
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let handle = req.extensions().get::<SlotHandle>().cloned();
    let (mut parts, _body) = req.into_parts();
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &state).await;
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!(
                "this endpoint is a WebSocket; send a WebSocket upgrade request ({e})"
            ))
            .into_response();
        }
    };
    // Checked before the upgrade, so a refusal is a plain JSON error answer.
    let mut slots = match state.gateway.admit(ip) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(%ip, error = %e.message, "gateway connection refused");
            return e.into_response();
        }
    };
    let max = state.gateway_config.max_message_bytes;
    let max_write = state.gateway_config.max_write_buffer_bytes();
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(max_write)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            // Taken only now: if the upgrade fails, the connection keeps its slot.
            slots.conn = handle.and_then(|h| h.take());
            connection::run(state, socket, slots)
        })
}
