//! Every route of the seed pages has a definition.
//!
//! The expected routes are listed here by hand, so the test runs without the seed files;
//! when `shared/seeds/` is present beside the repository (as in CI), the routes are also
//! parsed out of the seed pages and must be exactly the hand-written list. The same goes
//! for the route table of `shared/design.md` §4.

use std::collections::BTreeSet;
use std::path::PathBuf;

use p2core_routes::{BASE_PATH, LegacyEncoding, all_routes, http::Method, route};

/// (seed file prefix, method, path as written in the seed, route name that serves it).
const SEED_ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "000",
        "POST",
        "/.p2/core/v1/keypackage/@me",
        "upload_key_packages",
    ),
    (
        "000",
        "PUT",
        "/.p2/core/v1/keypackage_lr",
        "replace_last_resort_key_package",
    ),
    (
        "001",
        "POST",
        "/.p2/core/v1/session/idcert",
        "rotate_session_idcert",
    ),
    (
        "001",
        "POST",
        "/.p2/core/v1/keypackage/@me",
        "upload_key_packages",
    ),
    (
        "001",
        "PUT",
        "/.p2/core/v1/keypackage_lr",
        "replace_last_resort_key_package",
    ),
    ("002", "POST", "/p2core/key/user/@me", "legacy_key_user"),
    (
        "002",
        "POST",
        "/p2core/keypackage/@me",
        "upload_key_packages",
    ),
    (
        "002",
        "PUT",
        "/p2core/keypackage_lr",
        "replace_last_resort_key_package",
    ),
    ("003", "POST", "/p2core/identity", "register"),
    ("003", "POST", "/p2core/session/trust", "session_trust"),
    (
        "003",
        "POST",
        "/p2core/session/idcert",
        "rotate_session_idcert",
    ),
    (
        "003",
        "POST",
        "/p2core/keypackage/@me",
        "upload_key_packages",
    ),
    (
        "003",
        "PUT",
        "/p2core/keypackage_lr",
        "replace_last_resort_key_package",
    ),
    ("004", "GET", "/.p2/core/v1/challenge", "challenge"),
    ("004", "PUT", "/.p2/core/v1/key/server", "rotate_server_key"),
    ("004", "GET", "/.p2/core/v1/idcert/server", "server_idcert"),
    ("004", "GET", "/.p2/core/v1/key/server", "server_public_key"),
    (
        "004",
        "GET",
        "/.p2/core/v1/idcert/actor/:fid",
        "actor_idcerts",
    ),
    (
        "004",
        "PUT",
        "/.p2/core/v1/session/idcert/extern",
        "update_extern_idcert",
    ),
    ("004", "DELETE", "/.p2/core/v1/session", "delete_session"),
    (
        "004",
        "GET",
        "/.p2/core/v1/keypackage/:fid",
        "get_key_packages",
    ),
    ("004", "GET", "/.p2/core/v1/events", "events"),
];

/// Routes the design adds beyond the seeds (design §4).
const DESIGN_ONLY: &[(&str, &str, &str)] = &[
    ("POST", "/.p2/core/v1/session/identify", "session_identify"),
    // The WebSocket gateway (issue 9; docs/protocol-choices.md "Gateway").
    ("GET", "/.p2/core/v1/gateway", "gateway"),
    ("GET", "/.p2/core/v1/gateway/ws", "gateway_ws"),
];

