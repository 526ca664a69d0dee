//! A small misbehaving "foreign home server" over raw TCP, for federation hardening tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake answers on one path.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// `200` with this body (text/plain).
    Ok(String),
    /// `200` with this JSON body.
    Json(String),
    /// A `302` to `location`.
    Redirect(String),
    /// `200` streaming `A`s without a length until the peer hangs up (at most 1 GiB).
    Endless,
    /// `200` announcing a 1 GiB `Content-Length`, then streaming `A`s.
    HugeLength,
    /// Reads the request, then sends nothing and holds the connection for this long.
    Stall(Duration),
    /// Raw bytes that are not HTTP at all.
    NotHttp(Vec<u8>),
    /// A status with a text body.
    Status(u16, String),
}

/// A running fake server.
pub struct Fake {
    pub addr: SocketAddr,
    /// Requests received per path kind: [root, actor, other].
    pub hits: Arc<[AtomicUsize; 3]>,
    /// Connections open at once, and the most seen.
    pub open: Arc<AtomicUsize>,
    pub max_open: Arc<AtomicUsize>,
}

impl Fake {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn root_hits(&self) -> usize {
        self.hits[0].load(Ordering::SeqCst)
    }
    pub fn actor_hits(&self) -> usize {
        self.hits[1].load(Ordering::SeqCst)
    }
    pub fn other_hits(&self) -> usize {
        self.hits[2].load(Ordering::SeqCst)
    }
    pub fn max_open(&self) -> usize {
        self.max_open.load(Ordering::SeqCst)
    }
}

/// Starts a fake answering `/idcert/server` with `root`, `/idcert/actor/...`
/// with `actor` and anything else with `other`; `root_delay` is waited before
/// answering the root.
pub async fn start(root: Behavior, actor: Behavior, other: Behavior, root_delay: Duration) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let open = Arc::new(AtomicUsize::new(0));
    let max_open = Arc::new(AtomicUsize::new(0));
    let fake = Fake {
        addr,
        hits: hits.clone(),
        open: open.clone(),
        max_open: max_open.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                return;
            };
            let (root, actor, other) = (root.clone(), actor.clone(), other.clone());
            let (hits, open, max_open) = (hits.clone(), open.clone(), max_open.clone());
            tokio::spawn(async move {
                let n = open.fetch_add(1, Ordering::SeqCst) + 1;
                max_open.fetch_max(n, Ordering::SeqCst);
                serve(conn, &root, &actor, &other, root_delay, &hits).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    fake
}

async fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn serve(
    mut conn: TcpStream,
    root: &Behavior,
    actor: &Behavior,
    other: &Behavior,
    root_delay: Duration,
    hits: &[AtomicUsize; 3],
) {
    // one request per connection (answers close it)
    let Some(head) = read_head(&mut conn).await else {
        return;
    };
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let behavior = if path.starts_with("/.p2/core/v1/idcert/server") {
        hits[0].fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(root_delay).await;
        root
    } else if path.starts_with("/.p2/core/v1/idcert/actor/") {
        hits[1].fetch_add(1, Ordering::SeqCst);
        actor
    } else {
        hits[2].fetch_add(1, Ordering::SeqCst);
        other
    };
    let simple = |status: u16, ct: &str, body: &str| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match behavior {
        Behavior::Ok(body) => {
            let _ = conn
                .write_all(simple(200, "text/plain", body).as_bytes())
                .await;
        }
        Behavior::Json(body) => {
            let _ = conn
                .write_all(simple(200, "application/json", body).as_bytes())
                .await;
        }
        Behavior::Status(status, body) => {
            let _ = conn
                .write_all(simple(*status, "text/plain", body).as_bytes())
                .await;
        }
        Behavior::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 14\r\nConnection: close\r\n\r\nREDIRECT-BODY!"
            );
            let _ = conn.write_all(head.as_bytes()).await;
        }
        Behavior::Endless | Behavior::HugeLength => {
            let head = if matches!(behavior, Behavior::HugeLength) {
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            };
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b'A'; 1 << 20];
            for _ in 0..1024 {
                if conn.write_all(&block).await.is_err() {
                    return;
                }
            }
        }
        Behavior::Stall(d) => {
            tokio::time::sleep(*d).await;
        }
        Behavior::NotHttp(bytes) => {
            let _ = conn.write_all(bytes).await;
        }
    }
    let _ = conn.shutdown().await;
}
