//! BitShares protocol types for bts-infra: object ids, assets, times, keys, fc raw serialization,
//! node-format JSON, transaction signing and account name rules.
//!
//! This crate is pure: no IO, no async runtime, no clock and no global state. Randomness is passed
//! in ([`PrivateKey::random`]) and the address prefix travels with each key ([`Prefix`]), so the same
//! process can serve mainnet and testnet. Every byte it produces is checked against independent
//! implementations (python-bitshares, bitsharesjs, a real witness_node) in `tests/`.
//!
//! ```
//! use bts_protocol::{AccountCreate, Asset, Authority, AccountOptions, BlockId, ChainId, Prefix,
//!                    PrivateKey, Role, Transaction, TimePointSec};
//! let registrar = PrivateKey::from_wif("5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3")?;
//! let key = |role| PrivateKey::from_password("alice-1", role, "secret").map(|k| k.public_key(Prefix::BTS));
//! let op = AccountCreate {
//!     fee: Asset::core(57617),
//!     registrar: "1.2.100".parse()?,
//!     referrer: "1.2.100".parse()?,
//!     referrer_percent: 7000,
//!     name: "alice-1".into(),
//!     owner: Authority::single_key(key(Role::Owner)?),
//!     active: Authority::single_key(key(Role::Active)?),
//!     options: AccountOptions::no_votes(key(Role::Memo)?),
//!     extensions: Default::default(),
//! };
//! let head: BlockId = "0393ab5f8a2b1c3d4e5f60718293a4b5c6d7e8f9".parse()?;
//! let expiration: TimePointSec = "2024-01-01T00:00:30".parse()?;
//! let tx = Transaction::new(&head, expiration, vec![op.into()]);
//! let signed = tx.sign(&ChainId::MAINNET, &[&registrar]);
//! assert_eq!(signed.signer_keys(&ChainId::MAINNET, Prefix::BTS)?, [registrar.public_key(Prefix::BTS)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod asset;
pub mod authority;
pub mod chain;
pub mod flat;
pub mod id;
pub mod json;
pub mod keys;
pub mod name;
pub mod operation;
pub mod raw;
pub mod signature;
pub mod time;
pub mod transaction;

pub use asset::Asset;
pub use authority::{AccountOptions, Authority, Extensions, VoteId, VoteType};
pub use chain::{BlockId, ChainId, Digest, Prefix, TransactionId};
pub use flat::{FlatMap, FlatSet};
pub use id::{AccountId, AssetId, CommitteeMemberId, ObjectId, ProposalId, WitnessId};
pub use keys::{Address, KeyError, PrivateKey, PublicKey, Role};
pub use name::{NameCheck, NamePolicy};
pub use operation::{
    AccountCreate, AccountUpdate, AccountUpgrade, Memo, OpWrapper, Operation, ProposalCreate, ProposalUpdate, Required,
    Transfer,
};
pub use signature::{Signature, SignatureError};
pub use time::TimePointSec;
pub use transaction::{SignedTransaction, Transaction};
