//! `bts-infra node ready`: exit 0 only when a node answers, is on the expected chain and its head
//! block is fresh. Used by the node image's HEALTHCHECK and by Kubernetes probes, so without
//! arguments it probes this host's node, found from the same spec sources as `node run`.

use super::{environment, input, read};
use crate::error::InputError;
use crate::output::Report;
use crate::serve;
use bts_node::health::{self, Expectations, Ready};
use bts_node::spec::{Network, RawSpec, RpcEndpoint};
use bts_protocol::ChainId;
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `node ready`.
#[derive(Args)]
pub(crate) struct ReadyArgs {
    /// The node's RPC URL (http:// or ws://) [default: this host's node, from the node spec's network and rpc-endpoint]
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// The oldest acceptable head block
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    max_head_age: Duration,
    /// The chain the node must be on [default: the network's]
    #[arg(long, value_name = "HEX")]
    chain_id: Option<ChainId>,
    /// mainnet or testnet: the expected chain and the default RPC port [default: the node spec's]
    #[arg(long, value_name = "NETWORK")]
    network: Option<Network>,
    /// The node spec file the defaults are read from (with the BTS_NODE_* variables, as `node run` does)
    #[arg(long, value_name = "FILE", env = "BTS_NODE_SPEC")]
    spec: Option<PathBuf>,
    /// How long the whole probe may take
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print exactly one JSON object on stdout (also when not ready) instead of text
    #[arg(long)]
    json: bool,
    /// The node's engine: with devnet, the expected chain is the network's devnet chain
    #[arg(long, value_name = "ENGINE", env = "BTS_NODE_ENGINE", default_value = "witness-node")]
    engine: super::Engine,
}

/// What `node ready` prints.
#[derive(Serialize)]
struct ReadyReport {
    ready: bool,
    rpc: String,
    #[serde(flatten)]
    node: Option<Ready>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl ReadyArgs {
    /// Probes the node; the error says why it is not ready (exit 1).
    pub(super) fn run(self) -> anyhow::Result<()> {
        let (network, endpoint) = self.spec_defaults()?;
        let url = self.url(network, endpoint)?;
        let expect = Expectations {
            chain_id: self.expected_chain(network)?,
            max_head_age: self.max_head_age,
        };
        let result = serve::block_on(async { Ok(bts_node::ready::probe(&url, &expect, self.timeout).await) })?;
        let report = ReadyReport {
            ready: result.is_ok(),
            rpc: url,
            reason: result.as_ref().err().map(ToString::to_string),
            node: result.as_ref().ok().cloned(),
        };
        // Text goes to stdout only when ready; the reason goes to stderr as the error.
        if self.json || result.is_ok() {
            let mut stdout = io::stdout().lock();
            let written = if self.json {
                serde_json::to_writer(&mut stdout, &report)
                    .map_err(io::Error::from)
                    .and_then(|()| writeln!(stdout))
            } else {
                report.write_text(&mut stdout)
            };
            written.and_then(|()| stdout.flush())?;
        }
        result
            .map(drop)
            .map_err(|reason| anyhow::anyhow!("not ready: {reason}"))
    }

    /// The network (`--network`, else the spec's) and the spec's RPC endpoint, read from the same
    /// sources as `node run` (spec file < environment), so a HEALTHCHECK needs no arguments.
    fn spec_defaults(&self) -> anyhow::Result<(Option<Network>, Option<RpcEndpoint>)> {
        let file = match &self.spec {
            Some(path) => RawSpec::from_toml(&read(path, "--spec")?, path).map_err(input)?,
            None => RawSpec::default(),
        };
        let raw = file.merge(RawSpec::from_env(environment()).map_err(input)?);
        Ok((self.network.or(raw.network), raw.rpc_endpoint))
    }

    fn url(&self, network: Option<Network>, endpoint: Option<RpcEndpoint>) -> anyhow::Result<String> {
        let url = match &self.rpc {
            Some(url) => url.clone(),
            None => {
                let network = network.ok_or_else(|| {
                    InputError::new("no node to probe")
                        .hint("give --rpc http://HOST:PORT, or --network (or BTS_NODE_NETWORK) for this host's node")
                })?;
                health::local_rpc_url(network, endpoint).ok_or_else(|| {
                    InputError::new("the node spec turns RPC off, so there is nothing to probe")
                        .hint("turn RPC on (a loopback endpoint is enough), or probe another node with --rpc")
                })?
            }
        };
        Ok(health::probe_url(&url).map_err(|e| InputError::new(format!("--rpc {e}")))?)
    }

    fn expected_chain(&self, network: Option<Network>) -> Result<Option<ChainId>, InputError> {
        let chain_of = |n: Network| match self.engine {
            super::Engine::WitnessNode => n.chain_id(),
            super::Engine::Devnet => bts_devnet::chain::ChainConfig::devnet_chain_id(n.prefix()),
        };
        match (self.chain_id, network) {
            (Some(id), Some(network)) if id != chain_of(network) => {
                Err(InputError::new(format!("--chain-id {id} is not {network}'s chain id"))
                    .hint("give one of --chain-id and --network (or BTS_NODE_NETWORK)"))
            }
            (Some(id), _) => Ok(Some(id)),
            (None, network) => Ok(network.map(chain_of)),
        }
    }
}

impl Report for ReadyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.node {
            Some(node) => writeln!(
                out,
                "ready: {} on chain {}, head block {} ({}s old)",
                self.rpc, node.chain_id, node.head_block_number, node.head_age_secs
            ),
            None => writeln!(out, "not ready: {}", self.reason.as_deref().unwrap_or("unknown")),
        }
    }
}
