//! The HTTP/1.1 listener: an accept loop with a cap on concurrent
//! connections, header-read / body-read / whole-request / idle timeouts, and
//! a graceful shutdown that lets in-flight requests finish.
//!
//! `axum::serve` offers none of these knobs, so connections are driven by
//! hyper directly: hyper's `header_read_timeout` closes a connection whose
//! request header is not complete in time (slowloris), a watchdog per
//! connection closes it after a period without a byte in either direction
//! while no request is in progress, and [`request_timeouts`] bounds the body
//! read and the whole request inside the router.
//!
//! Every connection holds a [`ConnSlot`]: its share of `--max-connections`
//! and of `--max-connections-per-address`, and the server's stop signal. A
//! connection upgraded to a WebSocket (the gateway) takes the slot over with
//! [`SlotHandle::take`] and holds it until the socket closes, so upgraded
//! sockets count against the caps, see the shutdown, and are waited for by
//! the shutdown drain (which waits until every slot is back).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use p2core_types::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::settings::HttpSettings;
use crate::slots::{KeyedSlot, KeyedSlots, address_key};

/// Connection-level limits (from [`HttpSettings`]).
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time to receive a complete request header.
    pub header_timeout: Duration,
    /// Time without traffic (and no request in progress) before a connection is closed.
    pub idle_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Most connections open at once from one address (IPv6: one /64); 0 = no limit.
    pub max_connections_per_address: usize,
    /// How long a shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl ServeOptions {
    /// The options `http` asks for.
    pub fn from_settings(http: &HttpSettings) -> Self {
        Self {
            header_timeout: http.header_timeout,
            idle_timeout: http.idle_timeout,
            max_connections: http.max_connections,
            // Behind a declared reverse proxy every connection comes from the
            // proxy: the cap would throttle everyone, so it is off there.
            max_connections_per_address: match http.trusted_proxies {
                Some(_) => 0,
                None => http.max_connections_per_address.unwrap_or(0),
            },
            shutdown_grace: http.shutdown_grace,
        }
    }
}

/// A connection's hold on the listener's caps, and the server's stop signal.
///
/// Dropping it gives the connection's places back. The accept loop makes one
/// per connection; a WebSocket upgrade takes it over ([`SlotHandle::take`]).
#[derive(Debug)]
pub struct ConnSlot {
    _global: OwnedSemaphorePermit,
    _address: KeyedSlot<IpAddr>,
    stop: watch::Receiver<bool>,
}

impl ConnSlot {
    /// Completes once the server has begun shutting down.
    pub async fn stopping(&mut self) {
        if self.stop.wait_for(|s| *s).await.is_err() {
            // The server is gone altogether: that is a stop too.
        }
    }
}

/// The [`ConnSlot`] of the connection a request arrived on (a request
/// extension set by the listener; absent when the router is driven otherwise).
#[derive(Debug, Clone)]
pub struct SlotHandle(Arc<Mutex<Option<ConnSlot>>>);

impl SlotHandle {
    /// Takes the slot over (an upgraded connection keeps it for its life);
    /// `None` if it was taken already.
    pub fn take(&self) -> Option<ConnSlot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish and upgraded connections close
/// (at most `shutdown_grace` in all) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let total = opts.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(total));
    let per_address = KeyedSlots::new(opts.max_connections_per_address);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Per-connection failures (reset before accept) and resource
                    // exhaustion (EMFILE) must not end the server.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(address) = per_address.try_acquire(address_key(peer.ip())) else {
            tracing::debug!(%peer, "refusing a connection: too many open from this address");
            refuse(stream, opts.max_connections_per_address);
            continue;
        };
        let slot = ConnSlot {
            _global: permit,
            _address: address,
            stop: stop_rx.clone(),
        };
        conns.spawn(connection(
            stream,
            peer,
            app.clone(),
            opts,
            stop_rx.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = Instant::now() + opts.shutdown_grace;
    let drained = tokio::time::timeout_at(deadline, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = conns.len(),
            "requests still running after the shutdown grace period; closing their connections"
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    // Upgraded connections (gateway sockets) hold their slot until they have
    // sent their close frame: wait until every slot is back.
    let all = u32::try_from(total).unwrap_or(u32::MAX);
    if tokio::time::timeout_at(deadline, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = total.saturating_sub(slots.available_permits()),
            "upgraded connections still open after the shutdown grace period"
        );
    }
    Ok(())
}

/// Turns away a connection over the per-address cap: a 429 answer written
/// without waiting (the socket is new, its buffer empty), then close.
fn refuse(stream: TcpStream, max: usize) {
    let body = serde_json::to_string(&p2core_types::ErrorBody::new(
        ErrorCode::TooManyRequests,
        format!("more than {max} open connections from this address; close one and retry"),
    ))
    .unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    // Closed at once (no lingering task): a refusal costs the server nothing
    // after this point. A client that had already sent its request may see a
    // reset instead of the answer.
    drop(stream);
}

/// Last traffic and requests in progress on one connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Counts a request as in progress until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(a)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A TCP stream that records when bytes last moved.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Drives one connection until it ends, is idle too long, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    opts: ServeOptions,
    mut stop: watch::Receiver<bool>,
    slot: ConnSlot,
) {
    let _ = stream.set_nodelay(true);
    let slot = SlotHandle(Arc::new(Mutex::new(Some(slot))));
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let act = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(slot.clone());
        let guard = InFlight::new(act.clone());
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(guard);
            res
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let check = (opts.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check);
    let mut draining = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.idle_for() >= opts.idle_timeout
                {
                    tracing::debug!(%peer, "closing an idle connection");
                    break;
                }
            }
        }
    }
}

/// When the request body must have arrived; set by [`request_timeouts`] and
/// honoured by the body extractors of [`crate::extract`].
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Instant);

/// The body-read and whole-request timeouts, as router state.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeouts {
    /// Time to receive the body.
    pub body: Duration,
    /// Time for the whole request.
    pub whole: Duration,
}

/// Middleware: sets the body deadline and answers 503 when the whole request
/// takes too long. The handler's future is dropped, so a database
/// transaction in progress is rolled back, never half written.
pub async fn request_timeouts(
    State(t): State<RequestTimeouts>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut()
        .insert(BodyDeadline(Instant::now() + t.body));
    match tokio::time::timeout(t.whole, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "the request was not finished within {} s",
                t.whole.as_secs()
            ),
        )
        .into_response(),
    }
}
