//! The WebSocket gateway: the envelope every message travels in, one type per
//! opcode's payload (0–12), and the close codes.
//!
//! Input is read leniently and output is written the way the official SDK
//! (`polyproto` 0.21) reads it:
//!
//! * `op`, `s` and every integer in a payload are accepted as JSON numbers or
//!   decimal strings, and sent as decimal strings (polyproto 0.21 rejects
//!   numbers in most of these places);
//! * the namespace is accepted as `core` or `https://polyproto.org/core` and
//!   sent as `core`;
//! * Hello's interval is accepted as `heartbeatInterval` or
//!   `heartbeat_interval`, and sent as `heartbeatInterval`.
//!
//! ```
//! use p2core_types::gateway::{ClientMessage, Envelope, Hello, Opcode};
//!
//! // Server side: send a Hello …
//! let hello = Envelope::server(&Hello::new(30_000), 0).unwrap();
//! assert_eq!(
//!     serde_json::to_string(&hello).unwrap(),
//!     r#"{"n":"core","op":"1","d":{"heartbeatInterval":"30000"},"s":"0"}"#
//! );
//!
//! // … and read what a client sends, numbers or strings alike.
//! let env: Envelope = serde_json::from_str(r#"{"n":"core","op":2,"d":{"token":"t"}}"#).unwrap();
//! assert_eq!(env.opcode(), Some(Opcode::Identify));
//! assert!(matches!(env.client_message(), Ok(ClientMessage::Identify(i)) if i.token == "t"));
//! ```

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::FederationId;
use crate::events::{
    ActorCertificateInvalidation, CORE_NAMESPACE, Event, NewSession, ServerCertificateChange,
};

/// The namespace URI the specification also uses for core events; accepted on input.
pub const CORE_NAMESPACE_URI: &str = "https://polyproto.org/core";

/// Integers sent as decimal strings and read from numbers or strings.
pub mod lenient_u64 {
    use super::*;

    /// Writes `v` as a decimal string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a non-negative integer from a JSON number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(U64Visitor)
    }

    pub(crate) struct U64Visitor;

    impl Visitor<'_> for U64Visitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer as a number or a decimal string")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("{v} is negative")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::custom(format!("{v:?} is not a decimal integer")));
            }
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} does not fit in 64 bits")))
        }
    }

    /// The same for `Option<u64>` (absent or `null` is `None`).
    pub mod option {
        use super::*;

        /// Writes `Some(v)` as a decimal string (use with `skip_serializing_if`).
        pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }

        /// Reads `null`, a number or a decimal string.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] u64);
            Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
        }
    }

    /// The same for `Vec<u64>`.
    pub mod vec {
        use super::*;

        /// Writes every element as a decimal string.
        pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|n| n.to_string()))
        }

        /// Reads an array of numbers or decimal strings.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] u64);
            Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
        }
    }
}

/// The core opcodes 0–12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Opcode {
    /// 0: client → server, acknowledges received sequence numbers.
    Heartbeat = 0,
    /// 1: server → client, first message of every connection.
    Hello = 1,
    /// 2: client → server, authenticates the connection with a session token.
    Identify = 2,
    /// 3: server → client, another session of the actor was created.
    NewSession = 3,
    /// 4: server → client, an actor certificate was invalidated early.
    ActorCertificateInvalidation = 4,
    /// 5: client → server, continues a previous connection.
    Resume = 5,
    /// 6: server → client, the home server's certificate changed.
    ServerCertificateChange = 6,
    /// 7: server → client, answer to a heartbeat (re-sends what was missed).
    HeartbeatAck = 7,
    /// 8: both ways, subscribe to / unsubscribe from a service channel.
    ServiceChannel = 8,
    /// 9: server → client, answer to op 8.
    ServiceChannelAck = 9,
    /// 10: server → client, answer to Resume with the missed messages.
    Resumed = 10,
    /// 11: server → client, "send a heartbeat now".
    HeartbeatRequest = 11,
    /// 12: server → client, answer to Identify.
    IdentifyAck = 12,
}

