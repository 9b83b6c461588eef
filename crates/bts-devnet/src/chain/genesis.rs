//! Block 0: the objects the node's `init_genesis` creates, then the devnet's init witness,
//! registrar and configured accounts.
//!
//! | id | what |
//! |---|---|
//! | 1.2.0–1.2.5 | committee-account, witness-account, relaxed-committee-account, null-account, temp-account, proxy-to-self (fields as `db_init.cpp` sets them) |
//! | 1.2.6 | `init0`, lifetime member, keys = the witness key |
//! | 1.2.7 | the registrar: lifetime member, owner = committee-account, active and memo = its key |
//! | 1.2.8… | configured genesis accounts, in order |
//! | 1.6.0, 1.6.1 | the null witness and init0's witness (vote 1:0) |
//! | 1.5.0 | init0's committee member (vote 0:1), then the configured committee members (votes 0:2…) |
//! | 1.3.0, 2.3.0 | the core asset (symbol = prefix, precision 5) and its dynamic data |
//! | 2.5.N | balances of the registrar and the configured accounts, in that order |

use super::config::{ChainConfig, INIT_WITNESS_NAME};
use super::globals::{Dgp, Globals};
use super::objects::{Account, CommitteeMember, Witness};
use super::params::{PERCENT_100, Parameters};
use super::state::State;
use bts_protocol::{
    AccountId, AccountOptions, AssetId, Authority, CommitteeMemberId, FlatMap, PublicKey, TimePointSec, VoteId,
    VoteType, WitnessId,
};

/// `GRAPHENE_DEFAULT_NETWORK_PERCENT_OF_FEE`.
const NETWORK_PERCENT: u16 = 2000;

fn threshold_only(weight_threshold: u32) -> Authority {
    Authority {
        weight_threshold,
        account_auths: FlatMap::new(),
        key_auths: FlatMap::new(),
        address_auths: FlatMap::new(),
    }
}

fn id(instance: u64) -> AccountId {
    AccountId::new(instance).expect("genesis ids are small")
}

/// An account as genesis creates it: registered by temp-account with committee-account as
/// referrer (as `init_genesis` does), upgraded to lifetime member if asked.
fn genesis_account(config: &ChainConfig, instance: u64, name: &str, keys: [PublicKey; 3], lifetime: bool) -> Account {
    let [owner, active, memo] = keys;
    let mut a = Account {
        id: id(instance),
        membership_expiration_date: TimePointSec(0),
        registrar: AccountId::TEMP,
        referrer: AccountId::COMMITTEE,
        lifetime_referrer: AccountId::COMMITTEE,
        network_fee_percentage: NETWORK_PERCENT,
        lifetime_referrer_fee_percentage: 3000,
        referrer_rewards_percentage: 0,
        name: name.to_owned(),
        owner: Authority::single_key(owner),
        active: Authority::single_key(active),
        options: AccountOptions::no_votes(memo),
        creation_block_num: 0,
        creation_time: config.genesis_time,
    };
    if lifetime {
        make_lifetime_member(&mut a);
    }
    a
}

/// What `account_upgrade` to lifetime does to an account.
pub(crate) fn make_lifetime_member(a: &mut Account) {
    a.membership_expiration_date = TimePointSec::MAXIMUM;
    a.registrar = a.id;
    a.referrer = a.id;
    a.lifetime_referrer = a.id;
    a.lifetime_referrer_fee_percentage = PERCENT_100 - a.network_fee_percentage;
}

/// The special accounts 1.2.0 to 1.2.5 (`db_init.cpp`).
fn special_accounts(config: &ChainConfig) -> Vec<Account> {
    let null_key = PublicKey::null(config.prefix);
    // (name, owner/active threshold, registrar, network %, lifetime referrer %)
    let specs: [(&str, u32, AccountId, u16, u16); 6] = [
        (
            "committee-account",
            1,
            AccountId::COMMITTEE,
            NETWORK_PERCENT,
            PERCENT_100 - NETWORK_PERCENT,
        ),
        (
            "witness-account",
            1,
            AccountId::WITNESS,
            NETWORK_PERCENT,
            PERCENT_100 - NETWORK_PERCENT,
        ),
        (
            "relaxed-committee-account",
            1,
            AccountId::RELAXED_COMMITTEE,
            NETWORK_PERCENT,
            PERCENT_100 - NETWORK_PERCENT,
        ),
        ("null-account", 1, AccountId::NULL, 0, PERCENT_100),
        (
            "temp-account",
            0,
            AccountId::TEMP,
            NETWORK_PERCENT,
            PERCENT_100 - NETWORK_PERCENT,
        ),
        ("proxy-to-self", 1, AccountId::NULL, 0, PERCENT_100),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(i, (name, threshold, registrar, network, lifetime))| Account {
            id: id(i as u64),
            membership_expiration_date: TimePointSec::MAXIMUM,
            registrar,
            referrer: registrar,
            lifetime_referrer: registrar,
            network_fee_percentage: network,
            lifetime_referrer_fee_percentage: lifetime,
            referrer_rewards_percentage: 0,
            name: name.to_owned(),
            owner: threshold_only(threshold),
            active: threshold_only(threshold),
            options: AccountOptions::no_votes(null_key),
            creation_block_num: 0,
            creation_time: config.genesis_time,
        })
        .collect()
}

