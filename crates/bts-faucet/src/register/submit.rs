//! Broadcasting a stored registration and finding out what became of it, without ever losing
//! one or applying one twice.
//!
//! The rules, from `bts_rpc::RpcError`'s model:
//! * included: confirmed.
//! * "insufficient fee": the node refused this transaction, so it will never apply; fetch the fee
//!   again, sign a new transaction, record it, send it.
//! * "duplicate transaction": an earlier send of the same transaction reached the chain; wait for
//!   the account to appear.
//! * "already exists": someone created the name; it is ours if it has our keys and registrar.
//! * a timeout or lost connection: the node may have applied it. Look the account up first (on
//!   another node); only if it is absent send the *same* signed transaction again, elsewhere,
//!   which cannot apply twice (same transaction id).
//! * any other refusal: failed, with the node's message.
//!
//! When nothing is certain within the attempts, the row stays `broadcast` for the reconciler and
//! the client is told to ask again.

use super::request::Checked;
use super::{Referrer, Rejection, now_secs, rejection::short_node_message};
use crate::state::Shared;
use crate::store::Registration;
use bts_protocol::{PublicKey, SignedTransaction, TimePointSec};
use bts_rpc::{Account, BroadcastConfirmation, RpcError};
use std::time::Duration;

/// What became of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The account exists with our keys.
    Confirmed {
        account_id: Option<String>,
        block_num: Option<u32>,
    },
    /// It will not happen.
    Failed(Rejection),
    /// Not known yet.
    Unknown,
}

/// The three keys a registration gives an account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySet {
    owner: PublicKey,
    active: PublicKey,
    memo: PublicKey,
}

impl KeySet {
    pub(crate) fn of(c: &Checked) -> KeySet {
        KeySet {
            owner: c.owner,
            active: c.active,
            memo: c.memo,
        }
    }

    /// The keys of a stored row; `None` if they do not parse (never, for rows we wrote).
    pub(crate) fn of_row(row: &Registration) -> Option<KeySet> {
        let parse = |s: &str| PublicKey::parse_any_prefix(s).ok();
        Some(KeySet {
            owner: parse(&row.owner_key)?,
            active: parse(&row.active_key)?,
            memo: parse(&row.memo_key)?,
        })
    }

    /// Whether `account` has exactly these keys (single-key owner and active, this memo key).
    pub(crate) fn held_by(&self, account: &Account) -> bool {
        let only = |auth: &bts_protocol::Authority, key: &PublicKey| {
            auth.account_auths.is_empty() && auth.key_auths.len() == 1 && auth.key_auths.get(key).is_some()
        };
        only(&account.owner, &self.owner)
            && only(&account.active, &self.active)
            && account.options.memo_key == self.memo
    }
}

/// The account id from a confirmation's `operation_results` (`[[1, "1.2.N"]]`).
pub(crate) fn created_id(c: &BroadcastConfirmation) -> Option<String> {
    c.trx
        .get("operation_results")?
        .get(0)?
        .get(1)?
        .as_str()
        .map(str::to_owned)
}

impl Shared {
    /// Broadcasts `tx` for the registration `(c.name, claim)` and records the outcome.
    pub(super) async fn submit(
        &self,
        c: &Checked,
        claim: &str,
        referrer: &Referrer,
        mut tx: SignedTransaction,
    ) -> Settled {
        let settled = self.broadcast_until_known(c, claim, referrer, &mut tx).await;
        self.record((&c.name, claim), &settled).await;
        if let Settled::Confirmed { .. } = &settled {
            // The fee of the transaction that went through (the last one signed).
            let fee = tx.transaction.operations.first().map_or(0, |op| op.fee().amount);
            self.metrics.fee_paid(fee);
            tracing::info!(target: "bts_faucet::register", name = %c.name, referrer = %referrer.name, fee, "account registered");
        }
        settled
    }

