//! `bts-infra registrar rotate-key` and `registrar approve`: a committee-owned registrar gets a
//! new active key through a proposal that committee members approve.
//!
//! The proposed `account_update` needs the registrar's active authority; the committee holds it
//! through the owner authority (an owner may do what active may), so the proposal executes once
//! members holding a majority of committee-account's weight added their approvals. The chain
//! demands a review period only when committee-account itself must approve an operation, which
//! is not the case here; `--review-period` adds one anyway (the proposal then executes at its
//! expiration, and approvals may only be withdrawn during the period).

use super::chain::{Chain, account_satisfies, amount};
use super::status::describe;
use super::{Acts, NodeArgs, Sending, TxReport, signing_key};
use crate::error::InputError;
use crate::output::OutputArgs;
use bts_faucet::registrar;
use bts_protocol::{Authority, ObjectId, Operation, ProposalId, ProposalUpdate};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `registrar rotate-key`.
#[derive(Args)]
pub(crate) struct RotateArgs {
    /// The registrar's account name (or id)
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The registrar's new active key (the faucet's new key)
    #[arg(long, value_name = "PUBKEY")]
    new_active_key: String,
    /// The account that proposes and pays the proposal's fee (any funded account)
    #[arg(long, value_name = "ACCOUNT")]
    fee_payer: String,
    /// File holding the fee payer's active key (WIF); not needed with --dry-run
    #[arg(long, value_name = "PATH")]
    fee_payer_key_file: Option<PathBuf>,
    /// How long committee members have to approve
    #[arg(long, value_name = "DURATION", default_value = "7days", value_parser = humantime::parse_duration)]
    expiration: Duration,
    /// A review period before the expiration (the proposal then executes at its expiration) [default: none, or the chain's committee review period when committee-account itself must approve]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    review_period: Option<Duration>,
    /// The account that owns the registrar
    #[arg(long, value_name = "ACCOUNT", default_value = "committee-account")]
    owner_account: String,
    #[command(flatten)]
    sending: Sending,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl RotateArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        crate::serve::block_on_quiet(async {
            let chain = self.node.connect().await?;
            let report = self.rotate(&chain).await?;
            self.output.print(&report)
        })
    }

    async fn rotate(&self, chain: &Chain) -> anyhow::Result<TxReport> {
        let registrar = chain.account(&self.name, "registrar").await?;
        let owner = chain.account(&self.owner_account, "--owner-account").await?;
        let payer = chain.account(&self.fee_payer, "--fee-payer").await?;
        let new_key = chain.public_key(&self.new_active_key, "--new-active-key")?;
        if !account_satisfies(&registrar.owner, owner.id) {
            return Err(InputError::new(format!(
                "{} is not owned by {} (owner authority {})",
                registrar.name,
                owner.name,
                describe(&registrar.owner)
            ))
            .hint("its owner can change the key directly: `bts-infra registrar setup` with the owner key")
            .into());
        }
        if registrar.active == Authority::single_key(new_key) {
            return Ok(TxReport::nothing(
                &registrar,
                format!("{}'s active key is already {new_key}: nothing to do", registrar.name),
            ));
        }
        let update = registrar::new_active_key(registrar.id, new_key);
        let params = &chain.parameters;
        let review = match self.review_period {
            Some(r) => Some(seconds(r, "--review-period")?),
            None => registrar::required_review_period(&update, params.committee_proposal_review_period),
        };
        let lifetime = seconds(self.expiration, "--expiration")?;
        if lifetime > params.maximum_proposal_lifetime {
            return Err(InputError::new(format!(
                "--expiration {} is longer than the chain allows ({} s)",
                humantime::format_duration(self.expiration),
                params.maximum_proposal_lifetime
            ))
            .hint("give a shorter --expiration")
            .into());
        }
        if let Some(r) = review
            && r >= lifetime
        {
            return Err(
                InputError::new("the review period must end before the proposal expires")
                    .hint("give a --review-period shorter than --expiration")
                    .into(),
            );
        }
        let expiration = chain.now().await?.saturating_add(lifetime);
        let proposal = registrar::proposal(payer.id, update, expiration, review);
        let tx = chain.transaction(vec![proposal]).await?;
        let fee = tx.operations[0].fee().amount;
        let balance = chain.balance(payer.id).await?;
        if balance < fee {
            return Err(InputError::new(format!(
                "{} holds {}, but the proposal costs {}",
                payer.name,
                amount(balance, chain.prefix),
                amount(fee, chain.prefix)
            ))
            .hint("fund the fee payer, or give another --fee-payer; nothing was sent")
            .into());
        }
        let key = signing_key(
            self.fee_payer_key_file.as_deref(),
            "--fee-payer-key-file",
            self.sending.dry_run,
            &payer,
            Acts::ActiveOrOwner { whose: "fee payer's" },
            chain.prefix,
        )?;
        let mut report = self
            .sending
            .send(chain, &registrar, tx, key.as_ref().map(|k| vec![k]))
            .await?;
        let created = report.results[0][1].as_str().and_then(|s| s.parse::<ProposalId>().ok());
        if let Some(proposal) = created {
            report
                .notes
                .extend(approval_instructions(chain, &owner, proposal, &self.node.node, review).await);
        }
        Ok(report)
    }
}

