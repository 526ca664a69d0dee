//! # p2core-home-server
//!
//! The example polyproto-core home server: the [`p2core_server`] library
//! behind a command line. Run it with `cargo run -p p2core-home-server`;
//! `--help` lists the flags.
#![forbid(unsafe_code)]

pub use p2core_server::*;

/// The Rust examples in the README, compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
