//! Chain identity: chain ids, address prefixes, block ids and the hashes that tie them together.

use crate::raw::{Pack, RawError, Reader, Unpack};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A hex string of the wrong length or with non-hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} must be {len} hex characters, got {input:?}")]
pub struct HexError {
    what: &'static str,
    len: usize,
    input: String,
}

fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError {
        what,
        len: 2 * N,
        input: s.chars().take(2 * N + 8).collect(),
    })?;
    Ok(out)
}

macro_rules! hex_newtype {
    ($(#[$doc:meta])* $name:ident, $n:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                parse_hex(s, $what).map($name)
            }
        }

        crate::impl_serde_as_string!($name, concat!($what, " as hex"));

        impl Pack for $name {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Unpack for $name {
            fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
                r.array($what).map($name)
            }
        }
    };
}

hex_newtype!(
    /// The chain id: sha256 of the genesis state. Every signature commits to it.
    ChainId, 32, "a chain id"
);
hex_newtype!(
    /// A block id: ripemd160 of the block header, with the block number in its first 4 bytes.
    BlockId, 20, "a block id"
);
hex_newtype!(
    /// A transaction id: the first 20 bytes of sha256 of the unsigned transaction.
    TransactionId, 20, "a transaction id"
);
hex_newtype!(
    /// A 32-byte sha256 digest, e.g. the signing digest of a transaction.
    Digest, 32, "a sha256 digest"
);

impl ChainId {
    /// The BitShares mainnet.
    pub const MAINNET: ChainId = ChainId(hex_literal(
        "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8",
    ));
    /// The public BitShares testnet.
    pub const TESTNET: ChainId = ChainId(hex_literal(
        "39f5e2ede1f8bc1a3a54a7914414e3779e33193f1f5693510e73cb7a87617447",
    ));

    /// The chain id of bts-infra's devnet for `prefix`: `sha256("bts-infra devnet <PREFIX>")`, so
    /// every devnet with the same prefix has the same id and none collides with a public chain.
    pub fn devnet(prefix: Prefix) -> ChainId {
        ChainId(Digest::sha256(format!("bts-infra devnet {prefix}").as_bytes()).0)
    }

    /// The address prefix of a well-known chain (`BTS` mainnet, `TEST` testnet).
    pub fn known_prefix(&self) -> Option<Prefix> {
        match *self {
            ChainId::MAINNET => Some(Prefix::BTS),
            ChainId::TESTNET => Some(Prefix::TEST),
            _ => None,
        }
    }
}

impl BlockId {
    /// The block number, stored big-endian in the first 4 bytes of the id.
    pub fn block_num(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// TaPoS `ref_block_num`: the block number modulo 2^16.
    pub fn ref_block_num(&self) -> u16 {
        (self.block_num() & 0xffff) as u16
    }

    /// TaPoS `ref_block_prefix`: bytes 4..8 of the id read little-endian.
    pub fn ref_block_prefix(&self) -> u32 {
        u32::from_le_bytes([self.0[4], self.0[5], self.0[6], self.0[7]])
    }
}

impl Digest {
    /// sha256 of `data`.
    pub fn sha256(data: &[u8]) -> Digest {
        Digest(Sha256::digest(data).into())
    }
}

const fn hex_literal<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("lowercase hex literal expected"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 2 * N, "hex literal has the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// The address prefix that public keys and addresses are written with (`BTS`, `TEST`, ...).
///
/// It is compiled into a node; a key with another prefix does not parse there. One to fifteen
/// ASCII letters or digits, starting with a letter.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    len: u8,
    bytes: [u8; Prefix::MAX_LEN],
}

/// An address prefix that is empty, too long or has characters other than ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not an address prefix: use 1 to 15 ASCII letters or digits starting with a letter, e.g. BTS or TEST")]
pub struct PrefixError(String);

impl Prefix {
    /// Longest prefix we accept.
    pub const MAX_LEN: usize = 15;
    /// Mainnet.
    pub const BTS: Prefix = Prefix::from_static("BTS");
    /// The public testnet.
    pub const TEST: Prefix = Prefix::from_static("TEST");

    const fn from_static(s: &str) -> Prefix {
        let b = s.as_bytes();
        let mut bytes = [0u8; Prefix::MAX_LEN];
        let mut i = 0;
        while i < b.len() {
            bytes[i] = b[i];
            i += 1;
        }
        Prefix {
            len: b.len() as u8,
            bytes,
        }
    }

    /// Validates a prefix.
    pub fn new(s: &str) -> Result<Prefix, PrefixError> {
        let ok = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric())
            && s.as_bytes()[0].is_ascii_alphabetic();
        if ok {
            Ok(Prefix::from_static(s))
        } else {
            Err(PrefixError(s.to_owned()))
        }
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("validated ASCII")
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefix({})", self.as_str())
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        Prefix::new(s)
    }
}

crate::impl_serde_as_string!(Prefix, "an address prefix such as \"BTS\"");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapos_from_block_id() {
        let id: BlockId = "0393ab5f8a2b1c3d4e5f60718293a4b5c6d7e8f9".parse().unwrap();
        assert_eq!(id.block_num(), 0x0393ab5f);
        assert_eq!(id.ref_block_num(), 43871);
        assert_eq!(id.ref_block_prefix(), 1_025_256_330);
    }

    #[test]
    fn known_chains() {
        assert_eq!(
            ChainId::MAINNET.to_string(),
            "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8"
        );
        assert_eq!(ChainId::TESTNET.known_prefix(), Some(Prefix::TEST));
        assert!("4018".parse::<ChainId>().is_err());
    }

    #[test]
    fn prefixes() {
        assert_eq!(Prefix::new("BTS"), Ok(Prefix::BTS));
        for bad in ["", "1BTS", "BT-S", "ABCDEFGHIJKLMNOP", "BTSü"] {
            assert!(Prefix::new(bad).is_err(), "{bad:?}");
        }
    }
}
