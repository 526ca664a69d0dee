//! [`CertSettings`] (the certificates issued to actors) and [`KeySettings`]
//! (the server's own key and root certificate).

use std::path::PathBuf;
use std::time::Duration;

use p2core_certs::CertProfile;

use super::{InvalidSetting, check_range, settings};

settings! {
    /// The ID-Certs this server issues.
    pub struct CertSettings {
        /// Extension layout of every certificate this server makes (actor ID-Certs
        /// and new roots): [`CertProfile::Rfc5280`] (default: SKI/AKI, passes
        /// `openssl verify -x509_strict`) or [`CertProfile::Polyproto021`] (only
        /// BasicConstraints then KeyUsage, which verifiers built on the official
        /// polyproto 0.21 SDK accept).
        profile: CertProfile = CertProfile::Rfc5280,
        /// Lifetime of the actor ID-Certs this server issues, in days (1 to 60; default 30).
        actor_cert_days: u32 = 30,
    }
}

impl CertSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_range("certs.actor_cert_days", self.actor_cert_days, 1, 60)
    }
}

settings! {
    /// The server's private keys and root certificate: where the keys are kept,
    /// how long a root lives and when it is renewed.
    pub struct KeySettings {
        /// Directory of the server's private keys (created with mode 0700, keys 0600;
        /// default `./p2core-data`). The bundled SQLite store keeps its database here
        /// too unless told otherwise. A running server locks it, so two servers never
        /// share one.
        dir: PathBuf = PathBuf::from("./p2core-data"),
        /// Lifetime of a new root certificate, in days (1 to 3650; default 730).
        root_cert_days: u32 = 730,
        /// Log a warning at every check while the root expires within this many days (default 60).
        root_warn_days: u32 = 60,
        /// Renew the root (new key, history kept, as a rotation) when it expires within
        /// this many days; `None` renews only by hand ([`crate::admin::renew_root`]). Default 30.
        root_renew_days: Option<u32> = Some(30),
        /// Time between two checks of the root's remaining lifetime (default 1 h).
        root_check_interval: Duration = Duration::from_secs(3600),
        /// The key-encryption key that seals the server's private keys in a store that
        /// keeps them itself (the PostgreSQL store: every instance reads the same keys,
        /// so every instance must be given the same key-encryption key). `None` (the
        /// default) is fine for a store that leaves the keys to files in
        /// [`dir`](Self::dir) (SQLite); with the PostgreSQL store the server does not start
        /// without it.
        encryption_key: Option<KeyEncryptionKey> = None,
    }
}

/// A 256-bit key-encryption key: seals the server's private keys at rest with
/// ChaCha20-Poly1305 (see [`KeySettings::encryption_key`]). Its `Debug` output
/// never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

/// Why a key-encryption key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyEncryptionKeyError {
    /// The file could not be read.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The text is not 64 hexadecimal digits.
    #[error(
        "a key-encryption key is 64 hexadecimal digits (32 bytes; `openssl rand -hex 32` makes one), got {0} characters that are not"
    )]
    Format(usize),
}

impl KeyEncryptionKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self(p2core_types::random::bytes::<32>())
    }

    /// The key from 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, KeyEncryptionKeyError> {
        let t = text.trim();
        let mut out = [0u8; 32];
        hex::decode_to_slice(t, &mut out).map_err(|_| KeyEncryptionKeyError::Format(t.len()))?;
        Ok(Self(out))
    }

    /// The key from a file holding 64 hexadecimal digits (e.g. made with
    /// `openssl rand -hex 32 > kek.hex`; keep it mode 0600).
    pub fn from_file(path: &std::path::Path) -> Result<Self, KeyEncryptionKeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyEncryptionKeyError::Io(path.display().to_string(), e))?;
        Self::from_hex(&text)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl KeySettings {
    /// Checks the ranges, and that renewal comes before the end of a root's life.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_range("keys.root_cert_days", self.root_cert_days, 1, 3650)?;
        check_range(
            "keys.root_check_interval",
            self.root_check_interval,
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        )?;
        if let Some(days) = self.root_renew_days
            && (days == 0 || days >= self.root_cert_days)
        {
            return Err(InvalidSetting::new(
                "keys.root_renew_days",
                format!(
                    "{days} must be at least 1 and smaller than keys.root_cert_days ({}), \
                     or None to renew only by hand",
                    self.root_cert_days
                ),
            ));
        }
        Ok(())
    }
}
