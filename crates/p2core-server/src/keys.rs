//! The home server's identity key and root certificate: created on first
//! start, loaded afterwards, rotated by administrators. Private keys live in
//! `DATA/keys/<serial>.pem` (PKCS#8, mode 0600); the database records which
//! certificate is current and when each one was.

use std::io::Write;
use std::path::Path;

use der::pem::LineEnding;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use p2core_certs::{CertProfile, Issuer};
use p2core_types::events::ServerCertificateChange;
use p2core_types::{DomainName, IdCert, UnixTimestamp};

use crate::settings::{KeyEncryptionKey, ServerSettings};
use crate::storage::{PendingEvent, Store};

/// The current signing identity of the server.
pub struct ServerKeys {
    /// Issues actor certificates with the current root.
    pub issuer: Issuer,
    /// Serial of the current root certificate.
    pub serial: i64,
    /// The current root's private key (signs server-side event payloads).
    pub signing_key: SigningKey,
}

/// Errors loading, creating or rotating the server key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// File system error.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// Storage error.
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
    /// Certificate error.
    #[error("certificate: {0}")]
    Cert(String),
    /// Another process holds the data directory (a running server).
    #[error("{0}")]
    Busy(String),
}

fn new_signing_key() -> SigningKey {
    SigningKey::from_bytes(&p2core_types::random::bytes::<32>())
}

fn write_private_key(data_dir: &Path, serial: i64, key: &SigningKey) -> Result<String, KeyError> {
    let dir = data_dir.join("keys");
    create_private_dir(&dir)?;
    let name = format!("keys/{serial}.pem");
    let path = data_dir.join(&name);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Cert(format!("encoding the private key: {e}")))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |e| KeyError::Io(path.display().to_string(), e);
    let mut f = opts.open(&path).map_err(io)?;
    f.write_all(pem.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(name)
}

/// Creates `dir` (and parents) with mode 0700 where supported, and sets
/// mode 0700 on `dir` if it already existed with another mode.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| KeyError::Io(dir.display().to_string(), e))?;
    set_mode(dir, 0o700)
}

/// Sets the permission bits of `path` (Unix only; elsewhere a no-op).
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(path).map_err(|e| KeyError::Io(path.display().to_string(), e))?;
        if meta.permissions().mode() & 0o777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| KeyError::Io(path.display().to_string(), e))?;
            tracing::warn!(path = %path.display(), mode = %format_args!("{mode:o}"), "fixed the file mode");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Takes the data directory's lock file (`DATA/server.lock`, an exclusive
