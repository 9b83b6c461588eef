//! Whether a node is ready to serve, judged from what it answered: on the expected chain, and a
//! head block recent enough. Pure: the answers and the time are passed in ([`crate::ready`] asks).

use crate::spec::{Network, RpcEndpoint};
use bts_protocol::{ChainId, TimePointSec};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use thiserror::Error;

/// What a ready node must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectations {
    /// The chain it must be on; `None`: any.
    pub chain_id: Option<ChainId>,
    /// The oldest acceptable head block. Blocks come every 3 s on mainnet and the testnet, so
    /// 10 s tolerates a missed block or two.
    pub max_head_age: Duration,
}

/// What the node answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// `get_chain_id`.
    pub chain_id: ChainId,
    /// `get_dynamic_global_properties.head_block_number`.
    pub head_block_number: u32,
    /// `get_dynamic_global_properties.time`.
    pub head_time: TimePointSec,
}

/// A ready node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ready {
    /// Its chain id.
    pub chain_id: ChainId,
    /// Its head block.
    pub head_block_number: u32,
    /// How old the head block is, in seconds.
    pub head_age_secs: u64,
}

/// Why a node is not ready; the message is one short line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotReady {
    /// No usable answer.
    #[error("no answer from {url}: {reason}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Another chain.
    #[error("wrong chain: the node is on {} ({actual}), expected {} ({expected})", chain_name(*actual), chain_name(*expected))]
    WrongChain {
        /// The chain it should be on.
        expected: ChainId,
        /// The chain it is on.
        actual: ChainId,
    },
    /// The head block is too old.
    #[error(
        "head block {head_block_number} is {}s old (max {}s): the node is syncing, lagging or stuck",
        age_secs,
        max_secs
    )]
    Stale {
        /// The head block.
        head_block_number: u32,
        /// Its age in seconds.
        age_secs: u64,
        /// The allowed age in seconds.
        max_secs: u64,
    },
}

/// Judges `observed` at `now_unix_secs` (seconds since 1970).
pub fn judge(observed: &Observation, expect: &Expectations, now_unix_secs: u64) -> Result<Ready, NotReady> {
    if let Some(expected) = expect.chain_id
        && observed.chain_id != expected
    {
        return Err(NotReady::WrongChain {
            expected,
            actual: observed.chain_id,
        });
    }
    // A head slightly in the future (clock skew) counts as fresh.
    let age = now_unix_secs.saturating_sub(u64::from(observed.head_time.secs()));
    if Duration::from_secs(age) > expect.max_head_age {
        return Err(NotReady::Stale {
            head_block_number: observed.head_block_number,
            age_secs: age,
            max_secs: expect.max_head_age.as_secs(),
        });
    }
    Ok(Ready {
        chain_id: observed.chain_id,
        head_block_number: observed.head_block_number,
        head_age_secs: age,
    })
}

/// `mainnet`, `testnet` or `another chain`.
fn chain_name(id: ChainId) -> &'static str {
    if id == ChainId::MAINNET {
        "mainnet"
    } else if id == ChainId::TESTNET {
        "testnet"
    } else {
        "another chain"
    }
}

/// The HTTP URL to probe for `url`. witness_node serves HTTP and WebSocket on one port, so a
/// `ws://` URL is probed over HTTP. TLS is terminated in front of nodes, so `https://`/`wss://`
/// are refused: probe the node itself.
pub fn probe_url(url: &str) -> Result<String, String> {
    if let Some(rest) = url.strip_prefix("ws://") {
        return Ok(format!("http://{rest}"));
    }
    if url.starts_with("http://") {
        return Ok(url.to_owned());
    }
    Err(format!(
        "{url:?}: write http://HOST:PORT (or ws://) of the node itself; TLS belongs to the gateway in front of it"
    ))
}

/// The URL a node with this network and RPC setting is probed at from its own host: the RPC
/// endpoint with an unspecified address (`0.0.0.0`) replaced by loopback. `None` when RPC is off.
pub fn local_rpc_url(network: Network, rpc: Option<RpcEndpoint>) -> Option<String> {
    let addr = match rpc {
        None => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), network.rpc_port()),
        Some(RpcEndpoint::Off) => return None,
        Some(RpcEndpoint::On(addr)) => addr,
    };
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Some(format!("http://{}", SocketAddr::new(ip, addr.port())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn observed(chain_id: ChainId, head_age: u32) -> Observation {
        Observation {
            chain_id,
            head_block_number: 42,
            head_time: TimePointSec(u32::try_from(NOW).expect("fits") - head_age),
        }
    }

    #[test]
    fn judges_chain_and_head_age() {
        let expect = Expectations {
            chain_id: Some(ChainId::MAINNET),
            max_head_age: Duration::from_secs(10),
        };
        assert_eq!(
            judge(&observed(ChainId::MAINNET, 10), &expect, NOW).map(|r| r.head_age_secs),
            Ok(10)
        );
        assert_eq!(
            judge(&observed(ChainId::MAINNET, 11), &expect, NOW)
                .unwrap_err()
                .to_string(),
            "head block 42 is 11s old (max 10s): the node is syncing, lagging or stuck"
        );
        assert!(
            judge(&observed(ChainId::TESTNET, 0), &expect, NOW)
                .unwrap_err()
                .to_string()
                .starts_with("wrong chain: the node is on testnet")
        );
        let any_chain = Expectations {
            chain_id: None,
            ..expect
        };
        assert!(judge(&observed(ChainId::TESTNET, 0), &any_chain, NOW).is_ok());
    }

    #[test]
    fn probe_urls() {
        assert_eq!(probe_url("ws://127.0.0.1:8090"), Ok("http://127.0.0.1:8090".to_owned()));
        assert!(probe_url("wss://node.example").is_err());
        let on = |s: &str| Some(RpcEndpoint::On(s.parse().expect("addr")));
        assert_eq!(
            local_rpc_url(Network::Testnet, None),
            Some("http://127.0.0.1:8091".to_owned())
        );
        assert_eq!(
            local_rpc_url(Network::Mainnet, on("0.0.0.0:9000")),
            Some("http://127.0.0.1:9000".to_owned())
        );
        assert_eq!(local_rpc_url(Network::Mainnet, Some(RpcEndpoint::Off)), None);
    }
}
