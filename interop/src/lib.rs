//! Test-only crate: interop between the p2core crates and the official
//! `polyproto` SDK (0.21.0). The tests live in `tests/`; see `docs/interop.md`.
#![forbid(unsafe_code)]
