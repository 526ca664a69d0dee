//! Typed settings, one type per part of the server, each with its defaults in
//! `new()` (also [`Default`]) and a chained setter per field.
//!
//! Fields are public to read and to set; the types are `#[non_exhaustive]`, so
//! new settings can be added without breaking embedders. Limits that can be
//! switched off are `Option`s (`None` = off) rather than sentinel zeros. Each
//! part checks its own ranges in `validate()`; [`ServerBuilder::build`](crate::ServerBuilder::build)
//! runs every check and the cross-part ones before anything is opened.
//!
//! ```
//! use std::time::Duration;
//! use p2core_server::settings::{GatewaySettings, HttpSettings};
//!
//! let http = HttpSettings::new()
//!     .max_connections(4096)
//!     .max_connections_per_address(None); // behind a load balancer
//! let gateway = GatewaySettings::new().heartbeat_interval(Duration::from_secs(20));
//! assert_eq!(http.max_connections, 4096);
//! assert!(http.validate().is_ok() && gateway.validate().is_ok());
//! ```

mod certs;
mod federation;
mod gateway;
mod http;
mod limits;
mod registration;

pub use certs::{CertSettings, KeyEncryptionKey, KeyEncryptionKeyError, KeySettings};
pub use federation::{FederationSettings, Peer};
pub use gateway::GatewaySettings;
pub use http::HttpSettings;
pub use limits::LimitSettings;
pub use registration::{
    BoxFuture, RegistrationHook, RegistrationPolicy, RegistrationRefused, RegistrationRequest,
};

/// An invalid setting: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct InvalidSetting {
    /// The setting, as `part.field` (e.g. `http.max_connections`).
    pub setting: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl InvalidSetting {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        Self {
            setting,
            reason: reason.into(),
        }
    }
}

/// Fails with `setting` unless `lo <= value <= hi`.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Debug>(
    setting: &'static str,
    value: T,
    lo: T,
    hi: T,
) -> Result<(), InvalidSetting> {
    if value < lo || value > hi {
        return Err(InvalidSetting::new(
            setting,
            format!("{value:?} is outside {lo:?}..={hi:?}"),
        ));
    }
    Ok(())
}

/// Declares a settings type: public fields with their defaults, `new()`,
/// `Default`, and one chained setter per field (same name as the field).
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// Every setting at its default (the values documented on each field).
            pub fn new() -> Self {
                Self { $( $field: $default, )* }
            }

            $(
                $(#[$fmeta])*
                #[must_use]
                pub fn $field(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(crate) use settings;

use p2core_types::{DomainName, FederationId};

/// Everything a server runs with: the domain, the administrators and every
/// part's settings. Made by [`ServerBuilder`](crate::ServerBuilder); read back
/// with [`Server::settings`](crate::Server::settings).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerSettings {
    /// Domain of this home server: actors registered here are `NAME@DOMAIN`, and
    /// the server's certificates carry it as DC components.
    pub domain: DomainName,
    /// Federation IDs of the server's administrators (may rotate the server key);
    /// each must be of [`domain`](Self::domain). Their accounts are made by the
    /// operator ([`crate::admin::create_account`]), never over HTTP.
    pub admins: Vec<FederationId>,
    /// The HTTP side.
    pub http: HttpSettings,
    /// The certificates issued to actors.
    pub certs: CertSettings,
    /// The server's own key and root certificate.
    pub keys: KeySettings,
    /// Outgoing federation.
    pub federation: FederationSettings,
    /// Rate limits and caps.
    pub limits: LimitSettings,
    /// The WebSocket gateway.
    pub gateway: GatewaySettings,
    /// Who may register over HTTP.
    pub registration: RegistrationPolicy,
}

impl ServerSettings {
    /// The defaults of every part, for `domain`.
    pub fn new(domain: DomainName) -> Self {
        Self {
            domain,
            admins: Vec::new(),
            http: HttpSettings::new(),
            certs: CertSettings::new(),
            keys: KeySettings::new(),
            federation: FederationSettings::new(),
            limits: LimitSettings::new(),
            gateway: GatewaySettings::new(),
            registration: RegistrationPolicy::Open,
        }
    }

    /// Runs every part's checks and the cross-part ones (administrators of this domain).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.http.validate()?;
        self.certs.validate()?;
        self.keys.validate()?;
        self.federation.validate()?;
        self.limits.validate()?;
        self.gateway.validate()?;
        for admin in &self.admins {
            if admin.domain() != &self.domain {
                return Err(InvalidSetting::new(
                    "admins",
                    format!(
                        "administrator {admin} is not an actor of this server's domain {}",
                        self.domain
                    ),
                ));
            }
        }
        Ok(())
    }
}
