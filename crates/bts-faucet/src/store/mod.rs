//! The registrations table, the faucet's memory across restarts: one row per account name with
//! its lifecycle `pending → broadcast → confirmed | failed`.
//!
//! One code path for SQLite and PostgreSQL (sqlx's `Any` driver, picked by the URL): portable SQL,
//! `$N` placeholders (both accept them), integers and text only. Every state change is a
//! compare-and-set on the status, so two processes (or a request and the reconciler) cannot both
//! move the same row, and the `name` primary key makes a second registration of a name impossible
//! even across processes.

mod row;

pub use row::{DbStats, Registration, Status};

use bts_protocol::SignedTransaction;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};
use thiserror::Error;

/// A database failure. The message never contains the database password.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Connecting or a query failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row holds something this version cannot read.
    #[error("corrupt row for {name:?}: {message}")]
    Corrupt {
        /// The account name of the row.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// What a new request stores before anything is sent to the chain.
#[derive(Debug, Clone)]
pub struct NewRegistration<'a> {
    /// The account name.
    pub name: &'a str,
    /// Owner key, as the chain writes it.
    pub owner_key: &'a str,
    /// Active key.
    pub active_key: &'a str,
    /// Memo key.
    pub memo_key: &'a str,
    /// The client address key of the rate limits.
    pub ip: &'a str,
    /// The referrer the client asked for, as sent.
    pub requested_referrer: Option<&'a str>,
    /// A token unique to this attempt; every later change must present it.
    pub claim: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// The database, shared by all requests.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

macro_rules! select {
    ($($tail:literal),*) => {
        concat!(
            "SELECT name, status, claim, owner_key, active_key, memo_key, ip, requested_referrer, referrer_id, \
             referrer_name, fee, tx_id, tx_json, tx_expiration, account_id, block_num, error, created_at, \
             updated_at FROM registrations ",
            $($tail),*
        )
    };
}

impl Store {
    /// Connects (an SQLite file is created if missing) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let url = sqlite_create_if_missing(url);
        let options = if url.contains(":memory:") {
            // An in-memory SQLite database lives as long as its one connection: keep exactly
            // one, for good (a playground such as `bts-infra up`; nothing survives a restart).
            AnyPoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(8)
        };
        let pool = options.connect(&url).await?;
        migrator().run(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The row of `name`.
    pub async fn get(&self, name: &str) -> Result<Option<Registration>, StoreError> {
        let row = sqlx::query(select!("WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Registration::from_row(&r)).transpose()
    }

    /// Stores a new pending registration, or takes over the failed row of an earlier attempt.
    /// `false` when the name has a row in any other state (someone else is on it, or it is done).
    pub async fn claim(&self, new: &NewRegistration<'_>) -> Result<bool, StoreError> {
        let day = row::day_of(new.now);
        let reclaimed = sqlx::query(
            "UPDATE registrations SET status = 'pending', owner_key = $2, active_key = $3, memo_key = $4, ip = $5, \
             requested_referrer = $6, referrer_id = NULL, referrer_name = NULL, fee = NULL, tx_id = NULL, \
             tx_json = NULL, tx_expiration = NULL, account_id = NULL, block_num = NULL, error = NULL, \
             created_at = $7, updated_at = $7, created_day = $8, claim = $9 WHERE name = $1 AND status = 'failed'",
        )
        .bind(new.name)
        .bind(new.owner_key)
        .bind(new.active_key)
        .bind(new.memo_key)
        .bind(new.ip)
        .bind(new.requested_referrer)
        .bind(new.now)
        .bind(day.clone())
        .bind(new.claim)
        .execute(&self.pool)
        .await?;
        if reclaimed.rows_affected() == 1 {
            return Ok(true);
        }
        let inserted = sqlx::query(
            "INSERT INTO registrations (name, status, owner_key, active_key, memo_key, ip, requested_referrer, \
             created_at, updated_at, created_day, claim) VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $7, $8, $9)",
        )
        .bind(new.name)
        .bind(new.owner_key)
        .bind(new.active_key)
        .bind(new.memo_key)
        .bind(new.ip)
        .bind(new.requested_referrer)
        .bind(new.now)
        .bind(day)
        .bind(new.claim)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            // The primary key: another request or process has this name.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the signed transaction, before it is sent: from now on it may be on chain.
    /// Allowed from `pending`, and from `broadcast` (a transaction re-signed with a new fee after
    /// the node refused the old one).
    pub async fn set_broadcast(
        &self,
        (name, claim): (&str, &str),
        tx: &SignedTransaction,
        referrer: (&str, &str),
        fee: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(tx).map_err(|e| StoreError::Corrupt {
            name: name.to_owned(),
            message: e.to_string(),
        })?;
        let done = sqlx::query(
            "UPDATE registrations SET status = 'broadcast', tx_id = $2, tx_json = $3, tx_expiration = $4, \
             referrer_id = $5, referrer_name = $6, fee = $7, updated_at = $8 \
             WHERE name = $1 AND claim = $9 AND status IN ('pending', 'broadcast')",
        )
        .bind(name)
        .bind(tx.id().to_string())
        .bind(json)
        .bind(i64::from(tx.transaction.expiration.secs()))
        .bind(referrer.0)
        .bind(referrer.1)
        .bind(fee)
        .bind(now)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The account is on chain. `(name, claim)` identify the attempt, as for every change below.
    pub async fn set_confirmed(
        &self,
        (name, claim): (&str, &str),
        account_id: Option<&str>,
        block_num: Option<u32>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE registrations SET status = 'confirmed', account_id = COALESCE($2, account_id), \
             block_num = COALESCE($3, block_num), error = NULL, updated_at = $4 \
             WHERE name = $1 AND claim = $5 AND status IN ('pending', 'broadcast')",
        )
        .bind(name)
        .bind(account_id)
        .bind(block_num.map(i64::from))
        .bind(now)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The registration will never happen (refused, or expired without reaching the chain).
    pub async fn set_failed(&self, (name, claim): (&str, &str), reason: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE registrations SET status = 'failed', error = $2, updated_at = $3 \
             WHERE name = $1 AND claim = $4 AND status IN ('pending', 'broadcast')",
        )
        .bind(name)
        .bind(reason)
        .bind(now)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Rows still `pending` or `broadcast`, oldest first.
    pub async fn unsettled(&self) -> Result<Vec<Registration>, StoreError> {
        let rows = sqlx::query(select!(
            "WHERE status IN ('pending', 'broadcast') ORDER BY updated_at, name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Registration::from_row).collect()
    }

    /// Registrations (not failed) from `ip` created at or after `since`.
    pub async fn count_from_ip(&self, ip: &str, since: i64) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM registrations WHERE ip = $1 AND created_at >= $2 AND status <> 'failed'",
        )
        .bind(ip)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Registrations (not failed) created at or after `since`.
    pub async fn count_since(&self, since: i64) -> Result<i64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM registrations WHERE created_at >= $1 AND status <> 'failed'")
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    /// Totals by status, confirmed registrations per day since `since` (Unix seconds) and per
    /// referrer (the `top` largest), and the fees paid.
    pub async fn stats(&self, since: i64, top: i64) -> Result<DbStats, StoreError> {
        let by_status: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM registrations GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        let per_day: Vec<(String, i64)> = sqlx::query_as(
            "SELECT created_day, COUNT(*) FROM registrations WHERE status = 'confirmed' AND created_day >= $1 \
             GROUP BY created_day ORDER BY created_day",
        )
        .bind(row::day_of(since))
        .fetch_all(&self.pool)
        .await?;
        let per_referrer: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(referrer_name, ''), COUNT(*) FROM registrations WHERE status = 'confirmed' \
             GROUP BY referrer_name ORDER BY 2 DESC, 1 LIMIT $1",
        )
        .bind(top)
        .fetch_all(&self.pool)
        .await?;
        let fees: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(fee), 0) AS BIGINT) FROM registrations WHERE status = 'confirmed'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(DbStats {
            by_status,
            per_day,
            per_referrer,
            fees_paid: fees,
        })
    }
}

/// `sqlite://FILE` creates nothing by default; the faucet's own file should be created.
fn sqlite_create_if_missing(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

fn migrator() -> Migrator {
    let mut migrator = Migrator::with_migrations(vec![Migration::new(
        1,
        "registrations".into(),
        MigrationType::Simple,
        include_str!("0001_registrations.sql").into_sql_str(),
        false,
    )]);
    // The table name is ours, so a faucet can share a database with other applications.
    migrator.dangerous_set_table_name("bts_faucet_migrations");
    migrator
}

/// The URL for logs: the password replaced.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{}", &rest[at + 1..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
