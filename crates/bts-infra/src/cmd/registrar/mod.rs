//! `bts-infra registrar`: set up, watch and rotate the faucet's registrar from the command line.
//!
//! The proposal's registrar is a lifetime member whose owner is the committee, with an active key
//! only the faucet holds: a compromised server can at most spend its balance, and the committee
//! can take the account back. `status` checks that and what the balance still pays for; `setup`
//! gets an account there in one transaction signed by its current owner; `rotate-key` proposes a
//! new active key, which committee members `approve`.
//!
//! Every command that builds a transaction prints it and sends nothing unless given
//! `--broadcast`; `--dry-run` prints it unsigned (node JSON, for review or for cli_wallet).

mod chain;
mod rotate;
mod setup;
mod status;

use crate::error::InputError;
use crate::output::Report;
use bts_protocol::{AccountId, PrivateKey, Transaction, TransactionId};
use chain::Chain;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};
use std::time::Duration;

/// `bts-infra registrar ...`
#[derive(Subcommand)]
pub(crate) enum RegistrarCommand {
    /// Show whether the registrar is a committee-owned lifetime member acting with the faucet's key, and what its balance pays for
    Status(status::StatusArgs),
    /// Make an account the faucet's registrar: lifetime member, owner = the committee, active = the faucet's key
    #[command(
        after_help = "Signs with the registrar's current owner key, in one transaction: account_upgrade \
        (with --upgrade, when needed), then account_update. Nothing is sent without --broadcast.\n\n\
        Example: bts-infra registrar setup --name my-faucet --node wss://node.example --owner-key-file owner.wif \
        --active-key BTS6... --upgrade --broadcast"
    )]
    Setup(setup::SetupArgs),
    /// Propose a new active key for a committee-owned registrar (a proposal committee members approve)
    #[command(
        after_help = "The proposal wraps an account_update of the registrar's active authority; any \
        funded account pays its fee. It executes when committee members holding a majority of the committee's \
        weight have approved it (`registrar approve`), or at its expiration when it has a review period."
    )]
    RotateKey(rotate::RotateArgs),
    /// Approve a proposal as a committee member (proposal_update adding the member's active approval)
    Approve(rotate::ApproveArgs),
}

impl RegistrarCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            RegistrarCommand::Status(args) => args.run(),
            RegistrarCommand::Setup(args) => args.run(),
            RegistrarCommand::RotateKey(args) => args.run(),
            RegistrarCommand::Approve(args) => args.run(),
        }
    }
}

