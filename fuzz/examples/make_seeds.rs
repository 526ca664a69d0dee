//! Writes seed inputs made by openmls and p2core into `corpus/<target>/`
//! (run by `fuzz/seed.sh`; the corpora are not committed).
#![forbid(unsafe_code)]

use std::path::Path;

use p2core_fuzz::{FIXTURE, NOW};
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::events::{Event, LowKeyPackages, NewSession};
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{ChallengeString, FederationId, SessionId};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("corpus dir");
    std::fs::write(d.join(name), bytes).expect("seed file");
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let dir = Path::new(&dir);
    let f = &*FIXTURE;
    let fid = FederationId::new("alice@example.com").expect("fid");
    let key = SigningKey::from_bytes(&[7; 32]);

    // openmls KeyPackages (regular and last resort), as TLS bytes and Base64
    let kps = generate_key_packages(&key, &fid, 2, false).expect("openmls");
    let lr = generate_key_packages(&key, &fid, 1, true).expect("openmls");
    for (i, kp) in kps.iter().chain(lr.iter()).enumerate() {
        write(
            dir,
            "keypackage",
            &format!("openmls-{i}.tls"),
            kp.tls_bytes(),
        );
        write(
            dir,
            "keypackage",
            &format!("openmls-{i}.b64"),
            kp.to_base64().as_bytes(),
        );
        let body = serde_json::to_vec(&vec![kp.to_base64()]).expect("json");
        write(dir, "route_bodies", &format!("upload-{i}.json"), &body);
    }

    // p2core's own root, CSR and actor certificate
    let csr =
        p2core_certs::build_csr(&key, &f.actor, &SessionId::new("s1").expect("sid")).expect("csr");
    let cert = f.issuer.issue(&csr, &f.actor, NOW, None, 9).expect("cert");
    write(dir, "idcert", "p2core-root.der", f.root.as_der());
    write(dir, "idcert", "p2core-actor.der", cert.as_der());
    write(dir, "idcert", "p2core-actor.pem", cert.to_pem().as_bytes());
    write(dir, "idcsr", "p2core.der", csr.as_der());
    write(dir, "idcsr", "p2core.pem", csr.to_pem().as_bytes());
    let legacy = p2core_routes::legacy::pem_to_base64(&csr.to_pem());
    write(dir, "legacy_pem", "csr.b64", legacy.as_bytes());
    let body = serde_json::json!({"username": "alice", "password": "pw", "csr": legacy});
    write(dir, "legacy_pem", "trust.json", body.to_string().as_bytes());

    // identifiers
    let challenge = ChallengeString::generate(NOW, std::time::Duration::from_secs(300));
    for (i, s) in [
        "alice@example.com".to_owned(),
        "example.com".to_owned(),
        "laptop-1".to_owned(),
        "1800000000".to_owned(),
        serde_json::to_string(&challenge).expect("json"),
    ]
    .iter()
    .enumerate()
    {
        write(dir, "identifiers", &format!("seed-{i}"), s.as_bytes());
    }

    // route bodies
    let bodies = [
        serde_json::json!({"username": "alice", "password": "pw"}),
        serde_json::json!({"username": "alice", "password": "pw", "csr": csr.to_pem()}),
        serde_json::json!({"csr": csr.to_pem()}),
        serde_json::json!({"session_id": "laptop"}),
        serde_json::json!({"timestamp": "1800000000", "session_id": "s1"}),
        serde_json::json!({"completed_challenge": {"challenge": challenge.challenge(), "signature": challenge.solve(&key)}, "id_cert": cert.to_pem()}),
    ];
    for (i, b) in bodies.iter().enumerate() {
        write(
            dir,
            "route_bodies",
            &format!("body-{i}.json"),
            b.to_string().as_bytes(),
        );
    }
    write(
        dir,
        "route_bodies",
        "query",
        b"timestamp=1800000000&session_id=s1",
    );

    // event envelopes
    let events = [
        Event::new(
            &NewSession {
                cert: cert.to_pem(),
            },
            1,
        )
        .expect("event"),
        Event::new(
            &LowKeyPackages {
                remaining: 2,
                last_resort_used: false,
            },
            2,
        )
        .expect("event"),
    ];
    for (i, e) in events.iter().enumerate() {
        write(
            dir,
            "gateway_envelope",
            &format!("event-{i}.json"),
            serde_json::to_string(e).expect("json").as_bytes(),
        );
    }
    write(
        dir,
        "gateway_envelope",
        "events.json",
        serde_json::to_string(&events).expect("json").as_bytes(),
    );
}
