//! `bts-infra registrar setup`: one transaction, signed with the registrar's current owner key,
//! that makes it what the proposal asks: a lifetime member (`account_upgrade`, with
//! `--upgrade`), owned by the committee and acting with the faucet's key (`account_update`).

use super::chain::{Chain, amount, key_satisfies};
use super::status::describe;
use super::{Acts, NodeArgs, Sending, TxReport, signing_key};
use crate::error::InputError;
use crate::output::OutputArgs;
use bts_faucet::registrar;
use bts_protocol::{AccountUpgrade, Asset, Authority};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `registrar setup`.
#[derive(Args)]
pub(crate) struct SetupArgs {
    /// The registrar's account name (or id)
    #[arg(long, value_name = "NAME")]
    name: String,
    /// File holding the registrar's current owner key (WIF); not needed with --dry-run
    #[arg(long, value_name = "PATH")]
    owner_key_file: Option<PathBuf>,
    /// The faucet's public key: the registrar's new active authority
    #[arg(long, value_name = "PUBKEY")]
    active_key: String,
    /// The account that will own the registrar
    #[arg(long, value_name = "ACCOUNT", default_value = "committee-account")]
    owner_account: String,
    /// Upgrade the registrar to lifetime member in the same transaction when it is not one
    #[arg(long)]
    upgrade: bool,
    #[command(flatten)]
    sending: Sending,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl SetupArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        crate::serve::block_on_quiet(async {
            let chain = self.node.connect().await?;
            let report = self.setup(&chain).await?;
            self.output.print(&report)
        })
    }

    async fn setup(&self, chain: &Chain) -> anyhow::Result<TxReport> {
        let registrar = chain.account(&self.name, "registrar").await?;
        let owner = chain.account(&self.owner_account, "--owner-account").await?;
        let active_key = chain.public_key(&self.active_key, "--active-key")?;
        let new_owner = registrar::owned_by(owner.id);
        let new_active = Authority::single_key(active_key);
        let upgrade = !registrar.is_lifetime_member();
        if upgrade && !self.upgrade {
            let op = AccountUpgrade {
                fee: Asset::core(0),
                account_to_upgrade: registrar.id,
                upgrade_to_lifetime_member: true,
                extensions: Default::default(),
            };
            let fee = chain.fees(&[op.into()]).await?[0].amount;
            return Err(InputError::new(format!(
                "{} is not a lifetime member, and only lifetime members may register accounts",
                registrar.name
            ))
            .hint(format!(
                "add --upgrade to upgrade it in the same transaction (costs {} now)",
                amount(fee, chain.prefix)
            ))
            .into());
        }
        let change_owner = registrar.owner != new_owner;
        let change_active = registrar.active != new_active;
        if !upgrade && !change_owner && !change_active {
            return Ok(TxReport::nothing(
                &registrar,
                format!(
                    "{} is already a lifetime member owned by {} with active key {active_key}: nothing to do",
                    registrar.name, owner.name
                ),
            ));
        }
        if !change_owner {
            // The owner key no longer acts for it; what is left needs the active key or the committee.
            let (what, hint) = if upgrade {
                (
                    "is not a lifetime member",
                    "sign an account_upgrade with its active key (the faucet's), e.g. with `bts-infra tx sign`",
                )
            } else {
                (
                    "has another active key",
                    "change the key with `bts-infra registrar rotate-key` (a proposal the committee approves)",
                )
            };
            return Err(InputError::new(format!(
                "{} is already owned by {}, but {what}",
                registrar.name, owner.name
            ))
            .hint(hint)
            .into());
        }
        let ops = registrar::setup_operations(registrar.id, upgrade, new_owner, change_active.then_some(new_active));
        let tx = chain.transaction(ops).await?;
        let cost: i64 = tx.operations.iter().map(|op| op.fee().amount).sum();
        let balance = chain.balance(registrar.id).await?;
        if balance < cost {
            return Err(InputError::new(format!(
                "{} holds {}, but the transaction costs {}",
                registrar.name,
                amount(balance, chain.prefix),
                amount(cost, chain.prefix)
            ))
            .hint(format!("fund {} first; nothing was sent", registrar.name))
            .into());
        }
        let key = signing_key(
            self.owner_key_file.as_deref(),
            "--owner-key-file",
            self.sending.dry_run,
            &registrar,
            Acts::Owner,
            chain.prefix,
        )?;
        let mut report = self
            .sending
            .send(chain, &registrar, tx, key.as_ref().map(|k| vec![k]))
            .await?;
        if report.block_num.is_some() {
            let after = chain.account(&registrar.id.to_string(), "registrar").await?;
            let done = after.is_lifetime_member()
                && after.owner == registrar::owned_by(owner.id)
                && key_satisfies(&after.active, &active_key);
            if !done {
                anyhow::bail!(
                    "the transaction is in block {:?}, but {} is not as expected: owner {}, active {}",
                    report.block_num,
                    after.name,
                    describe(&after.owner),
                    describe(&after.active)
                );
            }
            report.notes.push(format!(
                "{} is a lifetime member owned by {} (owner {}), active key {active_key}",
                after.name,
                owner.name,
                describe(&after.owner)
            ));
        }
        Ok(report)
    }
}
