//! The faucet's KPIs: accounts registered (in total, per day, per referrer) from the database,
//! and what the registrar holds and has collected from the chain.
//!
//! On BitShares a lifetime member's referral rewards are paid at maintenance into its cashback
//! vesting balance (`cashback_vb`; small amounts straight into its balance), and the statistics
//! object holds the fees still waiting for the next maintenance. Those are the chain's figures
//! here. A devnet pays no rewards, so they are zero there. All amounts are in satoshis.

use crate::registrar::{Funding, probe_registration};
use crate::state::Shared;
use crate::store::{DbStats, Status};
use bts_protocol::{AssetId, ObjectId};
use bts_rpc::api::database;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long chain figures are reused: the page must not turn visitors into node load.
const CHAIN_FIGURES_TTL: Duration = Duration::from_secs(30);

/// Days of per-day figures shown.
const DAYS: i64 = 30;

/// The registrar's figures from the chain, in satoshis of the core asset.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ChainFigures {
    /// Core balance.
    balance: Option<i64>,
    /// The cashback vesting balance, where referral rewards accumulate.
    cashback_vesting_balance: Option<i64>,
    /// Fees the registrar paid, all time (statistics object).
    lifetime_fees_paid: Option<i64>,
    /// Fees paid since the last maintenance, not yet split into rewards.
    pending_fees: Option<i64>,
    /// Vesting part of the pending fees.
    pending_vested_fees: Option<i64>,
    /// What one registration costs now, fee scaling included.
    registration_fee: Option<i64>,
    /// How many registrations the balance pays for at that fee.
    registrations_left: Option<i64>,
    /// Why figures are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// An amount as the node writes it: a number, or a string beyond 32 bits.
fn amount(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl ChainFigures {
    /// The registrar's core balance, when it was read.
    pub(crate) fn balance(&self) -> Option<i64> {
        self.balance
    }

    /// What one registration costs, when it was read.
    pub(crate) fn registration_fee(&self) -> Option<i64> {
        self.registration_fee
    }
}

impl Shared {
    /// Everything `/api/v1/stats` shows.
    pub(crate) async fn stats(&self) -> Result<Value, crate::store::StoreError> {
        let since = crate::register::now_secs() - (DAYS - 1) * 86_400;
        let db = self.store.stats(since, 100).await?;
        let chain = self.chain_figures().await;
        Ok(render_json(self, &db, &chain))
    }

    /// The chain's figures, at most [`CHAIN_FIGURES_TTL`] old; reading them fresh also updates
    /// the funding metrics (`/metrics` calls this before rendering).
    pub(crate) async fn chain_figures(&self) -> ChainFigures {
        let cached = self.chain_figures.lock().expect("never poisoned").clone();
        if let Some((at, figures)) = cached
            && at.elapsed() < CHAIN_FIGURES_TTL
        {
            return figures;
        }
        let figures = self.read_chain_figures().await.unwrap_or_else(|e| ChainFigures {
            error: Some(format!("no node answered: {e}")),
            ..ChainFigures::default()
        });
        *self.chain_figures.lock().expect("never poisoned") = Some((Instant::now(), figures.clone()));
        figures
    }

    async fn read_chain_figures(&self) -> Result<ChainFigures, bts_rpc::RpcError> {
        let id = self.registrar.id;
        let Some(account) = self.nodes.account(&id.to_string()).await? else {
            return Ok(ChainFigures::default());
        };
        let mut ids = vec![account.statistics];
        let cashback: Option<ObjectId> = account
            .rest
            .get("cashback_vb")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        ids.extend(cashback);
        let objects = self
            .nodes
            .read("get_objects", move |api| {
                let ids = ids.clone();
                Box::pin(async move { api.get_objects(&ids).await })
            })
            .await?;
        let balances: Value = self
            .nodes
            .read("get_account_balances", move |api| {
                Box::pin(async move { api.call(database(), "get_account_balances", &(id, ["1.3.0"])).await })
            })
            .await?;
        let stats = objects.first().cloned().flatten().unwrap_or_default();
        let vesting = objects.get(1).cloned().flatten();
        let balance = balances.get(0).and_then(|b| amount(&b["amount"]));
        // Without the fee the other figures still show.
        let (funding, error) = match self.funding(balance.unwrap_or(0)).await {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(format!("the registration fee could not be read: {e}"))),
        };
        Ok(ChainFigures {
            balance,
            registration_fee: funding.map(|f| f.registration_fee),
            registrations_left: funding.map(|f| f.registrations_left),
            cashback_vesting_balance: Some(vesting.and_then(|v| amount(&v["balance"]["amount"])).unwrap_or(0)),
            lifetime_fees_paid: amount(&stats["lifetime_fees_paid"]),
            pending_fees: amount(&stats["pending_fees"]),
            pending_vested_fees: amount(&stats["pending_vested_fees"]),
            error,
        })
    }

    /// What `balance` pays for at the current registration fee; updates the metrics.
    pub(crate) async fn funding(&self, balance: i64) -> Result<Funding, bts_rpc::RpcError> {
        let probe = probe_registration(
            self.registrar.id,
            self.config.registrar_key.public_key(self.config.prefix),
        );
        let fees = self
            .nodes
            .read("get_required_fees", move |api| {
                let ops = [probe.clone()];
                Box::pin(async move { api.get_required_fees(&ops, AssetId::CORE).await })
            })
            .await?;
        let funding = Funding::new(balance, fees.first().map_or(0, |f| f.amount));
        self.metrics.funding(&funding);
        Ok(funding)
    }

    /// The warning to show when the balance pays for fewer registrations than configured.
    pub(crate) fn low_balance_warning(&self, funding: &Funding) -> Option<String> {
        let threshold = self.config.low_balance_registrations;
        (threshold > 0 && funding.registrations_left < i64::try_from(threshold).unwrap_or(i64::MAX)).then(|| {
            format!(
                "the registrar's balance pays for {} more registrations (one costs {} satoshis now), fewer than \
                 registrar.low-balance-registrations = {threshold}: fund {}",
                funding.registrations_left, funding.registration_fee, self.registrar.name
            )
        })
    }
}

