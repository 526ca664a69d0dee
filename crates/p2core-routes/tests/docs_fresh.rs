//! `docs/routes.md` is generated from the route definitions and must be up to date.
//!
//! Refresh it with `P2CORE_BLESS=1 cargo test -p p2core-routes`.

use std::path::PathBuf;

#[test]
fn routes_md_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/routes.md");
    let expected = p2core_routes::docs::render_markdown();
    if std::env::var_os("P2CORE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale; regenerate it with `P2CORE_BLESS=1 cargo test -p p2core-routes` \
         and commit the result",
        path.display()
    );
}

#[test]
fn routes_md_mentions_every_route() {
    let md = p2core_routes::docs::render_markdown();
    for r in p2core_routes::all_routes() {
        assert!(md.contains(&format!("## {}\n", r.name)), "{}", r.name);
        assert!(
            md.contains(&format!("`{} {}`", r.method, r.path)),
            "{}",
            r.name
        );
        for l in r.legacy_paths {
            assert!(md.contains(l.path), "{}", l.path);
        }
        for e in r.errors {
            assert!(md.contains(e.as_str()));
        }
    }
}
