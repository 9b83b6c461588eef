//! Authorities, account options, votes and the extension placeholders that accounts carry.

use crate::flat::{FlatMap, FlatSet};
use crate::id::AccountId;
use crate::keys::{Address, PublicKey};
use crate::raw::{self, Pack, RawError, Reader, Unpack};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Who may act for an account: weighted accounts, keys and addresses, and the weight needed.
///
/// Reading JSON, a missing map is empty, as in the node (fc's reflection leaves absent members at
/// their default): python-bitshares, for one, sends no `address_auths`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    /// Sum of weights needed to act.
    pub weight_threshold: u32,
    /// Other accounts' authorities, ordered by account instance.
    #[serde(default)]
    pub account_auths: FlatMap<AccountId, u16>,
    /// Keys, ordered by address as the node orders them.
    #[serde(default)]
    pub key_auths: FlatMap<PublicKey, u16>,
    /// Addresses (legacy; `account_create` must not use them).
    #[serde(default)]
    pub address_auths: FlatMap<Address, u16>,
}

crate::impl_raw_struct!(Authority {
    weight_threshold,
    account_auths,
    key_auths,
    address_auths
});

impl Authority {
    /// One key with weight 1 and threshold 1: what wallets create for a new account.
    pub fn single_key(key: PublicKey) -> Authority {
        Authority {
            weight_threshold: 1,
            account_auths: FlatMap::new(),
            key_auths: [(key, 1)].into_iter().collect(),
            address_auths: FlatMap::new(),
        }
    }

    /// Number of entries of every kind (`authority::num_auths`).
    pub fn num_auths(&self) -> usize {
        self.account_auths.len() + self.key_auths.len() + self.address_auths.len()
    }

    /// Whether no combination of entries can reach the threshold (`authority::is_impossible`).
    pub fn is_impossible(&self) -> bool {
        let total: u64 = self
            .account_auths
            .iter()
            .map(|(_, w)| u64::from(*w))
            .chain(self.key_auths.iter().map(|(_, w)| u64::from(*w)))
            .chain(self.address_auths.iter().map(|(_, w)| u64::from(*w)))
            .sum();
        total < u64::from(self.weight_threshold)
    }
}

/// A vote for a committee member, witness or worker: `type:instance` in JSON, packed as
/// `instance << 8 | type` and ordered by that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoteId(u32);

/// What a vote is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteType {
    /// A committee member.
    Committee,
    /// A witness.
    Witness,
    /// A worker proposal.
    Worker,
}

/// A vote id string that is not `type:instance`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a vote id: expected TYPE:INSTANCE with TYPE 0 (committee), 1 (witness) or 2 (worker)")]
pub struct VoteIdError(String);

impl VoteId {
    /// A vote; `None` when the instance does not fit in 24 bits.
    pub fn new(kind: VoteType, instance: u32) -> Option<VoteId> {
        let tag = match kind {
            VoteType::Committee => 0,
            VoteType::Witness => 1,
            VoteType::Worker => 2,
        };
        (instance < 1 << 24).then_some(VoteId(instance << 8 | tag))
    }

    /// What the vote is for; `None` for a type byte the protocol does not define.
    pub fn kind(self) -> Option<VoteType> {
        match self.0 & 0xff {
            0 => Some(VoteType::Committee),
            1 => Some(VoteType::Witness),
            2 => Some(VoteType::Worker),
            _ => None,
        }
    }

    /// The voted-for object's vote instance.
    pub fn instance(self) -> u32 {
        self.0 >> 8
    }
}

impl fmt::Display for VoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 & 0xff, self.0 >> 8)
    }
}

impl FromStr for VoteId {
    type Err = VoteIdError;
    fn from_str(s: &str) -> Result<Self, VoteIdError> {
        let err = || VoteIdError(s.to_owned());
        let (t, i) = s.split_once(':').ok_or_else(err)?;
        let kind = match t {
            "0" => VoteType::Committee,
            "1" => VoteType::Witness,
            "2" => VoteType::Worker,
            _ => return Err(err()),
        };
        let digits = !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit());
        let instance = i.parse().ok().filter(|_| digits).ok_or_else(err)?;
        VoteId::new(kind, instance).ok_or_else(err)
    }
}

crate::impl_serde_as_string!(VoteId, "a vote id such as \"1:0\"");

impl Pack for VoteId {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for VoteId {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        let v = VoteId(u32::unpack(r)?);
        match v.kind() {
            Some(_) => Ok(v),
            None => Err(RawError::invalid(
                "vote id",
                format!("type {} is not 0, 1 or 2", v.0 & 0xff),
            )),
        }
    }
}

/// An account's settings: memo key and voting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOptions {
    /// Key that memos to this account are encrypted to.
    pub memo_key: PublicKey,
    /// Account whose votes this account follows; 1.2.5 (`proxy-to-self`) means its own.
    pub voting_account: AccountId,
    /// Number of witnesses the account wants active.
    pub num_witness: u16,
    /// Number of committee members the account wants active.
    pub num_committee: u16,
    /// The votes.
    pub votes: FlatSet<VoteId>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(AccountOptions {
    memo_key,
    voting_account,
    num_witness,
    num_committee,
    votes,
    extensions
});

