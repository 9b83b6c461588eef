//! Chain parameters and the fee schedule, taken from a real witness_node 7.0.2's global
//! properties (`data/global_properties.json`), and the fee rules of the supported operations.

use super::errors;
use bts_protocol::Operation;
use bts_protocol::name::is_cheap_name;
use bts_protocol::raw;
use bts_rpc::FcException;
use serde::Deserialize;
use serde_json::Value;

/// The recorded `get_global_properties` answer of the reference node (object 2.0.0).
pub(crate) const GLOBAL_PROPERTIES: &str = include_str!("data/global_properties.json");
/// The recorded `get_config` answer of the reference node.
pub(crate) const CONFIG: &str = include_str!("data/config.json");

/// `GRAPHENE_100_PERCENT`.
pub(crate) const PERCENT_100: u16 = 10_000;
/// `GRAPHENE_MAX_SHARE_SUPPLY`.
pub(crate) const MAX_SHARE_SUPPLY: i64 = 1_000_000_000_000_000;

/// The chain parameters the devnet's rules read (`chain_parameters`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChainParameters {
    pub(crate) maintenance_interval: u32,
    pub(crate) maintenance_skip_slots: u8,
    pub(crate) maximum_transaction_size: u32,
    pub(crate) maximum_block_size: u32,
    pub(crate) maximum_time_until_expiration: u32,
    pub(crate) maximum_authority_membership: u16,
    pub(crate) network_percent_of_fee: u16,
    pub(crate) lifetime_referrer_percent_of_fee: u16,
    pub(crate) cashback_vesting_threshold: i64,
    pub(crate) accounts_per_fee_scale: u16,
    pub(crate) account_fee_scale_bitshifts: u8,
    pub(crate) max_authority_depth: u8,
    pub(crate) maximum_witness_count: u16,
    pub(crate) maximum_committee_count: u16,
    pub(crate) maximum_proposal_lifetime: u32,
    pub(crate) committee_proposal_review_period: u32,
}

/// The fee parameters of the supported operations, and the schedule's scale. The
/// account_create `basic_fee` is dynamic and lives in the state.
#[derive(Debug, Clone)]
pub(crate) struct FeeSchedule {
    pub(crate) transfer_fee: u64,
    pub(crate) transfer_price_per_kbyte: u64,
    pub(crate) create_basic_fee: u64,
    pub(crate) create_premium_fee: u64,
    pub(crate) create_price_per_kbyte: u64,
    pub(crate) upgrade_annual_fee: u64,
    pub(crate) upgrade_lifetime_fee: u64,
    pub(crate) update_fee: u64,
    pub(crate) update_price_per_kbyte: u64,
    pub(crate) proposal_create_fee: u64,
    pub(crate) proposal_create_price_per_kbyte: u64,
    pub(crate) proposal_update_fee: u64,
    pub(crate) proposal_update_price_per_kbyte: u64,
    pub(crate) scale: u64,
}

/// The parameters, the fee schedule and the full 2.0.0 object they came from.
#[derive(Debug, Clone)]
pub(crate) struct Parameters {
    pub(crate) chain: ChainParameters,
    pub(crate) fees: FeeSchedule,
    /// The recorded 2.0.0 object, rendered with the devnet's own values patched in.
    pub(crate) global_properties: Value,
}

impl Parameters {
    /// Parses the embedded recording. It is part of this crate, so a failure is a build defect
    /// (and `embedded_data_parses` fails first).
    pub(crate) fn embedded() -> Parameters {
        let global_properties: Value = serde_json::from_str(GLOBAL_PROPERTIES).expect("embedded 2.0.0 is JSON");
        let params = &global_properties["parameters"];
        let chain = ChainParameters::deserialize(params).expect("embedded chain parameters are complete");
        let fees = FeeSchedule::from_json(&params["current_fees"]).expect("embedded fee schedule is complete");
        Parameters {
            chain,
            fees,
            global_properties,
        }
    }
}

impl Parameters {
    /// Sets `committee_proposal_review_period`, in the rules and in the 2.0.0 object.
    pub(crate) fn set_committee_proposal_review_period(&mut self, seconds: u32) {
        self.chain.committee_proposal_review_period = seconds;
        self.global_properties["parameters"]["committee_proposal_review_period"] = seconds.into();
    }
}

