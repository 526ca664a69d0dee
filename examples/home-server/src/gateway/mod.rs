//! The WebSocket gateway (`GET /.p2/core/v1/gateway/ws`) and its discovery
//! route (`GET /.p2/core/v1/gateway`).
//!
//! One queue, two doors: events live in the store's `events` table. The
//! gateway delivers them live (the [`Hub`] routes every batch the store
//! publishes after a commit to the connections of the sessions concerned)
//! and removes them when the client acknowledges them in a heartbeat;
//! `GET /events` returns whatever is still there. See
//! `docs/architecture.md` and `docs/protocol-choices.md`.

mod connection;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::{IntoResponse, Response};
use p2core_types::SessionId;
use p2core_types::gateway::GatewayInfo;
use tokio::sync::{Notify, broadcast, mpsc};

use crate::config::Config;
use crate::error::ApiError;
use crate::state::{AppState, SharedState};
use crate::storage::{EventBatch, Store, StoredEvent};

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
}

impl GatewayConfig {
    /// The gateway settings of a server configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(c.gateway_heartbeat_ms),
            max_message_bytes: c.gateway_max_message_bytes,
            rate_limit: c.gateway_rate_limit,
            rate_window: Duration::from_secs(10),
            resume_window: Duration::from_secs(c.gateway_resume_seconds),
            write_timeout: Duration::from_millis(c.gateway_write_timeout_ms),
            max_unacked_bytes: c.gateway_max_unacked_bytes,
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
    /// Wakes the connection for `resync` / `replaced`.
    pub notify: Notify,
}

struct Registered {
    id: u64,
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
}

/// Live connections by session, plus what ended connections left for Resume.
#[derive(Default)]
pub struct Hub {
    conns: Mutex<HashMap<SessionKey, Vec<Registered>>>,
    resumable: Mutex<HashMap<SessionKey, ResumeRecord>>,
    next_id: AtomicU64,
    live: AtomicU64,
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
    /// Identified connections right now.
    pub fn live_connections(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Registers a connection of `key`; returns its id, event receiver and shared flags.
    pub(crate) fn register(
        &self,
        key: &SessionKey,
    ) -> (u64, mpsc::Receiver<StoredEvent>, Arc<ConnShared>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CONNECTION_CHANNEL);
        let shared = Arc::new(ConnShared {
            resync: AtomicBool::new(false),
            replaced: AtomicBool::new(false),
            notify: Notify::new(),
        });
        lock(&self.conns)
            .entry(key.clone())
            .or_default()
            .push(Registered {
                id,
                tx,
                shared: shared.clone(),
            });
        self.live.fetch_add(1, Ordering::Relaxed);
        (id, rx, shared)
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
            resumable.insert(key.clone(), record);
        }
    }

    /// Takes the resume record of `key`, asking a still-open connection of the
    /// session to hand over first (the client may see it dead before we do).
    pub(crate) async fn take_resume_record(&self, key: &SessionKey) -> Option<ResumeRecord> {
        let open: Vec<Arc<ConnShared>> = lock(&self.conns)
            .get(key)
            .map(|l| l.iter().map(|r| r.shared.clone()).collect())
            .unwrap_or_default();
        for shared in &open {
            shared.replaced.store(true, Ordering::Release);
            shared.notify.notify_one();
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(r) = lock(&self.resumable).remove(key) {
                return Some(r);
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

    /// Runs the dispatcher: routes every batch of `rx` until the bus closes or the hub is dropped.
    pub fn spawn_dispatcher(self: &Arc<Self>, mut rx: broadcast::Receiver<EventBatch>) {
        let hub: Weak<Hub> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let msg = rx.recv().await;
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

/// `GET /.p2/core/v1/gateway/ws`: the WebSocket upgrade.
pub async fn upgrade<S: Store>(
    State(state): State<SharedState<S>>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!(
                "this endpoint is a WebSocket; send a WebSocket upgrade request ({e})"
            ))
            .into_response();
        }
    };
    let max = state.gateway_config.max_message_bytes;
    let max_write = state.gateway_config.max_write_buffer_bytes();
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(max_write)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::run(state, socket))
}
