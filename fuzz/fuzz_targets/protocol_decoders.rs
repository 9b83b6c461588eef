//! bts-protocol's decoders of untrusted input: fc-raw transactions and operations (as the devnet
//! reads a transaction's hex), keys and addresses in text, and account names. Nothing may
//! panic; a transaction that decodes must encode to bytes that decode to the same encoding (the
//! input itself may differ: sets are sorted as they are read, as the node sorts them).

#![no_main]

use bts_protocol::raw::{from_bytes, to_bytes};
use bts_protocol::{Address, Operation, PublicKey, SignedTransaction, name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = from_bytes::<SignedTransaction>(data) {
        let packed = to_bytes(&tx);
        let again = from_bytes::<SignedTransaction>(&packed).expect("our own encoding decodes");
        assert_eq!(to_bytes(&again), packed, "encoding is stable");
    }
    let _ = from_bytes::<Operation>(data);
    let text = String::from_utf8_lossy(data);
    let _ = PublicKey::parse_any_prefix(&text);
    let _ = Address::parse_any_prefix(&text);
    let _ = name::is_valid_name(&text);
    let _ = name::wallet_name_error(&text);
});
