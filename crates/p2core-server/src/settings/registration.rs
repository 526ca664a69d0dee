//! [`RegistrationPolicy`]: who may register over HTTP, with a hook for custom rules.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use p2core_types::FederationId;

/// A boxed, sendable future (what a [`RegistrationHook`] returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Who may register over HTTP (`POST /.p2/core/v1/register`).
///
/// Whatever the policy, a name reserved for an administrator can never be
/// registered over HTTP, and the operator can always make accounts with
/// [`crate::admin::create_account`].
#[derive(Clone, Default)]
pub enum RegistrationPolicy {
    /// Anyone may register (the default).
    #[default]
    Open,
    /// Nobody may register over HTTP: 403 `P2CORE_REGISTRATION_CLOSED`.
    Closed,
    /// Only with an invite token made by [`crate::admin::create_invite`], sent as
    /// `auth_payload.invite`; without a usable one: 403 `P2CORE_INVALID_INVITE`.
    /// One use of the invite is taken in the transaction that creates the actor.
    Invite,
    /// The embedder decides: the hook runs after the request passed every
    /// built-in check (valid name, password, payload size, not reserved) and
    /// before the name is taken; a refusal is answered 403 `P2CORE_FORBIDDEN`
    /// with the hook's message.
    Custom(Arc<dyn RegistrationHook>),
}

impl RegistrationPolicy {
    /// A custom policy from a closure or any [`RegistrationHook`].
    ///
    /// ```
    /// use p2core_server::settings::{RegistrationPolicy, RegistrationRefused};
    ///
    /// // Only names starting with "bot-", e.g. on a bot platform.
    /// let policy = RegistrationPolicy::custom(|req: p2core_server::settings::RegistrationRequest| async move {
    ///     if req.fid.local_name().starts_with("bot-") {
    ///         Ok(())
    ///     } else {
    ///         Err(RegistrationRefused::new("only bot-* accounts register here"))
    ///     }
    /// });
    /// # let _ = policy;
    /// ```
    pub fn custom(hook: impl RegistrationHook) -> Self {
        Self::Custom(Arc::new(hook))
    }
}

impl fmt::Debug for RegistrationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "Open",
            Self::Closed => "Closed",
            Self::Invite => "Invite",
            Self::Custom(_) => "Custom(..)",
        })
    }
}

/// A registration the built-in checks let through, as a [`RegistrationHook`] sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegistrationRequest {
    /// The Federation ID the client asks for (`NAME@DOMAIN` of this server).
    pub fid: FederationId,
    /// The request's `auth_payload`, if any (at most
    /// [`LimitSettings::max_auth_payload_bytes`](super::LimitSettings::max_auth_payload_bytes)).
    pub auth_payload: Option<serde_json::Value>,
    /// The client's address (from `X-Forwarded-For` when
    /// [`HttpSettings::trusted_proxies`](super::HttpSettings::trusted_proxies) says so).
    pub client: IpAddr,
}

/// A registration refused by a [`RegistrationHook`]: answered 403 `P2CORE_FORBIDDEN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RegistrationRefused {
    /// Told to the client.
    pub message: String,
}

impl RegistrationRefused {
    /// A refusal with this message for the client.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Custom registration rules ([`RegistrationPolicy::Custom`]). Implemented for
/// every `Fn(RegistrationRequest) -> impl Future<Output = Result<(), RegistrationRefused>>`.
pub trait RegistrationHook: Send + Sync + 'static {
    /// `Ok(())` lets the registration go on; `Err` refuses it.
    fn check(&self, request: RegistrationRequest) -> BoxFuture<Result<(), RegistrationRefused>>;
}

impl<F, Fut> RegistrationHook for F
where
    F: Fn(RegistrationRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), RegistrationRefused>> + Send + 'static,
{
    fn check(&self, request: RegistrationRequest) -> BoxFuture<Result<(), RegistrationRefused>> {
        Box::pin(self(request))
    }
}
