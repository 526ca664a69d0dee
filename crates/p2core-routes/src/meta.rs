//! Route metadata: what a route is, independent of its Rust request/response types.

use std::fmt;

use http::Method;
use p2core_types::ErrorCode;

use crate::path::decode_segment;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthRequirement {
    /// Anyone; no `Authorization` header is needed (one that is sent is ignored).
    None,
    /// `Authorization: Bearer <session token>` of a live session on this server.
    Session,
    /// A session token whose actor is one of the server's administrators
    /// (otherwise `403 P2CORE_NOT_ADMINISTRATOR`).
    Admin,
}

impl AuthRequirement {
    /// Whether a bearer token must be sent.
    pub const fn needs_token(self) -> bool {
        matches!(self, Self::Session | Self::Admin)
    }

    /// A short human-readable description, as used in `docs/routes.md`.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Session => "session token (`Authorization: Bearer …`)",
            Self::Admin => "session token of a server administrator",
        }
    }
}

/// How a legacy path encodes the PEM fields (`csr`, `id_cert`) of its JSON bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegacyEncoding {
    /// The bodies are the same as on the current path.
    Same,
    /// `csr` (in requests) and `id_cert` (in responses) carry standard Base64 of the PEM
    /// text instead of the PEM text itself (seed 003). See [`crate::legacy`].
    Base64Pem,
}

impl LegacyEncoding {
    /// Turns a PEM field received on a path with this encoding into PEM text.
    pub fn decode_pem(self, value: &str) -> Result<String, crate::legacy::LegacyDecodeError> {
        match self {
            Self::Same => Ok(value.to_owned()),
            Self::Base64Pem => crate::legacy::base64_to_pem(value),
        }
    }

    /// Encodes PEM text for a response sent on a path with this encoding.
    pub fn encode_pem(self, pem: &str) -> String {
        match self {
            Self::Same => pem.to_owned(),
            Self::Base64Pem => crate::legacy::pem_to_base64(pem),
        }
    }
}

/// A former path of a route that servers keep answering (an alias of the current path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyPath {
    /// The HTTP method on the legacy path.
    pub method: Method,
    /// The full legacy path, in axum 0.8 syntax (`{param}` for parameters).
    pub path: &'static str,
    /// How the legacy bodies differ from the current ones.
    pub encoding: LegacyEncoding,
}

/// The kind of a request or response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyKind {
    /// No body (responses: empty, `Content-Length: 0`).
    None,
    /// JSON, `Content-Type: application/json`.
    Json,
    /// PEM text (a certificate, CSR or public key), `Content-Type: text/plain; charset=utf-8`.
    PemText,
}

impl BodyKind {
    /// The `Content-Type` a body of this kind is sent with (`None` for no body).
    pub const fn content_type(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Json => Some("application/json"),
            Self::PemText => Some("text/plain; charset=utf-8"),
        }
    }

    /// A short description, as used in `docs/routes.md`.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Json => "JSON (`application/json`)",
            Self::PemText => "PEM text (`text/plain; charset=utf-8`)",
        }
    }
}

/// Everything about one route except its Rust types.
///
/// Every endpoint module has one as `INFO` (also reachable as
/// `<module::Route as Endpoint>::INFO`); [`crate::all_routes`] lists them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// Stable name, equal to the endpoint module's name (e.g. `"register"`).
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The full current path in axum 0.8 syntax, e.g. `/.p2/core/v1/idcert/actor/{fid}`.
    ///
    /// For a [`gone`](Self::gone) route this is the old path that only answers 410.
    pub path: &'static str,
    /// Former paths served as aliases, with their body encodings (seeds 002/003).
    pub legacy_paths: &'static [LegacyPath],
    /// Who may call the route.
    pub auth: AuthRequirement,
    /// The request body.
    pub request_body: BodyKind,
    /// Accepted query parameters (all optional unless the route's docs say otherwise).
    pub query: &'static [&'static str],
    /// Whether the [`query`](Self::query) fields are also accepted as a JSON object body
    /// (seed 004 shows `timestamp`/`session_id` as a body even on `GET`).
    pub query_json_body: bool,
    /// The success response body.
    pub response_body: BodyKind,
    /// The HTTP status of a successful response.
    pub success_status: u16,
    /// A second success status, e.g. `204` for `GET /events` when there is nothing to send.
    pub alt_success_status: Option<u16>,
    /// The route-specific error codes. Every route can in addition answer with
    /// [`COMMON_ERRORS`](crate::COMMON_ERRORS).
    pub errors: &'static [ErrorCode],
    /// One line saying what the route does.
    pub summary: &'static str,
    /// Where the route is defined: seed page(s) and/or section of `shared/design.md`.
    pub seed: &'static str,
    /// `Some(successor path)` for a removed route that only answers `410 P2CORE_GONE`.
    pub gone: Option<&'static str>,
}