    async fn broadcast_until_known(
        &self,
        c: &Checked,
        claim: &str,
        referrer: &Referrer,
        tx: &mut SignedTransaction,
    ) -> Settled {
        let keys = KeySet::of(c);
        let mut fee_retries = 0;
        let mut transport_failures = 0;
        loop {
            let Some(index) = self.nodes.order().next() else {
                return Settled::Unknown;
            };
            let error = match self.nodes.broadcast(index, tx).await {
                Ok(confirmation) => {
                    return Settled::Confirmed {
                        account_id: created_id(&confirmation),
                        block_num: Some(confirmation.block_num),
                    };
                }
                Err(e) => e,
            };
            let expiration = Some(tx.transaction.expiration);
            if error.is_insufficient_fee() && fee_retries < 3 {
                fee_retries += 1;
                self.metrics.broadcast_retry("insufficient_fee");
                match self.resign(c, claim, referrer).await {
                    Ok(new) => *tx = new,
                    Err(settled) => return settled,
                }
            } else if error.is_duplicate_transaction() {
                return self.await_inclusion(&c.name, &keys, expiration).await;
            } else if error.is_already_exists() {
                return self.settle_by_chain(&c.name, &keys, expiration).await;
            } else if error.is_transient() {
                self.nodes.demote(index);
                transport_failures += 1;
                match self.settle_by_chain(&c.name, &keys, expiration).await {
                    Settled::Unknown if transport_failures <= self.nodes.all().len() => {
                        self.metrics.broadcast_retry("transport");
                    }
                    settled => return settled,
                }
            } else {
                return Settled::Failed(rejected(&error));
            }
        }
    }

    /// A new transaction with the fee the node asks now, recorded before it is sent.
    async fn resign(&self, c: &Checked, claim: &str, referrer: &Referrer) -> Result<SignedTransaction, Settled> {
        let dgp = self
            .nodes
            .read("get_dynamic_global_properties", |api| {
                Box::pin(async move { api.get_dynamic_global_properties().await })
            })
            .await
            .map_err(|_| Settled::Unknown)?;
        let (tx, fee) = self.build(c, referrer, &dgp).await.map_err(Settled::Failed)?;
        let key = (c.name.as_str(), claim);
        let referrer_id = referrer.id.to_string();
        match self
            .store
            .set_broadcast(key, &tx, (&referrer_id, &referrer.name), fee, now_secs())
            .await
        {
            Ok(true) => Ok(tx),
            Ok(false) => Err(Settled::Failed(Rejection::InProgress)),
            Err(e) => Err(Settled::Failed(self.internal(e))),
        }
    }

    /// What the chain says: our account (confirmed), someone else's (taken), or absent — and
    /// then failed only if the transaction expired (`expiration`; `None`: nothing was sent).
    pub(crate) async fn settle_by_chain(&self, name: &str, keys: &KeySet, expiration: Option<TimePointSec>) -> Settled {
        match self.nodes.account_and_head(name).await {
            Err(_) => Settled::Unknown,
            Ok((Some(account), _)) if keys.held_by(&account) && account.registrar == self.registrar.id => {
                Settled::Confirmed {
                    account_id: Some(account.id.to_string()),
                    block_num: None,
                }
            }
            Ok((Some(_), _)) => Settled::Failed(Rejection::AccountExists),
            Ok((None, head)) => match expiration {
                None => Settled::Failed(Rejection::NodeRejected(
                    "The registration was interrupted before it was sent: please try again".to_owned(),
                )),
                Some(exp) if head > exp => Settled::Failed(Rejection::NodeRejected(
                    "The registration expired before it reached the chain: please try again".to_owned(),
                )),
                Some(_) => Settled::Unknown,
            },
        }
    }

    /// After "duplicate transaction": the chain has it; wait (up to one broadcast timeout) for
    /// the block that shows the account.
    async fn await_inclusion(&self, name: &str, keys: &KeySet, expiration: Option<TimePointSec>) -> Settled {
        let deadline = tokio::time::Instant::now() + self.config.timeouts.broadcast;
        let poll = Duration::from_millis(500).min(self.config.timeouts.node);
        loop {
            match self.settle_by_chain(name, keys, expiration).await {
                Settled::Unknown if tokio::time::Instant::now() < deadline => tokio::time::sleep(poll).await,
                settled => return settled,
            }
        }
    }

    /// Writes a final outcome to the row; an unknown one leaves it `broadcast`.
    pub(crate) async fn record(&self, key: (&str, &str), settled: &Settled) {
        let now = now_secs();
        let result = match settled {
            Settled::Confirmed { account_id, block_num } => {
                self.store
                    .set_confirmed(key, account_id.as_deref(), *block_num, now)
                    .await
            }
            Settled::Failed(why) => self.store.set_failed(key, &why.to_string(), now).await,
            Settled::Unknown => Ok(true),
        };
        if let Err(e) = result {
            // The chain is the truth; the reconciler writes it down once the database is back.
            let _ = self.internal(e);
        }
    }
}

fn rejected(e: &RpcError) -> Rejection {
    match e.node_message() {
        Some(m) => Rejection::NodeRejected(short_node_message(m)),
        None => Rejection::Unavailable,
    }
}