impl Opcode {
    /// The opcode for a number, if it is a core opcode.
    pub fn from_u16(op: u16) -> Option<Self> {
        use Opcode::*;
        Some(match op {
            0 => Heartbeat,
            1 => Hello,
            2 => Identify,
            3 => NewSession,
            4 => ActorCertificateInvalidation,
            5 => Resume,
            6 => ServerCertificateChange,
            7 => HeartbeatAck,
            8 => ServiceChannel,
            9 => ServiceChannelAck,
            10 => Resumed,
            11 => HeartbeatRequest,
            12 => IdentifyAck,
            _ => return None,
        })
    }

    /// The opcode's number.
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

/// A gateway message: `{"n", "op", "d", "s"}`.
///
/// `s` is only set on messages a server sends. Serializes `op` and `s` as
/// decimal strings; deserializes them from numbers or strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Namespace (`core` for core messages; [`CORE_NAMESPACE_URI`] is read as `core`).
    pub n: String,
    /// Opcode within the namespace.
    pub op: u16,
    /// Payload.
    pub d: serde_json::Value,
    /// Sequence number (server → client only).
    pub s: Option<u64>,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut st = ser.serialize_struct("Envelope", if self.s.is_some() { 4 } else { 3 })?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("op", &self.op.to_string())?;
        st.serialize_field("d", &self.d)?;
        if let Some(s) = self.s {
            st.serialize_field("s", &s.to_string())?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            n: String,
            #[serde(with = "lenient_u64")]
            op: u64,
            #[serde(default)]
            d: serde_json::Value,
            #[serde(default, with = "lenient_u64::option")]
            s: Option<u64>,
        }
        let raw = Raw::deserialize(d)?;
        let op = u16::try_from(raw.op)
            .map_err(|_| de::Error::custom(format!("opcode {} is too large", raw.op)))?;
        let n = if raw.n == CORE_NAMESPACE_URI {
            CORE_NAMESPACE.to_owned()
        } else {
            raw.n
        };
        Ok(Self {
            n,
            op,
            d: raw.d,
            s: raw.s,
        })
    }
}

/// A payload of a core gateway message (client or server side).
pub trait GatewayPayload: Serialize + DeserializeOwned {
    /// Its opcode (namespace `core`).
    const OPCODE: Opcode;
}

impl GatewayPayload for NewSession {
    const OPCODE: Opcode = Opcode::NewSession;
}

impl GatewayPayload for ActorCertificateInvalidation {
    const OPCODE: Opcode = Opcode::ActorCertificateInvalidation;
}

impl GatewayPayload for ServerCertificateChange {
    const OPCODE: Opcode = Opcode::ServerCertificateChange;
}

/// Why an envelope could not be read as a typed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The namespace/opcode pair is not one this side understands (close 4001).
    #[error("unknown opcode {op} in namespace {n:?}")]
    UnknownOpcode {
        /// Namespace.
        n: String,
        /// Opcode.
        op: u16,
    },
    /// The payload does not have the opcode's shape (close 4002).
    #[error("invalid payload for opcode {op}: {reason}")]
    InvalidPayload {
        /// Opcode.
        op: u16,
        /// What is wrong.
        reason: String,
    },
}

impl Envelope {
    /// A server message with sequence number `s`.
    pub fn server<P: GatewayPayload>(payload: &P, s: u64) -> Result<Self, serde_json::Error> {
        Ok(Self {
            n: CORE_NAMESPACE.to_owned(),
            op: P::OPCODE.as_u16(),
            d: serde_json::to_value(payload)?,
            s: Some(s),
        })
    }

    /// A client message (no sequence number).
    pub fn client<P: GatewayPayload>(payload: &P) -> Result<Self, serde_json::Error> {
        Ok(Self {
            n: CORE_NAMESPACE.to_owned(),
            op: P::OPCODE.as_u16(),
            d: serde_json::to_value(payload)?,
            s: None,
        })
    }

