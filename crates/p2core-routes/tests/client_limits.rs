//! The typed client against a hostile HTTP server on loopback (raw `TcpListener`, hand-written
//! responses): it must not follow redirects by default, and it must stop reading a response
//! body at its size cap — with a `Content-Length` above the cap, without any
//! `Content-Length`, with a chunked body, and with a body that never ends.
#![cfg(feature = "client")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use p2core_routes::client::{Client, ClientError, DEFAULT_MAX_RESPONSE_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The cap the size tests give the client.
const CAP: usize = 64 * 1024;

/// How a hostile server answers every request.
#[derive(Clone)]
enum Answer {
    /// `302 Found` with this `Location`.
    Redirect(String),
    /// `200` with a `Content-Length` and a body of that many bytes.
    Sized(usize),
    /// `200` with `Content-Length: announced` but `sent` bytes sent (then the connection closes).
    Lying { announced: u64, sent: usize },
    /// `status` without `Content-Length`, the body ends when the connection closes.
    UntilClose { status: u16, len: usize },
    /// `status`, chunked, 8 KiB chunks, `len` bytes in all (`None`: never ends).
    Chunked { status: u16, len: Option<usize> },
}

/// A server that counts its connections and answers each request with `answer`.
struct Hostile {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

/// Reads one request head (up to the blank line).
async fn read_head(s: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Writes `len` body bytes (`None`: until the peer goes away), raw or as chunks.
async fn write_body(s: &mut TcpStream, len: Option<usize>, chunked: bool) -> std::io::Result<()> {
    let block = vec![b'a'; 8 * 1024];
    let mut left = len;
    loop {
        let n = left.map_or(block.len(), |l| l.min(block.len()));
        if n == 0 {
            break;
        }
        if chunked {
            s.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            s.write_all(&block[..n]).await?;
            s.write_all(b"\r\n").await?;
        } else {
            s.write_all(&block[..n]).await?;
        }
        left = left.map(|l| l - n);
    }
    if chunked {
        s.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

async fn answer(mut s: TcpStream, a: Answer) -> std::io::Result<()> {
    if !read_head(&mut s).await {
        return Ok(());
    }
    match a {
        Answer::Redirect(location) => {
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
            s.write_all(head.as_bytes()).await?;
        }
        Answer::Sized(len) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await?;
            write_body(&mut s, Some(len), false).await?;
        }
        Answer::Lying { announced, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {announced}\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await?;
            write_body(&mut s, Some(sent), false).await?;
        }
        Answer::UntilClose { status, len } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await?;
            write_body(&mut s, Some(len), false).await?;
        }
        Answer::Chunked { status, len } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await?;
            write_body(&mut s, len, true).await?;
        }
    }
    s.shutdown().await
}

impl Hostile {
    async fn start(a: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(s, a.clone()));
            }
        });
        Self { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn capped(base: &str) -> Client {
    Client::builder()
        .max_response_bytes(CAP)
        .build(base)
        .unwrap()
}

fn assert_too_large<T: std::fmt::Debug>(r: Result<T, ClientError>, status: u16, what: &str) {
    match r {
        Err(ClientError::ResponseTooLarge { status: s, limit }) => {
            assert_eq!((s, limit), (status, CAP), "{what}");
        }
        other => panic!("{what}: expected ResponseTooLarge, got {other:?}"),
    }
}

/// A listener that only records whether anything connected to it (never accepted by a task,
/// so a connection waits in its backlog).
fn silent_listener() -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

/// Whether a connection to `l` is waiting. Any connection the client made before its request
/// returned has completed its handshake and sits in the backlog by then.
fn was_contacted(l: &std::net::TcpListener) -> bool {
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[tokio::test]
async fn a_redirect_to_another_port_is_not_followed() {
    let elsewhere = silent_listener();
    let target = format!(
        "http://{}/.p2/core/v1/idcert/server",
        elsewhere.local_addr().unwrap()
    );
    let server = Hostile::start(Answer::Redirect(target)).await;

    for client in [
        Client::new(server.url()).unwrap(),
        Client::builder().build(server.url()).unwrap(),
    ] {
        let r = client.server_idcert(None).await;
        assert!(
            matches!(
                r,
                Err(ClientError::UnexpectedStatus {
                    status: 302,
                    expected: 200
                })
            ),
            "a 302 is an unexpected status, got {r:?}"
        );
        assert_eq!(r.unwrap_err().status(), Some(302));
    }
    assert!(
        !was_contacted(&elsewhere),
        "the client followed the redirect to the other port"
    );
    // The same through `http_client_builder` (redirects off unless the caller turns them on).
    let http = p2core_routes::client::http_client_builder()
        .unwrap()
        .build()
        .unwrap();
    let client = Client::with_http_client(server.url(), http).unwrap();
    assert!(matches!(
        client.challenge().await,
        Err(ClientError::UnexpectedStatus { status: 302, .. })
    ));
    assert!(!was_contacted(&elsewhere));
    assert!(server.connections.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn redirects_are_followed_only_when_enabled_and_only_that_many() {
    let end = Hostile::start(Answer::Sized(5)).await;
    let hop = Hostile::start(Answer::Redirect(format!(
        "{}/.p2/core/v1/idcert/server",
        end.url()
    )))
    .await;
    let start = Hostile::start(Answer::Redirect(format!(
        "{}/.p2/core/v1/idcert/server",
        hop.url()
    )))
    .await;

    // One redirect allowed: start → hop is followed, hop → end is not.
    let one = Client::builder()
        .max_redirects(1)
        .build(start.url())
        .unwrap();
    assert!(matches!(
        one.server_idcert(None).await,
        Err(ClientError::Transport(_) | ClientError::UnexpectedStatus { status: 302, .. })
    ));
    assert_eq!(hop.connections.load(Ordering::SeqCst), 1);
    assert_eq!(end.connections.load(Ordering::SeqCst), 0);

    // Two allowed: the chain reaches `end`, whose body is the answer.
    let two = Client::builder()
        .max_redirects(2)
        .build(start.url())
        .unwrap();
    assert_eq!(two.server_idcert(None).await.unwrap(), "aaaaa");
    assert_eq!(end.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_at_the_cap_is_read_and_one_byte_more_is_refused() {
    let at = Hostile::start(Answer::Sized(CAP)).await;
    let body = capped(&at.url()).server_idcert(None).await.unwrap();
    assert_eq!(body.len(), CAP);

    let over = Hostile::start(Answer::Sized(CAP + 1)).await;
    assert_too_large(
        capped(&over.url()).server_idcert(None).await,
        200,
        "Content-Length one above the cap",
    );
    let over = Hostile::start(Answer::UntilClose {
        status: 200,
        len: CAP + 1,
    })
    .await;
    assert_too_large(
        capped(&over.url()).server_idcert(None).await,
        200,
        "one byte above the cap, no Content-Length",
    );
    let at = Hostile::start(Answer::Chunked {
        status: 200,
        len: Some(CAP),
    })
    .await;
    assert_eq!(
        capped(&at.url()).server_idcert(None).await.unwrap().len(),
        CAP
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_and_without_content_length_and_chunked() {
    let big = 10 * CAP;
    let cases = [
        ("Content-Length above the cap", Answer::Sized(big)),
        (
            "a Content-Length of 1 TiB",
            Answer::Lying {
                announced: 1 << 40,
                sent: big,
            },
        ),
        (
            "no Content-Length",
            Answer::UntilClose {
                status: 200,
                len: big,
            },
        ),
        (
            "chunked",
            Answer::Chunked {
                status: 200,
                len: Some(big),
            },
        ),
    ];
    for (what, a) in cases {
        let server = Hostile::start(a).await;
        assert_too_large(capped(&server.url()).server_idcert(None).await, 200, what);
        assert_too_large(capped(&server.url()).challenge().await, 200, what);
    }
    // A Content-Length below the cap with a longer body behind it: the client reads what
    // was announced and not a byte more.
    let server = Hostile::start(Answer::Lying {
        announced: 100,
        sent: big,
    })
    .await;
    assert_eq!(
        capped(&server.url())
            .server_idcert(None)
            .await
            .unwrap()
            .len(),
        100
    );
    // Error bodies are capped as well.
    let server = Hostile::start(Answer::UntilClose {
        status: 500,
        len: big,
    })
    .await;
    assert_too_large(
        capped(&server.url()).server_idcert(None).await,
        500,
        "a 500 without Content-Length",
    );
}

/// A body that never ends: a client that read it all before checking would never return (or
/// only at its timeout, with a transport error). The cap ends it while it streams.
#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_cap() {
    for status in [200, 404] {
        let server = Hostile::start(Answer::Chunked { status, len: None }).await;
        assert_too_large(
            capped(&server.url()).server_idcert(None).await,
            status,
            "an endless chunked body",
        );
    }
    // The default cap applies to `Client::new`.
    let server = Hostile::start(Answer::Chunked {
        status: 200,
        len: None,
    })
    .await;
    let client = Client::new(server.url()).unwrap();
    assert_eq!(client.max_response_bytes(), DEFAULT_MAX_RESPONSE_BYTES);
    match client.server_idcert(None).await {
        Err(ClientError::ResponseTooLarge { status: 200, limit }) => {
            assert_eq!(limit, DEFAULT_MAX_RESPONSE_BYTES)
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
}
