//! A software passkey for tests and the benchmark: discoverable (it keeps its user handle),
//! user-verifying, with the counter and backup flags a test chooses, so synced passkeys
//! (counter 0, backup flags that change) can be played. It builds the authenticator data
//! and CBOR by hand (W3C WebAuthn §6.1, §6.5.4) and signs with P-256 from crypto-glue,
//! the library webauthn-rs itself verifies with; it does not verify anything itself.

#![allow(dead_code)]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64U;
use crypto_glue::ecdsa_p256::{self, EcdsaP256PublicSec1Point, EcdsaP256Signature, EcdsaP256SigningKey};
use crypto_glue::s256::Sha256;
use crypto_glue::traits::{Digest, Signer};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

pub struct SoftPasskey {
    signer: EcdsaP256SigningKey,
    public_x: Vec<u8>,
    public_y: Vec<u8>,
    pub credential_id: Vec<u8>,
    /// The user handle registration gave it, sent back with every assertion.
    pub user_handle: Vec<u8>,
    /// `None`: a synced passkey's counter, always 0. `Some(n)`: counts up from n.
    pub counter: Option<u32>,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

impl SoftPasskey {
    /// A synced passkey (counter 0, backup eligible and backed up), like a phone's.
    pub fn synced() -> Self {
        Self::new(None, true, true)
    }

    /// A passkey bound to one device that counts its signatures, like a security key's.
    pub fn device_bound() -> Self {
        Self::new(Some(0), false, false)
    }

    pub fn new(counter: Option<u32>, backup_eligible: bool, backed_up: bool) -> Self {
        let key = ecdsa_p256::new_key();
        let point = EcdsaP256PublicSec1Point::from(key.public_key());
        let public_x = point.x().map(|b| b.to_vec()).unwrap_or_default();
        let public_y = point.y().map(|b| b.to_vec()).unwrap_or_default();
        let mut credential_id = vec![0u8; 32];
        credential_id.copy_from_slice(&Sha256::digest(&public_x)[..32]);
        Self {
            signer: EcdsaP256SigningKey::from(&key),
            public_x,
            public_y,
            credential_id,
            user_handle: Vec::new(),
            counter,
            user_verified: true,
            backup_eligible,
            backed_up,
        }
    }

    pub fn credential_id_b64u(&self) -> String {
        B64U.encode(&self.credential_id)
    }

    fn flags(&self) -> u8 {
        let mut flags = UP;
        if self.user_verified {
            flags |= UV;
        }
        if self.backup_eligible {
            flags |= BE;
        }
        if self.backed_up {
            flags |= BS;
        }
        flags
    }

    fn next_counter(&mut self) -> u32 {
        match self.counter.as_mut() {
            None => 0,
            Some(n) => {
                *n += 1;
                *n
            }
        }
    }

    fn sign(&self, authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
        let mut signed = authenticator_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        let signature: EcdsaP256Signature = self.signer.sign(&signed);
        signature.to_der().to_bytes().to_vec()
    }

    /// Answers `navigator.credentials.create` for the `options` JSON of a registration start
    /// (`{publicKey: ...}`), from `origin`; returns the credential JSON a browser would send.
    pub fn register(&mut self, origin: &str, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().unwrap_or_default();
        self.user_handle = B64U.decode(pk["user"]["id"].as_str().unwrap_or_default()).unwrap_or_default();
        let client_data = client_data("webauthn.create", pk["challenge"].as_str().unwrap_or_default(), origin);

        let cose_key = Cbor::Map(BTreeMap::from([
            (Cbor::Integer(1), Cbor::Integer(2)),  // kty: EC2
            (Cbor::Integer(3), Cbor::Integer(-7)), // alg: ES256
            (Cbor::Integer(-1), Cbor::Integer(1)), // crv: P-256
            (Cbor::Integer(-2), Cbor::Bytes(self.public_x.clone())),
            (Cbor::Integer(-3), Cbor::Bytes(self.public_y.clone())),
        ]));
        let counter = self.counter.unwrap_or(0);
        let mut auth_data = rp_id_hash(rp_id);
        auth_data.push(self.flags() | AT);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&serde_cbor_2::to_vec(&cose_key).unwrap_or_default());
        let attestation = Cbor::Map(BTreeMap::from([
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));
        json!({
            "id": self.credential_id_b64u(),
            "rawId": self.credential_id_b64u(),
            "type": "public-key",
            "response": {
                "attestationObject": B64U.encode(serde_cbor_2::to_vec(&attestation).unwrap_or_default()),
                "clientDataJSON": B64U.encode(client_data.as_bytes()),
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get` for the `options` JSON of a sign-in start, from
    /// `origin`, as a discoverable credential: with its user handle.
    pub fn assert(&mut self, origin: &str, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rpId"].as_str().unwrap_or_default();
        let client_data = client_data("webauthn.get", pk["challenge"].as_str().unwrap_or_default(), origin);
        let counter = self.next_counter();
        let mut auth_data = rp_id_hash(rp_id);
        auth_data.push(self.flags());
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let signature = self.sign(&auth_data, client_data.as_bytes());
        json!({
            "id": self.credential_id_b64u(),
            "rawId": self.credential_id_b64u(),
            "type": "public-key",
            "response": {
                "authenticatorData": B64U.encode(&auth_data),
                "clientDataJSON": B64U.encode(client_data.as_bytes()),
                "signature": B64U.encode(signature),
                "userHandle": B64U.encode(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

fn rp_id_hash(rp_id: &str) -> Vec<u8> {
    Sha256::digest(rp_id.as_bytes()).to_vec()
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> String {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false}).to_string()
}
