//! A DNS resolver for reqwest that drops every non-public address
//! ([`super::address::is_public`]).

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::is_public;

/// The error a [`PublicOnlyResolver`] reports when a name has no public address.
#[derive(Debug, thiserror::Error)]
#[error("the name resolves only to non-public addresses")]
pub struct NotPublic;

/// Resolves names with the system resolver and keeps only public addresses
/// ([`is_public`]); a name with none fails with [`NotPublic`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}