    /// A stored event re-numbered with this connection's sequence number `s`.
    pub fn from_event(event: &Event, s: u64) -> Self {
        Self {
            n: event.n.clone(),
            op: event.op,
            d: event.d.clone(),
            s: Some(s),
        }
    }

    /// The core opcode, when the namespace is `core` and the number is known.
    pub fn opcode(&self) -> Option<Opcode> {
        if self.n == CORE_NAMESPACE {
            Opcode::from_u16(self.op)
        } else {
            None
        }
    }

    /// Decodes the payload as `P` (checks namespace and opcode).
    pub fn payload<P: GatewayPayload>(&self) -> Result<P, DecodeError> {
        if self.opcode() != Some(P::OPCODE) {
            return Err(DecodeError::UnknownOpcode {
                n: self.n.clone(),
                op: self.op,
            });
        }
        P::deserialize(&self.d).map_err(|e| DecodeError::InvalidPayload {
            op: self.op,
            reason: e.to_string(),
        })
    }

    /// Reads a message a client sends (ops 0, 2, 5, 8).
    pub fn client_message(&self) -> Result<ClientMessage, DecodeError> {
        Ok(match self.opcode() {
            Some(Opcode::Heartbeat) => ClientMessage::Heartbeat(self.payload()?),
            Some(Opcode::Identify) => ClientMessage::Identify(self.payload()?),
            Some(Opcode::Resume) => ClientMessage::Resume(self.payload()?),
            Some(Opcode::ServiceChannel) => ClientMessage::ServiceChannel(self.payload()?),
            _ => {
                return Err(DecodeError::UnknownOpcode {
                    n: self.n.clone(),
                    op: self.op,
                });
            }
        })
    }

    /// Reads a message a server sends. Events of other namespaces (such as
    /// p2core's [`LowKeyPackages`](crate::events::LowKeyPackages)) come back as [`ServerMessage::Other`].
    pub fn server_message(&self) -> Result<ServerMessage, DecodeError> {
        Ok(match self.opcode() {
            Some(Opcode::Hello) => ServerMessage::Hello(self.payload()?),
            Some(Opcode::NewSession) => ServerMessage::NewSession(self.payload()?),
            Some(Opcode::ActorCertificateInvalidation) => {
                ServerMessage::ActorCertificateInvalidation(self.payload()?)
            }
            Some(Opcode::ServerCertificateChange) => {
                ServerMessage::ServerCertificateChange(self.payload()?)
            }
            Some(Opcode::HeartbeatAck) => ServerMessage::HeartbeatAck(self.payload()?),
            Some(Opcode::ServiceChannel) => ServerMessage::ServiceChannel(self.payload()?),
            Some(Opcode::ServiceChannelAck) => ServerMessage::ServiceChannelAck(self.payload()?),
            Some(Opcode::Resumed) => ServerMessage::Resumed(self.payload()?),
            Some(Opcode::HeartbeatRequest) => ServerMessage::HeartbeatRequest,
            Some(Opcode::IdentifyAck) => ServerMessage::IdentifyAck(self.payload()?),
            Some(Opcode::Heartbeat | Opcode::Identify | Opcode::Resume) => {
                return Err(DecodeError::UnknownOpcode {
                    n: self.n.clone(),
                    op: self.op,
                });
            }
            None => ServerMessage::Other(self.clone()),
        })
    }

    /// `true` for messages that carry an event of the session's queue (ops 3, 4,
    /// 6 and every non-core namespace) rather than connection control.
    pub fn is_event(&self) -> bool {
        match self.opcode() {
            Some(op) => matches!(
                op,
                Opcode::NewSession
                    | Opcode::ActorCertificateInvalidation
                    | Opcode::ServerCertificateChange
            ),
            None => self.n != CORE_NAMESPACE,
        }
    }

    /// This envelope as a REST [`Event`] (sequence number 0 when absent).
    pub fn to_event(&self) -> Event {
        Event {
            n: self.n.clone(),
            op: self.op,
            d: self.d.clone(),
            s: self.s.unwrap_or(0),
        }
    }
}

