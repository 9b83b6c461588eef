//! Compact recoverable signatures as the node makes and checks them.
//!
//! Layout: `header || r || s` (65 bytes) with `header = 27 + 4 + recovery_id`. The node accepts a
//! signature only when it is "canonical" (r and s each take exactly 32 bytes in minimal DER) and
//! recovers the signer's key from it; there is no separate public key in a transaction.
//!
//! Signing reproduces fc (bitshares-core, cli_wallet) byte for byte: RFC 6979 HMAC-DRBG seeded with
//! `secret || digest`, taking output number 1, 2, 3, ... (fc's nonce function pre-increments its
//! counter, so the first candidate is the *second* RFC 6979 output) until the low-S signature is
//! canonical. No library offers that nonce schedule, which is why the loop is written here; the
//! curve arithmetic is k256's.

use crate::chain::{Digest, Prefix};
use crate::keys::PublicKey;
use crate::raw::{Pack, RawError, Reader, Unpack};
use k256::ecdsa::hazmat::SignPrimitive;
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, SecretKey};
use rfc6979::HmacDrbg;
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// Not 130 hex characters.
    #[error("signature must be 130 hex characters (65 bytes)")]
    Malformed,
    /// The node refuses non-canonical signatures ("signature is not canonical").
    #[error("signature is not canonical")]
    NotCanonical,
    /// The header byte is outside 27..=34.
    #[error("signature header byte {0} is outside 27..=34")]
    Header(u8),
    /// No public key can be recovered (r or s invalid).
    #[error("no public key can be recovered from this signature")]
    Unrecoverable,
    /// Two signatures by the same key (the node's `tx_duplicate_sig`).
    #[error("Duplicate Signature detected")]
    Duplicate,
}

/// A 65-byte compact signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// The raw 65 bytes.
    pub const fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// fc's `is_canonical`: r and s both have their top bit clear and no removable leading zero.
    pub fn is_canonical(&self) -> bool {
        let c = &self.0;
        c[1] & 0x80 == 0 && !(c[1] == 0 && c[2] & 0x80 == 0) && c[33] & 0x80 == 0 && !(c[33] == 0 && c[34] & 0x80 == 0)
    }

    /// Recovers the signer's public key, enforcing canonicity as the node does.
    pub fn recover(&self, digest: &Digest, prefix: Prefix) -> Result<PublicKey, SignatureError> {
        if !self.is_canonical() {
            return Err(SignatureError::NotCanonical);
        }
        let header = self.0[0];
        if !(27..=34).contains(&header) {
            return Err(SignatureError::Header(header));
        }
        let sig = EcdsaSignature::from_slice(&self.0[1..]).map_err(|_| SignatureError::Unrecoverable)?;
        let recid = RecoveryId::from_byte((header - 27) & 3).ok_or(SignatureError::Unrecoverable)?;
        // libsecp256k1 recovers from high-S signatures too; k256 only from low-S. Negating s and
        // flipping the parity bit is the same signature of the same key.
        let (sig, recid) = match sig.normalize_s() {
            Some(low) => (low, RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced())),
            None => (sig, recid),
        };
        let key = VerifyingKey::recover_from_prehash(digest.as_bytes(), &sig, recid)
            .map_err(|_| SignatureError::Unrecoverable)?;
        let bytes = compressed_bytes(&key.into());
        Ok(PublicKey::from_bytes(bytes, prefix).expect("a recovered key is on the curve"))
    }

    /// Whether this is a canonical signature of `digest` by `key`.
    pub fn verify(&self, digest: &Digest, key: &PublicKey) -> bool {
        self.recover(digest, key.prefix()).is_ok_and(|k| k == *key)
    }
}

/// 33-byte SEC1 compressed encoding of a point.
pub(crate) fn compressed_bytes(key: &k256::PublicKey) -> [u8; 33] {
    key.to_encoded_point(true)
        .as_bytes()
        .try_into()
        .expect("a compressed point is 33 bytes")
}

/// fc's deterministic canonical signer (see the module documentation).
pub(crate) fn sign_fc(secret: &SecretKey, digest: &Digest) -> Signature {
    let d = secret.to_nonzero_scalar();
    let secret_bytes = secret.to_bytes();
    for counter in 1u32.. {
        let mut drbg = HmacDrbg::<Sha256>::new(&secret_bytes, digest.as_bytes(), &[]);
        let mut k = [0u8; 32];
        for _ in 0..=counter {
            drbg.fill_bytes(&mut k);
        }
        // libsecp256k1 treats a nonce >= n (or zero) as a failed attempt and asks for the next one.
        let Some(k) = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr(k.into())) else {
            continue;
        };
        let Ok((sig, Some(recid))) = d.try_sign_prehashed(*k, digest.as_bytes().into()) else {
            continue;
        };
        let mut out = [0u8; 65];
        out[0] = 27 + 4 + recid.to_byte();
        out[1..].copy_from_slice(&sig.to_bytes());
        let out = Signature(out);
        if out.is_canonical() {
            return out;
        }
    }
    unreachable!("about half of all candidates are canonical")
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = SignatureError;
    fn from_str(s: &str) -> Result<Self, SignatureError> {
        let mut out = [0u8; 65];
        hex::decode_to_slice(s, &mut out).map_err(|_| SignatureError::Malformed)?;
        Ok(Signature(out))
    }
}

crate::impl_serde_as_string!(Signature, "a signature as 130 hex characters");

impl Pack for Signature {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Unpack for Signature {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        r.array("signature").map(Signature)
    }
}
