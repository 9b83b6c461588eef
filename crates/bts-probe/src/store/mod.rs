//! The prober's history: every check for two days, hourly tallies for 400 days, incidents.
//!
//! One code path for SQLite (the default) and PostgreSQL (sqlx's `Any` driver, picked by the
//! URL), as in the faucet. Downsampling ([`Store::roll_up`]) folds each finished hour of a
//! region's samples into one row per check before the samples are old enough to be deleted, so a
//! year of one endpoint is ~26,000 small rows. Regions may share a database: a prober only rolls
//! up and prunes its own region's samples. Every time is passed in (`now`), so tests pin the clock.

use crate::check::{Check, ErrorKind};
use crate::tally::Tally;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row, SqlSafeStr};
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// How long every check is kept.
pub const RAW_KEPT_SECS: i64 = 2 * 86_400;
/// How long hourly tallies are kept.
pub const HOURS_KEPT_SECS: i64 = 400 * 86_400;
const HOUR: i64 = 3_600;

/// A database failure. The message never contains the database password.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Connecting or a query failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// One check as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix seconds, the round's start.
    pub at: i64,
    /// The prober's region.
    pub region: String,
    /// The endpoint's name.
    pub endpoint: String,
    /// Its network.
    pub network: String,
    /// The check.
    pub check: Check,
    /// Latency in ms when it succeeded, the error kind when not.
    pub result: Result<f64, ErrorKind>,
    /// What happened, for failures.
    pub detail: Option<String>,
}

/// Where a tally belongs: hour start, region, endpoint, check.
pub type TallyKey = (i64, String, String, Check);

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its id.
    pub id: i64,
    /// The region that saw it.
    pub region: String,
    /// The endpoint.
    pub endpoint: String,
    /// First failed round (Unix seconds).
    pub started: i64,
    /// First good round after it; `None` while it lasts.
    pub ended: Option<i64>,
    /// Error kinds seen.
    pub errors: Vec<ErrorKind>,
    /// The first failure's words.
    pub detail: String,
}

/// `SELECT` of every column [`sample`] reads, then `$tail` (the conditions).
macro_rules! select_samples {
    ($tail:literal) => {
        concat!(
            "SELECT at, region, endpoint, network, kind, ok, latency_us, error, detail FROM probe_samples ",
            $tail
        )
    };
}

