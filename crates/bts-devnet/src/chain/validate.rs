//! The checks a transaction passes before it touches the state, in the node's order: its keys
//! parse with the chain's prefix (the node rejects others while reading the JSON),
//! `transaction::validate` with each operation's `validate()`, then signature recovery
//! (`get_signature_keys`: header, canonical form, recovery, no key twice).

use super::errors;
use bts_protocol::name::is_valid_name;
use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, AccountUpdate, ChainId, FlatSet, Operation, Prefix, ProposalCreate,
    ProposalUpdate, PublicKey, SignedTransaction, Transaction, VoteType,
};
use bts_rpc::FcException;
use std::collections::BTreeSet;

/// Fails on the first key not written with `prefix`, as the node's `public_key_type` parser does.
pub(crate) fn check_prefix(tx: &Transaction, prefix: Prefix) -> Result<(), FcException> {
    match tx
        .operations
        .iter()
        .flat_map(Operation::public_keys)
        .find(|k| k.prefix() != prefix)
    {
        Some(key) => Err(errors::wrong_key_prefix(&key.to_string())),
        None => Ok(()),
    }
}

fn ensure(ok: bool, expr: &str, text: &str) -> Result<(), FcException> {
    if ok { Ok(()) } else { Err(errors::invalid(expr, text)) }
}

/// `transaction::validate`: at least one operation, each valid.
pub(crate) fn validate_transaction(tx: &Transaction) -> Result<(), FcException> {
    ensure(
        !tx.operations.is_empty(),
        "operations.size() > 0",
        "A transaction must have at least one operation",
    )?;
    tx.operations.iter().try_for_each(validate_operation)
}

/// Each operation's `validate()`, with the node's assertion texts.
pub(crate) fn validate_operation(op: &Operation) -> Result<(), FcException> {
    if let Operation::AccountUpdate(u) = op {
        // The one operation whose first check is not the fee's.
        ensure(u.account != AccountId::TEMP, "account != GRAPHENE_TEMP_ACCOUNT", "")?;
    }
    if !matches!(op, Operation::ProposalCreate(_)) {
        // proposal_create::validate has no fee check (the evaluator's prepare_fee has one).
        ensure(op.fee().amount >= 0, "fee.amount >= 0", "")?;
    }
    match op {
        Operation::Transfer(t) => {
            ensure(t.from != t.to, "from != to", "")?;
            ensure(t.amount.amount > 0, "amount.amount > 0", "")
        }
        Operation::AccountCreate(c) => validate_account_create(c),
        Operation::AccountUpdate(u) => validate_account_update(u),
        Operation::AccountUpgrade(_) => Ok(()),
        Operation::ProposalCreate(p) => validate_proposal_create(p),
        Operation::ProposalUpdate(p) => validate_proposal_update(p),
    }
}

fn validate_account_update(op: &AccountUpdate) -> Result<(), FcException> {
    ensure(op.account != AccountId::COMMITTEE, "account != account_id_type()", "")?;
    let has_action = op.owner.is_some() || op.active.is_some() || op.new_options.is_some();
    ensure(has_action, "has_action", "")?;
    // "imposible" is the node's spelling.
    if let Some(owner) = &op.owner {
        ensure(owner.num_auths() != 0, "owner->num_auths() != 0", "")?;
        ensure(owner.address_auths.is_empty(), "owner->address_auths.size() == 0", "")?;
        ensure(
            !owner.is_impossible(),
            "!owner->is_impossible()",
            "cannot update an account with an imposible owner authority threshold",
        )?;
    }
    if let Some(active) = &op.active {
        ensure(active.num_auths() != 0, "active->num_auths() != 0", "")?;
        ensure(active.address_auths.is_empty(), "active->address_auths.size() == 0", "")?;
        ensure(
            !active.is_impossible(),
            "!active->is_impossible()",
            "cannot update an account with an imposible active authority threshold",
        )?;
    }
    op.new_options.as_ref().map_or(Ok(()), validate_options)
}

