//! Route handlers, one module per group of routes.

pub mod events;
pub mod federation;
pub mod identity;
pub mod keypackages;
pub mod legacy;
pub mod server;

use std::time::Duration;

use p2core_types::{ErrorCode, IdCert, IdCsr, UnixTimestamp};

use crate::error::ApiError;

/// Parses a PEM ID-CSR with a 400 `P2CORE_INVALID_CSR` on failure.
pub(crate) fn parse_csr(pem: &str) -> Result<IdCsr, ApiError> {
    IdCsr::from_pem(pem)
        .map_err(|e| ApiError::new(ErrorCode::InvalidCsr, format!("invalid CSR: {e}")))
}

/// Parses a PEM ID-Cert with a 400 `P2CORE_INVALID_CERTIFICATE` on failure.
pub(crate) fn parse_cert(pem: &str) -> Result<IdCert, ApiError> {
    IdCert::from_pem(pem).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidCertificate,
            format!("invalid ID-Cert: {e}"),
        )
    })
}

/// Parses a certificate this server stored itself; failure is an internal error.
pub(crate) fn stored_cert(pem: &str) -> Result<IdCert, ApiError> {
    IdCert::from_pem(pem).map_err(ApiError::internal)
}

/// Days as a [`Duration`].
pub(crate) fn days(d: u32) -> Duration {
    Duration::from_secs(u64::from(d) * 86_400)
}

/// The current time.
pub(crate) fn now() -> UnixTimestamp {
    UnixTimestamp::now()
}
