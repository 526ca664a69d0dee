#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Federation IDs, session IDs, challenges, timestamps, ID-Cert/ID-CSR wrappers, error
/// bodies, events and (feature `mls`) KeyPackages: the [`p2core-types`] crate.
///
/// [`p2core-types`]: https://docs.rs/p2core-types
#[doc(inline)]
pub use p2core_types as types;

/// Building ID-CSRs and root certificates, issuing and verifying ID-Certs (feature
/// `certs`): the [`p2core-certs`] crate.
///
/// [`p2core-certs`]: https://docs.rs/p2core-certs
#[cfg(feature = "certs")]
#[doc(inline)]
pub use p2core_certs as certs;

/// Every route as data with its request/response types, and (feature `client`) a typed
/// async client: the [`p2core-routes`] crate.
///
/// [`p2core-routes`]: https://docs.rs/p2core-routes
#[cfg(feature = "routes")]
#[doc(inline)]
pub use p2core_routes as routes;

/// The server side as a library: route handlers, federation, limits, the
/// gateway and event queue, keys and storage (`p2core-server`).
#[cfg(feature = "server")]
#[doc(inline)]
pub use p2core_server as server;

pub use p2core_types::{
    ChallengeString, CompletedChallenge, DomainName, ErrorBody, ErrorCode, FederationId, IdCert,
    IdCsr, SessionId, UnixTimestamp,
};

/// Re-exported: keys ([`SigningKey`](ed25519_dalek::SigningKey),
/// [`VerifyingKey`](ed25519_dalek::VerifyingKey)) are `ed25519-dalek` types.
pub use p2core_types::ed25519_dalek;