/// advisory lock held until the returned file is dropped). A running server
/// holds it, so that a second server, or `admin renew-root`, cannot change
/// the server key under it.
pub fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, KeyError> {
    create_private_dir(data_dir)?;
    let path = data_dir.join("server.lock");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(&path)
        .map_err(|e| KeyError::Io(path.display().to_string(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(KeyError::Busy(format!(
            "a server is running on the data directory {} (it holds {})",
            data_dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(KeyError::Io(path.display().to_string(), e)),
    }
}

/// Makes the data directory private before anything is read from it: the
/// directory and `keys/` 0700, every key file and the database files 0600,
/// also when they already existed with looser modes. The database file is
/// created empty with mode 0600 if missing, so SQLite (and its -wal and -shm
/// files, which take the database's mode) never exist world-readable.
pub fn secure_data_dir(data_dir: &Path, database: &Path) -> Result<(), KeyError> {
    create_private_dir(data_dir)?;
    let keys = data_dir.join("keys");
    if keys.exists() {
        create_private_dir(&keys)?;
        let entries =
            std::fs::read_dir(&keys).map_err(|e| KeyError::Io(keys.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| KeyError::Io(keys.display().to_string(), e))?;
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                set_mode(&entry.path(), 0o600)?;
            }
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(database)
        .map_err(|e| KeyError::Io(database.display().to_string(), e))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        if path.exists() {
            set_mode(&path, 0o600)?;
        }
    }
    Ok(())
}

/// Magic bytes of a sealed key (format version 1): `P2K1 || nonce(12) || ciphertext+tag`.
const SEALED_MAGIC: &[u8; 4] = b"P2K1";

/// What a sealed key is bound to (a sealed key moved to another serial does not open).
fn sealed_aad(serial: i64) -> Vec<u8> {
    format!("p2core server key {serial}").into_bytes()
}

/// Seals a PKCS#8 PEM private key with the key-encryption key (ChaCha20-Poly1305,
/// random nonce, the serial as associated data).
pub fn seal_key(kek: &KeyEncryptionKey, serial: i64, pem: &[u8]) -> Result<Vec<u8>, KeyError> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(kek.as_bytes().into());
    let nonce = p2core_types::random::bytes::<12>();
    let aad = sealed_aad(serial);
    let ct = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: pem,
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Cert("sealing the private key failed".into()))?;
    let mut out = Vec::with_capacity(4 + 12 + ct.len());
    out.extend_from_slice(SEALED_MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a key sealed by [`seal_key`]; a wrong key-encryption key, a key of
/// another serial or altered bytes give a clear error.
pub fn open_key(kek: &KeyEncryptionKey, serial: i64, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let wrong = || {
        KeyError::Cert(format!(
            "the stored private key of root {serial} does not open with this key-encryption key \
             (every instance must be given the same --key-encryption-key-file)"
        ))
    };
    let rest = sealed
        .strip_prefix(SEALED_MAGIC.as_slice())
        .ok_or_else(wrong)?;
    if rest.len() < 12 + 16 {
        return Err(wrong());
    }
    let (nonce, ct) = rest.split_at(12);
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(kek.as_bytes().into());
    let aad = sealed_aad(serial);
    cipher
        .decrypt(nonce.into(), Payload { msg: ct, aad: &aad })
        .map_err(|_| wrong())
}

/// Prefix of `server_certs.key_file` for a key the store keeps.
const IN_STORE: &str = "db:";

/// Keeps a new private key where the store wants it: sealed in the store
/// (returns `db:<serial>`), or in a file of the key directory.
async fn persist_key<S: Store>(
    store: &S,
    config: &ServerSettings,
    serial: i64,
    key: &SigningKey,
    now: UnixTimestamp,
) -> Result<String, KeyError> {
    if !store.keeps_server_keys() {
        return write_private_key(&config.keys.dir, serial, key);
    }
    let kek = config
        .keys
        .encryption_key
        .as_ref()
        .ok_or_else(missing_kek)?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Cert(format!("encoding the private key: {e}")))?;
    let sealed = seal_key(kek, serial, pem.as_bytes())?;
    store.put_server_key(serial, &sealed, now).await?;
    Ok(format!("{IN_STORE}{serial}"))
}

fn missing_kek() -> KeyError {
    KeyError::Cert(
        "this store keeps the server's private keys, sealed with a key-encryption key; \
         give every instance the same one (--key-encryption-key-file, made with \
         `openssl rand -hex 32`)"
            .into(),
    )
}

/// Reads the private key of the root certificate `rec`.
async fn load_key<S: Store>(
    store: &S,
    config: &ServerSettings,
    rec: &crate::storage::ServerCertRecord,
) -> Result<SigningKey, KeyError> {
    if let Some(serial) = rec.key_file.strip_prefix(IN_STORE) {
        let kek = config
            .keys
            .encryption_key
            .as_ref()
            .ok_or_else(missing_kek)?;
        let sealed = store.server_key(rec.serial).await?.ok_or_else(|| {
            KeyError::Cert(format!(
                "the private key of root {serial} is missing from the store"
            ))
        })?;
        let pem = open_key(kek, rec.serial, &sealed)?;
        let pem = String::from_utf8(pem)
            .map_err(|_| KeyError::Cert(format!("the private key of root {serial} is not PEM")))?;
        return SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| KeyError::Cert(format!("the private key of root {serial}: {e}")));
    }
    let path = config.keys.dir.join(&rec.key_file);
    let pem =
        std::fs::read_to_string(&path).map_err(|e| KeyError::Io(path.display().to_string(), e))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::Cert(format!("{}: {e}", path.display())))
}

fn new_root(
    domain: &DomainName,
    now: UnixTimestamp,
    days: u32,
    profile: CertProfile,
) -> Result<(SigningKey, IdCert, i64), KeyError> {
    let key = new_signing_key();
    let serial = p2core_certs::fresh_serial();
    let not_after = now.saturating_add(u64::from(days) * 86_400);
    let cert =
        p2core_certs::create_root_cert_with_profile(&key, domain, now, not_after, serial, profile)
            .map_err(|e| KeyError::Cert(e.to_string()))?;
    let serial = i64::try_from(serial).map_err(|_| KeyError::Cert("serial out of range".into()))?;
    Ok((key, cert, serial))
}

fn issuer(cert: IdCert, key: &SigningKey, profile: CertProfile) -> Result<Issuer, KeyError> {
    Issuer::with_profile(cert, key.clone(), profile).map_err(|e| KeyError::Cert(e.to_string()))
}

/// Loads the current key and root certificate (in `--data`), creating both on
/// first start for `--domain`. Certificates made from now on (a new root,
/// issued actor certificates) use the extension layout of `--cert-profile`.
pub async fn load_or_create<S: Store>(
    store: &S,
    config: &ServerSettings,
) -> Result<ServerKeys, KeyError> {
    let domain = &config.domain;
    let (root_days, profile) = (config.keys.root_cert_days, config.certs.profile);
    if store.keeps_server_keys() && config.keys.encryption_key.is_none() {
        return Err(missing_kek());
    }
    if let Some(rec) = store.current_server_cert().await? {
        let key = load_key(store, config, &rec).await?;
        let cert = IdCert::from_pem(&rec.cert_pem).map_err(|e| KeyError::Cert(e.to_string()))?;
        let has_key_id = cert
            .certificate()
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .any(|e| e.extn_id == p2core_certs::OID_SUBJECT_KEY_ID);
        if has_key_id != profile.has_key_identifiers() {
            tracing::warn!(
                "the stored root certificate was made for another --cert-profile than {profile}; \
                 actor certificates follow {profile} from now on, the root changes at the next \
                 rotation (`admin renew-root`)"
            );
        }
        let issuer = issuer(cert, &key, profile)?;
        if issuer.domain() != domain {
            return Err(KeyError::Cert(format!(
                "the stored root certificate is for the domain {}, not {domain}; \
                 use another --data directory for another domain",
                issuer.domain()
            )));
        }
        return Ok(ServerKeys {
            issuer,
            serial: rec.serial,
            signing_key: key,
        });
    }
    let now = UnixTimestamp::now();
    let (key, cert, serial) = new_root(domain, now, root_days, profile)?;
    let key_file = persist_key(store, config, serial, &key, now).await?;
    store
        .insert_server_cert(serial, &cert.to_pem(), &key_file, now, None)
        .await?;
    tracing::info!(serial, domain = %domain, %profile, "created the server's root certificate");
    let issuer = issuer(cert, &key, profile)?;
    Ok(ServerKeys {
        issuer,
        serial,
        signing_key: key,
    })
}

/// Makes a new key and root certificate current and queues the
/// server-certificate-change event for every live session.
pub async fn rotate<S: Store>(store: &S, config: &ServerSettings) -> Result<ServerKeys, KeyError> {
    let domain = &config.domain;
    let (root_days, profile) = (config.keys.root_cert_days, config.certs.profile);
    let now = UnixTimestamp::now();
    let (key, cert, serial) = new_root(domain, now, root_days, profile)?;
    let key_file = persist_key(store, config, serial, &key, now).await?;
    let event = PendingEvent::new(&ServerCertificateChange {
        cert: cert.to_pem(),
        old_invalid_since: now,
    })
    .map_err(|e| KeyError::Cert(e.to_string()))?;
    store
        .insert_server_cert(serial, &cert.to_pem(), &key_file, now, Some(event))
        .await?;
    tracing::info!(serial, "rotated the server's root certificate");
    let issuer = issuer(cert, &key, profile)?;
    Ok(ServerKeys {
        issuer,
        serial,
        signing_key: key,
    })
}

/// The server's keys, reloaded first if the store announced a new root since
/// they were loaded (a rotation at another instance, or by `admin`).
pub async fn current<S: Store>(
    state: &crate::state::AppState<S>,
) -> Result<tokio::sync::RwLockReadGuard<'_, ServerKeys>, KeyError> {
    use std::sync::atomic::Ordering;
    if state.keys_stale.swap(false, Ordering::AcqRel) {
        let mut keys = state.keys.write().await;
        if let Err(e) = reload(&state.store, &state.settings, &mut keys).await {
            state.keys_stale.store(true, Ordering::Release);
            return Err(e);
        }
    }
    Ok(state.keys.read().await)
}

/// Replaces `keys` with the store's current root and its key, if it is another one.
pub async fn reload<S: Store>(
    store: &S,
    config: &ServerSettings,
    keys: &mut ServerKeys,
) -> Result<(), KeyError> {
    match store.current_server_cert().await? {
        Some(rec) if rec.serial != keys.serial => {
            let new = load_or_create(store, config).await?;
            tracing::info!(
                old_serial = keys.serial,
                new_serial = new.serial,
                "loaded the server's new root certificate"
            );
            *keys = new;
        }
        _ => {}
    }
    Ok(())
}

/// Seconds from `now` until the current root certificate's notAfter (negative once expired).
pub fn root_seconds_left(keys: &ServerKeys, now: UnixTimestamp) -> i128 {
    i128::from(keys.issuer.root().not_after().0) - i128::from(now.0)
}

/// What [`check_root`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootCheck {
    /// The root has more than the warning period left.
    Fine,
    /// The root expires within the warning period (logged as a warning).
    ExpiresSoon,
    /// The root was renewed (new key and certificate, old one kept in the history).
    Renewed,
    /// The root has expired and was not renewed (logged as an error).
    Expired,
}

