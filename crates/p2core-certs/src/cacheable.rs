//! Verifying a current-revision `CacheableIdCert` completely (see
//! [`p2core_types::cacheable_cert`]): what the official SDK checks and what it
//! leaves out.

use p2core_types::{CacheableError, CacheableIdCert, IdCert, UnixTimestamp};

use crate::{CertError, CertKind, verify_actor_cert};

/// Why a cached actor certificate is refused.
#[derive(Debug, thiserror::Error)]
pub enum CacheableVerifyError {
    /// The cache entry itself: window, signature format, signature.
    #[error(transparent)]
    Entry(#[from] CacheableError),
    /// The wrapped certificate: profile, chain to the root, validity at `now`.
    #[error(transparent)]
    Cert(#[from] CertError),
}

/// Verifies `entry` as an actor's certificate issued by the home server whose
/// root certificate is `root` (already trusted by the caller, e.g. fetched from
/// the home server and checked with [`verify_root`](crate::verify_root)), at `now`:
///
/// 1. the cache window contains `now`;
/// 2. `cacheSignature` is 64 bytes of lowercase hex and verifies strictly with
///    the root's key over the serial, the window and `invalidatedAt`;
/// 3. the certificate passes [`verify_actor_cert`] against `root` (profile,
///    signature over the received TBS bytes, validity at `now`).
///
/// Returns the certificate. Check
/// [`CacheableIdCert::valid_for_message_at`] for the time of each message
/// (an `invalidatedAt` before it means the certificate was revoked).
pub fn verify_cacheable(
    entry: &CacheableIdCert,
    root: &IdCert,
    now: UnixTimestamp,
) -> Result<IdCert, CacheableVerifyError> {
    let key = root.public_key().ok_or(CertError::KeyNotEd25519 {
        kind: CertKind::Root,
    })?;
    let cert = entry.verify(key, now)?;
    verify_actor_cert(&cert, root, now)?;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Issuer, build_csr, create_root_cert};
    use p2core_types::ed25519_dalek::SigningKey;
    use p2core_types::{DomainName, FederationId, SessionId};

    #[test]
    fn a_cached_actor_cert_is_checked_against_the_root_and_the_window() {
        let now = UnixTimestamp::now();
        let root_key = SigningKey::from_bytes(&[1; 32]);
        let domain = DomainName::new("example.com").unwrap();
        let root =
            create_root_cert(&root_key, &domain, now, now.saturating_add(86_400), 1).unwrap();
        let issuer = Issuer::new(root.clone(), root_key.clone()).unwrap();
        let fid = FederationId::new("alice@example.com").unwrap();
        let actor_key = SigningKey::from_bytes(&[2; 32]);
        let csr = build_csr(&actor_key, &fid, &SessionId::new("phone").unwrap()).unwrap();
        let cert = issuer.issue(&csr, &fid, now, None, 77).unwrap();
        let entry =
            CacheableIdCert::sign(&cert, now, now.saturating_add(3600), None, &root_key).unwrap();
        assert_eq!(verify_cacheable(&entry, &root, now).unwrap(), cert);

        // Signed by another key than the root's: refused, though it is well formed.
        let other = SigningKey::from_bytes(&[3; 32]);
        let forged =
            CacheableIdCert::sign(&cert, now, now.saturating_add(3600), None, &other).unwrap();
        assert!(matches!(
            verify_cacheable(&forged, &root, now),
            Err(CacheableVerifyError::Entry(CacheableError::BadSignature))
        ));
        // A certificate of another root, wrapped and signed by this root's key:
        // the entry verifies, the chain does not.
        let other_root =
            create_root_cert(&other, &domain, now, now.saturating_add(86_400), 2).unwrap();
        let other_cert = Issuer::new(other_root, other)
            .unwrap()
            .issue(&csr, &fid, now, None, 78)
            .unwrap();
        let wrapped =
            CacheableIdCert::sign(&other_cert, now, now.saturating_add(3600), None, &root_key)
                .unwrap();
        assert!(matches!(
            verify_cacheable(&wrapped, &root, now),
            Err(CacheableVerifyError::Cert(_))
        ));
        // Past the window.
        assert!(matches!(
            verify_cacheable(&entry, &root, now.saturating_add(3601)),
            Err(CacheableVerifyError::Entry(CacheableError::Expired(_)))
        ));
    }
}
