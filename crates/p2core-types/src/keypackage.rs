//! MLS KeyPackages (RFC 9420) as polyproto home servers receive, store and
//! hand them out.
//!
//! On the wire a KeyPackage is the standard Base64 (with padding) of the TLS
//! encoding of an MLS `KeyPackage` message. [`KeyPackage`] keeps exactly the
//! received bytes (so a server hands out what the client signed, byte for
//! byte) next to the openmls [`KeyPackage`](openmls::prelude::KeyPackage) that
//! openmls validated: both signatures (leaf node and KeyPackage), protocol
//! version MLS 1.0, lifetime (not expired, not yet valid, and no longer than
//! [`MAX_LIFETIME_SECS`]), init key different from the encryption key, and
//! every extension listed in the leaf's capabilities.
//!
//! Validation says nothing about *whose* KeyPackage it is. The polyproto
//! binding — cipher suite [`REQUIRED_CIPHERSUITE`], a Basic credential whose
//! identity is the actor's Federation ID, and a leaf signature key equal to
//! the public key of the session's ID-Cert — is checked by
//! [`KeyPackage::verify_binding`], or in one step by
//! [`KeyPackage::parse_for_session`].
//!
//! ```
//! use p2core_types::FederationId;
//! use p2core_types::ed25519_dalek::SigningKey;
//! use p2core_types::keypackage::{KeyPackage, KeyPackageError, generate_key_packages};
//!
//! let fid: FederationId = "alice@example.com".parse()?;
//! let session_key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
//! let b64 = generate_key_packages(&session_key, &fid, 1, false)?[0].to_base64();
//!
//! // What a home server does with an uploaded KeyPackage:
//! let kp = KeyPackage::parse_for_session(&b64, &fid, &session_key.verifying_key())?;
//! assert_eq!(kp.to_base64(), b64);
//!
//! // The same KeyPackage is not acceptable for another actor.
//! let bob: FederationId = "bob@example.com".parse()?;
//! assert!(matches!(
//!     KeyPackage::parse_for_session(&b64, &bob, &session_key.verifying_key()),
//!     Err(KeyPackageError::CredentialIdentityMismatch { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use openmls::prelude::{
    BasicCredential, Capabilities, Ciphersuite, CredentialType, CredentialWithKey, ExtensionType,
    KeyPackageIn, KeyPackageNewError, KeyPackageVerifyError, Lifetime, ProtocolVersion,
};
use openmls::treesync::LeafNodeSource;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tls_codec::{Deserialize as _, Serialize as _};

use crate::{FederationId, UnixTimestamp};

/// The cipher suite polyproto requires for KeyPackages:
/// `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519` (0x0001).
pub const REQUIRED_CIPHERSUITE: Ciphersuite =
    Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Largest accepted TLS encoding of a KeyPackage, in bytes (64 KiB).
///
/// A KeyPackage of [`REQUIRED_CIPHERSUITE`] with a Basic credential is a few
/// hundred bytes; the limit leaves room for large credentials and
/// post-quantum suites while refusing to decode or verify absurd inputs.
pub const MAX_KEY_PACKAGE_LEN: usize = 64 * 1024;

/// Longest accepted KeyPackage lifetime (`not_after - not_before`), in seconds:
/// 84 days plus one hour, the range of openmls's default lifetime (84 days
/// ahead, one hour back for clock skew). RFC 9420 §10.1 requires applications
/// to set such a maximum.
pub const MAX_LIFETIME_SECS: u64 = 60 * 60 * 24 * 28 * 3 + 60 * 60;

/// Longest credential identity quoted in a [`KeyPackageError`], in characters.
const MAX_QUOTED_IDENTITY_CHARS: usize = 256;

