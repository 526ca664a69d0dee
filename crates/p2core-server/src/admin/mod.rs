//! Operator actions on a server's data: administrator accounts, password
//! resets, root renewal and registration invites. They work on a [`Store`]
//! directly (the example server's `admin` subcommands call them on its SQLite
//! database, also while the server runs, except [`renew_root`]).

use std::io::BufRead;

use argon2::Argon2;
use p2core_types::{ErrorCode, FederationId, UnixTimestamp};

use crate::handlers::identity::hash_password;
use crate::keys;
use crate::settings::ServerSettings;
use crate::storage::{InviteRecord, Store, StoreError};

/// Longest password accepted, in bytes (as over HTTP).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input or a refused operation (the message says what to do).
    #[error("{0}")]
    Usage(String),
    /// The account exists already.
    #[error("{0} already exists")]
    Exists(FederationId),
    /// The account does not exist.
    #[error("{0} does not exist")]
    NoSuchAccount(FederationId),
    /// Another process (a running server) holds the key directory.
    #[error("{0}")]
    Busy(String),
    /// Storage error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key or certificate error.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
}

/// Opens the bundled SQLite store for operator actions, as a server would:
/// the key directory is made (mode 0700) or its modes checked first. A
/// running server may have it open at the same time (SQLite allows it).
#[cfg(feature = "sqlite")]
pub async fn open_sqlite(
    settings: &ServerSettings,
    sqlite: &crate::storage::sqlite::SqliteSettings,
) -> Result<crate::storage::sqlite::SqliteStore, AdminError> {
    keys::secure_data_dir(&settings.keys.dir, &sqlite.path)?;
    Ok(crate::storage::sqlite::SqliteStore::open_with(sqlite).await?)
}

/// Reads a password from the first line of `input` (without its line ending).
pub fn read_password(input: &mut impl BufRead) -> Result<String, AdminError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| AdminError::Usage(format!("reading the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(AdminError::Usage(
            "give the password on the first line of stdin".into(),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AdminError::Usage(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(password)
}

/// `NAME@DOMAIN` of this server, or a usage error naming the bad part.
pub fn local_fid(settings: &ServerSettings, name: &str) -> Result<FederationId, AdminError> {
    FederationId::from_parts(name, &settings.domain).map_err(|e| {
        AdminError::Usage(format!(
            "{}: invalid name {name:?}: {e}",
            ErrorCode::InvalidFederationId
        ))
    })
}

async fn hash(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || hash_password(&Argon2::default(), &password))
        .await
        .map_err(|e| AdminError::Usage(format!("hashing the password: {e}")))?
        .map_err(|e| AdminError::Usage(format!("hashing the password: {e}")))
}

/// Creates the operator-made account `NAME@DOMAIN` (an administrator when it
/// is in [`ServerSettings::admins`]).
pub async fn create_account<S: Store>(
    store: &S,
    settings: &ServerSettings,
    name: &str,
    password: String,
) -> Result<FederationId, AdminError> {
    let fid = local_fid(settings, name)?;
    let hash = hash(password).await?;
    match store
        .create_operator_actor(&fid, &hash, UnixTimestamp::now())
        .await
    {
        Ok(_) => Ok(fid),
        Err(StoreError::Conflict(_)) => Err(AdminError::Exists(fid)),
        Err(e) => Err(e.into()),
    }
}

/// Sets a new password for `NAME@DOMAIN`, makes the account operator-owned and
/// ends all its sessions; returns how many sessions ended.
pub async fn reset_password<S: Store>(
    store: &S,
    settings: &ServerSettings,
    name: &str,
    password: String,
) -> Result<(FederationId, u64), AdminError> {
    let fid = local_fid(settings, name)?;
    let hash = hash(password).await?;
    match store
        .reset_actor_password(&fid, &hash, UnixTimestamp::now())
        .await?
    {
        Some(ended) => Ok((fid, ended)),
        None => Err(AdminError::NoSuchAccount(fid)),
    }
}

/// A root certificate replaced by [`renew_root`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootRenewal {
    /// Serial of the root that was current.
    pub old_serial: i64,
    /// Its end of validity (Unix seconds).
    pub old_not_after: u64,
    /// Serial of the new root.
    pub new_serial: i64,
    /// Its end of validity (Unix seconds).
    pub new_not_after: u64,
}