/// The node to talk to.
#[derive(Args)]
pub(crate) struct NodeArgs {
    /// A node of the chain: ws://, wss://, http:// or https://
    #[arg(long, value_name = "URL")]
    node: String,
    /// How long a call may take; a broadcast waits for its block within it
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

impl NodeArgs {
    async fn connect(&self) -> anyhow::Result<Chain> {
        Chain::connect(&self.node, self.timeout).await
    }
}

/// Whether a built transaction is only printed, signed, or sent.
#[derive(Args)]
pub(crate) struct Sending {
    /// Print the unsigned transaction (node JSON) and stop: for review, or to sign elsewhere
    #[arg(long, conflicts_with = "broadcast")]
    dry_run: bool,
    /// Send the signed transaction and wait for its block
    #[arg(long)]
    broadcast: bool,
}

impl Sending {
    /// Prints, signs or sends `tx` as asked; `keys` is `None` for a dry run.
    async fn send(
        &self,
        chain: &Chain,
        account: &bts_rpc::Account,
        tx: Transaction,
        keys: Option<Vec<&PrivateKey>>,
    ) -> anyhow::Result<TxReport> {
        let mut report = TxReport {
            account: account.name.clone(),
            id: account.id,
            prefix: chain.prefix,
            operations: tx.operations.iter().map(|op| op.name()).collect(),
            fees: tx.operations.iter().map(|op| op.fee().amount).sum(),
            txid: Some(tx.id()),
            transaction: Value::Null,
            signed: false,
            block_num: None,
            results: Value::Null,
            notes: Vec::new(),
        };
        let Some(keys) = keys else {
            report.transaction = serde_json::to_value(&tx)?;
            report.notes.push("unsigned, not sent (--dry-run)".to_owned());
            return Ok(report);
        };
        let signed = chain.sign(tx, &keys);
        report.transaction = serde_json::to_value(&signed)?;
        report.signed = true;
        if !self.broadcast {
            report
                .notes
                .push("signed, not sent: add --broadcast to send it".to_owned());
            return Ok(report);
        }
        let confirmation = chain.broadcast(&signed).await?;
        report.block_num = Some(confirmation.block_num);
        report.results = confirmation.trx["operation_results"].clone();
        Ok(report)
    }
}

/// What a command that builds a transaction did.
#[derive(Serialize)]
pub(super) struct TxReport {
    account: String,
    #[serde(skip)]
    prefix: bts_protocol::Prefix,
    id: AccountId,
    operations: Vec<&'static str>,
    /// Fees of all operations, in satoshis of the core asset.
    fees: i64,
    txid: Option<TransactionId>,
    /// The transaction in node JSON: unsigned with --dry-run, else signed.
    transaction: Value,
    signed: bool,
    /// The block it went into, when sent.
    block_num: Option<u32>,
    /// The node's `operation_results`, when sent.
    results: Value,
    notes: Vec<String>,
}

impl TxReport {
    /// Nothing to send, and why.
    fn nothing(account: &bts_rpc::Account, why: String) -> TxReport {
        TxReport {
            prefix: bts_protocol::Prefix::BTS,
            account: account.name.clone(),
            id: account.id,
            operations: Vec::new(),
            fees: 0,
            txid: None,
            transaction: Value::Null,
            signed: false,
            block_num: None,
            results: Value::Null,
            notes: vec![why],
        }
    }
}

impl Report for TxReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "account     {} ({})", self.account, self.id)?;
        if !self.operations.is_empty() {
            let fees = chain::amount(self.fees, self.prefix);
            writeln!(out, "operations  {} (fees {fees})", self.operations.join(", "))?;
        }
        if let Some(txid) = &self.txid {
            writeln!(out, "txid        {txid}")?;
        }
        if let Some(block) = self.block_num {
            writeln!(out, "in block    {block}")?;
        } else if !self.transaction.is_null() {
            let json = serde_json::to_string(&self.transaction).map_err(io::Error::other)?;
            writeln!(out, "transaction {json}")?;
        }
        self.notes.iter().try_for_each(|n| writeln!(out, "{n}"))
    }
}

/// Which authority of an account a signing key must hold alone.
enum Acts {
    /// The owner authority (changing the owner needs it).
    Owner,
    /// The active or the owner authority; `whose` names the account's role in messages.
    ActiveOrOwner { whose: &'static str },
}

/// The private key in `path` (given as `flag`), which must hold `acts` of `account`; `None` with
/// a dry run. A key that does not is refused before anything is sent.
fn signing_key(
    path: Option<&std::path::Path>,
    flag: &str,
    dry_run: bool,
    account: &bts_rpc::Account,
    acts: Acts,
    prefix: bts_protocol::Prefix,
) -> Result<Option<PrivateKey>, InputError> {
    let Some(key) = key_file(path, flag, dry_run)? else {
        return Ok(None);
    };
    let public = key.public_key(prefix);
    let owner = chain::key_satisfies(&account.owner, &public);
    match acts {
        Acts::Owner if !owner => Err(InputError::new(format!(
            "the key in {flag} is not {}'s owner key (owner authority {})",
            account.name,
            status::describe(&account.owner)
        ))
        .hint("give the file holding the owner key's WIF; nothing was sent")),
        Acts::ActiveOrOwner { whose } if !owner && !chain::key_satisfies(&account.active, &public) => {
            Err(InputError::new(format!(
                "the key in {flag} cannot act for {} (active authority {})",
                account.name,
                status::describe(&account.active)
            ))
            .hint(format!(
                "give the file holding the {whose} active key; nothing was sent"
            )))
        }
        _ => Ok(Some(key)),
    }
}

/// A private key from a file named by `flag`; `None` with a dry run.
fn key_file(path: Option<&std::path::Path>, flag: &str, dry_run: bool) -> Result<Option<PrivateKey>, InputError> {
    match (path, dry_run) {
        (_, true) => Ok(None),
        (Some(path), false) => {
            let text = crate::input::read_secret_file(path, flag)?;
            crate::input::parse_wif(&text, flag).map(Some)
        }
        (None, false) => Err(InputError::new(format!("no {flag} given")).hint(format!(
            "pass {flag} PATH, or --dry-run to print the unsigned transaction"
        ))),
    }
}