fn validate_proposal_create(op: &ProposalCreate) -> Result<(), FcException> {
    ensure(!op.proposed_ops.is_empty(), "!proposed_ops.empty()", "")?;
    op.proposed_ops.iter().try_for_each(|w| validate_operation(&w.op))
}

fn validate_proposal_update(op: &ProposalUpdate) -> Result<(), FcException> {
    let empty = op.active_approvals_to_add.is_empty()
        && op.active_approvals_to_remove.is_empty()
        && op.owner_approvals_to_add.is_empty()
        && op.owner_approvals_to_remove.is_empty()
        && op.key_approvals_to_add.is_empty()
        && op.key_approvals_to_remove.is_empty();
    ensure(
        !empty,
        "!(active_approvals_to_add.empty() && active_approvals_to_remove.empty() && owner_approvals_to_add.empty() && \
         owner_approvals_to_remove.empty() && key_approvals_to_add.empty() && key_approvals_to_remove.empty())",
        "",
    )?;
    fn disjoint<T: Ord>(add: &FlatSet<T>, remove: &FlatSet<T>, expr: &str) -> Result<(), FcException> {
        let both = remove.iter().any(|r| add.contains(r));
        ensure(!both, expr, "Cannot add and remove approval at the same time.")
    }
    disjoint(
        &op.active_approvals_to_add,
        &op.active_approvals_to_remove,
        "active_approvals_to_add.find(a) == active_approvals_to_add.end()",
    )?;
    disjoint(
        &op.owner_approvals_to_add,
        &op.owner_approvals_to_remove,
        "owner_approvals_to_add.find(a) == owner_approvals_to_add.end()",
    )?;
    disjoint(
        &op.key_approvals_to_add,
        &op.key_approvals_to_remove,
        "key_approvals_to_add.find(a) == key_approvals_to_add.end()",
    )
}

fn validate_account_create(op: &AccountCreate) -> Result<(), FcException> {
    ensure(is_valid_name(&op.name).is_ok(), "is_valid_name( name )", "")?;
    ensure(
        op.referrer_percent <= 10_000,
        "referrer_percent <= GRAPHENE_100_PERCENT",
        "",
    )?;
    ensure(op.owner.num_auths() != 0, "owner.num_auths() != 0", "")?;
    ensure(op.owner.address_auths.is_empty(), "owner.address_auths.size() == 0", "")?;
    ensure(op.active.num_auths() != 0, "active.num_auths() != 0", "")?;
    ensure(
        op.active.address_auths.is_empty(),
        "active.address_auths.size() == 0",
        "",
    )?;
    // "imposible" is the node's spelling.
    ensure(
        !op.owner.is_impossible(),
        "!owner.is_impossible()",
        "cannot create an account with an imposible owner authority threshold",
    )?;
    ensure(
        !op.active.is_impossible(),
        "!active.is_impossible()",
        "cannot create an account with an imposible active authority threshold",
    )?;
    validate_options(&op.options)
}

/// `account_options::validate`: every wanted witness and committee member must be voted for.
fn validate_options(options: &AccountOptions) -> Result<(), FcException> {
    let votes = |kind| options.votes.iter().filter(|v| v.kind() == Some(kind)).count();
    let needed_witnesses = usize::from(options.num_witness).saturating_sub(votes(VoteType::Witness));
    let needed_committee = usize::from(options.num_committee).saturating_sub(votes(VoteType::Committee));
    ensure(
        needed_witnesses == 0 && needed_committee == 0,
        "needed_witnesses == 0 && needed_committee == 0",
        "May not specify fewer witnesses or committee members than the number voted for.",
    )
}

