//! Public keys, addresses and private keys in BitShares' string formats.
//!
//! * Public key: `PREFIX + base58(key33 || ripemd160(key33)[0..4])`, e.g. `BTS6MRyAjQq8ud...`.
//! * Address: `PREFIX + base58(a20 || ripemd160(a20)[0..4])` with `a20 = ripemd160(sha512(key33))`.
//! * Private key: WIF, `base58(0x80 || secret32 || sha256(sha256(0x80 || secret32))[0..4])`.
//!
//! A key remembers the prefix it was written with, because that is how it is written back; the
//! prefix is not part of its identity (equality, hashing and ordering look at the key only).

use crate::chain::{Digest, Prefix};
use crate::raw::{Pack, RawError, Reader, Unpack};
use crate::signature::{self, Signature};
use k256::elliptic_curve::rand_core::CryptoRngCore;
use ripemd::Ripemd160;
use sha2::{Digest as _, Sha256, Sha512};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use thiserror::Error;

/// Why a key or address string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key is for another chain (or is not a key of ours at all).
    #[error("public key {input:?} has prefix {found:?} but this chain uses \"{expected}\"")]
    WrongPrefix {
        /// The input, shortened.
        input: String,
        /// The prefix of this chain.
        expected: Prefix,
        /// What the input starts with instead.
        found: String,
    },
    /// No prefix followed by a valid key could be found.
    #[error(
        "{input:?} is not a public key: expected PREFIX followed by 50 base58 characters, e.g. BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
    )]
    Unrecognized {
        /// The input, shortened.
        input: String,
    },
    /// Characters outside the base58 alphabet.
    #[error("{what} {input:?} is not valid base58 (it may not contain 0, O, I or l)")]
    Base58 {
        /// Which kind of string.
        what: &'static str,
        /// The input, shortened.
        input: String,
    },
    /// Decodes to the wrong number of bytes.
    #[error("{what} {input:?} decodes to {len} bytes, expected {expected}")]
    Length {
        /// Which kind of string.
        what: &'static str,
        /// The input, shortened.
        input: String,
        /// Bytes decoded.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The checksum does not match: a typo or a truncated copy.
    #[error("{what} {input:?} has a wrong checksum (mistyped or truncated?)")]
    Checksum {
        /// Which kind of string.
        what: &'static str,
        /// The input, shortened.
        input: String,
    },
    /// 33 bytes that are not a compressed secp256k1 point.
    #[error("public key {input:?} is not a point on secp256k1")]
    NotOnCurve {
        /// The input, shortened.
        input: String,
    },
    /// A WIF whose version byte is not 0x80.
    #[error(
        "private key (WIF) has version byte {0:#04x}, expected 0x80: is it a BitShares/Bitcoin WIF starting with 5?"
    )]
    WifVersion(u8),
    /// A 32-byte secret that is zero or not below the curve order.
    #[error("private key is out of range for secp256k1")]
    SecretOutOfRange,
}

/// Shortens user input for error messages: keys are long and junk can be longer.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).chain("...".chars()).collect()
    }
}

fn ripemd160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(data).into()
}

/// Decodes `base58(payload || ripemd160(payload)[0..4])`.
fn decode_ripemd_checked<const N: usize>(body: &str, what: &'static str, input: &str) -> Result<[u8; N], KeyError> {
    let raw = bs58::decode(body).into_vec().map_err(|_| KeyError::Base58 {
        what,
        input: shorten(input),
    })?;
    if raw.len() != N + 4 {
        return Err(KeyError::Length {
            what,
            input: shorten(input),
            len: raw.len().saturating_sub(4),
            expected: N,
        });
    }
    let (payload, check) = raw.split_at(N);
    if ripemd160(payload)[..4] != *check {
        return Err(KeyError::Checksum {
            what,
            input: shorten(input),
        });
    }
    Ok(payload.try_into().expect("length checked above"))
}

fn encode_ripemd_checked(prefix: Prefix, payload: &[u8]) -> String {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&ripemd160(payload)[..4]);
    format!("{prefix}{}", bs58::encode(raw).into_string())
}

/// A compressed secp256k1 public key (`public_key_type`).
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 33],
    prefix: Prefix,
}