/// Why a KeyPackage was rejected or could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPackageError {
    /// The text is not standard Base64 (RFC 4648 §4, with padding).
    #[error("the KeyPackage is not standard Base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// The bytes are not exactly one TLS-encoded MLS KeyPackage (truncated,
    /// garbage, an unknown enum value, or bytes left over after it).
    #[error("the KeyPackage is not a TLS-encoded MLS KeyPackage: {0}")]
    Tls(#[source] tls_codec::Error),
    /// The KeyPackage is longer than [`MAX_KEY_PACKAGE_LEN`].
    #[error("the KeyPackage has about {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Length of the input in bytes (estimated from the Base64 length
        /// when the Base64 text is too long to be decoded).
        len: usize,
        /// [`MAX_KEY_PACKAGE_LEN`].
        max: usize,
    },
    /// openmls rejected the KeyPackage: a bad KeyPackage or leaf node
    /// signature, a protocol version other than MLS 1.0, a lifetime that is
    /// expired or not yet valid, an init key equal to the encryption key, or
    /// an extension missing from the leaf's capabilities.
    #[error("the KeyPackage is not valid MLS: {0}")]
    Invalid(#[source] KeyPackageVerifyError),
    /// The lifetime is valid now but spans more than [`MAX_LIFETIME_SECS`].
    #[error(
        "the KeyPackage lifetime {not_before}..{not_after} is longer than the \
         {MAX_LIFETIME_SECS} seconds accepted"
    )]
    LifetimeTooLong {
        /// Start of the lifetime (UNIX seconds).
        not_before: u64,
        /// End of the lifetime (UNIX seconds).
        not_after: u64,
    },
    /// The cipher suite is not [`REQUIRED_CIPHERSUITE`] (see
    /// [`KeyPackage::ciphersuite`] for the one it has).
    #[error(
        "the KeyPackage cipher suite is not MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (0x0001)"
    )]
    WrongCiphersuite,
    /// The leaf node's credential is not an MLS Basic credential.
    #[error("the KeyPackage credential is not an MLS Basic credential")]
    NotBasicCredential,
    /// The Basic credential names another identity than the actor's
    /// Federation ID.
    #[error("the KeyPackage credential identity is {found:?}, expected {expected:?}")]
    CredentialIdentityMismatch {
        /// The actor's Federation ID.
        expected: String,
        /// The identity in the credential (lossy UTF-8, shortened to 256
        /// characters).
        found: String,
    },
    /// The leaf node's signature key is not the session's Ed25519 key, so the
    /// KeyPackage was not signed by the session's private identity key.
    #[error("the KeyPackage leaf signature key is not the session's public key")]
    SignatureKeyMismatch,
    /// A last-resort KeyPackage was required but the KeyPackage has no
    /// `last_resort` extension.
    #[error("the KeyPackage has no last_resort extension")]
    NotLastResort,
    /// openmls could not create a KeyPackage.
    #[error("could not create a KeyPackage: {0}")]
    Generate(#[source] KeyPackageNewError),
}

/// A KeyPackage that openmls validated, together with the exact bytes it was
/// received as.
///
/// Equality and hashing compare the received bytes.
///
/// Serde: serialized as the standard Base64 string of the received bytes
/// ([`to_base64`](Self::to_base64)); deserializing runs
/// [`from_base64`](Self::from_base64), so it validates the KeyPackage but
/// **cannot** check the polyproto binding (it does not know the actor or
/// session). Call [`verify_binding`](Self::verify_binding) after
/// deserializing, or parse strings with
/// [`parse_for_session`](Self::parse_for_session).
#[derive(Clone)]
pub struct KeyPackage {
    bytes: Vec<u8>,
    inner: openmls::prelude::KeyPackage,
    lifetime: Lifetime,
}

impl KeyPackage {
    /// Parses standard Base64 (with padding) of the TLS encoding (RFC 9420)
    /// and validates the KeyPackage with openmls (signatures, protocol
    /// version, lifetime); see [`from_tls_bytes`](Self::from_tls_bytes).
    pub fn from_base64(b64: &str) -> Result<Self, KeyPackageError> {
        let estimate = base64::decoded_len_estimate(b64.len());
        if estimate > MAX_KEY_PACKAGE_LEN + 2 {
            return Err(KeyPackageError::TooLarge {
                len: estimate,
                max: MAX_KEY_PACKAGE_LEN,
            });
        }
        let bytes = STANDARD.decode(b64).map_err(KeyPackageError::Base64)?;
        Self::from_tls_bytes(&bytes)
    }

