//! [`EventPublisher`]: events of the embedder's own namespaces, queued for an
//! actor's sessions and delivered like the core events (gateway, `GET /events`).

use p2core_types::events::EventPayload;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use crate::state::SharedState;
use crate::storage::{PendingEvent, Store, StoreError};

/// The namespace of polyproto-core's own events, which only the server sends.
pub const CORE_NAMESPACE: &str = "core";

/// Why an event was not queued.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The payload claims the `core` namespace, which only the server itself uses.
    #[error("the namespace \"core\" is reserved for polyproto-core's own events")]
    ReservedNamespace,
    /// The Federation ID is not of this server's domain.
    #[error("{0} is not an actor of this server")]
    NotLocal(FederationId),
    /// No actor has this Federation ID.
    #[error("no actor {0}")]
    UnknownActor(FederationId),
    /// The payload could not be serialized.
    #[error("serializing the payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues events for local actors' sessions ([`Server::events`](crate::Server::events)).
///
/// An event is stored in each live session's queue in one transaction and,
/// once committed, pushed to the session's gateway sockets (an envelope with
/// the payload's namespace, opcode and a sequence number); sessions not connected read it later
/// from the gateway (Resume) or `GET /events`. Each queue keeps at most the
/// store's bound of pending events, dropping the oldest.
///
/// ```
/// use p2core_types::events::EventPayload;
/// use serde::{Deserialize, Serialize};
///
/// /// A chat message notice of an embedding chat server.
/// #[derive(Serialize, Deserialize)]
/// struct NewMessage { channel: String, id: u64 }
///
/// impl EventPayload for NewMessage {
///     const NAMESPACE: &'static str = "chat";
///     const OPCODE: u16 = 1;
/// }
/// # async fn send(events: p2core_server::EventPublisher<p2core_server::storage::sqlite::SqliteStore>,
/// #               to: p2core_types::FederationId) -> Result<(), p2core_server::PublishError> {
/// let sessions = events.to_actor(&to, &NewMessage { channel: "general".into(), id: 7 }).await?;
/// # let _ = sessions; Ok(()) }
/// ```
pub struct EventPublisher<S> {
    state: SharedState<S>,
}

impl<S> Clone for EventPublisher<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
        }
    }
}

impl<S> std::fmt::Debug for EventPublisher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").finish_non_exhaustive()
    }
}

impl<S: Store> EventPublisher<S> {
    pub(crate) fn new(state: SharedState<S>) -> Self {
        Self { state }
    }

    /// Queues `payload` for every live session of the local actor `fid`;
    /// returns how many sessions it was queued for.
    pub async fn to_actor<P: EventPayload>(
        &self,
        fid: &FederationId,
        payload: &P,
    ) -> Result<u64, PublishError> {
        self.publish(fid, None, PendingEvent::new(payload)?).await
    }

    /// Queues `payload` for one session of the local actor `fid`; returns 1,
    /// or 0 when that session is not live.
    pub async fn to_session<P: EventPayload>(
        &self,
        fid: &FederationId,
        session: &SessionId,
        payload: &P,
    ) -> Result<u64, PublishError> {
        self.publish(fid, Some(session), PendingEvent::new(payload)?)
            .await
    }

    /// Queues an already serialized event (namespace, opcode, JSON payload).
    pub async fn publish(
        &self,
        fid: &FederationId,
        session: Option<&SessionId>,
        event: PendingEvent,
    ) -> Result<u64, PublishError> {
        if event.n == CORE_NAMESPACE {
            return Err(PublishError::ReservedNamespace);
        }
        if fid.domain() != &self.state.settings.domain {
            return Err(PublishError::NotLocal(fid.clone()));
        }
        let actor_id = self
            .state
            .store
            .actor_exists(fid)
            .await?
            .ok_or_else(|| PublishError::UnknownActor(fid.clone()))?;
        Ok(self
            .state
            .store
            .queue_event(actor_id, session, &event, UnixTimestamp::now())
            .await?)
    }
}
