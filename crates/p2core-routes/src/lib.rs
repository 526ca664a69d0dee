#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use http::Method;
use p2core_types::ErrorCode;

mod meta;
mod redact;

/// Defines an endpoint module's marker type `Route`, implementing [`Endpoint`]
/// with the module's `INFO` and the given request and response types.
#[macro_export]
#[doc(hidden)]
macro_rules! endpoint_marker {
    ($request:ty, $response:ty) => {
        /// Marker type carrying this endpoint's [`Endpoint`](crate::Endpoint) implementation.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Route;

        impl $crate::Endpoint for Route {
            const INFO: $crate::RouteInfo = INFO;
            type Request = $request;
            type Response = $response;
        }
    };
}

pub mod docs;
pub mod legacy;
pub mod path;
pub mod query;

pub mod actor_idcerts;
pub mod challenge;
pub mod delete_session;
pub mod events;
pub mod gateway;
pub mod gateway_ws;
pub mod get_key_packages;
pub mod legacy_key_user;
pub mod register;
pub mod replace_last_resort_key_package;
pub mod rotate_server_key;
pub mod rotate_session_idcert;
pub mod server_idcert;
pub mod server_public_key;
pub mod session_identify;
pub mod session_trust;
pub mod update_extern_idcert;
pub mod upload_key_packages;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "gateway")]
pub mod gateway_client;

pub use meta::{
    AuthRequirement, BodyKind, Endpoint, LegacyEncoding, LegacyPath, PathMatch, PathVariant,
    RouteInfo,
};

/// Re-exported so users name the same `http` crate as this one.
pub use http;
/// Re-exported: the request/response types hold `p2core-types` values
/// ([`FederationId`](p2core_types::FederationId), [`ErrorCode`], …).
pub use p2core_types;
/// Re-exported: `auth_payload` and `payload` fields are [`serde_json::Value`]s.
pub use serde_json;

/// The base path of every current core route.
pub const BASE_PATH: &str = "/.p2/core/v1";

/// Error codes any route may answer with, in addition to its [`RouteInfo::errors`]:
/// malformed requests, oversized bodies, wrong methods, a request not sent in time,
/// a server at a capacity limit or shutting down, and internal failures.
pub const COMMON_ERRORS: &[ErrorCode] = &[
    ErrorCode::BadRequest,
    ErrorCode::PayloadTooLarge,
    ErrorCode::MethodNotAllowed,
    ErrorCode::RequestTimeout,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
];

static ROUTES: [RouteInfo; 18] = [
    register::INFO,
    session_trust::INFO,
    rotate_session_idcert::INFO,
    upload_key_packages::INFO,
    replace_last_resort_key_package::INFO,
    challenge::INFO,
    rotate_server_key::INFO,
    server_idcert::INFO,
    server_public_key::INFO,
    actor_idcerts::INFO,
    update_extern_idcert::INFO,
    delete_session::INFO,
    get_key_packages::INFO,
    events::INFO,
    session_identify::INFO,
    gateway::INFO,
    gateway_ws::INFO,
    legacy_key_user::INFO,
];

/// Every route, in a stable order (registration and login, sessions, KeyPackages, server
/// keys and certificates, foreign-actor routes, then removed routes).
pub fn all_routes() -> &'static [RouteInfo] {
    &ROUTES
}

/// The route called `name` (its module name), if any.
pub fn route(name: &str) -> Option<&'static RouteInfo> {
    ROUTES.iter().find(|r| r.name == name)
}

/// Matches a request method and path (without query string) against every route's
/// current and legacy paths.
///
/// Static segments win over parameters, as in axum: `POST /.p2/core/v1/keypackage/@me`
/// is `upload_key_packages`, and `GET /.p2/core/v1/keypackage/@me` matches nothing (a 405,
/// see [`allowed_methods`]) rather than `get_key_packages` with `fid = "@me"`.
pub fn find_route(method: &Method, path: &str) -> Option<PathMatch> {
    let fewest = ROUTES
        .iter()
        .flat_map(|r| r.all_paths())
        .filter_map(|(_, t, _)| meta::match_template(t, path).map(|p| p.len()))
        .min()?;
    ROUTES
        .iter()
        .filter_map(|r| r.match_request(method, path))
        .find(|m| m.params.len() == fewest)
}

