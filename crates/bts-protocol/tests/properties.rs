//! Property tests: JSON ↔ struct ↔ bytes round trips of random transactions, and garbage fed to
//! every parser, which must answer with an error and never panic.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod common;

use bts_protocol::name::{NameCheck, NamePolicy};
use bts_protocol::{
    AccountId, Address, BlockId, ChainId, ObjectId, Operation, Prefix, PrivateKey, PublicKey, Signature,
    SignedTransaction, TimePointSec, Transaction, VoteId, raw,
};
use common::{Rng, random_transaction};
use proptest::prelude::*;

fn signed(seed: u64) -> (SignedTransaction, Prefix) {
    let mut rng = Rng::new(seed);
    let (tx, prefix) = random_transaction(&mut rng);
    let keys = [rng.private_key(), rng.private_key()];
    (tx.sign(&ChainId(rng.bytes()), &[&keys[0], &keys[1]]), prefix)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn json_and_bytes_round_trip(seed in any::<u64>()) {
        let (tx, _) = signed(seed);
        let json = serde_json::to_string(&tx).unwrap();
        let from_json: SignedTransaction = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&from_json, &tx);
        // Keys keep their prefix through JSON, so the text is identical too.
        prop_assert_eq!(serde_json::to_string(&from_json).unwrap(), json);

        let bytes = tx.to_bytes();
        let from_bytes: SignedTransaction = raw::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&from_bytes, &tx);
        prop_assert_eq!(from_bytes.to_bytes(), bytes);
        prop_assert_eq!(from_bytes.id(), tx.id());
    }

    #[test]
    fn ids_keys_and_times_round_trip(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let prefix = rng.prefix();
        let key = rng.private_key();
        prop_assert_eq!(PrivateKey::from_wif(&key.to_wif()).unwrap().to_bytes(), key.to_bytes());
        let public = key.public_key(prefix);
        prop_assert_eq!(PublicKey::parse(&public.to_string(), prefix).unwrap(), public);
        prop_assert_eq!(public.to_string().parse::<PublicKey>().unwrap().prefix(), prefix);
        let address = public.address();
        prop_assert_eq!(address.to_string().parse::<Address>().unwrap(), address);
        let id = rng.account();
        prop_assert_eq!(id.to_string().parse::<AccountId>().unwrap(), id);
        let t = TimePointSec(rng.next() as u32);
        prop_assert_eq!(t.to_string().parse::<TimePointSec>().unwrap(), t);
    }

    #[test]
    fn signatures_verify_only_for_their_key_and_digest(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let (key, other) = (rng.private_key(), rng.private_key());
        let digest = bts_protocol::Digest(rng.bytes());
        let sig = key.sign_digest(&digest);
        prop_assert!(sig.is_canonical());
        prop_assert!(sig.verify(&digest, &key.public_key(Prefix::BTS)));
        prop_assert!(!sig.verify(&digest, &other.public_key(Prefix::BTS)));
        let mut tampered = digest;
        tampered.0[rng.below(32) as usize] ^= 1 << rng.below(8);
        prop_assert!(!sig.verify(&tampered, &key.public_key(Prefix::BTS)));
    }

    #[test]
    fn garbage_strings_are_errors_not_panics(s in ".{0,80}") {
        let _ = PublicKey::parse_any_prefix(&s);
        let _ = PublicKey::parse(&s, Prefix::BTS);
        let _ = Address::parse_any_prefix(&s);
        let _ = PrivateKey::from_wif(&s);
        let _ = s.parse::<ObjectId>();
        let _ = s.parse::<AccountId>();
        let _ = s.parse::<TimePointSec>();
        let _ = s.parse::<Signature>();
        let _ = s.parse::<ChainId>();
        let _ = s.parse::<BlockId>();
        let _ = s.parse::<VoteId>();
        let _ = Prefix::new(&s);
        let _ = NameCheck::new(&s, NamePolicy::default());
        let _ = serde_json::from_str::<SignedTransaction>(&s);
        let _ = serde_json::from_str::<Operation>(&s);
    }

    #[test]
    fn base58_lookalikes_are_errors_not_panics(body in "[1-9A-HJ-NP-Za-km-z]{0,60}", prefix in "[A-Z]{0,5}") {
        let s = format!("{prefix}{body}");
        let _ = PublicKey::parse_any_prefix(&s);
        let _ = Address::parse_any_prefix(&s);
        let _ = PrivateKey::from_wif(&body);
    }

    #[test]
    fn garbage_bytes_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = raw::from_bytes::<SignedTransaction>(&bytes);
        let _ = raw::from_bytes::<Transaction>(&bytes);
        let _ = raw::from_bytes::<Operation>(&bytes);
    }

    #[test]
    fn mutated_transactions_are_errors_not_panics(seed in any::<u64>(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let (tx, _) = signed(seed);
        let mut bytes = tx.to_bytes();
        let i = at.index(bytes.len());
        if cut { bytes.truncate(i) } else { bytes[i] = byte }
        let _ = raw::from_bytes::<SignedTransaction>(&bytes);
        // The JSON form with a value swapped for junk is an error too.
        let mut json = serde_json::to_value(&tx).unwrap();
        json["operations"][0][1]["fee"]["amount"] = serde_json::json!([byte]);
        prop_assert!(serde_json::from_value::<SignedTransaction>(json).is_err());
    }

    #[test]
    fn mutated_json_text_is_an_error_or_a_valid_transaction(seed in any::<u64>(), at in any::<prop::sample::Index>(), c in any::<char>()) {
        let (tx, _) = signed(seed);
        let mut text = serde_json::to_string(&tx).unwrap();
        let i = at.index(text.len());
        if text.is_char_boundary(i) {
            text.insert(i, c);
        }
        if let Ok(parsed) = serde_json::from_str::<SignedTransaction>(&text) {
            // A harmless change (e.g. whitespace) must still give a consistent transaction.
            prop_assert_eq!(raw::from_bytes::<SignedTransaction>(&parsed.to_bytes()).unwrap(), parsed);
        }
    }
}

#[test]
fn recursion_and_size_bombs_are_errors() {
    let deep = "[".repeat(10_000);
    assert!(serde_json::from_str::<SignedTransaction>(&deep).is_err());
    // A signed transaction claiming four billion signatures in a few bytes.
    let (tx, _) = signed(7);
    let mut bytes = tx.transaction.to_bytes();
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(raw::from_bytes::<SignedTransaction>(&bytes).is_err());
}