/// Which of a route's paths a request path matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathVariant {
    /// The current path ([`RouteInfo::path`]).
    Current,
    /// One of the [`RouteInfo::legacy_paths`].
    Legacy(&'static LegacyPath),
}

impl PathVariant {
    /// The body encoding for this variant ([`LegacyEncoding::Same`] for the current path).
    pub fn encoding(self) -> LegacyEncoding {
        match self {
            Self::Current => LegacyEncoding::Same,
            Self::Legacy(l) => l.encoding,
        }
    }
}

/// A request path matched against a route: which path and the decoded parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch {
    /// The matched route.
    pub route: &'static RouteInfo,
    /// Which of its paths matched.
    pub variant: PathVariant,
    /// Path parameters (`{name}` → percent-decoded value), in path order.
    pub params: Vec<(&'static str, String)>,
}

impl PathMatch {
    /// The value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl RouteInfo {
    /// Names of the path parameters, in order (`["fid"]` for `/idcert/actor/{fid}`).
    pub fn path_params(&self) -> Vec<&'static str> {
        template_params(self.path)
    }

    /// Whether the route is current (not [`gone`](Self::gone)).
    pub const fn is_current(&self) -> bool {
        self.gone.is_none()
    }

    /// Every `(method, path template, encoding)` this route is served on: the current path
    /// first, then the legacy paths.
    pub fn all_paths(&self) -> Vec<(&Method, &'static str, LegacyEncoding)> {
        let mut v = vec![(&self.method, self.path, LegacyEncoding::Same)];
        v.extend(
            self.legacy_paths
                .iter()
                .map(|l| (&l.method, l.path, l.encoding)),
        );
        v
    }

    /// Fills the path parameters in order, percent-encoding each value.
    ///
    /// Returns `None` when `values` does not have one entry per parameter.
    ///
    /// ```
    /// let p = p2core_routes::actor_idcerts::INFO.fill_path(&["alice@example.com"]).unwrap();
    /// assert_eq!(p, "/.p2/core/v1/idcert/actor/alice@example.com");
    /// ```
    pub fn fill_path(&self, values: &[&str]) -> Option<String> {
        fill_template(self.path, values)
    }

    /// Matches a request `method` and `path` (without query) against this route's current
    /// and legacy paths.
    pub fn match_request(&'static self, method: &Method, path: &str) -> Option<PathMatch> {
        if *method == self.method
            && let Some(params) = match_template(self.path, path)
        {
            return Some(PathMatch {
                route: self,
                variant: PathVariant::Current,
                params,
            });
        }
        for legacy in self.legacy_paths {
            if *method == legacy.method
                && let Some(params) = match_template(legacy.path, path)
            {
                return Some(PathMatch {
                    route: self,
                    variant: PathVariant::Legacy(legacy),
                    params,
                });
            }
        }
        None
    }

    /// Whether `path` matches any of this route's paths, whatever the method.
    pub fn matches_path(&self, path: &str) -> bool {
        self.all_paths()
            .iter()
            .any(|(_, t, _)| match_template(t, path).is_some())
    }
}

impl fmt::Display for RouteInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The route-specific metadata plus the Rust types of one endpoint.
///
/// Implemented by the `Route` marker type of every endpoint module, e.g.
/// [`crate::register::Route`].
pub trait Endpoint {
    /// The route's metadata.
    const INFO: RouteInfo;
    /// What a client sends: the JSON/PEM body, or the query / path parameters for routes
    /// without a body (`()` when there is nothing).
    type Request;
    /// What a successful response carries (`()` for no body).
    type Response;
}

fn template_params(template: &'static str) -> Vec<&'static str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn fill_template(template: &str, values: &[&str]) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut values = values.iter();
    for (i, seg) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg.starts_with('{') && seg.ends_with('}') {
            out.push_str(&crate::path::encode_segment(values.next()?));
        } else {
            out.push_str(seg);
        }
    }
    values.next().is_none().then_some(out)
}

/// Matches `path` against a `{param}` template; parameters must be non-empty segments.
pub(crate) fn match_template(
    template: &'static str,
    path: &str,
) -> Option<Vec<(&'static str, String)>> {
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut params = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name, decode_segment(ps)?));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}