impl PublicKey {
    /// The all-zero key, `BTS1111111111111111111111111111111114T1Anm`. The node uses it where an
    /// account must have no usable key (e.g. the memo key of `committee-account`); nothing can
    /// sign for it.
    pub const fn null(prefix: Prefix) -> PublicKey {
        PublicKey { bytes: [0; 33], prefix }
    }

    /// A key from its 33 compressed bytes; they must be a point on the curve or the null key.
    pub fn from_bytes(bytes: [u8; 33], prefix: Prefix) -> Result<PublicKey, KeyError> {
        let key = PublicKey { bytes, prefix };
        if key.is_null() || k256::PublicKey::from_sec1_bytes(&bytes).is_ok() {
            Ok(key)
        } else {
            Err(KeyError::NotOnCurve { input: key.to_string() })
        }
    }

    /// Parses a key that must carry `expected` as its prefix.
    pub fn parse(s: &str, expected: Prefix) -> Result<PublicKey, KeyError> {
        let Some(body) = s.strip_prefix(expected.as_str()) else {
            // A valid key has exactly 50 base58 characters after its prefix.
            let found = match s.len().checked_sub(50) {
                Some(n) if n > 0 && s.is_char_boundary(n) => &s[..n],
                _ => s.split(|c: char| !c.is_ascii_uppercase()).next().unwrap_or(""),
            };
            return Err(KeyError::WrongPrefix {
                input: shorten(s),
                expected,
                found: shorten(found),
            });
        };
        let bytes = decode_ripemd_checked::<33>(body, "public key", s)?;
        PublicKey::from_bytes(bytes, expected)
    }

    /// Parses a key with whatever prefix it carries; check [`PublicKey::prefix`] afterwards, or
    /// use [`PublicKey::parse`] when the chain's prefix is known.
    pub fn parse_any_prefix(s: &str) -> Result<PublicKey, KeyError> {
        let max = s.len().saturating_sub(1).min(Prefix::MAX_LEN);
        for split in 1..=max {
            let (Some(head), Some(body)) = (s.get(..split), s.get(split..)) else {
                continue;
            };
            let Ok(prefix) = Prefix::new(head) else { break };
            if let Ok(bytes) = decode_ripemd_checked::<33>(body, "public key", s) {
                return PublicKey::from_bytes(bytes, prefix);
            }
        }
        // Report the most useful error: the one for the split a real key would have.
        match s.len().checked_sub(50).and_then(|n| s.get(..n)).map(Prefix::new) {
            Some(Ok(prefix)) => PublicKey::parse(s, prefix),
            _ => Err(KeyError::Unrecognized { input: shorten(s) }),
        }
    }

    /// The 33 compressed bytes.
    pub const fn to_bytes(&self) -> [u8; 33] {
        self.bytes
    }

    /// The prefix this key is written with.
    pub const fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// The same key written with another prefix.
    pub const fn with_prefix(self, prefix: Prefix) -> PublicKey {
        PublicKey {
            bytes: self.bytes,
            prefix,
        }
    }

    /// Whether this is the all-zero null key.
    pub fn is_null(&self) -> bool {
        self.bytes == [0; 33]
    }

    /// The key's address, `ripemd160(sha512(key33))`; the node orders keys by it.
    pub fn address(&self) -> Address {
        Address {
            bytes: ripemd160(&Sha512::digest(self.bytes)),
            prefix: self.prefix,
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

/// Keys are ordered as the node orders `public_key_type` in an authority's `key_auths`: by
/// address, not by key bytes. The digest a client signs depends on this order.
impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.bytes == other.bytes {
            return Ordering::Equal;
        }
        self.address().bytes.cmp(&other.address().bytes)
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_ripemd_checked(self.prefix, &self.bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        PublicKey::parse_any_prefix(s)
    }
}

crate::impl_serde_as_string!(PublicKey, "a public key string such as \"BTS6MRy...\"");

impl Pack for PublicKey {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
    }
}

/// Raw bytes carry no prefix; keys read from bytes get `BTS` until told otherwise
/// ([`PublicKey::with_prefix`]).
impl Unpack for PublicKey {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        let bytes = r.array::<33>("public key")?;
        PublicKey::from_bytes(bytes, Prefix::BTS).map_err(|e| RawError::invalid("public key", e.to_string()))
    }
}

/// An address: the hash of a public key (used by `address_auths` and genesis balances).
#[derive(Clone, Copy)]
pub struct Address {
    bytes: [u8; 20],
    prefix: Prefix,
}

