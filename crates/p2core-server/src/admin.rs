//! The operator's `admin` subcommands: create or reset an administrator
//! account, renew the root certificate, and manage registration invites. They
//! work directly on the data directory; `create`, `reset-password` and
//! `invite …` may run while the server runs (SQLite allows it), `renew-root`
//! only while it is stopped.

use std::io::BufRead;

use argon2::Argon2;
use clap::Subcommand;
use p2core_types::{ErrorCode, FederationId, UnixTimestamp};

use crate::config::Config;
use crate::handlers::identity::hash_password;
use crate::keys;
use crate::storage::sqlite::SqliteStore;
use crate::storage::{Store, StoreError};

/// `p2core-home-server admin …`
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create the account NAME (an administrator when NAME@DOMAIN is given with
    /// --admin); the password is read from the first line of stdin.
    Create {
        /// Local name of the account (the part before `@DOMAIN`).
        name: String,
    },
    /// Set a new password for the account NAME (read from the first line of
    /// stdin), make it operator-owned and end all its sessions.
    ResetPassword {
        /// Local name of the account.
        name: String,
    },
    /// Replace the server's root certificate and key now (the old ones stay in
    /// the history, as with a key rotation). Refused while a server runs on the
    /// data directory (a running server renews by itself, see --root-renew-days).
    RenewRoot,
    /// Registration invites for `--registration invite`: create, list, revoke.
    Invite {
        /// What to do with invites.
        #[command(subcommand)]
        command: InviteCommand,
    },
}

