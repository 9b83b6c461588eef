//! JSON-RPC text as the gateway and the devnet read it from clients and nodes: a request, a
//! batch of requests, a node's answer or notice. Nothing may panic, and a request that parses
//! must name a call or say why it does not.

#![no_main]

use bts_rpc::{Incoming, Request};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(request) = Request::parse(&text) {
        let _ = request.target();
    }
    let _ = Incoming::parse(&text);
    // A batch, split as the gateway splits it.
    if let Ok(items) = serde_json::from_str::<Vec<Box<RawValue>>>(&text) {
        for item in &items {
            if let Ok(request) = Request::parse(item.get()) {
                let _ = request.target();
            }
        }
    }
});
