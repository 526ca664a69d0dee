//! The official SDK's gateway client (`polyproto` 0.21.0, tungstenite backend)
//! against the p2core home server on loopback: it reads our Hello, identifies,
//! is kept alive by heartbeat requests although it heartbeats far too rarely,
//! and decodes the events we send. What it cannot do is listed in
//! `docs/interop.md` ("Gateway").

use std::sync::Arc;
use std::time::Duration;

use p2core_home_server::admin::{self, AdminCommand};
use p2core_home_server::{Config, RunningServer, start};
use p2core_routes::client::Client;
use p2core_routes::session_trust;
use p2core_types::{DomainName, FederationId, SessionId};
use polyproto::api::{HttpClient, Session};
use polyproto::gateway::BackendBehavior;
use polyproto::gateway::backends::GatewayMessage;
use polyproto::gateway::backends::tungstenite::TungsteniteBackend;
use polyproto::types::gateway::payload::Identify;
use polyproto::types::gateway::{CoreEvent, Payload};
use polyproto::url::Url;
use tokio::sync::watch;

mod sdk_key {
    //! The smallest Ed25519 types that satisfy the SDK's `Signature` /
    //! `PrivateKey` / `PublicKey` traits (a gateway `Session` is generic over
    //! them; the gateway itself never signs).

