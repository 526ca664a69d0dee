//! The router: every route of `p2core_routes::all_routes()` bound to its handler.

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::Response;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post, put};
use p2core_routes::{LegacyEncoding, RouteInfo};
use p2core_types::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::handlers::{events, federation, identity, keypackages, legacy, server};
use crate::limits::{self, RateLimit};
use crate::serve;
use crate::state::SharedState;
use crate::storage::Store;

/// Looks a route up by name in the route table.
///
/// # Panics
/// If `name` is not in the table: the table is static, and the test suite
/// checks that every name used here exists.
fn info(name: &str) -> &'static RouteInfo {
    p2core_routes::route(name)
        .unwrap_or_else(|| panic!("route {name} is missing from p2core_routes::all_routes()"))
}

fn bind<S: Store>(
    mut router: Router<SharedState<S>>,
    name: &str,
    handler: MethodRouter<SharedState<S>>,
    legacy_handler: Option<MethodRouter<SharedState<S>>>,
) -> Router<SharedState<S>> {
    let info = info(name);
    router = router.route(info.path, handler.clone());
    for lp in info.legacy_paths {
        let h = match (lp.encoding, &legacy_handler) {
            (LegacyEncoding::Base64Pem, Some(l)) => l.clone(),
            _ => handler.clone(),
        };
        router = router.route(lp.path, h);
    }
    router
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    ApiError::new(ErrorCode::Internal, "internal server error").into_response()
}

/// Puts a per-client-address rate limit (if configured) in front of a route.
fn limited<S: Store>(
    handler: MethodRouter<SharedState<S>>,
    limit: &Option<Arc<RateLimit>>,
    state: &SharedState<S>,
) -> MethodRouter<SharedState<S>> {
    match limit {
        Some(l) => handler.layer(axum::middleware::from_fn_with_state(
            (l.clone(), state.clone()),
            limits::rate_limited::<S>,
        )),
        None => handler,
    }
}

/// The tracing span of a request: method and path only. The query string and
/// the headers are left out because they may carry passwords or tokens.
fn request_span(req: &axum::http::Request<Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
}

/// Every route with its layers (body limit, timeouts, panic catching,
/// tracing, rate limits), without fallbacks: it merges into any router.
pub(crate) fn routes<S: Store, T: Clone + Send + Sync + 'static>(
    state: SharedState<S>,
) -> Router<T> {
    let max_body = state.settings.http.max_body_bytes;
    let timeouts = serve::RequestTimeouts {
        body: state.settings.http.body_timeout,
        whole: state.settings.http.request_timeout,
    };
    let mut r: Router<SharedState<S>> = Router::new();
    let rl = &state.rate_limits;
    r = bind(
        r,
        "register",
        limited(post(identity::register::<S>), &rl.register, &state),
        None,
    );
    r = bind(
        r,
        "session_trust",
        limited(post(identity::session_trust::<S>), &rl.trust, &state),
        Some(limited(post(legacy::session_trust::<S>), &rl.trust, &state)),
    );
    r = bind(
        r,
        "rotate_session_idcert",
        post(identity::rotate_session_idcert::<S>),
        Some(post(legacy::rotate_session_idcert::<S>)),
    );
    r = bind(
        r,
        "upload_key_packages",
        post(keypackages::upload_key_packages::<S>),
        None,
    );
    r = bind(
        r,
        "replace_last_resort_key_package",
        put(keypackages::replace_last_resort_key_package::<S>),
        None,
    );
    r = bind(
        r,
        "challenge",
        limited(get(server::challenge::<S>), &rl.challenge, &state),
        None,
    );
    r = bind(
        r,
        "rotate_server_key",
        put(server::rotate_server_key::<S>),
        None,
    );
    r = bind(r, "server_idcert", get(server::server_idcert::<S>), None);
    r = bind(
        r,
        "server_public_key",
        get(server::server_public_key::<S>),
        None,
    );
    r = bind(r, "actor_idcerts", get(server::actor_idcerts::<S>), None);
    r = bind(
        r,
        "update_extern_idcert",
        put(federation::update_extern_idcert::<S>),
        None,
    );
    r = bind(
        r,
        "delete_session",
        delete(identity::delete_session::<S>),
        None,
    );
    r = bind(
        r,
        "get_key_packages",
        get(keypackages::get_key_packages::<S>),
        None,
    );
    r = bind(r, "events", get(events::events::<S>), None);
    r = bind(
        r,
        "session_identify",
        limited(
            post(federation::session_identify::<S>),
            &rl.identify,
            &state,
        ),
        None,
    );
    r = bind(r, "gateway", get(crate::gateway::discovery::<S>), None);
    r = bind(r, "gateway_ws", get(crate::gateway::upgrade::<S>), None);
    let gone = info("legacy_key_user");
    let successor = gone.gone.unwrap_or("/.p2/core/v1/session/idcert");
    r = r.route(gone.path, post(move || legacy::gone(successor)));

    r.layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            timeouts,
            serve::request_timeouts,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// `router` with JSON answers for unknown paths (404) and methods (405).
pub(crate) fn with_fallbacks(router: Router) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}