/// A message a client sends, decoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// Op 0.
    Heartbeat(Heartbeat),
    /// Op 2.
    Identify(Identify),
    /// Op 5.
    Resume(Resume),
    /// Op 8.
    ServiceChannel(ServiceChannel),
}

/// A message a server sends, decoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerMessage {
    /// Op 1.
    Hello(Hello),
    /// Op 3.
    NewSession(NewSession),
    /// Op 4.
    ActorCertificateInvalidation(ActorCertificateInvalidation),
    /// Op 6.
    ServerCertificateChange(ServerCertificateChange),
    /// Op 7.
    HeartbeatAck(HeartbeatAck),
    /// Op 8 (a server may push on a channel).
    ServiceChannel(ServiceChannel),
    /// Op 9.
    ServiceChannelAck(ServiceChannelAck),
    /// Op 10.
    Resumed(Resumed),
    /// Op 11.
    HeartbeatRequest,
    /// Op 12.
    IdentifyAck(IdentifyAck),
    /// An event of another namespace (or an unknown core opcode), kept as is.
    Other(Envelope),
}

/// Op 0: the sequence numbers received since the last heartbeat, as the closed
/// range `from..=to` minus `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Lowest sequence number in the range.
    #[serde(with = "lenient_u64")]
    pub from: u64,
    /// Highest sequence number in the range.
    #[serde(with = "lenient_u64")]
    pub to: u64,
    /// Numbers inside the range that were not received (omitted when empty).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "lenient_u64::vec"
    )]
    pub except: Vec<u64>,
}

/// Most `except` entries [`Heartbeat::from_received`] writes (and the p2core
/// server accepts in one heartbeat).
pub const MAX_HEARTBEAT_EXCEPT: usize = 1024;

impl Heartbeat {
    /// The heartbeat describing a set of received numbers (`None` when empty).
    ///
    /// The range starts at the lowest number and ends at the highest one that
    /// keeps the missing numbers within [`MAX_HEARTBEAT_EXCEPT`]: numbers
    /// above [`to`](Self::to) are not acknowledged by this heartbeat (send them
    /// in the next one). The work and the list are bounded however far apart
    /// the numbers are (a server may send any `s`).
    pub fn from_received(received: &[u64]) -> Option<Self> {
        let mut sorted = received.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let from = *sorted.first()?;
        let mut to = from;
        let mut except = Vec::new();
        for w in sorted.windows(2) {
            // `w[1] > w[0]` after dedup; the gap fits a u64 and is compared before any allocation.
            let gap = w[1] - w[0] - 1;
            let room = (MAX_HEARTBEAT_EXCEPT - except.len()) as u64;
            if gap > room {
                break;
            }
            except.extend(w[0] + 1..w[1]);
            to = w[1];
        }
        Some(Self { from, to, except })
    }

    /// `true` if `s` is acknowledged by this heartbeat.
    pub fn covers(&self, s: u64) -> bool {
        (self.from..=self.to).contains(&s) && !self.except.contains(&s)
    }
}

impl GatewayPayload for Heartbeat {
    const OPCODE: Opcode = Opcode::Heartbeat;
}

/// Op 1: the first message of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// Milliseconds between the client's heartbeats.
    #[serde(alias = "heartbeat_interval", with = "lenient_u64")]
    pub heartbeat_interval: u64,
    /// A migration of the actor in progress, if any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "active_migration"
    )]
    pub active_migration: Option<ActiveMigration>,
}

impl Hello {
    /// A Hello asking for a heartbeat every `interval_ms` milliseconds.
    pub fn new(interval_ms: u64) -> Self {
        Self {
            heartbeat_interval: interval_ms,
            active_migration: None,
        }
    }
}

impl GatewayPayload for Hello {
    const OPCODE: Opcode = Opcode::Hello;
}

/// An actor migration announced in Hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveMigration {
    /// The actor being moved away from.
    pub from: FederationId,
    /// The actor being moved to.
    pub to: FederationId,
}

/// Op 2: authenticate the connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identify {
    /// The session token.
    pub token: String,
}

