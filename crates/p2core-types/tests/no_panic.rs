//! No-panic sweep: every public parsing function of p2core-types gets
//! arbitrary input (random text, random bytes, random JSON, and random
//! mutations of valid inputs) and must return — an `Err` for bad input, never
//! a panic. Where a parse succeeds, the value's accessors must not panic
//! either, and the received bytes must be what it re-serialises to.

use std::sync::OnceLock;

use p2core_types::challenge::verify_hex_signature;
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::events::{
    ActorCertificateInvalidation, Event, LowKeyPackages, NewSession, ServerCertificateChange,
};
use p2core_types::gateway::{
    ActiveMigration, ClientMessage, CloseCode, Envelope, GatewayInfo, Heartbeat, HeartbeatAck,
    Hello, Identify, IdentifyAck, MAX_HEARTBEAT_EXCEPT, Opcode, Resume, Resumed, ServerMessage,
    ServiceChannel, ServiceChannelAck,
};
use p2core_types::keypackage::{KeyPackage, LastResortKeyPackage, generate_key_packages};
use p2core_types::pdn::{Pdn, directory_string};
use p2core_types::x509_cert::der::{Decode, asn1::Any};
use p2core_types::x509_cert::name::Name;
use p2core_types::{
    ChallengeString, CompletedChallenge, DomainName, ErrorBody, ErrorCode, FederationId, IdCert,
    IdCsr, SessionId, UnixTimestamp,
};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON, up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[0-9]{1,25}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Field names of p2core's JSON types, plus random ones.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "n",
            "op",
            "d",
            "s",
            "cert",
            "serial",
            "invalid_since",
            "signature",
            "old_invalid_since",
            "remaining",
            "last_resort_used",
            "challenge",
            "expires",
            "errcode",
            "error",
            "message",
            "from",
            "to",
            "except",
            "token",
            "heartbeatInterval",
            "heartbeat_interval",
            "activeMigration",
            "action",
            "service",
            "success",
            "path",
            "maxMessageBytes",
            "services",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ]
}

/// Text near the shapes the parsers expect, plus arbitrary text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9@._\\-]{0,70}",
        "[a-z0-9]{0,20}@[a-z0-9.\\-]{0,40}",
        "[ -~]{0,300}",
        "-----BEGIN CERTIFICATE( REQUEST)?-----\n[A-Za-z0-9+/=\n:]{0,200}\n-----END CERTIFICATE( REQUEST)?-----\n?",
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..600)
}

/// Valid KeyPackages made once by openmls (through this crate's generator),
/// as seeds for mutation. (Mutated certificates and CSRs are swept in
/// p2core-certs' `no_panic` test, which can issue valid ones.)
struct Seeds {
    key_package: Vec<u8>,
    last_resort: Vec<u8>,
    fid: FederationId,
    key: SigningKey,
}

fn seeds() -> &'static Seeds {
    static S: OnceLock<Seeds> = OnceLock::new();
    S.get_or_init(|| {
        let fid = FederationId::new("alice@example.com").unwrap();
        let key = SigningKey::from_bytes(&[7; 32]);
        let kp = generate_key_packages(&key, &fid, 1, false)
            .unwrap()
            .remove(0);
        let lr = generate_key_packages(&key, &fid, 1, true)
            .unwrap()
            .remove(0);
        Seeds {
            key_package: kp.tls_bytes().to_vec(),
            last_resort: lr.tls_bytes().to_vec(),
            fid,
            key,
        }
    })
}

/// Byte-level mutations: (position, xor) pairs plus an optional truncation.
fn mutate(mut b: Vec<u8>, flips: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(i, x) in flips {
        let n = b.len();
        if n > 0 {
            b[i % n] ^= x;
        }
    }
    if let Some(c) = cut {
        let n = b.len() + 1;
        b.truncate(c % n);
    }
    b
}

