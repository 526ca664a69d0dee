//! Gateway events: the envelope `{n, op, d, s}` and the payloads p2core sends.
//!
//! The same envelopes are delivered over the WebSocket gateway and by
//! `GET /.p2/core/v1/events`. Opcodes 0–11 are polyproto-core's (namespace
//! `core`); p2core adds one event of its own under the namespace `p2core`
//! ([`LOW_KEY_PACKAGES`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::UnixTimestamp;

/// Namespace of polyproto-core events.
pub const CORE_NAMESPACE: &str = "core";
/// Namespace of p2core's own events.
pub const P2CORE_NAMESPACE: &str = "p2core";

/// Core opcodes ([polyproto-core §3.2.1.2](https://polyproto.org)).
pub mod opcode {
    /// Heartbeat (client → server).
    pub const HEARTBEAT: u16 = 0;
    /// Hello (server → client).
    pub const HELLO: u16 = 1;
    /// Identify (client → server).
    pub const IDENTIFY: u16 = 2;
    /// New session of the same actor (server → client).
    pub const NEW_SESSION: u16 = 3;
    /// Early invalidation of an actor ID-Cert.
    pub const ACTOR_CERTIFICATE_INVALIDATION: u16 = 4;
    /// Resume (client → server).
    pub const RESUME: u16 = 5;
    /// The home server's certificate changed (server → client).
    pub const SERVER_CERTIFICATE_CHANGE: u16 = 6;
    /// Heartbeat ACK (server → client).
    pub const HEARTBEAT_ACK: u16 = 7;
    /// Service channel (both ways).
    pub const SERVICE_CHANNEL: u16 = 8;
    /// Service channel ACK (server → client).
    pub const SERVICE_CHANNEL_ACK: u16 = 9;
    /// Resumed (server → client).
    pub const RESUMED: u16 = 10;
    /// Heartbeat request (server → client).
    pub const HEARTBEAT_REQUEST: u16 = 11;
}

/// p2core opcode (namespace `p2core`): a session's stock of KeyPackages is low.
pub const LOW_KEY_PACKAGES: u16 = 1;

/// A gateway event envelope.
///
/// ```
/// use p2core_types::events::{Event, NewSession, EventPayload};
/// let ev = Event::new(&NewSession { cert: "-----BEGIN CERTIFICATE-----…".into() }, 0).unwrap();
/// assert_eq!((ev.n.as_str(), ev.op), ("core", 3));
/// let back: NewSession = ev.payload().unwrap();
/// assert!(back.cert.starts_with("-----BEGIN"));
/// ```
///
/// On input `op` and `s` are read from JSON numbers or decimal strings (the
/// official SDK writes strings); on output they are numbers. The WebSocket
/// gateway wraps events in [`crate::gateway::Envelope`], which writes strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Namespace (`core` for core events).
    pub n: String,
    /// Opcode within the namespace.
    #[serde(deserialize_with = "lenient_u16")]
    pub op: u16,
    /// Payload.
    pub d: serde_json::Value,
    /// Sequence number (only ever sent by servers). In `GET /events` answers it
    /// is the event's position in the session's queue, usable as `?ack=`.
    #[serde(deserialize_with = "crate::gateway::lenient_u64::deserialize")]
    pub s: u64,
}

fn lenient_u16<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = crate::gateway::lenient_u64::deserialize(d)?;
    u16::try_from(v).map_err(|_| serde::de::Error::custom(format!("opcode {v} is too large")))
}

/// Writes a timestamp as a decimal string (what polyproto 0.21 reads).
fn timestamp_as_string<S: serde::Serializer>(t: &UnixTimestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.0)
}

/// A payload type with a fixed namespace and opcode.
pub trait EventPayload: Serialize + DeserializeOwned {
    /// The namespace the payload belongs to.
    const NAMESPACE: &'static str;
    /// The opcode within that namespace.
    const OPCODE: u16;
}

impl Event {
    /// Wraps a payload with sequence number `s`.
    pub fn new<P: EventPayload>(payload: &P, s: u64) -> Result<Self, serde_json::Error> {
        Ok(Self {
            n: P::NAMESPACE.to_owned(),
            op: P::OPCODE,
            d: serde_json::to_value(payload)?,
            s,
        })
    }

    /// `true` if this envelope carries a `P`.
    pub fn is<P: EventPayload>(&self) -> bool {
        self.n == P::NAMESPACE && self.op == P::OPCODE
    }

    /// Decodes the payload as `P`; an error if the namespace/opcode differ or the payload does not fit.
    pub fn payload<P: EventPayload>(&self) -> Result<P, EventError> {
        if !self.is::<P>() {
            return Err(EventError::WrongKind {
                n: self.n.clone(),
                op: self.op,
            });
        }
        P::deserialize(&self.d).map_err(|e| EventError::Payload(e.to_string()))
    }
}

