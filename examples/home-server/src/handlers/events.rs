//! `GET /events`: gateway events a session missed, delivered once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use p2core_types::events::Event;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::storage::{Caller, Store};

/// Returns and forgets the caller's pending events: 200 with the array, or 204 when there are none.
pub async fn events<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
) -> ApiResult<Response> {
    let Caller::Local(me) = auth.0 else {
        // Foreign sessions get no events from this server (yet).
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let rows = state.store.take_events(me.actor_id, &me.session_id).await?;
    if rows.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let events = rows
        .into_iter()
        .map(|(id, n, op, d)| {
            Ok(Event {
                n,
                op,
                d: serde_json::from_str(&d).map_err(ApiError::internal)?,
                s: u64::try_from(id).map_err(ApiError::internal)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(events).into_response())
}