/// The methods some route accepts on `path` (current or legacy), for a `405`'s `Allow`
/// header. Empty when no route has this path.
///
/// Like axum, a template without parameters shadows parameterised ones: on
/// `/.p2/core/v1/keypackage/@me` only `POST` is allowed, although `GET
/// /.p2/core/v1/keypackage/{fid}` would match the text.
pub fn allowed_methods(path: &str) -> Vec<Method> {
    let mut found: Vec<(usize, &Method)> = Vec::new();
    for r in &ROUTES {
        for (m, t, _) in r.all_paths() {
            if let Some(params) = meta::match_template(t, path) {
                found.push((params.len(), m));
            }
        }
    }
    let Some(fewest) = found.iter().map(|(n, _)| *n).min() else {
        return Vec::new();
    };
    let mut out: Vec<Method> = Vec::new();
    for (n, m) in found {
        if n == fewest && !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_consistent() {
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        for r in all_routes() {
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert_eq!(route(r.name), Some(r));
            for (m, p, _) in r.all_paths() {
                assert!(
                    keys.insert((m.clone(), p)),
                    "{m} {p} defined twice (route {})",
                    r.name
                );
                assert!(p.starts_with('/') && !p.ends_with('/'));
                assert!(!p.contains(':'), "{p}: use {{param}}, not :param");
            }
            if r.gone.is_some() {
                assert!(r.path.starts_with("/p2core/"));
                assert_eq!(r.success_status, 410);
                assert_eq!(r.errors, &[ErrorCode::Gone]);
            } else {
                assert!(r.path.starts_with(&format!("{BASE_PATH}/")), "{}", r.path);
                // 101 only for the WebSocket upgrade.
                assert!(
                    (200..300).contains(&r.success_status)
                        || (r.success_status == 101 && r.name == "gateway_ws")
                );
                assert!(r.alt_success_status.is_none_or(|s| (200..300).contains(&s)));
            }
            for l in r.legacy_paths {
                assert!(l.path.starts_with("/p2core/"));
            }
            if r.auth.needs_token() {
                assert!(r.errors.contains(&ErrorCode::Unauthorized), "{}", r.name);
            }
            if r.auth == AuthRequirement::Admin {
                assert!(r.errors.contains(&ErrorCode::NotAdministrator));
            }
            if r.query_json_body {
                assert!(!r.query.is_empty());
                assert_eq!(r.request_body, BodyKind::None);
            }
            assert!(!r.summary.is_empty() && !r.seed.is_empty());
        }
        assert_eq!(route("nope"), None);
    }

    #[test]
    fn endpoint_trait_matches_module_consts() {
        fn info<E: Endpoint>() -> RouteInfo {
            E::INFO
        }
        assert_eq!(info::<register::Route>(), register::INFO);
        assert_eq!(info::<events::Route>(), events::INFO);
        assert_eq!(info::<legacy_key_user::Route>(), legacy_key_user::INFO);
    }

    #[test]
    fn matching() {
        let m = find_route(&Method::POST, "/.p2/core/v1/keypackage/@me").unwrap();
        assert_eq!(m.route.name, "upload_key_packages");
        let m = find_route(&Method::GET, "/.p2/core/v1/keypackage/bob%40example.com").unwrap();
        assert_eq!(m.route.name, "get_key_packages");
        assert_eq!(m.param("fid"), Some("bob@example.com"));
        let m = find_route(&Method::GET, "/.p2/core/v1/idcert/actor/a@b.c").unwrap();
        assert_eq!(
            (m.route.name, m.variant),
            ("actor_idcerts", PathVariant::Current)
        );
        assert!(find_route(&Method::GET, "/.p2/core/v1/idcert/actor/").is_none());
        assert!(find_route(&Method::GET, "/.p2/core/v1/idcert/actor/a/b").is_none());
        let m = find_route(&Method::POST, "/p2core/identity").unwrap();
        assert_eq!(m.route.name, "register");
        assert!(matches!(m.variant, PathVariant::Legacy(l) if l.encoding == LegacyEncoding::Same));
        let m = find_route(&Method::POST, "/p2core/key/user/@me").unwrap();
        assert_eq!(m.route.gone, Some("/.p2/core/v1/session/idcert"));
        assert!(find_route(&Method::GET, "/.p2/core/v1/register").is_none());
        assert!(find_route(&Method::GET, "/.p2/core/v1/keypackage/@me").is_none());

        assert_eq!(
            allowed_methods("/.p2/core/v1/key/server"),
            vec![Method::PUT, Method::GET]
        );
        assert_eq!(
            allowed_methods("/.p2/core/v1/keypackage/@me"),
            vec![Method::POST]
        );
        assert_eq!(
            allowed_methods("/.p2/core/v1/keypackage/x@y.z"),
            vec![Method::GET]
        );
        assert!(allowed_methods("/nothing").is_empty());
    }

    #[test]
    fn fill_path() {
        assert_eq!(
            actor_idcerts::INFO.fill_path(&["a b"]).as_deref(),
            Some("/.p2/core/v1/idcert/actor/a%20b")
        );
        assert_eq!(actor_idcerts::INFO.fill_path(&[]), None);
        assert_eq!(actor_idcerts::INFO.fill_path(&["a", "b"]), None);
        assert_eq!(
            challenge::INFO.fill_path(&[]).as_deref(),
            Some(challenge::INFO.path)
        );
        assert_eq!(get_key_packages::INFO.path_params(), vec!["fid"]);
    }
}
