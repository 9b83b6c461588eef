//! Shared helpers for the chain tests: a devnet with a clock the test advances, transaction
//! building and signing with bts-protocol, and API calls.

#![allow(dead_code)] // Reason: each test file uses a different subset of the helpers.

use bts_devnet::chain::{BlockProduced, Chain, ChainConfig, GenesisAccount};
use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, AccountUpgrade, Asset, Authority, Operation, Prefix, PrivateKey,
    PublicKey, SignedTransaction, TimePointSec, Transaction, TransactionId, Transfer,
};
use bts_rpc::{ApiRef, Call, ErrorObject, FcException};
use serde_json::Value;

/// The registrar's id in every devnet (after the six special accounts and init0).
pub(crate) const REGISTRAR: &str = "1.2.7";
/// The first configured genesis account.
pub(crate) const ALICE: &str = "1.2.8";

pub(crate) fn id(s: &str) -> AccountId {
    s.parse().unwrap()
}

pub(crate) fn key(seed: &str) -> PrivateKey {
    PrivateKey::from_seed(seed).unwrap()
}

/// A devnet with the test's own clock.
pub(crate) struct Net {
    pub(crate) chain: Chain,
    pub(crate) prefix: Prefix,
    pub(crate) time: TimePointSec,
}

impl Net {
    /// A TEST-prefixed devnet with genesis account `alice` (key seed "alice", 1000 units).
    pub(crate) fn new() -> Net {
        Net::with_prefix(Prefix::TEST)
    }

    pub(crate) fn with_prefix(prefix: Prefix) -> Net {
        let mut config = ChainConfig::devnet(prefix);
        let alice = key("alice").public_key(prefix);
        config.accounts.push(GenesisAccount {
            name: "alice".into(),
            owner_key: key("alice-owner").public_key(prefix),
            active_key: alice,
            memo_key: alice,
            balance: 100_000_000,
            lifetime_member: false,
            committee_member: false,
        });
        let time = config.genesis_time;
        Net {
            chain: Chain::new(config).unwrap(),
            prefix,
            time,
        }
    }

    pub(crate) fn registrar_key(&self) -> PrivateKey {
        self.chain
            .config()
            .registrar_private_key
            .clone()
            .expect("test chains use the development key")
    }

    pub(crate) fn public(&self, k: &PrivateKey) -> PublicKey {
        k.public_key(self.prefix)
    }

    /// Produces the next block one interval later.
    pub(crate) fn block(&mut self) -> BlockProduced {
        let produced = self
            .chain
            .produce_block(self.time.saturating_add(self.chain.config().block_interval));
        self.time = produced.timestamp;
        produced
    }

    pub(crate) fn blocks(&mut self, n: u32) {
        for _ in 0..n {
            self.block();
        }
    }

    /// An unsigned transaction referring to the head block, expiring 30 s after it (as
    /// cli_wallet builds them).
    pub(crate) fn tx(&self, ops: Vec<Operation>) -> Transaction {
        let expiration = self.chain.head_block_time().saturating_add(30);
        Transaction::new(&self.chain.head_block_id(), expiration, ops)
    }

    pub(crate) fn sign(&self, tx: Transaction, keys: &[&PrivateKey]) -> SignedTransaction {
        tx.sign(&self.chain.config().chain_id, keys)
    }

    /// Signs `ops` with `keys` and pushes them.
    pub(crate) fn push(&mut self, ops: Vec<Operation>, keys: &[&PrivateKey]) -> Result<TransactionId, FcException> {
        let tx = self.sign(self.tx(ops), keys);
        self.chain.push_transaction(&tx)
    }

    /// Like [`Net::push`], expecting a rejection; returns it as the wire error object.
    pub(crate) fn reject(&mut self, ops: Vec<Operation>, keys: &[&PrivateKey]) -> ErrorObject {
        self.push(ops, keys).unwrap_err().into_execution_error()
    }

    pub(crate) fn call(method: &str, args: Value) -> Call {
        Call {
            api: ApiRef::DATABASE,
            method: method.into(),
            args: serde_json::value::to_raw_value(&args).unwrap(),
        }
    }

    pub(crate) fn db(&self, method: &str, args: Value) -> Result<Value, ErrorObject> {
        self.chain.database_call(&Net::call(method, args))
    }

