//! Shared fixtures of the fuzz targets: a fixed home-server root and issuer.
#![forbid(unsafe_code)]

use std::sync::LazyLock;

use p2core_certs::{Issuer, create_root_cert};
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::{DomainName, FederationId, IdCert, UnixTimestamp};

/// The "now" of every target: 2027-01-15T08:00:00Z.
pub const NOW: UnixTimestamp = UnixTimestamp(1_800_000_000);

/// A fixed root of `example.com`, its issuer and an actor of that domain.
pub struct Fixture {
    /// The root certificate (valid around [`NOW`]).
    pub root: IdCert,
    /// An issuer with the root's key.
    pub issuer: Issuer,
    /// The root's domain.
    pub domain: DomainName,
    /// `alice@example.com`.
    pub actor: FederationId,
}

/// The fixture, made once per process.
pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let key = SigningKey::from_bytes(&[1; 32]);
    let domain: DomainName = "example.com".parse().expect("domain");
    let root = create_root_cert(
        &key,
        &domain,
        UnixTimestamp(NOW.0 - 30 * 86_400),
        UnixTimestamp(NOW.0 + 365 * 86_400),
        1,
    )
    .expect("root");
    let issuer = Issuer::new(root.clone(), key).expect("issuer");
    let actor = FederationId::from_parts("alice", &domain).expect("fid");
    Fixture {
        root,
        issuer,
        domain,
        actor,
    }
});