impl fmt::Debug for Identify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identify")
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GatewayPayload for Identify {
    const OPCODE: Opcode = Opcode::Identify;
}

/// Op 12: the server accepted Identify.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifyAck {
    /// The token the connection identified with.
    pub token: String,
}

impl fmt::Debug for IdentifyAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifyAck")
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GatewayPayload for IdentifyAck {
    const OPCODE: Opcode = Opcode::IdentifyAck;
}

/// Op 5: continue a previous connection of the same session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The last sequence number received on the previous connection.
    #[serde(with = "lenient_u64")]
    pub s: u64,
    /// The session token.
    pub token: String,
}

impl fmt::Debug for Resume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resume")
            .field("s", &self.s)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GatewayPayload for Resume {
    const OPCODE: Opcode = Opcode::Resume;
}

/// Op 7: answer to a heartbeat, re-sending the messages the client reported missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HeartbeatAck(pub Vec<Envelope>);

impl GatewayPayload for HeartbeatAck {
    const OPCODE: Opcode = Opcode::HeartbeatAck;
}

/// Op 10: answer to Resume with the messages the client missed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resumed(pub Vec<Envelope>);

impl GatewayPayload for Resumed {
    const OPCODE: Opcode = Opcode::Resumed;
}

/// Op 11: "send a heartbeat now" (empty object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {}

impl GatewayPayload for HeartbeatRequest {
    const OPCODE: Opcode = Opcode::HeartbeatRequest;
}

/// What a service channel message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceChannelAction {
    /// Start receiving the service's events.
    Subscribe,
    /// Stop receiving them.
    Unsubscribe,
}

/// Op 8: subscribe to or unsubscribe from a service's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChannel {
    /// Subscribe or unsubscribe.
    pub action: ServiceChannelAction,
    /// The service's name.
    pub service: String,
}

impl GatewayPayload for ServiceChannel {
    const OPCODE: Opcode = Opcode::ServiceChannel;
}

/// Op 9: the result of a service channel request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChannelAck {
    /// The action requested.
    pub action: ServiceChannelAction,
    /// The service named.
    pub service: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl GatewayPayload for ServiceChannelAck {
    const OPCODE: Opcode = Opcode::ServiceChannelAck;
}

/// The gateway's WebSocket close codes (4000–4010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// 4000: unknown error.
    UnknownError,
    /// 4001: unknown opcode.
    UnknownOpcode,
    /// 4002: the payload does not fit its opcode.
    InvalidPayload,
    /// 4003: a message that needs an identified connection came first.
    NotAuthenticated,
    /// 4004: the token is unknown, revoked or expired.
    AuthenticationFailed,
    /// 4005: Identify or Resume on an identified connection.
    AlreadyAuthenticated,
    /// 4006: reserved.
    Reserved,
    /// 4007: a heartbeat named sequence numbers that were never sent.
    InvalidSequence,
    /// 4008: too many messages.
    RateLimited,
    /// 4009: no heartbeat in time.
    Timeout,
    /// 4010: the connection cannot be resumed; identify anew.
    Unresumeable,
}

/// One row of [`CloseCode::TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCodeInfo {
    /// The code.
    pub code: CloseCode,
    /// Its number.
    pub number: u16,
    /// Whether the client may resume (op 5) after it.
    pub resumable: bool,
    /// Short description.
    pub description: &'static str,
}

impl CloseCode {
    /// Every close code with its number and whether a client may resume after it.
    pub const TABLE: [CloseCodeInfo; 11] = [
        Self::row(Self::UnknownError, 4000, true, "unknown error"),
        Self::row(Self::UnknownOpcode, 4001, true, "unknown opcode"),
        Self::row(Self::InvalidPayload, 4002, true, "invalid payload"),
        Self::row(Self::NotAuthenticated, 4003, false, "not authenticated"),
        Self::row(
            Self::AuthenticationFailed,
            4004,
            false,
            "authentication failed",
        ),
        Self::row(
            Self::AlreadyAuthenticated,
            4005,
            false,
            "already authenticated",
        ),
        Self::row(Self::Reserved, 4006, false, "reserved"),
        Self::row(Self::InvalidSequence, 4007, true, "invalid sequence number"),
        Self::row(Self::RateLimited, 4008, false, "rate limited"),
        Self::row(Self::Timeout, 4009, true, "session timed out"),
        Self::row(Self::Unresumeable, 4010, false, "unresumeable"),
    ];

