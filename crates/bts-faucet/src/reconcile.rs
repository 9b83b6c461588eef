//! Reconciliation: registrations left `pending` or `broadcast` (by a crash, a lost node, a lost
//! database connection) are settled against the chain, at start and then periodically.
//!
//! * The account is on chain with the row's keys and our registrar: `confirmed`.
//! * It is on chain with other keys: `failed` (the name was taken).
//! * It is absent and the row never got a transaction (`pending`): `failed`; nothing can apply.
//! * It is absent and the stored transaction expired by the node's head time: `failed`.
//! * It is absent and the transaction may still apply: the *same* signed transaction is sent
//!   again (the chain applies a transaction id at most once), and the row settles when it shows.

use crate::register::{KeySet, Rejection, Settled, created_id};
use crate::state::Shared;
use crate::store::{Registration, Status};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

impl Shared {
    /// Settles every unsettled row at least `min_age` old that no request of ours is working
    /// on. Returns how many rows are still unsettled.
    pub(crate) async fn reconcile(&self, min_age: Duration) -> usize {
        let rows = match self.store.unsettled().await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self.internal(e);
                return 0;
            }
        };
        let now = crate::register::now_secs();
        let min_age = i64::try_from(min_age.as_secs()).unwrap_or(i64::MAX);
        let mut unsettled = 0;
        for row in rows {
            let young = now.saturating_sub(row.updated_at) < min_age;
            let Some(_name) = self.locks.try_lock(&row.name).filter(|_| !young) else {
                unsettled += 1;
                continue;
            };
            // Read again under the lock: a request may have settled it meanwhile.
            let current = self.store.get(&row.name).await.ok().flatten();
            let Some(row) = current.filter(|r| r.claim == row.claim && is_unsettled(r)) else {
                continue;
            };
            let result = self.settle_row(&row).await;
            self.metrics.reconciled(result);
            if result == "unresolved" {
                unsettled += 1;
            }
        }
        self.metrics.unsettled(unsettled);
        unsettled
    }

    /// Settles one row (the caller holds its name's lock). Returns `confirmed`, `failed` or
    /// `unresolved`.
    pub(crate) async fn settle_row(&self, row: &Registration) -> &'static str {
        let Some(keys) = KeySet::of_row(row) else {
            let why = Rejection::NodeRejected("unreadable keys in the database".to_owned());
            self.record(row.key(), &Settled::Failed(why)).await;
            return "failed";
        };
        let mut settled = self.settle_by_chain(&row.name, &keys, row.expiration()).await;
        if settled == Settled::Unknown
            && let Some(tx) = &row.transaction
        {
            settled = self.rebroadcast(row, &keys, tx).await;
        }
        self.record(row.key(), &settled).await;
        tracing::info!(target: "bts_faucet::reconcile", name = %row.name, outcome = ?settled, "reconciled");
        match settled {
            Settled::Confirmed { .. } => "confirmed",
            Settled::Failed(_) => "failed",
            Settled::Unknown => "unresolved",
        }
    }

    /// Sends the stored transaction again, on each node until one answers.
    async fn rebroadcast(&self, row: &Registration, keys: &KeySet, tx: &bts_protocol::SignedTransaction) -> Settled {
        self.metrics.reconciled("rebroadcast");
        for index in self.nodes.order().collect::<Vec<_>>() {
            match self.nodes.broadcast(index, tx).await {
                Ok(c) => {
                    return Settled::Confirmed {
                        account_id: created_id(&c),
                        block_num: Some(c.block_num),
                    };
                }
                // Applied by an earlier send; the account shows in a block or two.
                Err(e) if e.is_duplicate_transaction() => return Settled::Unknown,
                Err(e) if e.is_already_exists() => {
                    return self.settle_by_chain(&row.name, keys, row.expiration()).await;
                }
                Err(e) if e.is_transient() => self.nodes.demote(index),
                // Refused (expired, TaPoS too old, ...): it can never apply.
                Err(e) => {
                    let message = e.node_message().unwrap_or("refused");
                    let short = crate::register::rejection::short_node_message(message);
                    return Settled::Failed(Rejection::NodeRejected(short));
                }
            }
        }
        Settled::Unknown
    }
}

fn is_unsettled(row: &Registration) -> bool {
    matches!(row.status, Status::Pending | Status::Broadcast)
}

/// Reconciles every `interval` until `stop` turns true. Rows younger than a request's budget are
/// left to whoever is working on them.
pub(crate) async fn run_periodically(shared: Arc<Shared>, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let budget = shared.request_budget();
        tokio::select! {
            _ = shared.reconcile(budget) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