    pub(crate) fn history(&self, method: &str, args: Value) -> Result<Value, ErrorObject> {
        self.chain.history_call(&Net::call(method, args))
    }

    /// The fee `get_required_fees` asks for.
    pub(crate) fn fee(&self, op: &Operation) -> Asset {
        let answer = self
            .db("get_required_fees", serde_json::json!([[op], "1.3.0"]))
            .unwrap();
        // A proposal's entry is `[fee, [its operations' fees]]`.
        let entry = if answer[0].is_array() {
            &answer[0][0]
        } else {
            &answer[0]
        };
        serde_json::from_value(entry.clone()).unwrap()
    }

    /// Sets the required fee on `op`.
    pub(crate) fn with_fee(&self, mut op: Operation) -> Operation {
        op.set_fee(self.fee(&op));
        op
    }

    /// A core balance.
    pub(crate) fn balance(&self, account: &str) -> i64 {
        let answer = self
            .db("get_account_balances", serde_json::json!([account, ["1.3.0"]]))
            .unwrap();
        serde_json::from_value::<Asset>(answer[0].clone()).unwrap().amount
    }

    pub(crate) fn account(&self, name_or_id: &str) -> Value {
        self.db("get_accounts", serde_json::json!([[name_or_id]])).unwrap()[0].clone()
    }

    /// account_create by the registrar (referrer = registrar) with one key for every role.
    pub(crate) fn create_op(&self, name: &str, k: &PublicKey) -> Operation {
        self.create_op_with(name, Authority::single_key(*k), Authority::single_key(*k), *k)
    }

    pub(crate) fn create_op_with(&self, name: &str, owner: Authority, active: Authority, memo: PublicKey) -> Operation {
        AccountCreate {
            fee: Asset::core(0),
            registrar: id(REGISTRAR),
            referrer: id(REGISTRAR),
            referrer_percent: 0,
            name: name.into(),
            owner,
            active,
            options: AccountOptions::no_votes(memo),
            extensions: Default::default(),
        }
        .into()
    }

    pub(crate) fn transfer_op(&self, from: &str, to: &str, amount: i64) -> Operation {
        Transfer {
            fee: Asset::core(0),
            from: id(from),
            to: id(to),
            amount: Asset::core(amount),
            memo: None,
            extensions: Default::default(),
        }
        .into()
    }

    pub(crate) fn upgrade_op(&self, account: &str, lifetime: bool) -> Operation {
        AccountUpgrade {
            fee: Asset::core(0),
            account_to_upgrade: id(account),
            upgrade_to_lifetime_member: lifetime,
            extensions: Default::default(),
        }
        .into()
    }

    /// Registers `name` with the registrar's key and the required fee, in a block; returns the
    /// new account's id.
    pub(crate) fn register(&mut self, name: &str, owner: Authority, active: Authority) -> String {
        let memo = active
            .key_auths
            .iter()
            .next()
            .map_or(PublicKey::null(self.prefix), |(k, _)| *k);
        let op = self.with_fee(self.create_op_with(name, owner, active, memo));
        let registrar = self.registrar_key();
        self.push(vec![op], &[&registrar]).unwrap();
        let produced = self.block();
        produced.confirmations[0].trx["operation_results"][0][1]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Gives `to` some core from the registrar, in a block.
    pub(crate) fn fund(&mut self, to: &str, amount: i64) {
        let op = self.with_fee(self.transfer_op(REGISTRAR, to, amount));
        let registrar = self.registrar_key();
        self.push(vec![op], &[&registrar]).unwrap();
        self.block();
    }
}

/// Asserts an error object is the node's: its code, exception name and message.
#[track_caller]
pub(crate) fn assert_error(e: &ErrorObject, code: i64, name: &str, message: &str) {
    assert_eq!(e.message, message, "{e:?}");
    assert_eq!(e.code, code, "{e:?}");
    assert_eq!(e.exception().unwrap().name, name, "{e:?}");
}

/// Asserts an assert_exception (code 10) with this text after "Execution error: Assert Exception: ".
#[track_caller]
pub(crate) fn assert_assert(e: &ErrorObject, text: &str) {
    assert_error(
        e,
        10,
        "assert_exception",
        &format!("Execution error: Assert Exception: {text}"),
    );
}
