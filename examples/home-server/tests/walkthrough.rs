//! Runs the README's curl + jq + OpenSSL walk-through against a fresh server,
//! so the copy-paste instructions cannot rot.

mod common;

use std::process::Command;

/// Panics with a clear message when `tool` cannot be started at all (its exit
/// code does not matter): a machine without it must not report this test as
/// passed. `.ci/run` installs the missing ones.
fn require(tool: &str) {
    if let Err(e) = Command::new(tool).arg("--version").output() {
        panic!(
            "`{tool}` is not installed or not on PATH ({e}); the README walk-through test needs \
             bash, curl, jq and openssl (Debian: apt-get install curl jq openssl; `.ci/run` \
             installs them)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough_runs() {
    for tool in ["bash", "curl", "jq", "openssl"] {
        require(tool);
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("start marker");
    let end = readme.find("<!-- walkthrough:end -->").expect("end marker");
    let block = &readme[start..end];
    let script = block
        .split_once("```bash\n")
        .and_then(|(_, rest)| rest.rsplit_once("```"))
        .map(|(s, _)| s)
        .expect("a ```bash block between the markers");

    let dir = tempfile::tempdir().unwrap();
    let server = common::spawn(dir.path(), "localhost", &[], &[]).await;
    let url = server.base_url();
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .env("P2CORE_URL", url)
            .env("P2CORE_DOMAIN", "localhost")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "walk-through failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("idcert.pem: OK"),
        "openssl verify did not pass:\n{stdout}"
    );
    assert!(stdout.contains("events: 204"), "{stdout}");
    assert!(stdout.contains("walk-through OK"), "{stdout}");
    server.stop().await.unwrap();
}