impl Address {
    /// The 20 address bytes.
    pub const fn to_bytes(&self) -> [u8; 20] {
        self.bytes
    }

    /// Parses an address with any prefix.
    pub fn parse_any_prefix(s: &str) -> Result<Address, KeyError> {
        let max = s.len().saturating_sub(1).min(Prefix::MAX_LEN);
        let mut last_err = KeyError::Unrecognized { input: shorten(s) };
        for split in 1..=max {
            let (Some(head), Some(body)) = (s.get(..split), s.get(split..)) else {
                continue;
            };
            let Ok(prefix) = Prefix::new(head) else { break };
            match decode_ripemd_checked::<20>(body, "address", s) {
                Ok(bytes) => return Ok(Address { bytes, prefix }),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Address {}

impl Hash for Address {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl Ord for Address {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_ripemd_checked(self.prefix, &self.bytes))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Address::parse_any_prefix(s)
    }
}

crate::impl_serde_as_string!(Address, "an address string");

impl Pack for Address {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
    }
}

impl Unpack for Address {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        Ok(Address {
            bytes: r.array("address")?,
            prefix: Prefix::BTS,
        })
    }
}

/// The roles the reference wallet derives a password key for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Controls the account (can change every key).
    Owner,
    /// Signs transactions.
    Active,
    /// Encrypts memos.
    Memo,
}

impl Role {
    /// All roles, in the order wallets list them.
    pub const ALL: [Role; 3] = [Role::Owner, Role::Active, Role::Memo];

    /// The role name used in key derivation.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Active => "active",
            Role::Memo => "memo",
        }
    }
}

/// A secp256k1 private key. It has no `Display`, and `Debug` does not show it, so it cannot end
/// up in a log by accident; [`PrivateKey::to_wif`] is the one explicit way out.
#[derive(Clone)]
pub struct PrivateKey(k256::SecretKey);

