//! `transfer` (0) and the memo it may carry.

use crate::asset::Asset;
use crate::authority::Extensions;
use crate::id::AccountId;
use crate::json;
use crate::keys::PublicKey;
use serde::{Deserialize, Serialize};

/// `transfer_operation`: move an amount from one account to another, with an optional memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Fee paid by `from`.
    pub fee: Asset,
    /// Sender.
    pub from: AccountId,
    /// Receiver.
    pub to: AccountId,
    /// Amount sent.
    pub amount: Asset,
    /// Encrypted memo, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<Memo>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(Transfer {
    fee,
    from,
    to,
    amount,
    memo,
    extensions
});

/// `memo_data`: a message encrypted from one key to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memo {
    /// Sender's memo key.
    pub from: PublicKey,
    /// Receiver's memo key.
    pub to: PublicKey,
    /// Nonce of the shared-secret derivation.
    #[serde(with = "json::u64_compat")]
    pub nonce: u64,
    /// Ciphertext (hex in JSON).
    #[serde(with = "json::hex_bytes")]
    pub message: Vec<u8>,
}

crate::impl_raw_struct!(Memo {
    from,
    to,
    nonce,
    message
});