fn exercise_cert(c: &IdCert, input: &[u8]) {
    assert_eq!(c.as_der(), input, "re-serialises to the received bytes");
    let _ = (
        c.subject_fid(),
        c.session_id(),
        c.serial_u64(),
        c.public_key(),
    );
    let _ = (
        c.not_before(),
        c.not_after(),
        c.has_ed25519_key(),
        c.is_self_signed(),
    );
    let _ = (c.tbs_der(), c.signature_bytes(), format!("{c:?}"));
    let _ = Pdn::parse(c.subject()).map(|p| (p.domain(), p.has_actor_attributes()));
    let _ = Pdn::parse(c.issuer());
    let _ = c.not_before().to_system_time();
    assert_eq!(IdCert::from_pem(&c.to_pem()).unwrap().as_der(), input);
}

fn exercise_csr(c: &IdCsr, input: &[u8]) {
    assert_eq!(c.as_der(), input, "re-serialises to the received bytes");
    let _ = (
        c.subject_fid(),
        c.session_id(),
        c.public_key(),
        c.is_self_signed(),
    );
    let _ = (c.info_der(), c.signature_bytes(), format!("{c:?}"));
    let _ = Pdn::parse(c.subject());
    assert_eq!(IdCsr::from_pem(&c.to_pem()).unwrap().as_der(), input);
}

fn exercise_key_package(kp: &KeyPackage) {
    let s = seeds();
    let _ = kp.verify_binding(&s.fid, &s.key.verifying_key());
    let _ = (
        kp.to_base64(),
        kp.has_last_resort_extension(),
        kp.init_key(),
    );
    let _ = (
        kp.not_before(),
        kp.not_after(),
        kp.ciphersuite(),
        kp.signature_key(),
    );
    let _ = (kp.basic_credential_identity(), format!("{kp:?}"));
    let _ = kp.is_expired_at(UnixTimestamp(u64::MAX));
    let _ = LastResortKeyPackage::from_extension(kp.clone());
}

