//! Ed25519 for the official `polyproto` SDK (0.21), which leaves the
//! signature algorithm to its users through three traits. Implemented with
//! the same `ed25519-dalek` the p2core crates use, so a key can be handed to
//! both sides.
#![allow(dead_code)]

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use polyproto::certs::PublicKeyInfo;
use polyproto::der::asn1::BitString;
use polyproto::errors::InvalidInput;
use polyproto::errors::composite::{CertificateConversionError, PublicKeyError};
use polyproto::key::{PrivateKey, PublicKey};
use polyproto::signature::Signature;
use polyproto::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SignatureBitStringEncoding};

/// OID of Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// An Ed25519 signature for polyproto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpSig(pub ed25519_dalek::Signature);

impl std::fmt::Display for PpSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl SignatureBitStringEncoding for PpSig {
    fn to_bitstring(&self) -> polyproto::der::Result<BitString> {
        BitString::from_bytes(&self.0.to_bytes())
    }
}

impl Signature for PpSig {
    type Signature = ed25519_dalek::Signature;

    fn as_signature(&self) -> &Self::Signature {
        &self.0
    }

    fn algorithm_identifier() -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ED25519,
            parameters: None,
        }
    }

    fn from_bytes(signature: &[u8]) -> Result<Self, InvalidInput> {
        ed25519_dalek::Signature::from_slice(signature)
            .map(PpSig)
            .map_err(|e| InvalidInput::Malformed(e.to_string()))
    }

    fn as_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }
}

/// An Ed25519 public key for polyproto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpPub(pub VerifyingKey);

impl PublicKey<PpSig> for PpPub {
    fn verify_signature(&self, signature: &PpSig, data: &[u8]) -> Result<(), PublicKeyError> {
        self.0
            .verify_strict(data, &signature.0)
            .map_err(|_| PublicKeyError::BadSignature)
    }

    fn public_key_info(&self) -> Result<PublicKeyInfo, PublicKeyError> {
        Ok(PublicKeyInfo {
            algorithm: PpSig::algorithm_identifier(),
            public_key_bitstring: BitString::from_bytes(self.0.as_bytes())
                .map_err(|_| PublicKeyError::BadPublicKeyInfo)?,
        })
    }

    fn try_from_public_key_info(info: PublicKeyInfo) -> Result<Self, CertificateConversionError> {
        let bad = |what: &str| InvalidInput::Malformed(format!("Ed25519 public key: {what}"));
        let bytes: [u8; 32] = info
            .public_key_bitstring
            .raw_bytes()
            .try_into()
            .map_err(|_| bad("not 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PpPub)
            .map_err(|_| bad("not a curve point").into())
    }
}

/// An Ed25519 private key for polyproto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpKey(pub SigningKey);

impl PrivateKey<PpSig> for PpKey {
    type PublicKey = PpPub;

    fn pubkey(&self) -> PpPub {
        PpPub(self.0.verifying_key())
    }

    fn sign(&self, data: &[u8]) -> PpSig {
        PpSig(self.0.sign(data))
    }
}