/// The state of block 0. `config` must be valid ([`ChainConfig::validate`]).
pub(crate) fn genesis_state(config: &ChainConfig, params: &Parameters) -> State {
    let total: i64 = config.registrar_balance + config.accounts.iter().map(|a| a.balance).sum::<i64>();
    let mut s = State::new(Globals {
        dgp: Dgp::genesis(config.genesis_time),
        basic_fee: params.fees.create_basic_fee,
        current_supply: total,
    });
    for a in special_accounts(config) {
        s.create_account(a);
    }
    let witness_key = ChainConfig::witness_key().public_key(config.prefix);
    let init0 = genesis_account(config, 6, INIT_WITNESS_NAME, [witness_key; 3], true);
    s.create_account(init0);

    let key = config.registrar_key;
    let mut registrar = genesis_account(config, 7, &config.registrar_name, [key; 3], true);
    registrar.owner = Authority {
        account_auths: [(AccountId::COMMITTEE, 1)].into_iter().collect(),
        ..threshold_only(1)
    };
    s.create_account(registrar);
    for (i, g) in config.accounts.iter().enumerate() {
        let keys = [g.owner_key, g.active_key, g.memo_key];
        s.create_account(genesis_account(config, 8 + i as u64, &g.name, keys, g.lifetime_member));
    }

    s.witnesses = vec![
        Witness {
            id: WitnessId::default(),
            account: AccountId::COMMITTEE,
            signing_key: PublicKey::null(config.prefix),
            vote_id: VoteId::new(VoteType::Committee, 0).expect("small vote instance"),
            last_aslot: 0,
            total_missed: 0,
            last_confirmed_block_num: 0,
        },
        Witness {
            id: WitnessId::new(1).expect("small id"),
            account: id(6),
            signing_key: witness_key,
            vote_id: VoteId::new(VoteType::Witness, 0).expect("small vote instance"),
            last_aslot: 0,
            total_missed: 0,
            last_confirmed_block_num: 0,
        },
    ];
    let members = std::iter::once(id(6)).chain(
        (config.accounts.iter().enumerate())
            .filter(|(_, g)| g.committee_member)
            .map(|(i, _)| id(8 + i as u64)),
    );
    s.committee = members
        .enumerate()
        .map(|(i, account)| CommitteeMember {
            id: CommitteeMemberId::new(i as u64).expect("small id"),
            account,
            vote_id: VoteId::new(VoteType::Committee, 1 + i as u32).expect("small vote instance"),
        })
        .collect();
    // What the first maintenance does on the node (`update_active_committees`): committee-account
    // acts by a majority of its members; here each member weighs 1.
    let count = s.committee.len() as u32;
    let members: FlatMap<AccountId, u16> = s.committee.iter().map(|m| (m.account, 1)).collect();
    s.modify_account(AccountId::COMMITTEE, |a| {
        a.active = Authority {
            account_auths: members,
            ..threshold_only(count / 2 + 1)
        };
    });

    if config.registrar_balance > 0 {
        s.set_balance(id(7), AssetId::CORE, config.registrar_balance);
    }
    for (i, g) in config.accounts.iter().enumerate() {
        if g.balance > 0 {
            s.set_balance(id(8 + i as u64), AssetId::CORE, g.balance);
        }
    }
    s.commit();
    s.take_changed();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::Prefix;

    #[test]
    fn genesis_has_the_nodes_special_accounts() {
        let config = ChainConfig::devnet(Prefix::TEST);
        let s = genesis_state(&config, &Parameters::embedded());
        let names: Vec<&str> = s.accounts().iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "committee-account",
                "witness-account",
                "relaxed-committee-account",
                "null-account",
                "temp-account",
                "proxy-to-self",
                "init0",
                "faucet"
            ]
        );
        let registrar = s.account_by_name("faucet").unwrap();
        assert!(registrar.is_lifetime_member());
        assert_eq!(registrar.lifetime_referrer, registrar.id);
        assert_eq!(registrar.lifetime_referrer_fee_percentage, 8000);
        assert_eq!(registrar.owner.account_auths.get(&AccountId::COMMITTEE), Some(&1));
        assert_eq!(s.balance(registrar.id, AssetId::CORE), config.registrar_balance);
        assert_eq!(s.globals().current_supply, config.registrar_balance);
        assert_eq!(s.account(AccountId::TEMP).unwrap().owner.weight_threshold, 0);
    }
}