    use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
    use polyproto::certs::PublicKeyInfo;
    use polyproto::der::asn1::BitString;
    use polyproto::errors::{CertificateConversionError, InvalidInput, PublicKeyError};
    use polyproto::key::{PrivateKey, PublicKey};
    use polyproto::signature::Signature;
    use polyproto::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SignatureBitStringEncoding};

    const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

    fn ed25519() -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ED25519,
            parameters: None,
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Sig(pub [u8; 64]);

    impl std::fmt::Display for Sig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }

    impl SignatureBitStringEncoding for Sig {
        fn to_bitstring(&self) -> polyproto::der::Result<BitString> {
            BitString::from_bytes(&self.0)
        }
    }

    impl Signature for Sig {
        type Signature = [u8; 64];
        fn as_signature(&self) -> &[u8; 64] {
            &self.0
        }
        fn algorithm_identifier() -> AlgorithmIdentifierOwned {
            ed25519()
        }
        fn from_bytes(signature: &[u8]) -> Result<Self, InvalidInput> {
            signature
                .try_into()
                .map(Sig)
                .map_err(|_| InvalidInput::Length {
                    min_length: 64,
                    max_length: 64,
                    actual_length: signature.len().to_string(),
                })
        }
        fn as_bytes(&self) -> Vec<u8> {
            self.0.to_vec()
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Public(pub VerifyingKey);

    impl PublicKey<Sig> for Public {
        fn verify_signature(&self, signature: &Sig, data: &[u8]) -> Result<(), PublicKeyError> {
            self.0
                .verify(data, &ed25519_dalek::Signature::from_bytes(&signature.0))
                .map_err(|_| PublicKeyError::BadSignature)
        }
        fn public_key_info(&self) -> Result<PublicKeyInfo, PublicKeyError> {
            Ok(PublicKeyInfo {
                algorithm: ed25519(),
                public_key_bitstring: BitString::from_bytes(self.0.as_bytes())
                    .map_err(|_| PublicKeyError::BadPublicKeyInfo)?,
            })
        }
        fn try_from_public_key_info(
            info: PublicKeyInfo,
        ) -> Result<Self, CertificateConversionError> {
            let bad = || {
                CertificateConversionError::InvalidInput(InvalidInput::Malformed(
                    "not an Ed25519 public key".into(),
                ))
            };
            let bytes: [u8; 32] = info
                .public_key_bitstring
                .raw_bytes()
                .try_into()
                .map_err(|_| bad())?;
            VerifyingKey::from_bytes(&bytes)
                .map(Public)
                .map_err(|_| bad())
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    pub struct Private(pub SigningKey);

    impl PrivateKey<Sig> for Private {
        type PublicKey = Public;
        fn pubkey(&self) -> Public {
            Public(self.0.verifying_key())
        }
        fn sign(&self, data: &[u8]) -> Sig {
            Sig(self.0.sign(data).to_bytes())
        }
    }
}

const WAIT: Duration = Duration::from_secs(20);

async fn server(dir: &std::path::Path, heartbeat_ms: u64) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new("localhost").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.gateway_heartbeat_ms = heartbeat_ms;
    config.admins = vec![FederationId::new("alice@localhost").unwrap()];
    // alice administers the server (she rotates its key), so the operator makes her account
    let create = AdminCommand::Create {
        name: "alice".into(),
    };
    admin::run(&config, &create, Some("pw".into()))
        .await
        .expect("admin create alice");
    start(config, false).await.expect("server starts")
}

/// Opens session `session` of alice (made by [`server`]); returns (token, cert PEM).
async fn session(base: &str, session: &str) -> (String, String) {
    let client = Client::new(base).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    let fid = FederationId::new("alice@localhost").unwrap();
    let csr = p2core_certs::build_csr(&key, &fid, &SessionId::new(session).unwrap()).unwrap();
    let resp = client
        .session_trust(&session_trust::Request {
            username: "alice".into(),
            csr: csr.to_pem(),
            password: "pw".into(),
            auth_payload: None,
        })
        .await
        .unwrap();
    (resp.token, resp.id_cert)
}

/// Waits until the SDK's receive channel holds a core event `pick` accepts.
async fn wait_for<T>(
    rx: &mut watch::Receiver<GatewayMessage>,
    what: &str,
    pick: impl Fn(&Payload) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            rx.changed().await.expect("gateway still running");
            let msg = rx.borrow_and_update().clone();
            if let GatewayMessage::Close(c) = &msg {
                panic!("{what}: the connection closed: {c:?}");
            }
            if let Ok(ev) = CoreEvent::try_from(msg)
                && let Some(v) = pick(ev.data())
            {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not received in time"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polyproto_gateway_identifies_and_receives_events() {
    let dir = tempfile::tempdir().unwrap();
    // 300 ms: polyproto reads it as 300 *seconds*, so only our op 11 keeps it alive.
    let srv = server(dir.path(), 300).await;
    let base = srv.base_url();
    let (token, _) = session(&base, "one").await;
    // The SDK's HttpClient builds reqwest without choosing a rustls provider.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sdk_session = Session::<sdk_key::Sig, sdk_key::Private>::new(
        &HttpClient::new().unwrap(),
        &token,
        Url::parse(&base).unwrap(),
        None,
    );
    let ws_url =
        Url::parse(&p2core_routes::gateway_client::GatewayClient::url_for(&base).unwrap()).unwrap();
    // `connect` fails unless the first message parses as a Hello.
    let gateway = TungsteniteBackend::new()
        .connect(Arc::new(sdk_session), &ws_url)
        .await
        .expect("polyproto accepts p2core's Hello");
    let mut rx = gateway.receive_channel.clone();

    let identify = CoreEvent::new(
        Payload::Identify(Identify {
            token: token.clone(),
        }),
        None,
    );
    gateway
        .send_channel
        .send(GatewayMessage::Text(
            serde_json::to_string(&identify).unwrap(),
        ))
        .unwrap();
    let acked = wait_for(&mut rx, "Identify ACK", |p| match p {
        Payload::IdentifyAck(a) => Some(a.token.clone()),
        _ => None,
    })
    .await;
    assert_eq!(acked, token);

    // Several heartbeat intervals pass; the SDK answers op 11 and stays connected.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (_, two_cert) = session(&base, "two").await;
    let cert = wait_for(&mut rx, "op 3", |p| match p {
        Payload::NewSession(n) => Some(n.cert.clone()),
        _ => None,
    })
    .await;
    assert_eq!(cert, two_cert);

    // Op 6: `oldInvalidSince` must be a string for the SDK to decode it.
    let admin = Client::new(&base).unwrap().with_token(&token);
    let new_root = admin.rotate_server_key().await.unwrap();
    let change = wait_for(&mut rx, "op 6", |p| match p {
        Payload::ServerCertificateChange(c) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert_eq!(change.cert.trim(), new_root.trim());
    assert!(change.old_invalid_since > 0);
    srv.stop().await.unwrap();
}
