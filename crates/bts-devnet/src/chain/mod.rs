//! The devnet's chain core: a BitShares-compatible chain in one process, with no IO, no clock
//! and no async runtime. A server drives it: it passes transactions in
//! ([`Chain::push_transaction`]), decides when blocks happen ([`Chain::produce_block`], with the
//! time passed in) and answers the node's database and history API calls from it
//! ([`Chain::database_call`], [`Chain::history_call`]).
//!
//! The model is the node's: a pushed transaction is checked and applied to the *pending* state
//! at once (so `get_account_by_name` sees a new account before its block), and the next block
//! undoes the pending state and applies its transactions again with the block's number and
//! time. Checks, texts and JSON follow a recorded witness_node 7.0.2 (see `errors.rs` and the
//! tests).
//!
//! Deliberate differences from witness_node:
//! * One witness (`init0`, 1.6.1) signs every block; there is no p2p network, no fork database
//!   and no witness pay. The last irreversible block is simply `irreversible_lag` blocks back.
//! * Genesis balances are account balances (2.5.N), not claimable balance objects (1.15.N).
//! * Fees leave the payer and wait in its statistics (`pending_fees`), as on the node; at
//!   maintenance (or an upgrade) they count as paid (`lifetime_fees_paid`) and leave the supply.
//!   No cashback or referral rewards are paid and no vesting balances exist.
//! * Only the core asset exists; the operations known are transfer, account_create,
//!   account_update, account_upgrade, proposal_create and proposal_update.
//! * committee-account's active authority is set at genesis (its members, weight 1 each, a
//!   majority needed) instead of at the first maintenance by votes; `committee-member` accounts
//!   of the genesis file join init0 in the committee.
//! * Operations a proposal executes change the state but are not entered in account history.
//! * Whole blocks are kept up to `max_blocks_kept`; older `get_block` calls answer `null`.
//! * JSON objects come out with their keys sorted (`serde_json::Value`), not in the node's
//!   field order; no client depends on the order.
//! * Error log entries carry the node's file and method names, with line numbers only where the
//!   reference node showed them (else 0), and the head block time as their timestamp.

mod api_accounts;
mod api_database;
mod api_history;
mod api_transactions;
mod args;
mod authority;
mod block;
mod config;
mod errors;
mod evaluate;
mod genesis;
mod genesis_file;
mod globals;
mod history;
mod json;
mod objects;
mod params;
mod produce;
mod proposals;
mod state;
mod transaction;
mod validate;

pub use config::{
    ChainConfig, ConfigError, DEFAULT_GENESIS_TIME, DEV_KEY_SEED, GenesisAccount, INIT_WITNESS_NAME, RESERVED_NAMES,
    WITNESS_KEY_SEED,
};
pub use produce::{BlockProduced, Confirmation};

use block::BlockLog;
use bts_protocol::{BlockId, PrivateKey, PublicKey, SignedTransaction, TimePointSec, TransactionId};
use bts_rpc::FcException;
use evaluate::Env;
use history::History;
use params::Parameters;
use state::State;
use std::collections::BTreeSet;

/// A transaction accepted into the pending state, with its signing keys (recovered once, as
/// the node caches them).
#[derive(Debug, Clone)]
struct Pending {
    tx: SignedTransaction,
    signers: BTreeSet<PublicKey>,
}

/// The chain: state, blocks, history and the pending transactions.
#[derive(Debug, Clone)]
pub struct Chain {
    config: ChainConfig,
    params: Parameters,
    witness_key: PrivateKey,
    state: State,
    log: BlockLog,
    history: History,
    pending: Vec<Pending>,
}

impl Chain {
    /// The chain at block 0 (the head is block 0 at `config.genesis_time`, id all zeros).
    pub fn new(config: ChainConfig) -> Result<Chain, ConfigError> {
        config.validate()?;
        let mut params = Parameters::embedded();
        if let Some(period) = config.committee_proposal_review_period {
            params.set_committee_proposal_review_period(period);
        }
        let state = genesis::genesis_state(&config, &params);
        Ok(Chain {
            log: BlockLog::new(config.max_blocks_kept),
            witness_key: ChainConfig::witness_key(),
            params,
            state,
            history: History::default(),
            pending: Vec::new(),
            config,
        })
    }

    /// The configuration the chain was started with.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Number of the head block (0 before the first block).
    pub fn head_block_num(&self) -> u32 {
        self.state.globals().dgp.head_block_number
    }

    /// Id of the head block (all zeros before the first block).
    pub fn head_block_id(&self) -> BlockId {
        self.state.globals().dgp.head_block_id
    }

    /// Time of the head block (the genesis time before the first block).
    pub fn head_block_time(&self) -> TimePointSec {
        self.state.globals().dgp.time
    }

    /// The last irreversible block: `irreversible_lag` blocks behind the head (0 at first).
    pub fn last_irreversible_block_num(&self) -> u32 {
        self.state.globals().dgp.last_irreversible_block_num
    }

    /// Transactions waiting for the next block.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Checks `tx` as the node does when it is broadcast and, if it passes, applies it to the
    /// pending state and queues it for the next block. Errors are the node's exceptions (code,
    /// name and text); turn one into the wire error with `FcException::into_execution_error`.
    pub fn push_transaction(&mut self, tx: &SignedTransaction) -> Result<TransactionId, FcException> {
        let env = Env::pending(
            &self.params,
            self.config.prefix,
            self.head_block_num(),
            self.head_block_time(),
        );
        let signers = validate::precheck(tx, &self.config.chain_id, self.config.prefix)
            .map_err(|e| transaction::finish_error(e, tx, &env))?;
        let save = self.state.savepoint();
        match transaction::apply_transaction(&mut self.state, &self.log, &env, env.block_num, tx, &signers) {
            Ok(_) => {
                self.pending.push(Pending {
                    tx: tx.clone(),
                    signers,
                });
                Ok(tx.id())
            }
            Err(e) => {
                let e = transaction::finish_error(e, tx, &env);
                self.state.rollback(save);
                Err(e)
            }
        }
    }

    /// Any object's JSON as `get_objects` returns it (for subscription notices); `None` for
    /// ids the devnet does not have.
    pub fn object(&self, id: bts_protocol::ObjectId) -> Option<serde_json::Value> {
        api_database::object_json(self, id)
    }
}