/// The history database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects (an SQLite file is created if missing) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let options = if url.contains(":memory:") {
            // An in-memory database lives as long as its one connection: keep it.
            AnyPoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(4)
        };
        let url = if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let pool = options.connect(&url).await?;
        let mut migrator = Migrator::with_migrations(vec![Migration::new(
            1,
            "history".into(),
            MigrationType::Simple,
            include_str!("0001_history.sql").into_sql_str(),
            false,
        )]);
        // Our own table name: the prober may share a database with the faucet.
        migrator.dangerous_set_table_name("bts_probe_migrations");
        migrator.run(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Stores one round's checks, all or none.
    pub async fn insert(&self, samples: &[Sample]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for s in samples {
            let (ok, latency, error) = match s.result {
                Ok(ms) => (1i64, Some((ms * 1000.0).round() as i64), None),
                Err(kind) => (0, None, Some(kind.as_str())),
            };
            sqlx::query(
                "INSERT INTO probe_samples (at, region, endpoint, network, kind, ok, latency_us, error, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(s.at)
            .bind(&s.region)
            .bind(&s.endpoint)
            .bind(&s.network)
            .bind(s.check.as_str())
            .bind(ok)
            .bind(latency)
            .bind(error)
            .bind(s.detail.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Folds `region`'s finished hours (before `now`'s hour) into hourly rows, then deletes
    /// samples older than two days and hourly rows older than 400 days. Returns the hours folded.
    pub async fn roll_up(&self, region: &str, now: i64) -> Result<u32, StoreError> {
        let current = now.div_euclid(HOUR) * HOUR;
        let mut folded = 0;
        // Hour by hour, skipping hours without samples (a prober that was down for a while).
        loop {
            let through = self.through(region).await?.unwrap_or(i64::MIN);
            let Some(at) = self.first_sample(region, through).await? else {
                break;
            };
            let hour = at.div_euclid(HOUR) * HOUR;
            if hour >= current {
                break;
            }
            self.fold_hour(region, hour).await?;
            folded += 1;
        }
        let through = self.through(region).await?.unwrap_or(i64::MIN);
        sqlx::query("DELETE FROM probe_samples WHERE region = $1 AND at < $2")
            .bind(region)
            .bind((now - RAW_KEPT_SECS).min(through))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM probe_hours WHERE region = $1 AND hour < $2")
            .bind(region)
            .bind(now - HOURS_KEPT_SECS)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM probe_incidents WHERE region = $1 AND started < $2 AND ended IS NOT NULL")
            .bind(region)
            .bind(now - HOURS_KEPT_SECS)
            .execute(&self.pool)
            .await?;
        Ok(folded)
    }

    /// Where `region`'s folded hours end (every hour before is in `probe_hours`); `None` before
    /// its first fold.
    pub async fn through(&self, region: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT through FROM probe_rollups WHERE region = $1")
            .bind(region)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    async fn first_sample(&self, region: &str, since: i64) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(at) FROM probe_samples WHERE region = $1 AND at >= $2")
            .bind(region)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// One hour of one region into `probe_hours`, and `through` moved past it, in one transaction.
    async fn fold_hour(&self, region: &str, hour: i64) -> Result<(), StoreError> {
        let samples = self
            .fetch_samples(
                sqlx::query(select_samples!(
                    "WHERE region = $1 AND at >= $2 AND at < $3 ORDER BY at"
                ))
                .bind(region)
                .bind(hour)
                .bind(hour + HOUR),
            )
            .await?;
        // One row per endpoint and check, as the table's key says; an endpoint whose network
        // was renamed during the hour keeps the last name.
        let mut tallies: BTreeMap<(String, Check), (String, Tally)> = BTreeMap::new();
        for s in samples {
            let entry = tallies.entry((s.endpoint, s.check)).or_default();
            entry.0 = s.network;
            entry.1.add(s.result);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM probe_hours WHERE hour = $1 AND region = $2")
            .bind(hour)
            .bind(region)
            .execute(&mut *tx)
            .await?;
        for ((endpoint, check), (network, t)) in &tallies {
            sqlx::query(
                "INSERT INTO probe_hours (hour, region, endpoint, network, kind, total, ok, buckets, errors) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(hour)
            .bind(region)
            .bind(endpoint)
            .bind(network)
            .bind(check.as_str())
            .bind(t.total as i64)
            .bind(t.ok as i64)
            .bind(t.buckets_text())
            .bind(t.errors_text())
            .execute(&mut *tx)
            .await?;
        }
        let moved = sqlx::query("UPDATE probe_rollups SET through = $2 WHERE region = $1")
            .bind(region)
            .bind(hour + HOUR)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() == 0 {
            sqlx::query("INSERT INTO probe_rollups (region, through) VALUES ($1, $2)")
                .bind(region)
                .bind(hour + HOUR)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Hourly tallies from `since` on, of `region` or of every region: stored hours, and the
    /// samples not yet folded summed up by hour the same way.
    ///
    /// Each region's boundary is read first: hours before it come from `probe_hours`, samples
    /// from it on from `probe_samples`. A fold committing meanwhile changes neither side (its new
    /// row is past the boundary read, its samples are still there: pruning keeps two days), so
    /// no hour is counted twice or lost.
    pub async fn hourly(&self, since: i64, region: Option<&str>) -> Result<BTreeMap<TallyKey, Tally>, StoreError> {
        let mut folded: HashMap<String, i64> = HashMap::new();
        for r in sqlx::query("SELECT region, through FROM probe_rollups")
            .fetch_all(&self.pool)
            .await?
        {
            folded.insert(r.try_get(0)?, r.try_get(1)?);
        }
        let mut out: BTreeMap<TallyKey, Tally> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT hour, region, endpoint, kind, total, ok, buckets, errors FROM probe_hours WHERE hour >= $1",
        )
        .bind(since.div_euclid(HOUR) * HOUR)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let (hour, name): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
            if region.is_some_and(|r| r != name) || folded.get(&name).is_none_or(|&t| hour >= t) {
                continue;
            }
            let (Some(check), Some(tally)) = (
                Check::parse(row.try_get::<&str, _>(3)?),
                Tally::from_text(
                    u64::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
                    u64::try_from(row.try_get::<i64, _>(5)?).unwrap_or(0),
                    row.try_get::<&str, _>(6)?,
                    row.try_get::<&str, _>(7)?,
                ),
            ) else {
                continue;
            };
            out.entry((hour, name, row.try_get(2)?, check))
                .or_default()
                .merge(&tally);
        }
        let regions: Vec<String> = match region {
            Some(r) => vec![r.to_owned()],
            None => sqlx::query("SELECT DISTINCT region FROM probe_samples")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?,
        };
        for name in regions {
            let from = folded.get(&name).map_or(since, |&t| t.max(since));
            for s in self.samples_of(&name, from).await? {
                let key = (s.at.div_euclid(HOUR) * HOUR, s.region, s.endpoint, s.check);
                out.entry(key).or_default().add(s.result);
            }
        }
        Ok(out)
    }

    /// `region`'s stored checks from `since` on.
    async fn samples_of(&self, region: &str, since: i64) -> Result<Vec<Sample>, StoreError> {
        let query = sqlx::query(select_samples!("WHERE region = $1 AND at >= $2"));
        self.fetch_samples(query.bind(region).bind(since)).await
    }

    /// Every stored check from `since` on (at most two days back), oldest first.
    pub async fn samples(&self, since: i64) -> Result<Vec<Sample>, StoreError> {
        let query = sqlx::query(select_samples!("WHERE at >= $1 ORDER BY at"));
        self.fetch_samples(query.bind(since)).await
    }

    /// The checks a `select_samples!` query finds, leaving out those this version does not know.
    async fn fetch_samples(&self, query: Query<'_, Any, AnyArguments>) -> Result<Vec<Sample>, StoreError> {
        let rows = query.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.extend(sample(row)?);
        }
        Ok(out)
    }

    /// Opens an incident; its id.
    pub async fn open_incident(
        &self,
        region: &str,
        endpoint: &str,
        started: i64,
        errors: &[ErrorKind],
        detail: &str,
    ) -> Result<i64, StoreError> {
        // Unique without a sequence (portable): 62 bits of a hash of what makes an incident.
        let digest = Sha256::digest(format!("{region}\n{endpoint}\n{started}"));
        let id = i64::from_be_bytes(digest[..8].try_into().expect("eight bytes")) & (i64::MAX >> 1);
        sqlx::query(
            "INSERT INTO probe_incidents (id, region, endpoint, started, ended, errors, detail) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
        )
        .bind(id)
        .bind(region)
        .bind(endpoint)
        .bind(started)
        .bind(kinds_text(errors))
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Records more error kinds seen during incident `id`.
    pub async fn incident_errors(&self, id: i64, errors: &[ErrorKind]) -> Result<(), StoreError> {
        sqlx::query("UPDATE probe_incidents SET errors = $2 WHERE id = $1")
            .bind(id)
            .bind(kinds_text(errors))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends incident `id` at `ended`.
    pub async fn close_incident(&self, id: i64, ended: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE probe_incidents SET ended = $2 WHERE id = $1 AND ended IS NULL")
            .bind(id)
            .bind(ended)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Incidents that started from `since` on or still last, newest first.
    pub async fn incidents(&self, since: i64) -> Result<Vec<Incident>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, region, endpoint, started, ended, errors, detail FROM probe_incidents \
             WHERE started >= $1 OR ended IS NULL ORDER BY started DESC",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Incident {
                    id: r.try_get(0)?,
                    region: r.try_get(1)?,
                    endpoint: r.try_get(2)?,
                    started: r.try_get(3)?,
                    ended: r.try_get(4)?,
                    errors: r
                        .try_get::<&str, _>(5)?
                        .split_whitespace()
                        .filter_map(ErrorKind::parse)
                        .collect(),
                    detail: r.try_get(6)?,
                })
            })
            .collect()
    }
}

fn kinds_text(kinds: &[ErrorKind]) -> String {
    let parts: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    parts.join(" ")
}

/// A stored check; `None` for a check or kind this version does not know.
fn sample(row: &AnyRow) -> Result<Option<Sample>, StoreError> {
    let Some(check) = Check::parse(row.try_get::<&str, _>(4)?) else {
        return Ok(None);
    };
    let result = if row.try_get::<i64, _>(5)? == 1 {
        Ok(row.try_get::<Option<i64>, _>(6)?.unwrap_or(0) as f64 / 1000.0)
    } else {
        match row.try_get::<Option<&str>, _>(7)?.and_then(ErrorKind::parse) {
            Some(kind) => Err(kind),
            None => return Ok(None),
        }
    };
    Ok(Some(Sample {
        at: row.try_get(0)?,
        region: row.try_get(1)?,
        endpoint: row.try_get(2)?,
        network: row.try_get(3)?,
        check,
        result,
        detail: row.try_get(8)?,
    }))
}

#[cfg(test)]
mod tests;
