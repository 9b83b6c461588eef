//! Registering an account: the checks, the bookkeeping and the order they happen in.
//!
//! 1. Check the request without IO (name rules and policy, keys with the chain's prefix).
//! 2. Take the name's lock: concurrent requests for one name run one after the other.
//! 3. The database: a confirmed row with the same keys is the earlier success, returned again;
//!    with other keys the name is taken; an unsettled row left by a crash is settled first.
//! 4. The chain: a taken name is refused (unless it is this request's own account).
//! 5. The limits, and a `pending` row claimed for this attempt, both under one admission lock so
//!    that concurrent requests cannot all slip under a limit.
//! 6. Resolve the referrer, fetch the fee, sign; store the transaction (`broadcast`) before
//!    sending it; broadcast and settle (`submit`): `confirmed` or `failed`, or still `broadcast`
//!    when the result is unknown, for the reconciler.

mod referrer;
pub(crate) mod rejection;
pub(crate) mod request;
mod submit;

pub(crate) use referrer::Referrer;
pub use rejection::Rejection;
pub use request::AccountRequest;
pub(crate) use submit::{KeySet, Settled, created_id};

use crate::client_ip::limit_key;
use crate::state::Shared;
use crate::store::{NewRegistration, Registration, Status};
use bts_protocol::{
    AccountCreate, AccountOptions, Asset, AssetId, Authority, Operation, SignedTransaction, Transaction,
};
use bts_rpc::DynamicGlobalProperties;
use request::Checked;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// A successful registration, as the reply describes it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Registered {
    pub(crate) name: String,
    pub(crate) owner_key: String,
    pub(crate) active_key: String,
    pub(crate) memo_key: String,
    /// The referrer actually used, by name (the registrar when none was usable).
    pub(crate) referrer: String,
    pub(crate) registrar: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// `created`, `repeated` or `test`.
    #[serde(skip)]
    pub(crate) outcome: &'static str,
    /// Test mode: the transaction that would have been broadcast, without signatures.
    #[serde(skip)]
    pub(crate) transaction: Option<serde_json::Value>,
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A token unique to one attempt (process, time, counter).
fn new_claim() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Shared {
    /// Registers the account `req` asks for, on behalf of the client at `ip`.
    pub(crate) async fn register(&self, req: &AccountRequest, ip: IpAddr) -> Result<Registered, Rejection> {
        let checked = request::check(req, self.config.prefix, self.config.names)?;
        if checked.is_test() {
            return self.dry_run(&checked).await;
        }
        let _name = self.locks.lock(&checked.name).await;
        if let Some(done) = self.earlier(&checked).await? {
            return Ok(done);
        }
        if let Some(done) = self.on_chain(&checked).await? {
            return Ok(done);
        }
        let claim = self.admit(&checked, &limit_key(ip)).await?;
        self.create(&checked, &claim).await
    }

    /// Step 3: what the database knows about the name.
    async fn earlier(&self, c: &Checked) -> Result<Option<Registered>, Rejection> {
        let Some(mut row) = self.store.get(&c.name).await.map_err(|e| self.internal(e))? else {
            return Ok(None);
        };
        if matches!(row.status, Status::Pending | Status::Broadcast) {
            // We hold the name's lock, so no request of ours is on it: a crash left it.
            self.settle_row(&row).await;
            row = match self.store.get(&c.name).await.map_err(|e| self.internal(e))? {
                Some(r) => r,
                None => return Ok(None),
            };
        }
        let [owner, active, memo] = c.key_strings();
        match row.status {
            Status::Confirmed if row.same_keys(&owner, &active, &memo) => Ok(Some(self.reply_from_row(&row))),
            Status::Confirmed => Err(Rejection::AccountExists),
            Status::Failed => Ok(None),
            Status::Pending | Status::Broadcast => Err(Rejection::InProgress),
        }
    }

    /// Step 4: the name on chain. Our own earlier registration of these keys (its row lost) is
    /// a success; anything else there means the name is taken.
    async fn on_chain(&self, c: &Checked) -> Result<Option<Registered>, Rejection> {
        let account = self.nodes.account(&c.name).await.map_err(|e| self.unavailable(e))?;
        match account {
            None => Ok(None),
            Some(a) if KeySet::of(c).held_by(&a) && a.registrar == self.registrar.id => {
                let referrer = self.nodes.account(&a.referrer.to_string()).await.ok().flatten();
                Ok(Some(Registered {
                    referrer: referrer.map_or_else(|| a.referrer.to_string(), |r| r.name),
                    id: Some(a.id.to_string()),
                    ..self.reply(c, "repeated")
                }))
            }
            Some(_) => Err(Rejection::AccountExists),
        }
    }

    /// Step 5: the limits, then a pending row for this attempt. Returns its claim token.
    async fn admit(&self, c: &Checked, ip: &str) -> Result<String, Rejection> {
        let _admission = self.admission.lock().await;
        let now = now_secs();
        let limits = self.config.limits;
        let count = |since: i64| async move { self.store.count_from_ip(ip, since).await };
        if let Some(interval) = limits.ip_interval {
            let since = now - i64::try_from(interval.as_secs()).unwrap_or(i64::MAX / 2);
            if count(since).await.map_err(|e| self.internal(e))? > 0 {
                return Err(Rejection::IpInterval(humantime::format_duration(interval).to_string()));
            }
        }
        if let Some(cap) = limits.ip_per_day
            && count(now - 86_400).await.map_err(|e| self.internal(e))? >= i64::from(cap)
        {
            return Err(Rejection::IpDaily);
        }
        if let Some(cap) = limits.global_per_hour
            && self.store.count_since(now - 3600).await.map_err(|e| self.internal(e))? >= i64::from(cap)
        {
            return Err(Rejection::GlobalCap);
        }
        let claim = new_claim();
        let [owner, active, memo] = c.key_strings();
        let new = NewRegistration {
            name: &c.name,
            owner_key: &owner,
            active_key: &active,
            memo_key: &memo,
            ip,
            requested_referrer: c.referrer.as_deref(),
            claim: &claim,
            now,
        };
        match self.store.claim(&new).await.map_err(|e| self.internal(e))? {
            true => Ok(claim),
            // Another process has the name: it answers that request; this one can ask again.
            false => Err(Rejection::InProgress),
        }
    }

    /// Step 6: build, sign, record, broadcast, settle.
    async fn create(&self, c: &Checked, claim: &str) -> Result<Registered, Rejection> {
        let key = (c.name.as_str(), claim);
        let prepared = async {
            let dgp = self.head().await?;
            let referrer = self.resolve_referrer(c.referrer.as_deref(), dgp.time).await?;
            let (tx, fee) = self.build(c, &referrer, &dgp).await?;
            Ok::<_, Rejection>((referrer, tx, fee))
        }
        .await;
        let (referrer, tx, fee) = match prepared {
            Ok(p) => p,
            Err(rejection) => {
                // Nothing was sent: the row is given up, so a retry starts afresh.
                let _ = self.store.set_failed(key, &rejection.to_string(), now_secs()).await;
                return Err(rejection);
            }
        };
        let recorded = self
            .store
            .set_broadcast(key, &tx, (&referrer.id.to_string(), &referrer.name), fee, now_secs())
            .await
            .map_err(|e| self.internal(e))?;
        if !recorded {
            return Err(Rejection::InProgress);
        }
        match self.submit(c, claim, &referrer, tx).await {
            Settled::Confirmed { account_id, .. } => Ok(Registered {
                referrer: referrer.name,
                id: account_id,
                ..self.reply(c, "created")
            }),
            Settled::Failed(rejection) => Err(rejection),
            Settled::Unknown => Err(Rejection::InProgress),
        }
    }

    /// Test mode: everything but the broadcast, and no bookkeeping.
    async fn dry_run(&self, c: &Checked) -> Result<Registered, Rejection> {
        let dgp = self.head().await?;
        let referrer = self.resolve_referrer(c.referrer.as_deref(), dgp.time).await?;
        let (tx, _fee) = self.build(c, &referrer, &dgp).await?;
        // Without signatures: a signed registration could be broadcast by anyone, at the
        // registrar's expense and outside the limits.
        let transaction = serde_json::to_value(&tx.transaction).map_err(|_| Rejection::Internal)?;
        Ok(Registered {
            referrer: referrer.name,
            transaction: Some(transaction),
            ..self.reply(c, "test")
        })
    }

    async fn head(&self) -> Result<DynamicGlobalProperties, Rejection> {
        self.nodes
            .read("get_dynamic_global_properties", |api| {
                Box::pin(async move { api.get_dynamic_global_properties().await })
            })
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// The signed `account_create` with the node's fee for it, and the fee.
    pub(crate) async fn build(
        &self,
        c: &Checked,
        referrer: &Referrer,
        dgp: &DynamicGlobalProperties,
    ) -> Result<(SignedTransaction, i64), Rejection> {
        let mut op = AccountCreate {
            fee: Asset::core(0),
            registrar: self.registrar.id,
            referrer: referrer.id,
            referrer_percent: self.config.referrer_percent,
            name: c.name.clone(),
            owner: Authority::single_key(c.owner),
            active: Authority::single_key(c.active),
            options: AccountOptions::no_votes(c.memo),
            extensions: Default::default(),
        };
        let unpriced: Operation = op.clone().into();
        let fees = self
            .nodes
            .read("get_required_fees", move |api| {
                let ops = [unpriced.clone()];
                Box::pin(async move { api.get_required_fees(&ops, AssetId::CORE).await })
            })
            .await
            .map_err(|e| self.unavailable(e))?;
        op.fee = fees.first().copied().ok_or(Rejection::Unavailable)?;
        let secs = u32::try_from(self.config.timeouts.transaction_expiration.as_secs()).unwrap_or(86_400);
        let tx = Transaction::new(
            &dgp.head_block_id,
            dgp.time.saturating_add(secs),
            vec![op.clone().into()],
        );
        let checks = tx.check_prefix(self.config.prefix).map_err(|e| e.to_string());
        if let Err(e) = checks.and_then(|()| tx.validate().map_err(|e| e.to_string())) {
            tracing::error!(target: "bts_faucet::register", name = %c.name, error = %e, "built an invalid transaction");
            return Err(Rejection::Internal);
        }
        Ok((
            tx.sign(&self.config.chain_id, &[&self.config.registrar_key]),
            op.fee.amount,
        ))
    }

    fn reply(&self, c: &Checked, outcome: &'static str) -> Registered {
        let [owner_key, active_key, memo_key] = c.key_strings();
        Registered {
            name: c.name.clone(),
            owner_key,
            active_key,
            memo_key,
            referrer: self.registrar.name.clone(),
            registrar: self.registrar.name.clone(),
            id: None,
            outcome,
            transaction: None,
        }
    }

    fn reply_from_row(&self, row: &Registration) -> Registered {
        Registered {
            name: row.name.clone(),
            owner_key: row.owner_key.clone(),
            active_key: row.active_key.clone(),
            memo_key: row.memo_key.clone(),
            referrer: row.referrer_name.clone().unwrap_or_else(|| self.registrar.name.clone()),
            registrar: self.registrar.name.clone(),
            id: row.account_id.clone(),
            outcome: "repeated",
            transaction: None,
        }
    }

    pub(crate) fn internal(&self, e: crate::store::StoreError) -> Rejection {
        tracing::error!(target: "bts_faucet::store", error = %e, "database failure");
        Rejection::Internal
    }

    /// A failed read: the node's own refusal, or no node answering.
    pub(crate) fn unavailable(&self, e: bts_rpc::RpcError) -> Rejection {
        match e.node_message() {
            Some(message) => Rejection::NodeRejected(rejection::short_node_message(message)),
            None => {
                tracing::warn!(target: "bts_faucet::register", error = %e, "no node answered");
                Rejection::Unavailable
            }
        }
    }
}
