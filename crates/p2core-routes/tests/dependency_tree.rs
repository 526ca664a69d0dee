//! Without the `client` feature the crate pulls in no async runtime, HTTP client or TLS.

use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "hyper-util",
    "rustls",
    "ring",
    "aws-lc-rs",
    "aws-lc-sys",
    "openmls",
];

fn tree(features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "tree",
        "-p",
        "p2core-routes",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]);
    for f in features {
        cmd.args(["--features", f]);
    }
    let out = cmd.output().expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn no_runtime_http_or_tls_without_client() {
    let names = tree(&[]);
    assert!(names.iter().any(|n| n == "p2core-types"), "{names:?}");
    for bad in FORBIDDEN {
        assert!(
            !names.iter().any(|n| n == bad),
            "{bad} is a dependency without `client`"
        );
    }
    // The check can see them: with `client` reqwest, tokio and ring are there, aws-lc is not.
    let with_client = tree(&["client"]);
    for needed in ["reqwest", "tokio", "rustls", "ring"] {
        assert!(
            with_client.iter().any(|n| n == needed),
            "{needed} missing with `client`"
        );
    }
    for absent in ["aws-lc-rs", "aws-lc-sys", "openmls"] {
        assert!(
            !with_client.iter().any(|n| n == absent),
            "{absent} pulled in by `client`"
        );
    }
}
