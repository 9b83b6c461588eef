//! An amount of an asset, in the asset's smallest unit (`graphene::protocol::asset`).

use crate::id::AssetId;
use crate::json;
use serde::{Deserialize, Serialize};

/// `asset`: an integer amount (satoshis of the asset) and the asset it is in.
///
/// With the core asset's precision of 5, `Asset::core(100_000)` is 1 BTS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Asset {
    /// Amount in the asset's smallest unit (`share_type`, signed 64-bit).
    #[serde(with = "json::i64_compat")]
    pub amount: i64,
    /// The asset.
    pub asset_id: AssetId,
}

crate::impl_raw_struct!(Asset { amount, asset_id });

impl Asset {
    /// An amount of the core asset (1.3.0).
    pub const fn core(amount: i64) -> Self {
        Asset {
            amount,
            asset_id: AssetId::CORE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw;

    #[test]
    fn vector_fee_encoding() {
        assert_eq!(hex::encode(raw::to_bytes(&Asset::core(57617))), "11e100000000000000");
        let json = serde_json::to_string(&Asset::core(1_000_000_000_000_000)).unwrap();
        assert_eq!(json, r#"{"amount":"1000000000000000","asset_id":"1.3.0"}"#);
    }
}
