//! Seeded random protocol values for the cross-implementation and round-trip tests.
//!
//! A small SplitMix64 generator keeps the cases reproducible from one printed seed without adding
//! a random-number crate to the build.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, AccountUpdate, AccountUpgrade, Asset, AssetId, Authority, BlockId,
    FlatSet, Memo, OpWrapper, Operation, Prefix, PrivateKey, ProposalCreate, ProposalId, ProposalUpdate, PublicKey,
    TimePointSec, Transaction, Transfer, VoteId, VoteType,
};

/// SplitMix64: tiny, fast and good enough to spread test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// A number of random magnitude: small, medium and huge values all occur.
    pub fn spread(&mut self, max: u64) -> u64 {
        let bits = self.below(65);
        let v = if bits == 64 {
            self.next()
        } else {
            self.next() & ((1u64 << bits) - 1)
        };
        v.min(max)
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn private_key(&mut self) -> PrivateKey {
        loop {
            if let Ok(k) = PrivateKey::from_bytes(&self.bytes()) {
                return k;
            }
        }
    }

    pub fn public_key(&mut self, prefix: Prefix) -> PublicKey {
        self.private_key().public_key(prefix)
    }

    pub fn account(&mut self) -> AccountId {
        AccountId::new(self.spread(u64::from(u32::MAX))).expect("fits in 48 bits")
    }

    pub fn asset(&mut self) -> Asset {
        let asset_id = if self.chance(2) {
            AssetId::CORE
        } else {
            AssetId::new(self.spread(100_000)).expect("small")
        };
        Asset {
            amount: self.spread(i64::MAX as u64) as i64,
            asset_id,
        }
    }

    /// A prefix: the well-known ones most of the time, sometimes an invented one.
    pub fn prefix(&mut self) -> Prefix {
        match self.below(5) {
            0 | 1 => Prefix::BTS,
            2 => Prefix::TEST,
            3 => Prefix::new("GPH").expect("valid"),
            _ => {
                let len = 1 + self.below(6) as usize;
                let s: String = (0..len)
                    .map(|i| {
                        // No K or L first: python-graphenelib takes any string starting with
                        // them for a compressed WIF and refuses it, whatever the prefix.
                        let alphabet: &[u8] = if i == 0 {
                            b"ABCDEFGHIJMNOPQRSTUVWXYZ"
                        } else {
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        };
                        *self.pick(alphabet) as char
                    })
                    .collect();
                Prefix::new(&s).expect("generated valid")
            }
        }
    }

    /// A name that is valid on chain: dot-separated labels of letters, digits and dashes.
    pub fn account_name(&mut self) -> String {
        let labels = 1 + self.below(3);
        let mut name = String::new();
        for i in 0..labels {
            if i > 0 {
                name.push('.');
            }
            let len = 1 + self.below(12);
            for j in 0..len {
                let alphabet: &[u8] = match j {
                    0 => b"abcdefghijklmnopqrstuvwxyz",
                    j if j == len - 1 => b"abcdefghijklmnopqrstuvwxyz0123456789",
                    _ => b"abcdefghijklmnopqrstuvwxyz0123456789-",
                };
                name.push(*self.pick(alphabet) as char);
            }
        }
        name
    }

    pub fn authority(&mut self, prefix: Prefix) -> Authority {
        let keys: Vec<(PublicKey, u16)> = (0..1 + self.below(4))
            .map(|_| (self.public_key(prefix), 1 + self.below(100) as u16))
            .collect();
        let accounts: Vec<(AccountId, u16)> = (0..self.below(3))
            .map(|_| (self.account(), 1 + self.below(100) as u16))
            .collect();
        let total: u32 = keys
            .iter()
            .chain(accounts.iter().map(|_| &keys[0]))
            .map(|(_, w)| u32::from(*w))
            .sum();
        Authority {
            weight_threshold: 1 + self.below(u64::from(total.min(keys[0].1 as u32))) as u32,
            account_auths: accounts.into_iter().collect(),
            key_auths: keys.into_iter().collect(),
            address_auths: Default::default(),
        }
    }

    pub fn options(&mut self, prefix: Prefix) -> AccountOptions {
        let mut options = AccountOptions::no_votes(self.public_key(prefix));
        if self.chance(2) {
            options.voting_account = self.account();
        }
        let kinds = [VoteType::Committee, VoteType::Witness, VoteType::Worker];
        options.votes = (0..self.below(5))
            .map(|_| VoteId::new(*self.pick(&kinds), self.below(1 << 24) as u32).expect("24 bits"))
            .collect();
        let count = |kind| options.votes.iter().filter(|v| v.kind() == Some(kind)).count() as u64;
        options.num_witness = self.below(count(VoteType::Witness) + 1) as u16;
        options.num_committee = self.below(count(VoteType::Committee) + 1) as u16;
        options
    }

    /// An operation of every supported kind; proposals wrap random operations, nested at most
    /// two levels deep.
    pub fn operation(&mut self, prefix: Prefix) -> Operation {
        self.nested_operation(prefix, 0)
    }

    fn nested_operation(&mut self, prefix: Prefix, depth: u32) -> Operation {
        let kinds = if depth < 2 { 6 } else { 5 };
        match self.below(kinds) {
            0 => {
                let memo = self.chance(2).then(|| Memo {
                    from: self.public_key(prefix),
                    to: self.public_key(prefix),
                    nonce: self.spread(u64::MAX),
                    message: (0..1 + self.below(80)).map(|_| self.next() as u8).collect(),
                });
                Transfer {
                    fee: self.asset(),
                    from: self.account(),
                    to: self.account(),
                    amount: self.asset(),
                    memo,
                    extensions: Default::default(),
                }
                .into()
            }
            1 => AccountCreate {
                fee: self.asset(),
                registrar: self.account(),
                referrer: self.account(),
                referrer_percent: self.below(10_001) as u16,
                name: self.account_name(),
                owner: self.authority(prefix),
                active: self.authority(prefix),
                options: self.options(prefix),
                extensions: Default::default(),
            }
            .into(),
            2 => AccountUpgrade {
                fee: self.asset(),
                account_to_upgrade: self.account(),
                upgrade_to_lifetime_member: self.chance(2),
                extensions: Default::default(),
            }
            .into(),
            3 => AccountUpdate {
                fee: self.asset(),
                account: self.account(),
                owner: self.chance(2).then(|| self.authority(prefix)),
                active: self.chance(2).then(|| self.authority(prefix)),
                new_options: self.chance(2).then(|| self.options(prefix)),
                extensions: Default::default(),
            }
            .into(),
            4 => {
                let accounts =
                    |rng: &mut Rng| -> FlatSet<AccountId> { (0..rng.below(3)).map(|_| rng.account()).collect() };
                let keys = |rng: &mut Rng| -> FlatSet<PublicKey> {
                    (0..rng.below(3)).map(|_| rng.public_key(prefix)).collect()
                };
                ProposalUpdate {
                    fee: self.asset(),
                    fee_paying_account: self.account(),
                    proposal: ProposalId::new(self.spread(1 << 40)).expect("fits in 48 bits"),
                    active_approvals_to_add: accounts(self),
                    active_approvals_to_remove: accounts(self),
                    owner_approvals_to_add: accounts(self),
                    owner_approvals_to_remove: accounts(self),
                    key_approvals_to_add: keys(self),
                    key_approvals_to_remove: keys(self),
                    extensions: Default::default(),
                }
                .into()
            }
            _ => ProposalCreate {
                fee: self.asset(),
                fee_paying_account: self.account(),
                expiration_time: TimePointSec(self.next() as u32),
                proposed_ops: (0..1 + self.below(3))
                    .map(|_| OpWrapper {
                        op: self.nested_operation(prefix, depth + 1),
                    })
                    .collect(),
                review_period_seconds: self.chance(2).then(|| self.spread(u64::from(u32::MAX)) as u32),
                extensions: Default::default(),
            }
            .into(),
        }
    }
}

/// A random transaction of 1 to 3 operations whose keys all carry one random prefix.
pub fn random_transaction(rng: &mut Rng) -> (Transaction, Prefix) {
    let prefix = rng.prefix();
    let head = BlockId(rng.bytes());
    let expiration = TimePointSec(rng.next() as u32);
    let operations = (0..1 + rng.below(3)).map(|_| rng.operation(prefix)).collect();
    (Transaction::new(&head, expiration, operations), prefix)
}
