//! The operator's `admin` subcommands over [`p2core_server::admin`]: they open
//! the SQLite database in `--data` directly. `create`, `reset-password` and
//! `invite …` may run while the server runs, `renew-root` only while it is stopped.

use clap::Subcommand;
use p2core_server::admin::{self as ops, AdminError};
use p2core_server::storage::Store;
use p2core_server::storage::postgres::PgStore;
use p2core_types::FederationId;

pub use p2core_server::admin::read_password;

use crate::Config;
use crate::config::Database;

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
    /// Copy everything in the SQLite database of --data (and the server's key files,
    /// sealed with --key-encryption-key-file) into an empty PostgreSQL database; then
    /// start the instances with --database-url URL. Stop the server first (the data
    /// directory is locked while copying).
    CopyToPostgres {
        /// The PostgreSQL database to fill (`postgres://…`; it must hold no server data).
        #[arg(long)]
        to: String,
    },
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
    let settings = config
        .settings_with_keys()
        .map_err(|e| AdminError::Usage(format!("invalid setting {e}")))?;
    settings
        .validate()
        .map_err(|e| AdminError::Usage(format!("invalid setting {e}")))?;
    let password = || {
        password
            .clone()
            .ok_or_else(|| AdminError::Usage("a password is needed".into()))
    };
    let fid = |name| ops::local_fid(&settings, name);
    if let AdminCommand::Create { name } | AdminCommand::ResetPassword { name } = command {
        fid(name)?;
    }
    if let AdminCommand::CopyToPostgres { to } = command {
        return copy_to_postgres(config, &settings, to).await;
    }
    let database = config
        .database()
        .map_err(|e| AdminError::Usage(format!("invalid setting {e}")))?;
    match database {
        Database::Sqlite(sqlite) => {
            let store = ops::open_sqlite(&settings, &sqlite).await?;
            let res = run_on(&store, config, &settings, command, password).await;
            store.close().await;
            res
        }
        Database::Postgres(pg) => {
            let store = PgStore::open_with(&pg).await.map_err(AdminError::Store)?;
            let res = run_on(&store, config, &settings, command, password).await;
            store.close().await;
            res
        }
    }
}

/// `admin copy-to-postgres --to URL`.
async fn copy_to_postgres(
    config: &Config,
    settings: &p2core_server::settings::ServerSettings,
    to: &str,
) -> Result<String, AdminError> {
    if config.database_url.is_some() {
        return Err(AdminError::Usage(
            "copy-to-postgres reads the SQLite database of --data; leave --database-url unset \
             and name the PostgreSQL database with --to"
                .into(),
        ));
    }
    let from = ops::open_sqlite(settings, &config.builder().sqlite_settings()).await?;
    let pg = PgStore::open_with(&p2core_server::storage::postgres::PgSettings::new(to))
        .await
        .map_err(AdminError::Store)?;
    let res = ops::copy_sqlite_to_postgres(&from, &pg, settings).await;
    pg.close().await;
    from.close().await;
    Ok(format!(
        "copied into PostgreSQL: {}; start the instances with --database-url and the same \
         --key-encryption-key-file",
        res?
    ))
}

/// [`run`] on an open store.
async fn run_on<S: Store>(
    store: &S,
    config: &Config,
    settings: &p2core_server::settings::ServerSettings,
    command: &AdminCommand,
    password: impl Fn() -> Result<String, AdminError>,
) -> Result<String, AdminError> {
    match command {
        AdminCommand::Create { name } => {
            match ops::create_account(store, settings, name, password()?).await {
                Ok(fid) => Ok(format!("created {fid}; {}", admin_note(config, &fid))),
                Err(AdminError::Exists(fid)) => Err(AdminError::Usage(format!(
                    "{fid} already exists; `admin reset-password {name}` takes it over \
                     (new password, all its sessions ended)"
                ))),
                Err(e) => Err(e),
            }
        }
        AdminCommand::ResetPassword { name } => {
            match ops::reset_password(store, settings, name, password()?).await {
                Ok((fid, ended)) => Ok(format!(
                    "new password set for {fid}; {ended} session(s) ended; {}",
                    admin_note(config, &fid)
                )),
                Err(AdminError::NoSuchAccount(fid)) => Err(AdminError::Usage(format!(
                    "{fid} does not exist; `admin create {name}` makes it"
                ))),
                Err(e) => Err(e),
            }
        }
        AdminCommand::RenewRoot => match ops::renew_root(store, settings).await {
            Ok(r) => Ok(format!("renewed the root certificate: {r}")),
            Err(AdminError::Busy(m)) => Err(AdminError::Usage(format!(
                "{m}; stop it first (a running server renews its root by itself, \
                 see --root-renew-days)"
            ))),
            Err(e) => Err(e),
        },
        AdminCommand::Invite { command } => invite(store, command).await,
        AdminCommand::CopyToPostgres { .. } => Err(AdminError::Usage(
            "copy-to-postgres runs on the SQLite database".into(),
        )),
    }
}

async fn invite<S: Store>(store: &S, command: &InviteCommand) -> Result<String, AdminError> {
    match command {
        InviteCommand::Create { uses, days } => {
            let new = ops::create_invite(store, *uses, *days).await?;
            Ok(format!(
                "created invite {}: {uses} registration(s), valid until {} (Unix time); \
                 the new user sends this token as auth_payload.invite (it is shown only now):\n{}",
                new.id, new.expires.0, new.token
            ))
        }
        InviteCommand::List => {
            let invites = ops::list_invites(store).await?;
            let lines: Vec<String> = invites.iter().map(ToString::to_string).collect();
            Ok(if lines.is_empty() {
                "no invites".into()
            } else {
                lines.join("\n")
            })
        }
        InviteCommand::Revoke { id } => match ops::revoke_invite(store, *id).await? {
            true => Ok(format!("revoked invite {id}")),
            false => Err(AdminError::Usage(format!(
                "there is no unrevoked invite {id}; `admin invite list` shows them"
            ))),
        },
    }
}