/// `get_signature_keys`: the key behind each signature; each must be well-formed, canonical
/// and recoverable, and no key may sign twice.
pub(crate) fn signature_keys(
    tx: &SignedTransaction,
    chain_id: &ChainId,
    prefix: Prefix,
) -> Result<BTreeSet<PublicKey>, FcException> {
    let digest = tx.transaction.sig_digest(chain_id);
    let mut keys = BTreeSet::new();
    for sig in &tx.signatures {
        if !(27..35).contains(&sig.0[0]) {
            return Err(errors::signature_header());
        }
        if !sig.is_canonical() {
            return Err(errors::signature_not_canonical());
        }
        let key = sig
            .recover(&digest, prefix)
            .map_err(|_| errors::signature_unrecoverable())?;
        if !keys.insert(key) {
            return Err(errors::duplicate_signature());
        }
    }
    Ok(keys)
}

/// Everything that needs no state, in the node's order; returns the signing keys.
pub(crate) fn precheck(
    tx: &SignedTransaction,
    chain_id: &ChainId,
    prefix: Prefix,
) -> Result<BTreeSet<PublicKey>, FcException> {
    check_prefix(&tx.transaction, prefix)?;
    // `push_transaction`'s hard limit; the chain parameter (2048 bytes) is checked later, once
    // there is a head block (issue 1573).
    ensure(
        tx.to_bytes().len() < 1024 * 1024,
        "fc::raw::pack_size( trx ) < (1024 * 1024)",
        "Transaction exceeds maximum transaction size.",
    )?;
    validate_transaction(&tx.transaction)?;
    signature_keys(tx, chain_id, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::{AccountOptions, Asset, Authority, BlockId, PrivateKey, TimePointSec, Transfer};

    fn create(name: &str) -> AccountCreate {
        let key = PrivateKey::from_seed("k").unwrap().public_key(Prefix::BTS);
        AccountCreate {
            fee: Asset::core(0),
            registrar: "1.2.7".parse().unwrap(),
            referrer: "1.2.7".parse().unwrap(),
            referrer_percent: 0,
            name: name.into(),
            owner: Authority::single_key(key),
            active: Authority::single_key(key),
            options: AccountOptions::no_votes(key),
            extensions: Default::default(),
        }
    }

    fn text(r: Result<(), FcException>) -> String {
        r.unwrap_err().text()
    }

    #[test]
    fn operation_texts_are_the_nodes() {
        let mut op = create("Bad_Name");
        assert_eq!(
            text(validate_operation(&op.clone().into())),
            "Assert Exception: is_valid_name( name ): "
        );
        op.name = "good-name".into();
        op.referrer_percent = 10_001;
        assert_eq!(
            text(validate_operation(&op.clone().into())),
            "Assert Exception: referrer_percent <= GRAPHENE_100_PERCENT: "
        );
        op.referrer_percent = 0;
        op.active.weight_threshold = 2;
        assert_eq!(
            text(validate_operation(&op.clone().into())),
            "Assert Exception: !active.is_impossible(): cannot create an account with an imposible active authority \
             threshold"
        );
        let t = Transfer {
            fee: Asset::core(-1),
            from: "1.2.7".parse().unwrap(),
            to: "1.2.7".parse().unwrap(),
            amount: Asset::core(0),
            memo: None,
            extensions: Default::default(),
        };
        assert_eq!(
            text(validate_operation(&t.clone().into())),
            "Assert Exception: fee.amount >= 0: "
        );
        let t = Transfer {
            fee: Asset::core(0),
            ..t
        };
        assert_eq!(text(validate_operation(&t.into())), "Assert Exception: from != to: ");
        let empty = Transaction::new(&BlockId::default(), TimePointSec(0), vec![]);
        assert_eq!(
            text(validate_transaction(&empty)),
            "Assert Exception: operations.size() > 0: A transaction must have at least one operation"
        );
    }

    #[test]
    fn protocol_validate_agrees_on_pass_or_fail() {
        for name in ["alice", "a", "a--b", "1abc", "abc-", "", "x.y.z"] {
            let op: Operation = create(name).into();
            assert_eq!(validate_operation(&op).is_ok(), op.validate().is_ok(), "{name:?}");
        }
    }
}