/// A duration in whole seconds as the chain counts them.
fn seconds(d: Duration, flag: &str) -> Result<u32, InputError> {
    u32::try_from(d.as_secs()).map_err(|_| InputError::new(format!("{flag} is too long")))
}

/// Who must approve `proposal` and how: the owner account's members, with their weights.
async fn approval_instructions(
    chain: &Chain,
    owner: &bts_rpc::Account,
    proposal: ProposalId,
    node: &str,
    review: Option<u32>,
) -> Vec<String> {
    let auth = &owner.active;
    let mut notes = vec![format!(
        "proposal {proposal} created: it executes once members of {} holding {} of its weight have approved{}",
        owner.name,
        auth.weight_threshold,
        match review {
            Some(r) => format!(" and its expiration has come (review period {r} s)"),
            None => String::new(),
        }
    )];
    for (member, weight) in auth.account_auths.iter() {
        let name = chain.name_of(*member).await;
        notes.push(format!(
            "  {name} (weight {weight}): bts-infra registrar approve --proposal {proposal} --member {name} \
             --key-file MEMBER.wif --node {node} --broadcast"
        ));
    }
    notes.push(format!(
        "  or in cli_wallet: approve_proposal MEMBER \"{proposal}\" {{\"active_approvals_to_add\": [\"MEMBER\"]}} true"
    ));
    notes
}

/// Arguments of `registrar approve`.
#[derive(Args)]
pub(crate) struct ApproveArgs {
    /// The proposal, 1.10.N
    #[arg(long, value_name = "ID")]
    proposal: ProposalId,
    /// The approving member's account name (or id); it also pays the fee
    #[arg(long, value_name = "ACCOUNT")]
    member: String,
    /// File holding the member's active key (WIF); not needed with --dry-run
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
    #[command(flatten)]
    sending: Sending,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl ApproveArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        crate::serve::block_on_quiet(async {
            let chain = self.node.connect().await?;
            let report = self.approve(&chain).await?;
            self.output.print(&report)
        })
    }

    async fn approve(&self, chain: &Chain) -> anyhow::Result<TxReport> {
        let id = ObjectId::from(self.proposal);
        let before = chain
            .objects(&[id])
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| {
                InputError::new(format!("proposal {} does not exist", self.proposal))
                    .hint("it executed, expired, or was never created: look for it with get_proposed_transactions")
            })?;
        let member = chain.account(&self.member, "--member").await?;
        // What is approved is shown with every result, so that a member reviews it.
        let proposed = before["proposed_transaction"]["operations"].to_string();
        let op: Operation = ProposalUpdate::approve(member.id, self.proposal, &[member.id]).into();
        let tx = chain.transaction(vec![op]).await?;
        let key = signing_key(
            self.key_file.as_deref(),
            "--key-file",
            self.sending.dry_run,
            &member,
            Acts::ActiveOrOwner { whose: "member's" },
            chain.prefix,
        )?;
        let mut report = self
            .sending
            .send(chain, &member, tx, key.as_ref().map(|k| vec![k]))
            .await?;
        report
            .notes
            .insert(0, format!("proposal {} proposes: {proposed}", self.proposal));
        if report.block_num.is_some() {
            let after = chain.objects(&[id]).await?.into_iter().next().flatten();
            report.notes.push(match after {
                None => format!("proposal {} executed", self.proposal),
                Some(p) => {
                    let approvals = p["available_active_approvals"].to_string();
                    let waiting = match p["review_period_time"].as_str() {
                        Some(_) => format!("it executes at its expiration, {}", p["expiration_time"]),
                        None => "it executes on the approval that completes the majority".to_owned(),
                    };
                    let failed = p["fail_reason"].as_str().filter(|r| !r.is_empty());
                    match failed {
                        Some(reason) => format!("approved, but executing it failed: {reason}"),
                        None => format!("approved by {approvals}; {waiting}"),
                    }
                }
            });
        } else if before["review_period_time"].is_string() {
            report.notes.push(format!(
                "the proposal has a review period until {}",
                before["review_period_time"]
            ));
        }
        Ok(report)
    }
}
