//! A registration row as Rust reads it, and the figures the statistics page is made of.

use super::StoreError;
use bts_protocol::{SignedTransaction, TimePointSec};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a registration is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted; nothing sent to the chain yet.
    Pending,
    /// A signed transaction is stored and may have reached the chain.
    Broadcast,
    /// The account is on chain.
    Confirmed,
    /// It will not happen; `error` says why.
    Failed,
}

impl Status {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Broadcast => "broadcast",
            Status::Confirmed => "confirmed",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [Status::Pending, Status::Broadcast, Status::Confirmed, Status::Failed]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// One registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The account name.
    pub name: String,
    /// Its lifecycle state.
    pub status: Status,
    /// The attempt that owns the row.
    pub claim: String,
    /// Owner key, as the chain writes it.
    pub owner_key: String,
    /// Active key.
    pub active_key: String,
    /// Memo key.
    pub memo_key: String,
    /// The rate-limit key of the client address.
    pub ip: String,
    /// The referrer the client asked for, as sent.
    pub requested_referrer: Option<String>,
    /// The referrer used (`1.2.N`).
    pub referrer_id: Option<String>,
    /// Its name.
    pub referrer_name: Option<String>,
    /// The fee paid, in satoshis.
    pub fee: Option<i64>,
    /// The transaction id.
    pub tx_id: Option<String>,
    /// The signed transaction, once there is one.
    pub transaction: Option<SignedTransaction>,
    /// The account id, once confirmed.
    pub account_id: Option<String>,
    /// The block it was included in, when known.
    pub block_num: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

impl Registration {
    /// Whether the row is for these three keys (a repeated request).
    pub fn same_keys(&self, owner: &str, active: &str, memo: &str) -> bool {
        self.owner_key == owner && self.active_key == active && self.memo_key == memo
    }

    /// `(name, claim)`: what every change of this row must present.
    pub fn key(&self) -> (&str, &str) {
        (&self.name, &self.claim)
    }

    /// The expiration of the stored transaction.
    pub fn expiration(&self) -> Option<TimePointSec> {
        self.transaction.as_ref().map(|t| t.transaction.expiration)
    }

    pub(super) fn from_row(row: &AnyRow) -> Result<Registration, StoreError> {
        let name: String = row.try_get("name")?;
        let corrupt = |message: String| StoreError::Corrupt {
            name: name.clone(),
            message,
        };
        let status: String = row.try_get("status")?;
        let status = Status::parse(&status).ok_or_else(|| corrupt(format!("unknown status {status:?}")))?;
        let tx_json: Option<String> = row.try_get("tx_json")?;
        let transaction = tx_json
            .map(|j| serde_json::from_str::<SignedTransaction>(&j))
            .transpose()
            .map_err(|e| corrupt(format!("stored transaction: {e}")))?;
        Ok(Registration {
            status,
            claim: row.try_get("claim")?,
            owner_key: row.try_get("owner_key")?,
            active_key: row.try_get("active_key")?,
            memo_key: row.try_get("memo_key")?,
            ip: row.try_get("ip")?,
            requested_referrer: row.try_get("requested_referrer")?,
            referrer_id: row.try_get("referrer_id")?,
            referrer_name: row.try_get("referrer_name")?,
            fee: row.try_get("fee")?,
            tx_id: row.try_get("tx_id")?,
            transaction,
            account_id: row.try_get("account_id")?,
            block_num: row.try_get("block_num")?,
            error: row.try_get("error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            name,
        })
    }
}

/// The database's part of the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbStats {
    /// Rows per status.
    pub by_status: Vec<(String, i64)>,
    /// Confirmed registrations per day (`YYYY-MM-DD`, UTC), oldest first.
    pub per_day: Vec<(String, i64)>,
    /// Confirmed registrations per referrer name, most first.
    pub per_referrer: Vec<(String, i64)>,
    /// Fees paid for confirmed registrations, in satoshis.
    pub fees_paid: i64,
}

impl DbStats {
    /// The number of rows with `status`.
    pub fn count(&self, status: Status) -> i64 {
        self.by_status
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n)
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub(super) fn day_of(secs: i64) -> String {
    let secs = u32::try_from(secs.max(0)).unwrap_or(u32::MAX);
    let mut text = TimePointSec(secs).to_string();
    text.truncate(10);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day_of(1_704_067_200), "2024-01-01");
        assert_eq!(day_of(1_704_067_199), "2023-12-31");
        assert_eq!(Status::parse("broadcast"), Some(Status::Broadcast));
        assert_eq!(Status::parse("nope"), None);
    }
}