    /// Parses the TLS encoding of one MLS KeyPackage (canonically encoded,
    /// nothing may follow it) and validates it with openmls: leaf node and
    /// KeyPackage signatures,
    /// protocol version MLS 1.0, lifetime valid now and not longer than
    /// [`MAX_LIFETIME_SECS`], init key different from the encryption key,
    /// extensions listed in the leaf's capabilities.
    ///
    /// This does not check the polyproto binding; see
    /// [`verify_binding`](Self::verify_binding).
    pub fn from_tls_bytes(bytes: &[u8]) -> Result<Self, KeyPackageError> {
        if bytes.len() > MAX_KEY_PACKAGE_LEN {
            return Err(KeyPackageError::TooLarge {
                len: bytes.len(),
                max: MAX_KEY_PACKAGE_LEN,
            });
        }
        let received = KeyPackageIn::tls_deserialize_exact(bytes).map_err(KeyPackageError::Tls)?;
        // openmls verifies the signatures over a re-encoding of what it
        // parsed. Requiring the re-encoding to equal the received bytes makes
        // that a verification of the received bytes, which are what we store
        // and hand out. (tls_codec's `mls` feature already rejects non-minimal
        // length prefixes, the usual source of non-canonical encodings.)
        if received
            .tls_serialize_detached()
            .map_err(KeyPackageError::Tls)?
            != bytes
        {
            return Err(KeyPackageError::Tls(tls_codec::Error::DecodingError(
                "the KeyPackage is not canonically encoded".into(),
            )));
        }
        let crypto = openmls_rust_crypto::RustCrypto::default();
        let inner = received
            .validate(&crypto, ProtocolVersion::Mls10)
            .map_err(KeyPackageError::Invalid)?;
        // `validate` guarantees a KeyPackage-sourced leaf with a lifetime.
        let LeafNodeSource::KeyPackage(lifetime) = *inner.leaf_node().leaf_node_source() else {
            return Err(KeyPackageError::Invalid(
                KeyPackageVerifyError::MissingLifetime,
            ));
        };
        if lifetime.not_after().saturating_sub(lifetime.not_before()) > MAX_LIFETIME_SECS {
            return Err(KeyPackageError::LifetimeTooLong {
                not_before: lifetime.not_before(),
                not_after: lifetime.not_after(),
            });
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            inner,
            lifetime,
        })
    }

    /// Checks the polyproto binding of this KeyPackage to an actor's session:
    ///
    /// 1. the cipher suite is [`REQUIRED_CIPHERSUITE`]
    ///    ([`WrongCiphersuite`](KeyPackageError::WrongCiphersuite));
    /// 2. the credential is a Basic credential
    ///    ([`NotBasicCredential`](KeyPackageError::NotBasicCredential))
    /// 3. whose identity is exactly the UTF-8 bytes of `fid.as_str()` — the
    ///    canonical lowercase Federation ID
    ///    ([`CredentialIdentityMismatch`](KeyPackageError::CredentialIdentityMismatch));
    /// 4. the leaf node's signature key is `session_key`, the public key of
    ///    the session's ID-Cert
    ///    ([`SignatureKeyMismatch`](KeyPackageError::SignatureKeyMismatch)).
    ///    Since openmls verified both signatures with that key, the
    ///    KeyPackage was signed with the session's private identity key.
    ///
    /// The checks run in this order and the first failure is returned.
    pub fn verify_binding(
        &self,
        fid: &FederationId,
        session_key: &VerifyingKey,
    ) -> Result<(), KeyPackageError> {
        if self.inner.ciphersuite() != REQUIRED_CIPHERSUITE {
            return Err(KeyPackageError::WrongCiphersuite);
        }
        let leaf = self.inner.leaf_node();
        let credential = BasicCredential::try_from(leaf.credential().clone())
            .map_err(|_| KeyPackageError::NotBasicCredential)?;
        if credential.identity() != fid.as_str().as_bytes() {
            return Err(KeyPackageError::CredentialIdentityMismatch {
                expected: fid.to_string(),
                found: String::from_utf8_lossy(credential.identity())
                    .chars()
                    .take(MAX_QUOTED_IDENTITY_CHARS)
                    .collect(),
            });
        }
        if leaf.signature_key().as_slice() != session_key.as_bytes().as_slice() {
            return Err(KeyPackageError::SignatureKeyMismatch);
        }
        Ok(())
    }

    /// [`from_base64`](Self::from_base64) followed by
    /// [`verify_binding`](Self::verify_binding): what a home server runs on
    /// every uploaded KeyPackage of an actor's session.
    ///
    /// ```
    /// use p2core_types::FederationId;
    /// use p2core_types::ed25519_dalek::SigningKey;
    /// use p2core_types::keypackage::{KeyPackage, KeyPackageError, generate_key_packages};
    ///
    /// let fid: FederationId = "alice@example.com".parse()?;
    /// let session_key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    /// let uploaded = generate_key_packages(&session_key, &fid, 1, false)?[0].to_base64();
    ///
    /// let kp = KeyPackage::parse_for_session(&uploaded, &fid, &session_key.verifying_key())?;
    /// assert!(!kp.has_last_resort_extension());
    ///
    /// // Signed by the key of another session: rejected.
    /// let other_session = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    /// assert_eq!(
    ///     KeyPackage::parse_for_session(&uploaded, &fid, &other_session.verifying_key()).err(),
    ///     Some(KeyPackageError::SignatureKeyMismatch)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_for_session(
        b64: &str,
        fid: &FederationId,
        session_key: &VerifyingKey,
    ) -> Result<Self, KeyPackageError> {
        let kp = Self::from_base64(b64)?;
        kp.verify_binding(fid, session_key)?;
        Ok(kp)
    }

    /// Standard Base64 (with padding) of the received bytes.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.bytes)
    }

    /// The TLS encoding exactly as received.
    pub fn tls_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the KeyPackage carries the RFC 9420 `last_resort` extension.
    pub fn has_last_resort_extension(&self) -> bool {
        self.inner.last_resort()
    }

    /// The HPKE init key bytes. Servers keep these unique: a KeyPackage whose
    /// init key is already stored is a replay.
    pub fn init_key(&self) -> &[u8] {
        self.inner.hpke_init_key().as_slice()
    }

    /// Start of the lifetime (`not_before` of the leaf's lifetime).
    pub fn not_before(&self) -> UnixTimestamp {
        UnixTimestamp(self.lifetime.not_before())
    }

    /// End of the lifetime (`not_after` of the leaf's lifetime).
    pub fn not_after(&self) -> UnixTimestamp {
        UnixTimestamp(self.lifetime.not_after())
    }

    /// Whether the lifetime is over at `now` (openmls treats
    /// `not_after <= now` as expired). Servers delete expired KeyPackages
    /// instead of handing them out.
    pub fn is_expired_at(&self, now: UnixTimestamp) -> bool {
        self.lifetime.not_after() <= now.as_secs()
    }

    /// The cipher suite.
    pub fn ciphersuite(&self) -> Ciphersuite {
        self.inner.ciphersuite()
    }

    /// The leaf node's signature public key (for [`REQUIRED_CIPHERSUITE`] the
    /// 32 bytes of an Ed25519 public key).
    pub fn signature_key(&self) -> &[u8] {
        self.inner.leaf_node().signature_key().as_slice()
    }

    /// The identity of the leaf's credential if it is a Basic credential.
    pub fn basic_credential_identity(&self) -> Option<Vec<u8>> {
        BasicCredential::try_from(self.inner.leaf_node().credential().clone())
            .ok()
            .map(|c| c.identity().to_vec())
    }

    /// The validated openmls KeyPackage.
    pub fn inner(&self) -> &openmls::prelude::KeyPackage {
        &self.inner
    }
}