/// Why an event could not be decoded as the requested payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The envelope carries another event.
    #[error("the event is {n}/{op}, not the requested kind")]
    WrongKind {
        /// Its namespace.
        n: String,
        /// Its opcode.
        op: u16,
    },
    /// The payload does not have the expected shape.
    #[error("the event payload does not fit: {0}")]
    Payload(String),
}

/// Op 3: a new session of the actor was authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// PEM of the new session's ID-Cert.
    pub cert: String,
}

impl EventPayload for NewSession {
    const NAMESPACE: &'static str = CORE_NAMESPACE;
    const OPCODE: u16 = opcode::NEW_SESSION;
}

/// Op 4: an actor ID-Cert was invalidated before it expired.
///
/// The spec has the signature made with the revoked certificate's private key,
/// which only the client holds. When the *server* invalidates a certificate
/// (session deletion, rotation) p2core signs with the home server's key
/// instead: `signature` is the hex Ed25519 signature over the UTF-8 bytes of
/// the decimal `invalidSince` followed by the decimal `serial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorCertificateInvalidation {
    /// Serial number of the invalidated ID-Cert.
    pub serial: u64,
    /// When it became invalid.
    pub invalid_since: UnixTimestamp,
    /// Hex Ed25519 signature over `invalidSince ‖ serial` (decimal).
    pub signature: String,
}

impl ActorCertificateInvalidation {
    /// The bytes the signature covers: decimal `invalid_since` then decimal `serial`.
    pub fn signed_message(serial: u64, invalid_since: UnixTimestamp) -> Vec<u8> {
        format!("{invalid_since}{serial}").into_bytes()
    }
}

impl EventPayload for ActorCertificateInvalidation {
    const NAMESPACE: &'static str = CORE_NAMESPACE;
    const OPCODE: u16 = opcode::ACTOR_CERTIFICATE_INVALIDATION;
}

/// Op 6: the home server's certificate changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCertificateChange {
    /// PEM of the new self-signed home-server certificate.
    pub cert: String,
    /// Since when the old certificate is no longer used (sent as a decimal
    /// string, read from a number or a string).
    #[serde(serialize_with = "timestamp_as_string")]
    pub old_invalid_since: UnixTimestamp,
}

impl EventPayload for ServerCertificateChange {
    const NAMESPACE: &'static str = CORE_NAMESPACE;
    const OPCODE: u16 = opcode::SERVER_CERTIFICATE_CHANGE;
}

/// p2core op 1: the session's KeyPackages are running low (or the last-resort
/// KeyPackage was handed out); the client should upload more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowKeyPackages {
    /// How many regular KeyPackages the session still has on the server.
    pub remaining: u64,
    /// `true` when the last-resort KeyPackage was handed out and should be replaced.
    pub last_resort_used: bool,
}

impl EventPayload for LowKeyPackages {
    const NAMESPACE: &'static str = P2CORE_NAMESPACE;
    const OPCODE: u16 = LOW_KEY_PACKAGES;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let ev = Event::new(
            &ServerCertificateChange {
                cert: "PEM".into(),
                old_invalid_since: UnixTimestamp(5),
            },
            9,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&ev).unwrap(),
            serde_json::json!({"n": "core", "op": 6, "d": {"cert": "PEM", "oldInvalidSince": "5"}, "s": 9})
        );
        let inv = ActorCertificateInvalidation {
            serial: 12,
            invalid_since: UnixTimestamp(34),
            signature: "ab".into(),
        };
        let ev = Event::new(&inv, 0).unwrap();
        assert_eq!(
            ev.d,
            serde_json::json!({"serial": 12, "invalidSince": 34, "signature": "ab"})
        );
        assert_eq!(
            ActorCertificateInvalidation::signed_message(12, UnixTimestamp(34)),
            b"3412"
        );
        assert!(matches!(
            ev.payload::<NewSession>(),
            Err(EventError::WrongKind { .. })
        ));
        assert_eq!(ev.payload::<ActorCertificateInvalidation>().unwrap(), inv);
        let lenient: Event = serde_json::from_value(
            serde_json::json!({"n": "core", "op": "6", "d": {"cert": "P", "oldInvalidSince": 5}, "s": "9"}),
        )
        .unwrap();
        assert_eq!((lenient.op, lenient.s), (6, 9));
        assert_eq!(
            lenient
                .payload::<ServerCertificateChange>()
                .unwrap()
                .old_invalid_since,
            UnixTimestamp(5)
        );
    }
}
