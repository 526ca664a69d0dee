//! `GET /events`: gateway events of the calling session.
//!
//! Without `?ack` (the seed's behaviour) the returned events are removed at
//! once. With `?ack=<s>` every event up to `s` is removed first and the rest is
//! returned but kept until a later `ack` (or a gateway heartbeat) covers it.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use p2core_routes::events::Query;
use p2core_types::events::Event;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::storage::{Caller, Store, StoreError};

/// 200 with the pending events, or 204 when there are none.
pub async fn events<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let q = Query::from_query_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Caller::Local(me) = auth.0 else {
        // Foreign sessions get no events from this server (yet).
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let events: Vec<Event> = match q.ack {
        None => state
            .store
            .take_events(me.actor_id, &me.session_id)
            .await?
            .into_iter()
            .map(|(id, n, op, d)| to_event(id, &n, op, &d))
            .collect::<ApiResult<_>>()?,
        Some(ack) => {
            let upto = i64::try_from(ack).unwrap_or(i64::MAX);
            state
                .store
                .ack_events_through(me.actor_id, &me.session_id, upto)
                .await?;
            state
                .store
                .pending_events(me.actor_id, &me.session_id, me.cert_serial, 0)
                .await
                .map_err(|e| match e {
                    // Revoked since the token was checked, a moment ago.
                    StoreError::NotFound => {
                        ApiError::unauthorized("the session token is unknown, revoked or expired")
                    }
                    e => e.into(),
                })?
                .iter()
                .map(|e| to_event(e.id, &e.n, e.op, &e.d))
                .collect::<ApiResult<_>>()?
        }
    };
    if events.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(events).into_response())
}

fn to_event(id: i64, n: &str, op: u16, d: &str) -> ApiResult<Event> {
    Ok(Event {
        n: n.to_owned(),
        op,
        d: serde_json::from_str(d).map_err(ApiError::internal)?,
        s: u64::try_from(id).map_err(ApiError::internal)?,
    })
}