impl std::fmt::Display for RootRenewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "serial {} (valid until {}) replaces {} (valid until {})",
            self.new_serial, self.new_not_after, self.old_serial, self.old_not_after
        )
    }
}

/// Replaces the server's root certificate and key now (the old ones stay in
/// the history, as with a key rotation). Locks the key directory first, so it
/// is refused ([`AdminError::Busy`]) while a server runs on it: a running
/// server holds its key in memory and renews by itself
/// ([`KeySettings::root_renew_days`](crate::settings::KeySettings::root_renew_days)).
pub async fn renew_root<S: Store>(
    store: &S,
    settings: &ServerSettings,
) -> Result<RootRenewal, AdminError> {
    let _lock = keys::lock_data_dir(&settings.keys.dir).map_err(|e| match e {
        keys::KeyError::Busy(m) => AdminError::Busy(m),
        other => other.into(),
    })?;
    let old = keys::load_or_create(store, settings).await?;
    let new = keys::rotate(store, settings).await?;
    Ok(RootRenewal {
        old_serial: old.serial,
        old_not_after: old.issuer.root().not_after().0,
        new_serial: new.serial,
        new_not_after: new.issuer.root().not_after().0,
    })
}

/// A new registration invite ([`create_invite`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewInvite {
    /// Its id (for listing and revoking).
    pub id: i64,
    /// The token the new user sends as `auth_payload.invite`; only its hash is
    /// stored, so this is the only time it is seen.
    pub token: String,
    /// When it expires.
    pub expires: UnixTimestamp,
}

/// Makes an invite for [`RegistrationPolicy::Invite`](crate::settings::RegistrationPolicy::Invite)
/// allowing `uses` registrations for `days` days.
pub async fn create_invite<S: Store>(
    store: &S,
    uses: u32,
    days: u32,
) -> Result<NewInvite, AdminError> {
    if uses == 0 || days == 0 {
        return Err(AdminError::Usage(
            "an invite needs at least one use and one day".into(),
        ));
    }
    let now = UnixTimestamp::now();
    let (token, hash) = crate::auth::new_token();
    let expires = UnixTimestamp(now.0.saturating_add(u64::from(days) * 86_400));
    let id = store.create_invite(&hash, uses, now, expires).await?;
    Ok(NewInvite { id, token, expires })
}

/// Where an invite stands ([`InviteRecord::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    /// Revoked by the operator.
    Revoked,
    /// Every use taken.
    UsedUp,
    /// Past its expiry.
    Expired,
    /// Can still be used.
    Usable,
}

impl std::fmt::Display for InviteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Revoked => "revoked",
            Self::UsedUp => "used up",
            Self::Expired => "expired",
            Self::Usable => "usable",
        })
    }
}

impl InviteRecord {
    /// The invite's state at `now`.
    pub fn state(&self, now: UnixTimestamp) -> InviteState {
        if self.revoked_at.is_some() {
            InviteState::Revoked
        } else if self.used >= self.max_uses {
            InviteState::UsedUp
        } else if self.expires_at <= now {
            InviteState::Expired
        } else {
            InviteState::Usable
        }
    }
}

impl std::fmt::Display for InviteRecord {
    /// `invite ID: created T, expires T, used N of M, STATE` (state at the current time).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invite {}: created {}, expires {}, used {} of {}, {}",
            self.id,
            self.created_at.0,
            self.expires_at.0,
            self.used,
            self.max_uses,
            self.state(UnixTimestamp::now())
        )
    }
}

/// Every invite, with its state.
pub async fn list_invites<S: Store>(store: &S) -> Result<Vec<InviteRecord>, AdminError> {
    Ok(store.list_invites().await?)
}

/// Revokes an invite; `false` if there is no unrevoked invite `id`.
pub async fn revoke_invite<S: Store>(store: &S, id: i64) -> Result<bool, AdminError> {
    Ok(store.revoke_invite(id, UnixTimestamp::now()).await?)
}

#[cfg(feature = "postgres")]
mod copy;
#[cfg(feature = "postgres")]
pub use copy::{CopyReport, copy_sqlite_to_postgres};
