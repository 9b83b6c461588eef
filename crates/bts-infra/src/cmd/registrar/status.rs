//! `bts-infra registrar status`: whether the registrar is set up as the proposal asks (a
//! lifetime member owned by the committee, with the faucet's key as its active authority), and
//! what its balance still pays for.

use super::NodeArgs;
use super::chain::{Chain, account_satisfies, amount, key_satisfies};
use crate::output::{OutputArgs, Report};
use bts_faucet::registrar::{Funding, probe_registration};
use bts_protocol::{AccountId, Authority, Prefix, PublicKey};
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};

/// Arguments of `registrar status`.
#[derive(Args)]
pub(crate) struct StatusArgs {
    /// The registrar's account name (or id)
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The faucet's public key, to check that it alone can act for the registrar (its active authority)
    #[arg(long, value_name = "PUBKEY")]
    faucet_key: Option<String>,
    /// The account that should own the registrar
    #[arg(long, value_name = "ACCOUNT", default_value = "committee-account")]
    owner_account: String,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `registrar status` result.
#[derive(Serialize)]
pub(super) struct Status {
    pub(super) name: String,
    pub(super) id: AccountId,
    pub(super) lifetime_member: bool,
    pub(super) owner: Authority,
    pub(super) active: Authority,
    /// Whether `owner_account` alone satisfies the owner authority.
    pub(super) owned_by: Option<String>,
    /// Whether the faucet's key alone satisfies the active authority (when a key was given).
    pub(super) faucet_key_acts: Option<bool>,
    #[serde(flatten)]
    pub(super) funding: Funding,
    /// What is not as it should be, with what to do about it.
    pub(super) problems: Vec<String>,
    #[serde(skip)]
    prefix: Prefix,
}

impl StatusArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        crate::serve::block_on_quiet(async {
            let chain = self.node.connect().await?;
            let faucet_key = match &self.faucet_key {
                Some(k) => Some(chain.public_key(k, "--faucet-key")?),
                None => None,
            };
            let status = read_status(&chain, &self.name, &self.owner_account, faucet_key.as_ref()).await?;
            self.output.print(&status)
        })
    }
}

/// Reads the registrar's state and judges it.
pub(super) async fn read_status(
    chain: &Chain,
    name: &str,
    owner_account: &str,
    faucet_key: Option<&PublicKey>,
) -> anyhow::Result<Status> {
    let account = chain.account(name, "registrar").await?;
    let owner = chain.account(owner_account, "--owner-account").await?;
    let balance = chain.balance(account.id).await?;
    let probe = probe_registration(account.id, bts_protocol::PublicKey::null(chain.prefix));
    let fee = chain.fees(&[probe]).await?.first().map_or(0, |f| f.amount);
    let funding = Funding::new(balance, fee);
    let owned = account_satisfies(&account.owner, owner.id);
    let faucet_key_acts = faucet_key.map(|k| key_satisfies(&account.active, k));
    let mut problems = Vec::new();
    if !account.is_lifetime_member() {
        problems.push(format!(
            "{} is not a lifetime member, so it cannot register accounts: run `bts-infra registrar setup --upgrade`",
            account.name
        ));
    }
    if !owned {
        problems.push(format!(
            "{} is not owned by {}: run `bts-infra registrar setup` with the current owner key",
            account.name, owner.name
        ));
    }
    if faucet_key_acts == Some(false) {
        problems.push(format!(
            "the faucet's key cannot act for {} alone: make it the active key (`registrar setup`, or `registrar \
             rotate-key` once the committee owns it)",
            account.name
        ));
    }
    if funding.registrations_left == 0 {
        problems.push(format!(
            "{} cannot pay for one more registration: fund it",
            account.name
        ));
    }
    Ok(Status {
        lifetime_member: account.is_lifetime_member(),
        name: account.name,
        id: account.id,
        owner: account.owner,
        active: account.active,
        owned_by: owned.then_some(owner.name),
        faucet_key_acts,
        funding,
        problems,
        prefix: chain.prefix,
    })
}

/// An authority in one line: `threshold T: KEY (w), account (w)`.
pub(super) fn describe(auth: &Authority) -> String {
    let entries: Vec<String> = (auth.key_auths.iter().map(|(k, w)| format!("{k} ({w})")))
        .chain(auth.account_auths.iter().map(|(a, w)| format!("{a} ({w})")))
        .collect();
    format!("threshold {}: {}", auth.weight_threshold, entries.join(", "))
}

impl Report for Status {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let yes = |b: bool| if b { "yes" } else { "no" };
        writeln!(out, "registrar         {} ({})", self.name, self.id)?;
        writeln!(out, "lifetime member   {}", yes(self.lifetime_member))?;
        match &self.owned_by {
            Some(owner) => writeln!(out, "owner             {owner} ({})", describe(&self.owner))?,
            None => writeln!(out, "owner             {}", describe(&self.owner))?,
        }
        writeln!(out, "active            {}", describe(&self.active))?;
        if let Some(acts) = self.faucet_key_acts {
            writeln!(out, "faucet key acts   {}", yes(acts))?;
        }
        writeln!(out, "balance           {}", amount(self.funding.balance, self.prefix))?;
        writeln!(
            out,
            "one registration  {} (now, fee scaling included)",
            amount(self.funding.registration_fee, self.prefix)
        )?;
        writeln!(
            out,
            "pays for          {} registrations",
            self.funding.registrations_left
        )?;
        if self.problems.is_empty() && self.faucet_key_acts.is_none() {
            writeln!(
                out,
                "ok: a lifetime member owned by the committee (give --faucet-key to check the active key too)"
            )
        } else if self.problems.is_empty() {
            writeln!(out, "ok: set up as the proposal asks")
        } else {
            self.problems.iter().try_for_each(|p| writeln!(out, "problem: {p}"))
        }
    }
}