/// `p2core-home-server admin invite …`
#[derive(Debug, Clone, Subcommand)]
pub enum InviteCommand {
    /// Make an invite token (printed once, on the last line of the output; only its
    /// hash is stored). The new user sends it as `auth_payload.invite` to `POST /register`.
    Create {
        /// Registrations it allows.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        uses: u32,
        /// Days until it expires.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// List every invite: id, creation and expiry (Unix seconds), uses, state.
    List,
    /// Revoke an invite (by the id `create` and `list` show); it cannot be used any more.
    Revoke {
        /// The invite's id.
        id: i64,
    },
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input or a refused operation (the message says what to do).
    #[error("{0}")]
    Usage(String),
    /// Opening the data directory or the server key failed.
    #[error(transparent)]
    Start(#[from] crate::StartError),
    /// Storage error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key or certificate error.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
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
    if password.len() > 1024 {
        return Err(AdminError::Usage(
            "the password is longer than 1024 bytes".into(),
        ));
    }
    Ok(password)
}

fn local_fid(config: &Config, name: &str) -> Result<FederationId, AdminError> {
    FederationId::from_parts(name, &config.domain).map_err(|e| {
        AdminError::Usage(format!(
            "{}: invalid name {name:?}: {e}",
            ErrorCode::InvalidFederationId
        ))
    })
}

async fn open(config: &Config) -> Result<SqliteStore, AdminError> {
    config.validate().map_err(crate::StartError::Config)?;
    keys::secure_data_dir(&config.data, &config.database_path())?;
    Ok(SqliteStore::open(&config.database_path()).await?)
}

async fn hash(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || hash_password(&Argon2::default(), &password))
        .await
        .map_err(|e| AdminError::Usage(format!("hashing the password: {e}")))?
        .map_err(|e| AdminError::Usage(format!("hashing the password: {e}")))
}

fn admin_note(config: &Config, fid: &FederationId) -> String {
    if config.admins.contains(fid) {
        format!("{fid} is an administrator (given with --admin)")
    } else {
        format!(
            "note: {fid} is not given with --admin, so it is an ordinary account until the \
             server runs with --admin {fid}"
        )
    }
}

/// Runs one admin command; `password` is needed by `create` and `reset-password`.
/// Returns the message to print on success.
pub async fn run(
    config: &Config,
    command: &AdminCommand,
    password: Option<String>,
) -> Result<String, AdminError> {
    let need_password = || {
        password
            .clone()
            .ok_or_else(|| AdminError::Usage("a password is needed".into()))
    };
    match command {
        AdminCommand::Create { name } => {
            let fid = local_fid(config, name)?;
            let password = need_password()?;
            let store = open(config).await?;
            let hash = hash(password).await?;
            let res = store
                .create_operator_actor(&fid, &hash, UnixTimestamp::now())
                .await;
            store.close().await;
            match res {
                Ok(_) => Ok(format!("created {fid}; {}", admin_note(config, &fid))),
                Err(StoreError::Conflict(_)) => Err(AdminError::Usage(format!(
                    "{fid} already exists; `admin reset-password {name}` takes it over \
                     (new password, all its sessions ended)"
                ))),
                Err(e) => Err(e.into()),
            }
        }
        AdminCommand::ResetPassword { name } => {
            let fid = local_fid(config, name)?;
            let password = need_password()?;
            let store = open(config).await?;
            let hash = hash(password).await?;
            let res = store
                .reset_actor_password(&fid, &hash, UnixTimestamp::now())
                .await;
            store.close().await;
            match res? {
                Some(ended) => Ok(format!(
                    "new password set for {fid}; {ended} session(s) ended; {}",
                    admin_note(config, &fid)
                )),
                None => Err(AdminError::Usage(format!(
                    "{fid} does not exist; `admin create {name}` makes it"
                ))),
            }
        }
        AdminCommand::Invite { command } => {
            let store = open(config).await?;
            let res = invite(&store, command).await;
            store.close().await;
            res
        }
        AdminCommand::RenewRoot => {
            // A running server holds its key in memory: it must not change under it.
            let _lock = keys::lock_data_dir(&config.data).map_err(|e| match e {
                keys::KeyError::Busy(m) => AdminError::Usage(format!(
                    "{m}; stop it first (a running server renews its root by itself, \
                     see --root-renew-days)"
                )),
                other => other.into(),
            })?;
            let store = open(config).await?;
            let res = async {
                let old = keys::load_or_create(&store, config).await?;
                let new = keys::rotate(&store, config).await?;
                Ok::<_, keys::KeyError>((old, new))
            }
            .await;
            store.close().await;
            let (old, new) = res?;
            Ok(format!(
                "renewed the root certificate: serial {} (valid until {}) replaces {} (valid until {})",
                new.serial,
                new.issuer.root().not_after().0,
                old.serial,
                old.issuer.root().not_after().0
            ))
        }
    }
}

async fn invite(store: &SqliteStore, command: &InviteCommand) -> Result<String, AdminError> {
    let now = UnixTimestamp::now();
    match command {
        InviteCommand::Create { uses, days } => {
            let (token, hash) = crate::auth::new_token();
            let expires = UnixTimestamp(now.0.saturating_add(u64::from(*days) * 86_400));
            let id = store.create_invite(&hash, *uses, now, expires).await?;
            Ok(format!(
                "created invite {id}: {uses} registration(s), valid until {} (Unix time); \
                 the new user sends this token as auth_payload.invite (it is shown only now):\n{token}",
                expires.0
            ))
        }
        InviteCommand::List => {
            let invites = store.list_invites().await?;
            if invites.is_empty() {
                return Ok("no invites".into());
            }
            let lines: Vec<String> = invites
                .iter()
                .map(|i| {
                    let state = if i.revoked_at.is_some() {
                        "revoked"
                    } else if i.used >= i.max_uses {
                        "used up"
                    } else if i.expires_at <= now {
                        "expired"
                    } else {
                        "usable"
                    };
                    format!(
                        "invite {}: created {}, expires {}, used {} of {}, {state}",
                        i.id, i.created_at.0, i.expires_at.0, i.used, i.max_uses
                    )
                })
                .collect();
            Ok(lines.join("\n"))
        }
        InviteCommand::Revoke { id } => {
            if store.revoke_invite(*id, now).await? {
                Ok(format!("revoked invite {id}"))
            } else {
                Err(AdminError::Usage(format!(
                    "there is no unrevoked invite {id}; `admin invite list` shows them"
                )))
            }
        }
    }
}