/// Checks the current root's remaining lifetime against the configuration:
/// renews it when it expires within `--root-renew-days` (unless 0), warns
/// within `--root-warn-days`, and reports an expired root as an error.
pub async fn check_root<S: Store>(
    state: &crate::state::AppState<S>,
) -> Result<RootCheck, KeyError> {
    let config = &state.settings;
    let renew_days = config.keys.root_renew_days.unwrap_or(0);
    let mut keys = state.keys.write().await;
    // Another instance may have renewed it already.
    state
        .keys_stale
        .store(false, std::sync::atomic::Ordering::Release);
    reload(&state.store, config, &mut keys).await?;
    let now = UnixTimestamp::now();
    let left = root_seconds_left(&keys, now);
    let day = 86_400_i128;
    if renew_days > 0 && left < i128::from(renew_days) * day {
        let new = rotate(&state.store, config).await?;
        tracing::warn!(
            old_serial = keys.serial,
            new_serial = new.serial,
            days_left = left / day,
            "renewed the server's root certificate before it expires ({renew_days} days before)"
        );
        *keys = new;
        return Ok(RootCheck::Renewed);
    }
    if left <= 0 {
        tracing::error!(
            serial = keys.serial,
            "the server's root certificate has expired; no certificates can be issued until \
             it is renewed: stop the server and renew it by hand (`p2core-home-server admin \
             renew-root`), or turn automatic renewal on (--root-renew-days)"
        );
        return Ok(RootCheck::Expired);
    }
    if left < i128::from(config.keys.root_warn_days) * day {
        tracing::warn!(
            serial = keys.serial,
            days_left = left / day,
            not_after = keys.issuer.root().not_after().0,
            "the server's root certificate expires soon; it is renewed automatically when \
             {renew_days} (0 = off) days are left, or stop the server and renew it by hand \
             (`p2core-home-server admin renew-root`)"
        );
        return Ok(RootCheck::ExpiresSoon);
    }
    Ok(RootCheck::Fine)
}

