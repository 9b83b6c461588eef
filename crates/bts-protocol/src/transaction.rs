//! Transactions: TaPoS reference, expiration, operations; their id, signing digest and signatures.
//!
//! * id = first 20 bytes of `sha256(pack(transaction))` (no chain id, no signatures);
//! * signing digest = `sha256(chain_id || pack(transaction))`;
//! * a signed transaction is the transaction followed by its compact signatures.

use crate::authority::Extensions;
use crate::chain::{BlockId, ChainId, Digest, Prefix, TransactionId};
use crate::keys::{KeyError, PrivateKey, PublicKey};
use crate::operation::{InvalidOperation, Operation};
use crate::raw::{self, Pack, RawError, Reader, Unpack};
use crate::signature::{Signature, SignatureError};
use crate::time::TimePointSec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Block number of the TaPoS reference block, modulo 2^16.
    pub ref_block_num: u16,
    /// Bytes 4..8 of the reference block's id, little-endian.
    pub ref_block_prefix: u32,
    /// The transaction is invalid after this time (and may be at most a day ahead of the head).
    pub expiration: TimePointSec,
    /// What the transaction does, in order.
    pub operations: Vec<Operation>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(Transaction {
    ref_block_num,
    ref_block_prefix,
    expiration,
    operations,
    extensions
});

impl Transaction {
    /// A transaction referring to `reference_block` (TaPoS), expiring at `expiration`.
    pub fn new(reference_block: &BlockId, expiration: TimePointSec, operations: Vec<Operation>) -> Self {
        Transaction {
            ref_block_num: reference_block.ref_block_num(),
            ref_block_prefix: reference_block.ref_block_prefix(),
            expiration,
            operations,
            extensions: Extensions,
        }
    }

    /// Points the TaPoS fields at a block (`transaction::set_reference_block`).
    pub fn set_reference_block(&mut self, id: &BlockId) {
        self.ref_block_num = id.ref_block_num();
        self.ref_block_prefix = id.ref_block_prefix();
    }

    /// The fc raw encoding that is hashed and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        raw::to_bytes(self)
    }

    /// The transaction id.
    pub fn id(&self) -> TransactionId {
        let hash = Sha256::digest(self.to_bytes());
        TransactionId(hash[..20].try_into().expect("sha256 is 32 bytes"))
    }

    /// The digest signatures are made over: `sha256(chain_id || pack(self))`.
    pub fn sig_digest(&self, chain_id: &ChainId) -> Digest {
        let mut h = Sha256::new();
        h.update(chain_id.as_bytes());
        h.update(self.to_bytes());
        Digest(h.finalize().into())
    }

    /// Signs with each key (fc's deterministic scheme), in order.
    pub fn sign(self, chain_id: &ChainId, keys: &[&PrivateKey]) -> SignedTransaction {
        let digest = self.sig_digest(chain_id);
        let signatures = keys.iter().map(|k| k.sign_digest(&digest)).collect();
        SignedTransaction {
            transaction: self,
            signatures,
        }
    }

    /// The transaction with every public key written with `prefix` (see
    /// [`Operation::with_key_prefix`]); the bytes, and so the id and signatures, do not change.
    pub fn with_key_prefix(self, prefix: Prefix) -> Transaction {
        Transaction {
            operations: self
                .operations
                .into_iter()
                .map(|op| op.with_key_prefix(prefix))
                .collect(),
            ..self
        }
    }

    /// Checks that every public key in the transaction is written with `prefix`, as the node
    /// (which only knows its own prefix) requires.
    pub fn check_prefix(&self, prefix: Prefix) -> Result<(), KeyError> {
        let wrong = self
            .operations
            .iter()
            .flat_map(Operation::public_keys)
            .find(|k| k.prefix() != prefix);
        match wrong {
            None => Ok(()),
            Some(key) => Err(KeyError::WrongPrefix {
                input: key.to_string(),
                expected: prefix,
                found: key.prefix().to_string(),
            }),
        }
    }

    /// The node's stateless `transaction::validate`: at least one operation, each valid.
    pub fn validate(&self) -> Result<(), InvalidOperation> {
        if self.operations.is_empty() {
            return Err(InvalidOperation {
                assertion: "operations.size() > 0",
                detail: "A transaction must have at least one operation".to_owned(),
            });
        }
        self.operations.iter().try_for_each(Operation::validate)
    }
}

/// A transaction with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The signed content.
    pub transaction: Transaction,
    /// Compact signatures over [`Transaction::sig_digest`].
    pub signatures: Vec<Signature>,
}

impl SignedTransaction {
    /// The fc raw encoding including signatures (what `get_transaction_hex` returns).
    pub fn to_bytes(&self) -> Vec<u8> {
        raw::to_bytes(self)
    }

    /// [`Transaction::with_key_prefix`], keeping the signatures.
    pub fn with_key_prefix(self, prefix: Prefix) -> SignedTransaction {
        SignedTransaction {
            transaction: self.transaction.with_key_prefix(prefix),
            signatures: self.signatures,
        }
    }

    /// The transaction id (signatures do not change it).
    pub fn id(&self) -> TransactionId {
        self.transaction.id()
    }

    /// The keys that signed, as the node computes them (`get_signature_keys`): each signature
    /// must be canonical, and two signatures by the same key are rejected.
    pub fn signer_keys(&self, chain_id: &ChainId, prefix: Prefix) -> Result<Vec<PublicKey>, SignatureError> {
        let digest = self.transaction.sig_digest(chain_id);
        let mut keys = Vec::with_capacity(self.signatures.len());
        for sig in &self.signatures {
            let key = sig.recover(&digest, prefix)?;
            if keys.contains(&key) {
                return Err(SignatureError::Duplicate);
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

impl Pack for SignedTransaction {
    fn pack(&self, out: &mut Vec<u8>) {
        self.transaction.pack(out);
        self.signatures.pack(out);
    }
}

impl Unpack for SignedTransaction {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        Ok(SignedTransaction {
            transaction: Transaction::unpack(r)?,
            signatures: Vec::unpack(r)?,
        })
    }
}

#[derive(Serialize)]
struct SignedRef<'a> {
    #[serde(flatten)]
    transaction: &'a Transaction,
    signatures: &'a [Signature],
}

/// The node's JSON form: the transaction's fields plus `signatures`.
#[derive(Deserialize)]
struct SignedWire {
    ref_block_num: u16,
    ref_block_prefix: u32,
    expiration: TimePointSec,
    operations: Vec<Operation>,
    #[serde(default)]
    extensions: Extensions,
    #[serde(default)]
    signatures: Vec<Signature>,
}

impl Serialize for SignedTransaction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SignedRef {
            transaction: &self.transaction,
            signatures: &self.signatures,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SignedTransaction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = SignedWire::deserialize(d)?;
        Ok(SignedTransaction {
            transaction: Transaction {
                ref_block_num: w.ref_block_num,
                ref_block_prefix: w.ref_block_prefix,
                expiration: w.expiration,
                operations: w.operations,
                extensions: w.extensions,
            },
            signatures: w.signatures,
        })
    }
}
