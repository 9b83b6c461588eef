use super::*;

#[test]
fn unknown_operations_are_named_errors() {
    let err = serde_json::from_str::<Operation>(r#"[1, {}]"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("operation 1 (limit_order_create) is not supported"),
        "{err}"
    );
    let err = serde_json::from_str::<Operation>(r#"[99, {}]"#).unwrap_err();
    assert!(err.to_string().contains("operation 99 is not supported"), "{err}");
    assert!(raw::from_bytes::<Operation>(&[0x18]).is_err());
    assert!(serde_json::from_str::<Operation>(r#"["transfer", {}]"#).is_err());
}

fn key(n: u8) -> PublicKey {
    crate::keys::PrivateKey::from_bytes(&[n; 32])
        .unwrap()
        .public_key(crate::chain::Prefix::BTS)
}

fn account(n: u64) -> AccountId {
    AccountId::new(n).unwrap()
}

fn active_update(target: AccountId, new_key: PublicKey) -> AccountUpdate {
    AccountUpdate {
        fee: Asset::core(0),
        account: target,
        owner: None,
        active: Some(Authority::single_key(new_key)),
        new_options: None,
        extensions: Default::default(),
    }
}

#[test]
fn absent_members_are_left_out_of_the_json_as_the_node_does() {
    let op = Operation::from(active_update(account(17), key(1)));
    let json = serde_json::to_value(&op).unwrap();
    let fields = json[1].as_object().unwrap();
    assert!(
        !fields.contains_key("owner") && !fields.contains_key("new_options"),
        "{json}"
    );
    assert_eq!(fields["extensions"], serde_json::json!({}));
    // Raw: both absent optionals are a 0 byte.
    let bytes = raw::to_bytes(&op);
    assert_eq!(raw::from_bytes::<Operation>(&bytes).unwrap(), op);
    assert_eq!(serde_json::from_value::<Operation>(json).unwrap(), op);
}

#[test]
fn a_proposal_wraps_operations_as_op_wrappers() {
    let proposal = ProposalCreate {
        fee: Asset::core(0),
        fee_paying_account: account(17),
        expiration_time: crate::TimePointSec(1_700_000_000),
        proposed_ops: vec![OpWrapper {
            op: active_update(account(17), key(1)).into(),
        }],
        review_period_seconds: None,
        extensions: Default::default(),
    };
    let json = serde_json::to_value(Operation::from(proposal.clone())).unwrap();
    assert_eq!(json[0], 22);
    assert_eq!(json[1]["proposed_ops"][0]["op"][0], 6, "{json}");
    assert!(json[1].get("review_period_seconds").is_none(), "{json}");
    // Raw: fee, payer, expiration before the operations (FC_REFLECT order), then optional, extensions.
    let bytes = raw::to_bytes(&proposal);
    assert_eq!(hex::encode(&bytes[..16]), "0000000000000000001100f153650106");
}

#[test]
fn deeply_nested_proposals_are_refused_not_a_stack_overflow() {
    // A proposal_create whose only operation is the next proposal_create, 10,000 times over.
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&[22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
    let err = raw::from_bytes::<Operation>(&bytes).unwrap_err();
    assert!(err.to_string().contains("nested more than 16 levels"), "{err}");
}

#[test]
fn account_update_checks() {
    let ok = active_update(account(17), key(1));
    assert!(Operation::from(ok.clone()).validate().is_ok());
    for (bad, assertion) in [
        (
            AccountUpdate {
                account: AccountId::TEMP,
                ..ok.clone()
            },
            "account != GRAPHENE_TEMP_ACCOUNT",
        ),
        (
            AccountUpdate {
                account: AccountId::COMMITTEE,
                ..ok.clone()
            },
            "account != account_id_type()",
        ),
        (
            AccountUpdate {
                active: None,
                ..ok.clone()
            },
            "has_action",
        ),
        (
            AccountUpdate {
                owner: Some(Authority {
                    weight_threshold: 2,
                    ..Authority::single_key(key(2))
                }),
                ..ok.clone()
            },
            "!is_impossible()",
        ),
    ] {
        assert_eq!(Operation::from(bad).validate().unwrap_err().assertion, assertion);
    }
}

#[test]
fn who_must_approve() {
    let active = Operation::from(active_update(account(17), key(1))).required_authorities();
    assert_eq!((active.active, active.owner), (vec![account(17)], vec![]));
    let owner_change = AccountUpdate {
        owner: Some(Authority::single_key(key(2))),
        ..active_update(account(17), key(1))
    };
    let owner = Operation::from(owner_change).required_authorities();
    assert_eq!((owner.active, owner.owner), (vec![], vec![account(17)]));

    let mut update = ProposalUpdate::approve(account(9), crate::ProposalId::new(3).unwrap(), &[account(11)]);
    update.owner_approvals_to_remove = [account(12)].into_iter().collect();
    update.key_approvals_to_add = [key(3), key(4)].into_iter().collect();
    let r = Operation::from(update.clone()).required_authorities();
    assert_eq!(r.active, [account(9), account(11)]);
    assert_eq!(r.owner, [account(12)]);
    assert_eq!(r.other.len(), 1);
    assert_eq!((r.other[0].weight_threshold, r.other[0].key_auths.len()), (2, 2));

    assert!(Operation::from(update.clone()).validate().is_ok());
    update.active_approvals_to_remove = [account(11)].into_iter().collect();
    let err = Operation::from(update).validate().unwrap_err();
    assert_eq!(err.assertion, "Cannot add and remove approval at the same time.");
    let empty = ProposalUpdate::approve(account(9), crate::ProposalId::new(3).unwrap(), &[]);
    assert!(Operation::from(empty).validate().is_err());
}