impl AccountOptions {
    /// No votes, voting for itself: what the faucet gives a new account.
    pub fn no_votes(memo_key: PublicKey) -> AccountOptions {
        AccountOptions {
            memo_key,
            voting_account: AccountId::PROXY_TO_SELF,
            num_witness: 0,
            num_committee: 0,
            votes: FlatSet::new(),
            extensions: Extensions,
        }
    }

    /// The node's `account_options::validate`: an account may not ask for more witnesses or
    /// committee members than it votes for.
    pub fn validate(&self) -> Result<(), &'static str> {
        let count = |kind| self.votes.iter().filter(|v| v.kind() == Some(kind)).count();
        if usize::from(self.num_witness) > count(VoteType::Witness)
            || usize::from(self.num_committee) > count(VoteType::Committee)
        {
            return Err("May not specify fewer witnesses or committee members than the number voted for.");
        }
        Ok(())
    }
}

/// `extensions_type` (`future_extensions`): reserved, always empty. JSON `[]`, raw `00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Extensions;

impl Serialize for Extensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_seq(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EmptyExtensions("an empty extensions array []"))
            .map(|()| Extensions)
    }
}

impl Pack for Extensions {
    fn pack(&self, out: &mut Vec<u8>) {
        raw::write_varint(out, 0);
    }
}

impl Unpack for Extensions {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        match raw::read_varint(r)? {
            0 => Ok(Extensions),
            n => Err(RawError::invalid(
                "extensions",
                format!("{n} entries; none are defined"),
            )),
        }
    }
}

/// An `extension<T>` whose optional members we do not support: the node writes `{}` and accepts
/// `{}`, `[]` or `null`; raw, the count of present members, 0.
macro_rules! unsupported_extension {
    ($(#[$doc:meta])* $name:ident, $op:literal, $members:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_map(Some(0))?.end()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(EmptyExtensions(concat!(
                    "empty ", $op, " extensions ({}); ", $members, " are not supported"
                )))
                .map(|()| $name)
            }
        }

        impl Pack for $name {
            fn pack(&self, out: &mut Vec<u8>) {
                raw::write_varint(out, 0);
            }
        }

        impl Unpack for $name {
            fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
                match raw::read_varint(r)? {
                    0 => Ok($name),
                    _ => Err(RawError::invalid(
                        concat!($op, " extensions"),
                        concat!($members, " are not supported"),
                    )),
                }
            }
        }
    };
}

unsupported_extension!(
    /// `extension<account_create_operation::ext>`: optional special authorities and buyback
    /// options, none of which we support.
    AccountCreateExtensions,
    "account_create",
    "owner_special_authority, active_special_authority and buyback_options"
);

unsupported_extension!(
    /// `extension<account_update_operation::ext>`: optional special authorities, which we do not
    /// support.
    AccountUpdateExtensions,
    "account_update",
    "owner_special_authority and active_special_authority"
);

/// Accepts an empty array, an empty object or null; anything else is an error saying `.0`.
struct EmptyExtensions(&'static str);

impl<'de> Visitor<'de> for EmptyExtensions {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(de::Error::invalid_length(1, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match map.next_key::<IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(de::Error::invalid_length(1, &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_maps_are_empty_as_in_the_node() {
        // What python-bitshares sends: no address_auths, and an `extensions` member the node ignores.
        let json = r#"{"weight_threshold":1,"account_auths":[],"key_auths":[["BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV",1]],"extensions":[]}"#;
        let auth: Authority = serde_json::from_str(json).unwrap();
        assert_eq!((auth.key_auths.len(), auth.address_auths.len()), (1, 0));
    }

    #[test]
    fn vote_ids() {
        let v: VoteId = "1:0".parse().unwrap();
        assert_eq!(v.kind(), Some(VoteType::Witness));
        assert_eq!(raw::to_bytes(&v), [1, 0, 0, 0]);
        assert_eq!("0:17".parse::<VoteId>().unwrap().to_string(), "0:17");
        for bad in ["3:1", "1:", ":1", "1:16777216", "1:-1", "1"] {
            assert!(bad.parse::<VoteId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn extensions_accept_what_the_node_accepts() {
        for ok in ["{}", "[]", "null"] {
            assert!(serde_json::from_str::<AccountCreateExtensions>(ok).is_ok(), "{ok}");
        }
        assert_eq!(serde_json::to_string(&AccountCreateExtensions).unwrap(), "{}");
        assert_eq!(serde_json::to_string(&Extensions).unwrap(), "[]");
        let err = serde_json::from_str::<AccountCreateExtensions>(r#"{"buyback_options":{}}"#).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        assert!(serde_json::from_str::<Extensions>("[[0,{}]]").is_err());
    }

    #[test]
    fn options_validate_vote_counts() {
        let key = PublicKey::null(crate::chain::Prefix::BTS);
        let mut o = AccountOptions::no_votes(key);
        assert!(o.validate().is_ok());
        o.num_witness = 1;
        assert!(o.validate().is_err());
        o.votes = ["1:0".parse().unwrap()].into_iter().collect();
        assert!(o.validate().is_ok());
    }
}