impl fmt::Debug for KeyPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = self
            .basic_credential_identity()
            .map(|i| String::from_utf8_lossy(&i).into_owned());
        f.debug_struct("KeyPackage")
            .field("ciphersuite", &self.ciphersuite())
            .field("basic_identity", &identity)
            .field("not_before", &self.lifetime.not_before())
            .field("not_after", &self.lifetime.not_after())
            .field("last_resort", &self.has_last_resort_extension())
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for KeyPackage {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for KeyPackage {}

impl std::hash::Hash for KeyPackage {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl Serialize for KeyPackage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for KeyPackage {
    /// Validates like [`KeyPackage::from_base64`]; does **not** check the
    /// polyproto binding.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Self::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

/// A KeyPackage used as a session's last-resort KeyPackage, which a server
/// hands out again and again once the regular ones are used up.
///
/// It is one either because it carries the RFC 9420 `last_resort` extension
/// ([`from_extension`](Self::from_extension)) or because the client uploaded
/// it through the route for last-resort KeyPackages (`PUT keypackage_lr`),
/// which marks it so ([`marked_by_route`](Self::marked_by_route)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LastResortKeyPackage(KeyPackage);

impl LastResortKeyPackage {
    /// Accepts `kp` only if it carries the `last_resort` extension
    /// ([`KeyPackageError::NotLastResort`] otherwise).
    pub fn from_extension(kp: KeyPackage) -> Result<Self, KeyPackageError> {
        if kp.has_last_resort_extension() {
            Ok(Self(kp))
        } else {
            Err(KeyPackageError::NotLastResort)
        }
    }

    /// Treats `kp` as last-resort because the route it came through says so,
    /// with or without the extension.
    pub fn marked_by_route(kp: KeyPackage) -> Self {
        Self(kp)
    }

    /// The KeyPackage.
    pub fn key_package(&self) -> &KeyPackage {
        &self.0
    }

    /// The KeyPackage, by value.
    pub fn into_inner(self) -> KeyPackage {
        self.0
    }
}

/// Signs with a session's Ed25519 identity key without copying the secret.
struct SessionSigner<'a>(&'a SigningKey);

impl Signer for SessionSigner<'_> {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        use ed25519_dalek::Signer as _;
        Ok(self.0.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

/// Creates `count` valid KeyPackages of [`REQUIRED_CIPHERSUITE`] for a
/// session: Basic credential with identity `fid`, signed with `session_key`,
/// openmls's default lifetime (84 days, starting one hour ago). With
/// `last_resort`, each carries the `last_resort` extension (and lists it in
/// the leaf's capabilities, as RFC 9420 requires).
///
/// Each result went through [`KeyPackage::from_tls_bytes`] and satisfies
/// [`KeyPackage::verify_binding`] for `fid` and the session's public key.
///
/// The private HPKE keys are kept in a throw-away openmls provider and
/// dropped, so nobody can join a group with these KeyPackages: they are for
/// tests, examples and filling a server. A client that needs the private keys
/// uses [`generate_key_packages_with`] and its own provider.
///
/// ```
/// use p2core_types::FederationId;
/// use p2core_types::ed25519_dalek::SigningKey;
/// use p2core_types::keypackage::{LastResortKeyPackage, generate_key_packages};
///
/// let fid: FederationId = "alice@example.com".parse()?;
/// let session_key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
///
/// let regular = generate_key_packages(&session_key, &fid, 3, false)?;
/// assert_eq!(regular.len(), 3);
/// assert_ne!(regular[0].init_key(), regular[1].init_key());
/// for kp in &regular {
///     kp.verify_binding(&fid, &session_key.verifying_key())?;
/// }
///
/// let last_resort = generate_key_packages(&session_key, &fid, 1, true)?.remove(0);
/// assert!(LastResortKeyPackage::from_extension(last_resort).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate_key_packages(
    session_key: &SigningKey,
    fid: &FederationId,
    count: usize,
    last_resort: bool,
) -> Result<Vec<KeyPackage>, KeyPackageError> {
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    generate_key_packages_with(&provider, session_key, fid, count, last_resort, None)
}

/// Like [`generate_key_packages`], but with the caller's openmls `provider`
/// (whose storage keeps the private init and encryption keys, as an MLS
/// client needs) and an optional `lifetime` (`None`: openmls's default).
///
/// Every result is checked with [`KeyPackage::from_tls_bytes`], so a
/// `lifetime` that is expired, not yet valid or longer than
/// [`MAX_LIFETIME_SECS`] gives that error.
pub fn generate_key_packages_with(
    provider: &impl openmls::storage::OpenMlsProvider,
    session_key: &SigningKey,
    fid: &FederationId,
    count: usize,
    last_resort: bool,
    lifetime: Option<Lifetime>,
) -> Result<Vec<KeyPackage>, KeyPackageError> {
    let signer = SessionSigner(session_key);
    let credential = CredentialWithKey {
        credential: BasicCredential::new(fid.as_str().as_bytes().to_vec()).into(),
        signature_key: session_key.verifying_key().as_bytes().as_slice().into(),
    };
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut builder = openmls::prelude::KeyPackage::builder();
        if let Some(lifetime) = lifetime {
            builder = builder.key_package_lifetime(lifetime);
        }
        if last_resort {
            builder = builder
                .leaf_node_capabilities(
                    Capabilities::builder()
                        .extensions(vec![ExtensionType::LastResort])
                        .credentials(vec![CredentialType::Basic])
                        .build(),
                )
                .mark_as_last_resort();
        }
        let bundle = builder
            .build(REQUIRED_CIPHERSUITE, provider, &signer, credential.clone())
            .map_err(KeyPackageError::Generate)?;
        let bytes = bundle
            .key_package()
            .tls_serialize_detached()
            .map_err(KeyPackageError::Tls)?;
        out.push(KeyPackage::from_tls_bytes(&bytes)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&crate::random::bytes::<32>())
    }

    #[test]
    fn generated_key_packages_are_bound_to_the_session() {
        let fid = FederationId::new("alice@example.com").unwrap();
        let sk = key();
        let kps = generate_key_packages(&sk, &fid, 2, false).unwrap();
        assert_eq!(kps.len(), 2);
        for kp in &kps {
            kp.verify_binding(&fid, &sk.verifying_key()).unwrap();
            assert_eq!(kp.ciphersuite(), REQUIRED_CIPHERSUITE);
            assert_eq!(kp.signature_key(), sk.verifying_key().as_bytes());
            assert_eq!(
                kp.basic_credential_identity().as_deref(),
                Some(&b"alice@example.com"[..])
            );
            assert!(!kp.has_last_resort_extension());
            assert!(!kp.is_expired_at(UnixTimestamp::now()));
            assert!(kp.is_expired_at(kp.not_after()));
        }
        assert!(
            generate_key_packages(&sk, &fid, 0, false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<KeyPackage>();
        check::<LastResortKeyPackage>();
        check::<KeyPackageError>();
    }

    #[test]
    fn too_large_is_refused_before_decoding() {
        let b64 = "A".repeat((MAX_KEY_PACKAGE_LEN + 8) / 3 * 4);
        assert!(matches!(
            KeyPackage::from_base64(&b64),
            Err(KeyPackageError::TooLarge { .. })
        ));
        assert!(matches!(
            KeyPackage::from_tls_bytes(&vec![0u8; MAX_KEY_PACKAGE_LEN + 1]),
            Err(KeyPackageError::TooLarge { .. })
        ));
    }
}
