//! A WebSocket session's recipe (what the gateway replays on another node at failover), driven
//! by a client's calls and a node's answers taken from the input, line by line: a call, then the
//! answer the node gave it. Recording, id translation and replay must never panic.

#![no_main]

use bts_gateway::proxy::recipe::Recipe;
use bts_rpc::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut recipe = Recipe::default();
    let mut lines = text.lines();
    while let Some(call) = lines.next() {
        let answer = lines.next().unwrap_or("null");
        let Ok(request) = Request::parse(call) else { continue };
        let Ok(call) = request.target() else { continue };
        let _ = recipe.translate(&call.api);
        let Some(effect) = recipe.effect_of(&call) else {
            continue;
        };
        let Ok(result) = serde_json::from_str::<Box<RawValue>>(answer) else {
            continue;
        };
        recipe.apply(effect, &result);
        if call.method == "login" {
            // A failover: the next node hands out its own ids.
            recipe.new_upstream();
            for replay in recipe.replay() {
                recipe.replayed_api_id(&replay.method, &result);
            }
        }
    }
    let _ = recipe.replay();
    let _ = recipe.has_callbacks();
});