/// Reads an fc integer that may be written as a number or a string.
fn fc_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl FeeSchedule {
    fn from_json(fees: &Value) -> Option<FeeSchedule> {
        let op = |tag: u64, field: &str| -> Option<u64> {
            let entry = fees["parameters"]
                .as_array()?
                .iter()
                .find(|p| p[0].as_u64() == Some(tag))?;
            fc_u64(&entry[1][field])
        };
        Some(FeeSchedule {
            transfer_fee: op(0, "fee")?,
            transfer_price_per_kbyte: op(0, "price_per_kbyte")?,
            create_basic_fee: op(5, "basic_fee")?,
            create_premium_fee: op(5, "premium_fee")?,
            create_price_per_kbyte: op(5, "price_per_kbyte")?,
            upgrade_annual_fee: op(8, "membership_annual_fee")?,
            upgrade_lifetime_fee: op(8, "membership_lifetime_fee")?,
            update_fee: op(6, "fee")?,
            update_price_per_kbyte: op(6, "price_per_kbyte")?,
            proposal_create_fee: op(22, "fee")?,
            proposal_create_price_per_kbyte: op(22, "price_per_kbyte")?,
            proposal_update_fee: op(23, "fee")?,
            proposal_update_price_per_kbyte: op(23, "price_per_kbyte")?,
            scale: fc_u64(&fees["scale"])?,
        })
    }

    /// `fee_schedule::calculate_fee` for a core-asset fee: the operation's `calculate_fee`, then
    /// `* scale / GRAPHENE_100_PERCENT`. `basic_fee` is the current (possibly scaled)
    /// account_create basic fee.
    pub(crate) fn calculate(&self, op: &Operation, basic_fee: u64) -> Result<i64, FcException> {
        let base = match op {
            Operation::Transfer(t) => {
                let memo = match &t.memo {
                    Some(_) => data_fee(raw::to_bytes(&t.memo).len(), self.transfer_price_per_kbyte)?,
                    None => 0,
                };
                u128::from(self.transfer_fee) + memo
            }
            Operation::AccountCreate(c) => {
                let name_fee = if is_cheap_name(&c.name) {
                    basic_fee
                } else {
                    self.create_premium_fee
                };
                u128::from(name_fee) + data_fee(raw::to_bytes(c).len(), self.create_price_per_kbyte)?
            }
            Operation::AccountUpgrade(u) => u128::from(if u.upgrade_to_lifetime_member {
                self.upgrade_lifetime_fee
            } else {
                self.upgrade_annual_fee
            }),
            // The data fee only when the options change (they may carry many votes).
            Operation::AccountUpdate(u) => {
                let data = match &u.new_options {
                    Some(_) => data_fee(raw::to_bytes(u).len(), self.update_price_per_kbyte)?,
                    None => 0,
                };
                u128::from(self.update_fee) + data
            }
            Operation::ProposalCreate(p) => {
                u128::from(self.proposal_create_fee)
                    + data_fee(raw::to_bytes(p).len(), self.proposal_create_price_per_kbyte)?
            }
            Operation::ProposalUpdate(p) => {
                u128::from(self.proposal_update_fee)
                    + data_fee(raw::to_bytes(p).len(), self.proposal_update_price_per_kbyte)?
            }
        };
        let scaled = base * u128::from(self.scale) / u128::from(PERCENT_100);
        i64::try_from(scaled)
            .ok()
            .filter(|f| *f <= MAX_SHARE_SUPPLY)
            .ok_or_else(|| errors::invalid("result.amount <= GRAPHENE_MAX_SHARE_SUPPLY", ""))
    }

    /// `fee_schedule::set_fee` as `get_required_fees` runs it: sets the fee and repeats until it
    /// no longer changes the fee (the fee is part of the packed size the data fee is charged on).
    pub(crate) fn set_fee(&self, op: &mut Operation, basic_fee: u64) -> Result<i64, FcException> {
        let mut fee = self.calculate(op, basic_fee)?;
        let mut max = fee;
        for _ in 0..10 {
            op.set_fee(bts_protocol::Asset::core(max));
            let again = self.calculate(op, basic_fee)?;
            if again == fee {
                break;
            }
            max = max.max(again);
            fee = again;
        }
        Ok(max)
    }
}

/// `base_operation::calculate_data_fee`: `bytes * price_per_kbyte / 1024`, truncated.
fn data_fee(bytes: usize, price_per_kbyte: u64) -> Result<u128, FcException> {
    let fee = (bytes as u128) * u128::from(price_per_kbyte) / 1024;
    if fee > MAX_SHARE_SUPPLY as u128 {
        return Err(errors::invalid("result <= GRAPHENE_MAX_SHARE_SUPPLY", ""));
    }
    Ok(fee)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::{AccountCreate, AccountOptions, Asset, Authority, Prefix, PrivateKey, Transfer};

    fn create(name: &str) -> Operation {
        let key = PrivateKey::from_seed("k").unwrap().public_key(Prefix::BTS);
        AccountCreate {
            fee: Asset::core(0),
            registrar: "1.2.17".parse().unwrap(),
            referrer: "1.2.17".parse().unwrap(),
            referrer_percent: 0,
            name: name.into(),
            owner: Authority::single_key(key),
            active: Authority::single_key(key),
            options: AccountOptions::no_votes(key),
            extensions: Default::default(),
        }
        .into()
    }

    #[test]
    fn embedded_data_parses() {
        let p = Parameters::embedded();
        assert_eq!(p.chain.maximum_time_until_expiration, 86_400);
        assert_eq!(p.chain.max_authority_depth, 2);
        assert_eq!(p.fees.create_basic_fee, 500_000);
        assert_eq!(p.fees.scale, 10_000);
        assert_eq!((p.fees.update_fee, p.fees.proposal_create_fee), (2_000_000, 2_000_000));
        assert_eq!(p.chain.committee_proposal_review_period, 1_209_600);
        let config: Value = serde_json::from_str(CONFIG).unwrap();
        assert_eq!(config["GRAPHENE_SYMBOL"], "BTS");
    }

    #[test]
    fn fees_match_the_recorded_node() {
        let fees = Parameters::embedded().fees;
        // The reference node charged 514843 for a cheap name and 200014062 for "alice".
        let mut op = create("faucet-test-1");
        assert_eq!(fees.set_fee(&mut op, 500_000).unwrap(), 514_843);
        assert_eq!(op.fee(), Asset::core(514_843));
        assert_eq!(fees.calculate(&create("alice"), 500_000).unwrap(), 200_014_062);
        let transfer = Transfer {
            fee: Asset::core(0),
            from: "1.2.17".parse().unwrap(),
            to: "1.2.16".parse().unwrap(),
            amount: Asset::core(100_000),
            memo: None,
            extensions: Default::default(),
        };
        assert_eq!(fees.calculate(&transfer.into(), 500_000).unwrap(), 2_000_000);
    }
}