proptest! {
    #[test]
    fn identifiers(s in text(), d in "[a-z0-9.\\-]{1,30}") {
        let _ = FederationId::new(&s);
        let _ = s.parse::<FederationId>();
        let _ = FederationId::validate_local_name(&s);
        if let Ok(domain) = DomainName::new(&d) {
            let _ = FederationId::from_parts(&s, &domain);
            let _ = domain.labels().count();
        }
        let _ = DomainName::new(&s);
        let _ = s.parse::<DomainName>();
        let _ = SessionId::new(&s);
        let _ = s.parse::<SessionId>();
        let _ = UnixTimestamp::parse_decimal(&s);
        let _ = s.parse::<UnixTimestamp>();
        let _ = ErrorCode::from_wire(&s).status();
        if let Ok(fid) = FederationId::new(&s) {
            // accepted values round-trip through their text
            prop_assert_eq!(FederationId::new(fid.as_str()).unwrap(), fid.clone());
            let _ = (fid.local_name(), fid.domain());
        }
        if let Ok(sid) = SessionId::new(&s) {
            prop_assert_eq!(sid.as_str(), s.as_str());
        }
    }

    #[test]
    fn timestamps(v in any::<u64>(), s in "[0-9]{0,25}") {
        let t = UnixTimestamp(v);
        let _ = t.to_system_time();
        let _ = t.checked_to_system_time();
        let _ = t.saturating_add(v);
        let _ = UnixTimestamp::parse_decimal(&s);
        let _ = serde_json::from_str::<UnixTimestamp>(&s);
        let _ = serde_json::from_str::<UnixTimestamp>(&format!("\"{s}\""));
    }

    #[test]
    fn challenges(s in text(), hex_sig in "[0-9a-fA-F]{0,130}", junk in text(), v in any::<u64>()) {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        let _ = verify_hex_signature(s.as_bytes(), &hex_sig, &key);
        let _ = verify_hex_signature(s.as_bytes(), &junk, &key);
        if let Ok(c) = ChallengeString::new(s.clone(), UnixTimestamp(v)) {
            let _ = c.verify_solution(&hex_sig, &key, UnixTimestamp(v));
            let _ = c.verify_solution(&junk, &key, UnixTimestamp(0));
            let _ = c.is_expired(UnixTimestamp(u64::MAX));
        }
        let json = serde_json::json!({"challenge": s, "expires": v}).to_string();
        let _ = serde_json::from_str::<ChallengeString>(&json);
        let _ = serde_json::from_str::<ChallengeString>(&junk);
    }

    #[test]
    fn json_bodies(v in json_value(), s in text()) {
        let text = v.to_string();
        for input in [text.as_str(), s.as_str()] {
            let _ = serde_json::from_str::<ChallengeString>(input);
            let _ = serde_json::from_str::<CompletedChallenge>(input);
            let _ = serde_json::from_str::<ErrorBody>(input);
            let _ = serde_json::from_str::<ErrorCode>(input);
            let _ = serde_json::from_str::<FederationId>(input);
            let _ = serde_json::from_str::<DomainName>(input);
            let _ = serde_json::from_str::<SessionId>(input);
            let _ = serde_json::from_str::<UnixTimestamp>(input);
            let _ = serde_json::from_str::<KeyPackage>(input);
            if let Ok(e) = serde_json::from_str::<Event>(input) {
                let _ = e.payload::<NewSession>();
                let _ = e.payload::<ActorCertificateInvalidation>();
                let _ = e.payload::<ServerCertificateChange>();
                let _ = e.payload::<LowKeyPackages>();
                let _ = e.is::<NewSession>();
            }
            let _ = serde_json::from_str::<Vec<Event>>(input);
        }
    }

    /// The gateway module (issue 13 item 17): envelopes as a server and a
    /// client read them, every payload type, heartbeat arithmetic on any
    /// numbers, close codes.
    #[test]
    fn gateway_messages(
        v in json_value(),
        s in text(),
        op in any::<u16>(),
        n in prop::sample::select(vec!["core", "https://polyproto.org/core", "p2core", ""]),
        seq in prop::option::of(any::<u64>()),
        numbers in prop::collection::vec(
            prop_oneof![any::<u64>(), 0u64..64, (u64::MAX - 64)..=u64::MAX], 0..40),
        code in any::<u16>(),
    ) {
        let shaped = Value::Object(
            [
                ("n".to_owned(), Value::from(n)),
                ("op".to_owned(), if op % 2 == 0 { Value::from(op % 16) } else { Value::from((op % 16).to_string()) }),
                ("d".to_owned(), v.clone()),
            ]
            .into_iter()
            .chain(seq.map(|q| ("s".to_owned(), Value::from(q.to_string()))))
            .collect(),
        )
        .to_string();
        for input in [shaped.as_str(), v.to_string().as_str(), s.as_str()] {
            if let Ok(env) = serde_json::from_str::<Envelope>(input) {
                let _ = env.opcode();
                let client = env.client_message();
                let server = env.server_message();
                if let Ok(ClientMessage::Heartbeat(hb)) = &client {
                    let _ = hb.covers(hb.to);
                }
                if let Ok(ServerMessage::HeartbeatAck(HeartbeatAck(inner)) | ServerMessage::Resumed(Resumed(inner))) = &server {
                    for e in inner {
                        let _ = (e.is_event(), e.to_event());
                    }
                }
                let _ = env.is_event();
                let _ = env.to_event();
                // accepted envelopes are sent on in p2core's spelling and read back the same
                let again: Envelope = serde_json::from_str(&serde_json::to_string(&env).unwrap()).unwrap();
                // (`d` is compared loosely: serde_json's float parsing is not exact)
                prop_assert_eq!((&again.n, again.op, again.s), (&env.n, env.op, env.s));
            }
            let _ = serde_json::from_str::<Heartbeat>(input);
            let _ = serde_json::from_str::<Hello>(input);
            let _ = serde_json::from_str::<ActiveMigration>(input);
            let _ = serde_json::from_str::<Identify>(input);
            let _ = serde_json::from_str::<IdentifyAck>(input);
            let _ = serde_json::from_str::<Resume>(input);
            let _ = serde_json::from_str::<HeartbeatAck>(input);
            let _ = serde_json::from_str::<Resumed>(input);
            let _ = serde_json::from_str::<ServiceChannel>(input);
            let _ = serde_json::from_str::<ServiceChannelAck>(input);
            let _ = serde_json::from_str::<GatewayInfo>(input);
            let _ = serde_json::from_str::<Vec<Envelope>>(input);
        }
        // Heartbeats from any set of received numbers: bounded, inside the range, acknowledging the lowest.
        if let Some(hb) = Heartbeat::from_received(&numbers) {
            prop_assert!(hb.except.len() <= MAX_HEARTBEAT_EXCEPT);
            prop_assert!(hb.from <= hb.to);
            prop_assert!(hb.except.iter().all(|e| (hb.from..=hb.to).contains(e) && !numbers.contains(e)));
            prop_assert_eq!(Some(hb.from), numbers.iter().copied().min());
            prop_assert!(hb.covers(hb.from));
            let text = serde_json::to_string(&hb).unwrap();
            prop_assert_eq!(serde_json::from_str::<Heartbeat>(&text).unwrap(), hb);
        } else {
            prop_assert!(numbers.is_empty());
        }
        if let Some(c) = CloseCode::from_u16(code) {
            prop_assert_eq!(c.as_u16(), code);
            let _ = (c.info(), c.is_resumable(), c.to_string());
        }
        if let Some(o) = Opcode::from_u16(op) {
            prop_assert_eq!(o.as_u16(), op);
        }
        let _ = Hello::new(u64::from(code));
    }

    #[test]
    fn certificates_from_arbitrary_bytes(b in bytes(), s in text()) {
        if let Ok(c) = IdCert::from_der(&b) {
            exercise_cert(&c, &b);
        }
        if let Ok(c) = IdCsr::from_der(&b) {
            exercise_csr(&c, &b);
        }
        let _ = IdCert::from_der_vec(b.clone());
        let _ = IdCsr::from_der_vec(b.clone());
        let _ = IdCert::from_pem(&s);
        let _ = IdCsr::from_pem(&s);
        if let Ok(name) = Name::from_der(&b) {
            let _ = Pdn::parse(&name);
        }
        if let Ok(any) = Any::from_der(&b) {
            let _ = directory_string(&any);
        }
    }

    #[test]
    fn key_packages_from_arbitrary_input(b in bytes(), s in text()) {
        let s_ = seeds();
        let _ = KeyPackage::from_tls_bytes(&b);
        let _ = KeyPackage::from_base64(&s);
        let _ = KeyPackage::parse_for_session(&s, &s_.fid, &s_.key.verifying_key());
        let b64 = base64_encode(&b);
        let _ = KeyPackage::from_base64(&b64);
    }

    #[test]
    fn key_packages_mutated(
        last_resort in any::<bool>(),
        flips in prop::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        cut in prop::option::of(any::<usize>()),
    ) {
        let s = seeds();
        let seed = if last_resort { &s.last_resort } else { &s.key_package };
        let b = mutate(seed.clone(), &flips, cut);
        match KeyPackage::from_tls_bytes(&b) {
            Ok(kp) => {
                prop_assert_eq!(kp.tls_bytes(), b.as_slice());
                exercise_key_package(&kp);
            }
            Err(e) => { let _ = e.to_string(); }
        }
        let _ = KeyPackage::parse_for_session(&base64_encode(&b), &s.fid, &s.key.verifying_key());
    }
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn unmodified_seed_key_packages_parse() {
    // the mutation sweep above is only meaningful if its seeds are valid
    let s = seeds();
    let kp = KeyPackage::from_tls_bytes(&s.key_package).unwrap();
    exercise_key_package(&kp);
    let lr = KeyPackage::from_tls_bytes(&s.last_resort).unwrap();
    assert!(lr.has_last_resort_extension());
}