impl PrivateKey {
    /// A key from its 32-byte secret.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<PrivateKey, KeyError> {
        k256::SecretKey::from_slice(secret)
            .map(PrivateKey)
            .map_err(|_| KeyError::SecretOutOfRange)
    }

    /// A fresh random key.
    pub fn random(rng: &mut impl CryptoRngCore) -> PrivateKey {
        PrivateKey(k256::SecretKey::random(rng))
    }

    /// `sha256(seed)` as a key: the reference wallet's `PrivateKey.fromSeed`.
    pub fn from_seed(seed: &str) -> Result<PrivateKey, KeyError> {
        PrivateKey::from_bytes(&Sha256::digest(seed.as_bytes()).into())
    }

    /// The key the reference wallet (bitshares-ui) derives for an account's role from its
    /// password: `sha256(account + role + password)`.
    pub fn from_password(account: &str, role: Role, password: &str) -> Result<PrivateKey, KeyError> {
        PrivateKey::from_seed(&format!("{account}{}{password}", role.as_str()))
    }

    /// Parses a WIF string. Like the node, a single-sha256 checksum is accepted too.
    pub fn from_wif(wif: &str) -> Result<PrivateKey, KeyError> {
        // Never echo the input: it is a secret, possibly mistyped by one character.
        let redacted = || "<redacted>".to_owned();
        let raw = bs58::decode(wif).into_vec().map_err(|_| KeyError::Base58 {
            what: "private key (WIF)",
            input: redacted(),
        })?;
        if raw.len() != 37 {
            return Err(KeyError::Length {
                what: "private key (WIF)",
                input: redacted(),
                len: raw.len().saturating_sub(5),
                expected: 32,
            });
        }
        let (payload, check) = raw.split_at(33);
        let once = Sha256::digest(payload);
        let twice = Sha256::digest(once);
        if twice[..4] != *check && once[..4] != *check {
            return Err(KeyError::Checksum {
                what: "private key (WIF)",
                input: redacted(),
            });
        }
        if payload[0] != 0x80 {
            return Err(KeyError::WifVersion(payload[0]));
        }
        PrivateKey::from_bytes(payload[1..].try_into().expect("33-byte payload"))
    }

    /// The key as WIF (51 characters starting with `5`).
    pub fn to_wif(&self) -> String {
        let mut raw = Vec::with_capacity(37);
        raw.push(0x80);
        raw.extend_from_slice(&self.0.to_bytes());
        let check = Sha256::digest(Sha256::digest(&raw));
        raw.extend_from_slice(&check[..4]);
        bs58::encode(raw).into_string()
    }

    /// The 32-byte secret.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The matching public key, written with `prefix`.
    pub fn public_key(&self, prefix: Prefix) -> PublicKey {
        let point = self.0.public_key();
        let bytes = signature::compressed_bytes(&point);
        PublicKey { bytes, prefix }
    }

    /// Signs a 32-byte digest exactly as the node's own wallet does (fc's deterministic,
    /// canonical compact signature), so the same key and digest always give the same bytes.
    pub fn sign_digest(&self, digest: &Digest) -> Signature {
        signature::sign_fc(&self.0, digest)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
    const PUB: &str = "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";

    #[test]
    fn reference_key_vector() {
        let key = PrivateKey::from_wif(WIF).unwrap();
        assert_eq!(
            hex::encode(key.to_bytes()),
            "d2653ff7cbb2d8ff129ac27ef5781ce68b2558c41a74af1f2ddca635cbeef07d"
        );
        assert_eq!(key.to_wif(), WIF);
        let public = key.public_key(Prefix::BTS);
        assert_eq!(
            hex::encode(public.to_bytes()),
            "02c0ded2bc1f1305fb0faac5e6c03ee3a1924234985427b6167ca569d13df435cf"
        );
        assert_eq!(public.to_string(), PUB);
        assert_eq!(
            key.public_key(Prefix::TEST).to_string(),
            "TEST6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
        );
        assert_eq!(PublicKey::parse(PUB, Prefix::BTS).unwrap(), public);
        assert_eq!(PublicKey::parse_any_prefix(PUB).unwrap().prefix(), Prefix::BTS);
    }

    #[test]
    fn null_key() {
        let null = PublicKey::null(Prefix::BTS);
        assert_eq!(null.to_string(), "BTS1111111111111111111111111111111114T1Anm");
        assert_eq!(
            "BTS1111111111111111111111111111111114T1Anm"
                .parse::<PublicKey>()
                .unwrap(),
            null
        );
    }

    #[test]
    fn wrong_prefix_is_named() {
        let err = PublicKey::parse("TEST6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV", Prefix::BTS).unwrap_err();
        assert!(
            matches!(&err, KeyError::WrongPrefix { found, .. } if found == "TEST"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "public key \"TEST6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV\" has prefix \"TEST\" but this chain uses \"BTS\""
        );
    }

    #[test]
    fn checksum_and_curve_are_checked() {
        let typo = PUB.replace("6MRy", "6MRz");
        assert!(matches!(
            PublicKey::parse(&typo, Prefix::BTS),
            Err(KeyError::Checksum { .. })
        ));
        // 0x04 is not a compressed-point tag.
        let mut bytes = PrivateKey::from_wif(WIF).unwrap().public_key(Prefix::BTS).to_bytes();
        bytes[0] = 0x04;
        let s = encode_ripemd_checked(Prefix::BTS, &bytes);
        assert!(matches!(
            PublicKey::parse(&s, Prefix::BTS),
            Err(KeyError::NotOnCurve { .. })
        ));
    }

    #[test]
    fn wif_errors_do_not_echo_the_secret() {
        let mut typo = WIF.to_owned();
        typo.replace_range(10..11, "X");
        let err = PrivateKey::from_wif(&typo).unwrap_err();
        assert!(matches!(err, KeyError::Checksum { .. }));
        assert!(!err.to_string().contains(&typo[..20]));
        assert!(!format!("{:?}", PrivateKey::from_wif(WIF).unwrap()).contains("5KQ"));
    }

    #[test]
    fn password_keys_match_the_reference_wallet() {
        // The vector keys: bitshares-ui password keys of account faucet-test-1.
        let expect = [
            "BTS78Fq3eszqfiKCFBJusrWL9azF1wSvzJ3BXEhmykfpCg4DBrNQu",
            "BTS78RyVhLNFHGUaEGV1arChEYkhzcTcR5Vzoo92pKYA87UzndZqz",
            "BTS5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6",
        ];
        for (role, want) in Role::ALL.into_iter().zip(expect) {
            let key = PrivateKey::from_password("faucet-test-1", role, "P5KeyFaucetVectorPassword").unwrap();
            assert_eq!(key.public_key(Prefix::BTS).to_string(), want, "{role:?}");
        }
    }
}
