//! The gateway's configuration file: any text gives a configuration or an error that names the
//! key, never a panic.

#![no_main]

use bts_gateway::config::GatewayConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = GatewayConfig::from_toml(&text, "fuzz.toml");
});
