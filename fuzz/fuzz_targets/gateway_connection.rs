//! The home server's gateway connection state machine (Hello, Identify/Resume,
//! heartbeats with acknowledgements and re-sends, service channels, rate and
//! size limits, close codes) driven with arbitrary frame sequences, on a real
//! SQLite store with a live session and queued events
//! (`p2core_server::fuzzing`, feature `fuzzing`).
//!
//! Input: a sequence of frames, each `kind, len_hi, len_lo, payload[len]`.
//! Kinds 0–2 are text frames as given, 3 a protocol-shaped text frame built
//! from the payload (Identify with the session's token, Resume, heartbeats
//! with ranges and `except` lists, service channels), 4 binary, 5 ping,
//! 6 pong, 7 close / oversized message / read error.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use p2core_server::fuzzing::{Frame, Harness, TOKEN_PLACEHOLDER};
use tokio::runtime::Runtime;

const MAX_FRAMES: usize = 64;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("p2core-fuzz-gateway-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a data directory");
        runtime()
            .block_on(Harness::new(&dir))
            .expect("the harness starts")
    })
}

/// A number from up to 8 bytes (small values are likelier: they hit real sequence numbers).
fn number(b: &[u8]) -> u64 {
    match b.first() {
        None => 0,
        Some(&k) if k < 0xF0 => u64::from(k % 16),
        Some(_) => {
            let mut a = [0u8; 8];
            let rest = &b[1..b.len().min(9)];
            a[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(a)
        }
    }
}

/// A protocol-shaped message chosen and parameterised by `p`.
fn shaped(p: &[u8]) -> String {
    let which = p.first().copied().unwrap_or(0);
    let arg = |i: usize| number(p.get(i..).unwrap_or(&[]));
    let except: Vec<String> = p
        .iter()
        .skip(3)
        .take(8)
        .map(|b| (u64::from(*b) % 16).to_string())
        .collect();
    match which % 8 {
        0 => format!(r#"{{"n":"core","op":2,"d":{{"token":"{TOKEN_PLACEHOLDER}"}}}}"#),
        1 => format!(
            r#"{{"n":"core","op":"5","d":{{"s":"{}","token":"{TOKEN_PLACEHOLDER}"}}}}"#,
            arg(1)
        ),
        2 => format!(r#"{{"n":"core","op":0,"d":{{"from":{},"to":{}}}}}"#, arg(1), arg(2)),
        3 => format!(
            r#"{{"n":"core","op":"0","d":{{"from":"{}","to":"{}","except":[{}]}}}}"#,
            arg(1),
            arg(2),
            except.join(",")
        ),
        4 => r#"{"n":"core","op":8,"d":{"action":"subscribe","service":"chat"}}"#.to_owned(),
        5 => format!(r#"{{"n":"core","op":2,"d":{{"token":"{}"}}}}"#, "t".repeat(p.len())),
        6 => format!(r#"{{"n":"https://polyproto.org/core","op":{},"d":{{}}}}"#, arg(1)),
        _ => format!(
            r#"{{"n":"core","op":0,"d":{{"from":0,"to":{},"except":[{}]}}}}"#,
            arg(1),
            except.join(",")
        ),
    }
}

fn frames(mut data: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while data.len() >= 3 && out.len() < MAX_FRAMES {
        let kind = data[0] % 8;
        let len = usize::from(u16::from_be_bytes([data[1], data[2]])).min(data.len() - 3);
        let payload = &data[3..3 + len];
        data = &data[3 + len..];
        out.push(match kind {
            0..=2 => Frame::Text(String::from_utf8_lossy(payload).into_owned()),
            3 => Frame::Text(shaped(payload)),
            4 => Frame::Binary(payload.to_vec()),
            5 => Frame::Ping(payload.to_vec()),
            6 => Frame::Pong(payload.to_vec()),
            _ => match payload.first().copied().unwrap_or(0) % 3 {
                0 => Frame::Close,
                1 => Frame::TooLarge,
                _ => Frame::ReadError,
            },
        });
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let frames = frames(data);
    let h = harness();
    runtime()
        .block_on(h.run(frames))
        .expect("the harness keeps working");
});