fn render_json(shared: &Shared, db: &DbStats, chain: &ChainFigures) -> Value {
    let pairs = |rows: &[(String, i64)], key: &str| -> Vec<Value> {
        rows.iter().map(|(k, n)| json!({ key: k, "accounts": n })).collect()
    };
    json!({
        "registrar": { "name": shared.registrar.name, "id": shared.registrar.id },
        "chain": { "chain_id": shared.config.chain_id, "prefix": shared.config.prefix },
        "accounts": {
            "registered": db.count(Status::Confirmed),
            "failed": db.count(Status::Failed),
            "in_progress": db.count(Status::Pending) + db.count(Status::Broadcast),
            "per_day": pairs(&db.per_day, "day"),
            "per_referrer": pairs(&db.per_referrer, "referrer"),
        },
        "fees_paid_satoshis": db.fees_paid,
        "referrer_percent": shared.config.referrer_percent,
        "registrar_on_chain_satoshis": chain,
        "warnings": warnings(shared, chain),
    })
}

/// What an operator must act on: the low-balance warning, or figures that could not be read.
fn warnings(shared: &Shared, chain: &ChainFigures) -> Vec<String> {
    let funding = chain
        .registration_fee
        .map(|fee| Funding::new(chain.balance.unwrap_or(0), fee));
    let low = funding.as_ref().and_then(|f| shared.low_balance_warning(f));
    low.into_iter().chain(chain.error.clone()).collect()
}

/// The HTML page with the same figures as the JSON.
pub(crate) fn render_html(stats: &Value) -> String {
    let text = |v: &Value| escape(&v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    let mut rows = String::new();
    let mut table = |title: &str, list: &Value, key: &str| {
        rows.push_str(&format!(
            "<h2>{}</h2><table><tr><th>{key}</th><th>accounts</th></tr>",
            escape(title)
        ));
        for item in list.as_array().into_iter().flatten() {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                text(&item[key]),
                text(&item["accounts"])
            ));
        }
        rows.push_str("</table>");
    };
    let a = &stats["accounts"];
    table("Per day (UTC, last 30 days)", &a["per_day"], "day");
    table("Per referrer", &a["per_referrer"], "referrer");
    let warnings: String = (stats["warnings"].as_array().into_iter().flatten())
        .map(|w| format!("<p class=\"warning\"><b>Warning:</b> {}</p>", text(w)))
        .collect();
    let mut chain = String::new();
    if let Some(map) = stats["registrar_on_chain_satoshis"].as_object() {
        for (k, v) in map {
            chain.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", escape(k), text(v)));
        }
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>BitShares faucet</title>\
         <style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}td,th{{padding:.2em 1em;text-align:left}}</style>\
         </head><body><h1>BitShares onboarding faucet</h1>{warnings}\
         <p>Registrar <b>{registrar}</b> ({id}), referrer share {percent} / 10000. JSON: <code>api/v1/stats</code>.</p>\
         <table><tr><td>accounts registered</td><td>{registered}</td></tr><tr><td>in progress</td><td>{progress}</td></tr>\
         <tr><td>failed</td><td>{failed}</td></tr><tr><td>fees paid (satoshis)</td><td>{fees}</td></tr></table>\
         {rows}<h2>Registrar on chain (satoshis)</h2><table>{chain}</table></body></html>",
        registrar = text(&stats["registrar"]["name"]),
        id = text(&stats["registrar"]["id"]),
        percent = text(&stats["referrer_percent"]),
        registered = text(&a["registered"]),
        progress = text(&a["in_progress"]),
        failed = text(&a["failed"]),
        fees = text(&stats["fees_paid_satoshis"]),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