#[cfg(test)]
mod sealing_tests {
    use super::{open_key, seal_key};
    use crate::settings::KeyEncryptionKey;

    /// Made by Python's `cryptography` (an implementation we did not write):
    /// ```text
    /// from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    /// k = bytes(range(32)); n = bytes(range(12)); aad = b'p2core server key 42'
    /// ct = ChaCha20Poly1305(k).encrypt(n, b'-----BEGIN PRIVATE KEY-----\n', aad)
    /// print((b'P2K1' + n + ct).hex())
    /// ```
    const VECTOR: &str = "50324b31000102030405060708090a0ba4d6252d0455e007fecd1fa3ca5458229d3592ac142d8094cbba02cfda9d183c1323a96710fe58a4db137559";

    fn kek() -> KeyEncryptionKey {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::try_from(i).unwrap();
        }
        KeyEncryptionKey::from_bytes(b)
    }

    #[test]
    fn a_key_sealed_by_another_implementation_opens() {
        let sealed = hex::decode(VECTOR).unwrap();
        assert_eq!(
            open_key(&kek(), 42, &sealed).unwrap(),
            b"-----BEGIN PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn a_wrong_key_another_serial_or_a_changed_byte_does_not_open() {
        let sealed = hex::decode(VECTOR).unwrap();
        let other = KeyEncryptionKey::from_hex(&"ab".repeat(32)).unwrap();
        assert!(open_key(&other, 42, &sealed).is_err());
        assert!(
            open_key(&kek(), 43, &sealed).is_err(),
            "bound to its serial"
        );
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open_key(&kek(), 42, &bad).is_err(), "byte {i} changed");
        }
        assert!(open_key(&kek(), 42, &sealed[..20]).is_err(), "truncated");
    }

    #[test]
    fn sealing_uses_a_fresh_nonce_and_opens_again() {
        let a = seal_key(&kek(), 7, b"secret").unwrap();
        let b = seal_key(&kek(), 7, b"secret").unwrap();
        assert_ne!(a, b, "a random nonce per seal");
        assert_eq!(open_key(&kek(), 7, &a).unwrap(), b"secret");
    }

    #[test]
    fn key_encryption_keys_are_64_hex_digits_and_never_printed() {
        assert!(KeyEncryptionKey::from_hex("abc").is_err());
        assert!(KeyEncryptionKey::from_hex(&"zz".repeat(32)).is_err());
        let k = KeyEncryptionKey::from_hex(&format!("  {}\n", "0f".repeat(32))).unwrap();
        assert_eq!(k.as_bytes(), &[0x0f; 32]);
        assert_eq!(format!("{k:?}"), "KeyEncryptionKey(..)");
    }
}
