//! The server serves every route of `p2core_routes::all_routes()` on its
//! current path and every legacy path, and answers only with the statuses and
//! error codes the route table declares.

mod common;

use common::*;
use p2core_routes::{AuthRequirement, BodyKind, COMMON_ERRORS, all_routes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_is_served_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw-alice").await;
    let s = trust(&base, &fid, "pw-alice", "one").await;

    let mut checked = 0;
    for route in all_routes() {
        for (method, template, _) in route.all_paths() {
            let path = template.replace("{fid}", fid.as_str());
            let token = (route.auth != AuthRequirement::None).then_some(s.token.as_str());
            let (ct, body): (Option<&str>, Vec<u8>) = match route.request_body {
                BodyKind::Json => (Some("application/json"), b"{}".to_vec()),
                BodyKind::PemText => (Some("text/plain"), b"not a pem".to_vec()),
                BodyKind::None => (None, vec![]),
                other => panic!("no test body for {other:?} (BodyKind is non_exhaustive)"),
            };
            let (status, json) = raw(&base, method.clone(), &path, token, ct, body).await;
            let ok = status == route.success_status || Some(status) == route.alt_success_status;
            if !ok {
                let code = p2core_types::ErrorCode::from_wire(json["error"].as_str().unwrap());
                assert!(
                    route.errors.contains(&code) || COMMON_ERRORS.contains(&code),
                    "{method} {path} ({}) answered {status} {code}, which its route table entry does not declare: {json}",
                    route.name
                );
                assert_ne!(
                    json["message"], "no such route",
                    "{method} {path} is not served"
                );
                assert_ne!(
                    status, 405,
                    "{method} {path} is not served with that method"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= all_routes().len());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_names_the_allowed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let resp = client(&server.base_url())
        .http()
        .delete(format!("{}/.p2/core/v1/register", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allow.as_deref(), Some("POST"));
    server.stop().await.unwrap();
}