/// `:param` (seed syntax) → `{param}` (axum 0.8 syntax).
fn to_template(path: &str) -> String {
    path.split('/')
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks that route `name` serves `method path` (current path, legacy path, or the
/// path of a removed route) and returns how.
fn served_by(name: &str, method: &str, path: &str) -> &'static str {
    let r = route(name).unwrap_or_else(|| panic!("no route named {name}"));
    let method: Method = method.parse().unwrap();
    let template = to_template(path);
    if r.method == method && r.path == template {
        return if r.gone.is_some() { "gone" } else { "current" };
    }
    if r.legacy_paths
        .iter()
        .any(|l| l.method == method && l.path == template)
    {
        return "legacy";
    }
    panic!("route {name} does not serve {method} {path}");
}

#[test]
fn every_seed_route_is_defined() {
    for (seed, method, path, name) in SEED_ROUTES {
        let how = served_by(name, method, path);
        match *seed {
            "000" | "001" | "004" => assert_eq!(how, "current", "{method} {path}"),
            _ => {
                assert!(path.starts_with("/p2core/"));
                if *name == "legacy_key_user" {
                    assert_eq!(how, "gone");
                    assert_eq!(
                        route(name).unwrap().gone,
                        Some("/.p2/core/v1/session/idcert")
                    );
                } else {
                    assert_eq!(how, "legacy", "{method} {path}");
                    assert!(route(name).unwrap().path.starts_with(BASE_PATH));
                }
            }
        }
    }
    // Seed 003's "Create Identity" and "Authenticate Session" live on under their v1 names.
    assert_eq!(route("register").unwrap().path, "/.p2/core/v1/register");
    assert_eq!(
        route("session_trust").unwrap().path,
        "/.p2/core/v1/session/trust"
    );
    // Seed 003 marks `csr`/`id_cert` as Base64 on its paths; the KeyPackage bodies are unchanged.
    let enc = |name: &str, path: &str| {
        route(name)
            .unwrap()
            .legacy_paths
            .iter()
            .find(|l| l.path == path)
            .unwrap()
            .encoding
    };
    assert_eq!(
        enc("session_trust", "/p2core/session/trust"),
        LegacyEncoding::Base64Pem
    );
    assert_eq!(
        enc("rotate_session_idcert", "/p2core/session/idcert"),
        LegacyEncoding::Base64Pem
    );
    assert_eq!(enc("register", "/p2core/identity"), LegacyEncoding::Same);
    assert_eq!(
        enc("upload_key_packages", "/p2core/keypackage/@me"),
        LegacyEncoding::Same
    );

    for (method, path, name) in DESIGN_ONLY {
        assert_eq!(served_by(name, method, path), "current");
    }
}

#[test]
fn every_definition_comes_from_a_seed_or_the_design() {
    let known: BTreeSet<&str> = SEED_ROUTES
        .iter()
        .map(|(_, _, _, n)| *n)
        .chain(DESIGN_ONLY.iter().map(|(_, _, n)| *n))
        .collect();
    let defined: BTreeSet<&str> = all_routes().iter().map(|r| r.name).collect();
    assert_eq!(known, defined);
}

fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.is_dir().then_some(dir)
}

/// `(METHOD, path)` pairs of one seed page: each `<span class="request request-xxx">METHOD</span>`
/// heading followed (on a later line) by a backticked path.
fn parse_seed(text: &str) -> Vec<(String, String)> {
    const MARK: &str = "<span class=\"request request-";
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(start) = line.find(MARK) else {
            continue;
        };
        let rest = &line[start + MARK.len()..];
        let (class, rest) = rest.split_once("\">").expect("span class");
        let (method, _) = rest.split_once("</span>").expect("span end");
        assert_eq!(class, method.to_ascii_lowercase(), "{line}");
        let path = lines
            .by_ref()
            .map(str::trim)
            .find(|l| l.starts_with('`') && l.ends_with('`') && l.len() > 2)
            .expect("a backticked path after the heading");
        out.push((method.to_owned(), path.trim_matches('`').to_owned()));
    }
    out
}

#[test]
fn seed_pages_match_the_list() {
    let Some(shared) = shared_dir() else {
        eprintln!("shared/seeds not found beside the repository; checked the built-in list only");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(shared.join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut parsed = BTreeSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = &name[..3];
        let text = std::fs::read_to_string(file).unwrap();
        let routes = parse_seed(&text);
        assert!(!routes.is_empty(), "{name}: no routes found");
        for (method, path) in routes {
            parsed.insert((prefix.to_owned(), method, path));
        }
    }
    let listed: BTreeSet<(String, String, String)> = SEED_ROUTES
        .iter()
        .map(|(s, m, p, _)| (s.to_string(), m.to_string(), p.to_string()))
        .collect();
    assert_eq!(parsed, listed, "the seed pages and SEED_ROUTES differ");
}

#[test]
fn design_table_matches_the_routes() {
    let Some(shared) = shared_dir() else {
        eprintln!("shared/design.md not found; skipped");
        return;
    };
    let text = std::fs::read_to_string(shared.join("design.md")).unwrap();
    let mut rows = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 3
            && ["GET", "POST", "PUT", "DELETE"].contains(&cells[1])
            && cells[2].starts_with("`/")
        {
            rows.insert((cells[1].to_owned(), cells[2].trim_matches('`').to_owned()));
        }
    }
    assert_eq!(rows.len(), 14, "design §4 lists 14 routes: {rows:?}");
    // The design's §4 table plus `/session/identify` (named in the text below it) are
    // exactly the current routes.
    rows.insert(("POST".into(), "/session/identify".into()));
    // The gateway's discovery route and WebSocket endpoint (issue 9).
    rows.insert(("GET".into(), "/gateway".into()));
    rows.insert(("GET".into(), "/gateway/ws".into()));
    let current: BTreeSet<(String, String)> = all_routes()
        .iter()
        .filter(|r| r.gone.is_none())
        .map(|r| {
            (
                r.method.to_string(),
                r.path.strip_prefix(BASE_PATH).unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(rows, current);
}