    const fn row(
        code: CloseCode,
        number: u16,
        resumable: bool,
        description: &'static str,
    ) -> CloseCodeInfo {
        CloseCodeInfo {
            code,
            number,
            resumable,
            description,
        }
    }

    /// This code's row of [`Self::TABLE`].
    pub fn info(self) -> CloseCodeInfo {
        Self::TABLE[self as usize]
    }

    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self.info().number
    }

    /// Whether the client may resume after this code.
    pub fn is_resumable(self) -> bool {
        self.info().resumable
    }

    /// The code for a number in 4000–4010.
    pub fn from_u16(n: u16) -> Option<Self> {
        Self::TABLE.iter().find(|r| r.number == n).map(|r| r.code)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.info();
        write!(f, "{} ({})", i.number, i.description)
    }
}

/// Body of `GET /.p2/core/v1/gateway` (p2core's discovery document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayInfo {
    /// Path of the WebSocket endpoint on this server (e.g. `/.p2/core/v1/gateway/ws`).
    pub path: String,
    /// The heartbeat interval the server will announce in Hello, in milliseconds.
    #[serde(with = "lenient_u64")]
    pub heartbeat_interval: u64,
    /// Largest message the server accepts, in bytes.
    #[serde(with = "lenient_u64")]
    pub max_message_bytes: u64,
    /// Service channels this server offers (op 8); may be empty.
    #[serde(default)]
    pub services: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: serde_json::Value) -> Envelope {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn envelope_accepts_numbers_strings_and_uri_namespace() {
        let a = roundtrip(json!({"n": "core", "op": "1", "d": {}, "s": "0"}));
        let b = roundtrip(json!({"n": "https://polyproto.org/core", "op": 1, "d": {}, "s": 0}));
        assert_eq!(a, b);
        assert_eq!(a.opcode(), Some(Opcode::Hello));
        assert_eq!(a.s, Some(0));
        let c = roundtrip(json!({"n": "core", "op": 0, "d": {"from": 1, "to": 3}}));
        assert_eq!(c.s, None);
        for bad in [
            json!({"n": "core", "op": "-1", "d": {}}),
            json!({"n": "core", "op": 70000, "d": {}}),
            json!({"n": "core", "op": "1x", "d": {}}),
            json!({"op": 1, "d": {}}),
            json!({"n": "core", "op": 1, "d": {}, "s": -1}),
        ] {
            assert!(
                serde_json::from_value::<Envelope>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn envelope_emits_strings() {
        let e = Envelope::server(&HeartbeatRequest {}, 7).unwrap();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"n": "core", "op": "11", "d": {}, "s": "7"})
        );
        let c = Envelope::client(&Identify { token: "x".into() }).unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"n": "core", "op": "2", "d": {"token": "x"}})
        );
    }

    #[test]
    fn hello_spellings() {
        for v in [
            json!({"heartbeatInterval": "30000"}),
            json!({"heartbeatInterval": 30000}),
            json!({"heartbeat_interval": 30000}),
            json!({"heartbeat_interval": "30000"}),
        ] {
            let h: Hello = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(h.heartbeat_interval, 30000, "{v}");
        }
        assert_eq!(
            serde_json::to_value(Hello::new(45000)).unwrap(),
            json!({"heartbeatInterval": "45000"})
        );
        let m: Hello = serde_json::from_value(json!({
            "heartbeatInterval": "1",
            "activeMigration": {"from": "a@b.c", "to": "d@e.f"}
        }))
        .unwrap();
        assert_eq!(m.active_migration.unwrap().to.as_str(), "d@e.f");
    }

    #[test]
    fn heartbeat_shapes() {
        let h: Heartbeat =
            serde_json::from_value(json!({"from": "2", "to": 9, "except": ["4", 5]})).unwrap();
        assert_eq!(h.except, vec![4, 5]);
        assert!(h.covers(2) && h.covers(9) && !h.covers(4) && !h.covers(10));
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            json!({"from": "2", "to": "9", "except": ["4", "5"]})
        );
        let h = Heartbeat::from_received(&[3, 1, 5, 5]).unwrap();
        assert_eq!(
            h,
            Heartbeat {
                from: 1,
                to: 5,
                except: vec![2, 4]
            }
        );
        assert_eq!(
            serde_json::to_value(Heartbeat::from_received(&[0]).unwrap()).unwrap(),
            json!({"from": "0", "to": "0"})
        );
        assert!(Heartbeat::from_received(&[]).is_none());
    }

    /// Issue 13 item 14: a server's huge `s` once made the client materialise
    /// every number in between (an allocation of up to 2^64 entries: abort).
    #[test]
    fn heartbeat_from_far_apart_numbers_is_bounded() {
        let h = Heartbeat::from_received(&[0, u64::MAX]).unwrap();
        assert_eq!(
            h,
            Heartbeat {
                from: 0,
                to: 0,
                except: vec![]
            }
        );
        // the numbers above `to` start the next heartbeat
        let h = Heartbeat::from_received(&[u64::MAX]).unwrap();
        assert_eq!((h.from, h.to), (u64::MAX, u64::MAX));
        // exactly MAX_HEARTBEAT_EXCEPT missing numbers still fit; one more does not
        let last = MAX_HEARTBEAT_EXCEPT as u64 + 1;
        let h = Heartbeat::from_received(&[0, last, last + 2]).unwrap();
        assert_eq!(
            (h.from, h.to, h.except.len()),
            (0, last, MAX_HEARTBEAT_EXCEPT)
        );
        let h = Heartbeat::from_received(&[0, 1, last + 2, u64::MAX - 1]).unwrap();
        assert_eq!((h.from, h.to), (0, 1));
        assert!(h.except.is_empty());
        // many small gaps: the list stops at the bound, every listed number is inside the range
        let spread: Vec<u64> = (0..10_000u64).map(|i| i * 3).collect();
        let h = Heartbeat::from_received(&spread).unwrap();
        assert!(h.except.len() <= MAX_HEARTBEAT_EXCEPT);
        assert!(h.except.iter().all(|e| (h.from..=h.to).contains(e)));
        assert!(h.covers(h.to) && h.to > 0);
    }

    #[test]
    fn client_messages() {
        let r = roundtrip(json!({"n": "core", "op": "5", "d": {"s": "12", "token": "t"}}));
        assert!(matches!(
            r.client_message(),
            Ok(ClientMessage::Resume(Resume { s: 12, .. }))
        ));
        let r = roundtrip(json!({"n": "core", "op": 5, "d": {"s": 12, "token": "t"}}));
        assert!(matches!(r.client_message(), Ok(ClientMessage::Resume(_))));
        let sc = roundtrip(
            json!({"n": "core", "op": 8, "d": {"action": "subscribe", "service": "chat"}}),
        );
        assert_eq!(
            sc.client_message(),
            Ok(ClientMessage::ServiceChannel(ServiceChannel {
                action: ServiceChannelAction::Subscribe,
                service: "chat".into()
            }))
        );
        let unknown = roundtrip(json!({"n": "core", "op": 99, "d": {}}));
        assert!(matches!(
            unknown.client_message(),
            Err(DecodeError::UnknownOpcode { op: 99, .. })
        ));
        let hello_from_client = roundtrip(json!({"n": "core", "op": 1, "d": {}}));
        assert!(matches!(
            hello_from_client.client_message(),
            Err(DecodeError::UnknownOpcode { .. })
        ));
        let bad = roundtrip(json!({"n": "core", "op": 2, "d": {"token": 5}}));
        assert!(matches!(
            bad.client_message(),
            Err(DecodeError::InvalidPayload { op: 2, .. })
        ));
        assert!(
            !format!(
                "{:?}",
                Identify {
                    token: "secret".into()
                }
            )
            .contains("secret")
        );
    }

    #[test]
    fn server_messages() {
        let replay = Envelope::server(
            &HeartbeatAck(vec![
                Envelope::server(&NewSession { cert: "PEM".into() }, 3).unwrap(),
            ]),
            4,
        )
        .unwrap();
        let text = serde_json::to_string(&replay).unwrap();
        let back: Envelope = serde_json::from_str(&text).unwrap();
        let ServerMessage::HeartbeatAck(HeartbeatAck(inner)) = back.server_message().unwrap()
        else {
            panic!("not op 7: {text}")
        };
        assert_eq!(inner[0].s, Some(3));
        assert!(inner[0].is_event());
        assert!(matches!(
            inner[0].server_message(),
            Ok(ServerMessage::NewSession(_))
        ));
        let scc = roundtrip(json!({"n": "core", "op": "6", "s": "2",
            "d": {"cert": "PEM", "oldInvalidSince": "17"}}));
        let ServerMessage::ServerCertificateChange(c) = scc.server_message().unwrap() else {
            panic!()
        };
        assert_eq!(c.old_invalid_since.0, 17);
        let ack = roundtrip(json!({"n": "core", "op": 9, "s": 3,
            "d": {"action": "unsubscribe", "service": "x", "success": false, "error": "no"}}));
        assert!(matches!(
            ack.server_message(),
            Ok(ServerMessage::ServiceChannelAck(ServiceChannelAck {
                success: false,
                ..
            }))
        ));
        let ours = roundtrip(json!({"n": "p2core", "op": 1, "s": 1,
            "d": {"remaining": 0, "last_resort_used": true}}));
        assert!(ours.is_event());
        let ServerMessage::Other(o) = ours.server_message().unwrap() else {
            panic!()
        };
        assert!(
            o.to_event()
                .payload::<crate::events::LowKeyPackages>()
                .is_ok()
        );
        assert_eq!(
            roundtrip(json!({"n": "core", "op": 11, "d": {}, "s": 5})).server_message(),
            Ok(ServerMessage::HeartbeatRequest)
        );
        let idack = roundtrip(json!({"n": "core", "op": 12, "d": {"token": "t"}, "s": 1}));
        assert!(matches!(
            idack.server_message(),
            Ok(ServerMessage::IdentifyAck(_))
        ));
        let resumed = roundtrip(json!({"n": "core", "op": 10, "d": [], "s": 1}));
        assert_eq!(
            resumed.server_message(),
            Ok(ServerMessage::Resumed(Resumed(vec![])))
        );
    }

    #[test]
    fn close_codes() {
        for (i, row) in CloseCode::TABLE.iter().enumerate() {
            assert_eq!(row.number, 4000 + i as u16);
            assert_eq!(row.code.info(), *row);
            assert_eq!(CloseCode::from_u16(row.number), Some(row.code));
        }
        assert!(CloseCode::Timeout.is_resumable());
        assert!(CloseCode::InvalidPayload.is_resumable());
        assert!(!CloseCode::AuthenticationFailed.is_resumable());
        assert!(!CloseCode::Unresumeable.is_resumable());
        assert_eq!(CloseCode::RateLimited.as_u16(), 4008);
        assert_eq!(CloseCode::from_u16(1000), None);
        assert_eq!(CloseCode::Timeout.to_string(), "4009 (session timed out)");
    }

    #[test]
    fn discovery_body() {
        let info = GatewayInfo {
            path: "/.p2/core/v1/gateway/ws".into(),
            heartbeat_interval: 30000,
            max_message_bytes: 4096,
            services: vec![],
        };
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(
            v,
            json!({"path": "/.p2/core/v1/gateway/ws", "heartbeatInterval": "30000",
                   "maxMessageBytes": "4096", "services": []})
        );
        assert_eq!(serde_json::from_value::<GatewayInfo>(v).unwrap(), info);
    }
}
