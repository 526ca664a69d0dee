//! Markdown reference of every route, generated from [`all_routes`].
//!
//! The workspace keeps the output in `docs/routes.md`; a test of this crate fails when that
//! file is stale. Refresh it with `P2CORE_BLESS=1 cargo test -p p2core-routes`.

use std::fmt::Write as _;

use crate::{AuthRequirement, BodyKind, COMMON_ERRORS, LegacyEncoding, RouteInfo, all_routes};

/// Renders `docs/routes.md`.
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from crates/p2core-routes (p2core_routes::docs::render_markdown). \
         Do not edit by hand: run `P2CORE_BLESS=1 cargo test -p p2core-routes`. -->\n\n",
    );
    out.push_str("# p2core HTTP routes\n\n");
    let _ = writeln!(
        out,
        "Every route p2core serves, from the definitions in `crates/p2core-routes`. Current \
         routes live under `{}`; legacy `/p2core/…` paths from seeds 002/003 are served as \
         aliases of their successors.\n",
        crate::BASE_PATH
    );
    out.push_str("Conventions (design §5):\n\n");
    out.push_str(
        "- Authentication: `Authorization: Bearer <session token>` where the table says so.\n",
    );
    out.push_str(
        "- JSON bodies are `application/json`; PEM bodies (certificates, CSRs, public keys) \
         are `text/plain; charset=utf-8`.\n",
    );
    out.push_str(
        "- Every 4xx/5xx answer has the body `{\"errcode\": <status>, \"error\": \"<CODE>\", \
         \"message\": \"<text>\"}`.\n",
    );
    let _ = writeln!(
        out,
        "- Besides the codes listed per route, any route may answer {}.",
        codes(COMMON_ERRORS)
    );
    out.push_str(
        "- Timestamps are UNIX seconds, accepted as JSON numbers or decimal strings and \
         written as numbers.\n",
    );
    out.push_str(
        "- Legacy encoding `Base64Pem`: on that legacy path the JSON fields `csr` and \
         `id_cert` carry standard Base64 of the PEM text.\n\n",
    );

    out.push_str("## Overview\n\n");
    out.push_str("| Name | Method | Path | Auth | Answers | Legacy paths |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for r in all_routes() {
        let _ = writeln!(
            out,
            "| [`{name}`](#{name}) | {method} | `{path}` | {auth} | {status} | {legacy} |",
            name = r.name,
            method = r.method,
            path = r.path,
            auth = auth_short(r.auth),
            status = statuses(r),
            legacy = if r.legacy_paths.is_empty() {
                "—".to_owned()
            } else {
                r.legacy_paths
                    .iter()
                    .map(|l| format!("{} `{}`", l.method, l.path))
                    .collect::<Vec<_>>()
                    .join("<br>")
            },
        );
    }
    out.push('\n');

    for r in all_routes() {
        section(&mut out, r);
    }
    out
}

fn section(out: &mut String, r: &RouteInfo) {
    let _ = writeln!(out, "## {}\n", r.name);
    let _ = writeln!(out, "`{} {}`\n", r.method, r.path);
    let _ = writeln!(out, "{}\n", r.summary);
    if let Some(successor) = r.gone {
        let _ = writeln!(
            out,
            "**Removed.** Answers `410 P2CORE_GONE` naming its successor `{successor}`.\n"
        );
    }
    let _ = writeln!(out, "- Module: `p2core_routes::{}`", r.name);
    let _ = writeln!(out, "- Defined by: {}", r.seed);
    let _ = writeln!(out, "- Auth: {}", r.auth.describe());
    let _ = writeln!(out, "- Request body: {}", r.request_body.describe());
    if !r.query.is_empty() {
        let params = r
            .query
            .iter()
            .map(|q| format!("`{q}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(out, "- Query parameters (optional): {params}");
        if r.query_json_body {
            out.push_str("; also accepted as a JSON object body (seed 004)");
        }
        out.push('\n');
    }
    if r.gone.is_some() {
        let _ = writeln!(
            out,
            "- Response: {} with the JSON error body",
            r.success_status
        );
    } else {
        let _ = writeln!(
            out,
            "- Response: {} with {}",
            r.success_status,
            match r.response_body {
                BodyKind::None => "no body".to_owned(),
                kind => kind.describe().to_owned(),
            }
        );
    }
    if let Some(alt) = r.alt_success_status {
        let _ = writeln!(out, "- Also: {alt} with no body");
    }
    for l in r.legacy_paths {
        let _ = writeln!(
            out,
            "- Legacy path: `{} {}` ({})",
            l.method,
            l.path,
            match l.encoding {
                LegacyEncoding::Same => "same bodies",
                LegacyEncoding::Base64Pem => "`csr`/`id_cert` as Base64 of the PEM text",
            }
        );
    }
    let _ = writeln!(
        out,
        "- Errors: {}",
        if r.errors.is_empty() {
            "only the common ones".to_owned()
        } else {
            codes(r.errors)
        }
    );
    out.push('\n');
}

fn statuses(r: &RouteInfo) -> String {
    match r.alt_success_status {
        Some(alt) => format!("{} or {}", r.success_status, alt),
        None => r.success_status.to_string(),
    }
}

fn auth_short(a: AuthRequirement) -> &'static str {
    match a {
        AuthRequirement::None => "none",
        AuthRequirement::Session => "session",
        AuthRequirement::Admin => "admin",
    }
}

fn codes(list: &[p2core_types::ErrorCode]) -> String {
    list.iter()
        .map(|c| format!("{} `{}`", c.status(), c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
