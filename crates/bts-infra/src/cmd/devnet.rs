//! `bts-infra devnet`: a BitShares-compatible development chain, served like witness_node.

use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_devnet::chain::ChainConfig;
use bts_devnet::ledger::Ledger;
use bts_devnet::store::{DataDir, StoreError};
use bts_devnet::{Devnet, Follower, RunningNode, ServerConfig};
use bts_protocol::{ChainId, Prefix};
use bts_rpc::{ApiRef, Call, message::to_raw};
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `bts-infra devnet`.
#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// Address to serve JSON-RPC on, WebSocket and HTTP on one port; repeat for more nodes of the same chain
    #[arg(long = "listen", value_name = "ADDR", default_value = "127.0.0.1:8090")]
    listen: Vec<SocketAddr>,
    /// Time between blocks, whole seconds [default: the genesis file's, else 3s]
    #[arg(long, value_name = "DURATION", value_parser = serve::parse_interval)]
    block_interval: Option<u32>,
    /// Address prefix of public keys, also the core asset's symbol (BTS, TEST, ...) [default: BTS]
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<Prefix>,
    /// Chain id to use [default: derived from the prefix; never mainnet's or the testnet's]
    #[arg(long, value_name = "HEX")]
    chain_id: Option<ChainId>,
    /// Genesis file: extra accounts with keys and balances (JSON, see docs/devnet.md)
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Follow another devnet node (ws:// or http://, a producer or a follower) instead of making
    /// blocks: its chain, replicated here; broadcasts are relayed to it
    #[arg(long, value_name = "URL", conflicts_with_all = ["block_interval", "prefix", "chain_id", "genesis"])]
    follow: Option<String>,
    /// Keep the chain here (genesis and block log) and resume it on restart [default: in memory]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Serve /devnet/admin on every node, to inject faults (latency, frozen head, dropped connections, ...)
    #[arg(long)]
    admin: bool,
    /// Keep HTTP connections open between requests (for benchmarks); by default each is closed after its answer, as witness_node does
    #[arg(long)]
    http_keep_alive: bool,
    #[command(flatten)]
    output: OutputArgs,
}

impl DevnetArgs {
    /// The devnet node that `node run --engine devnet` runs for a node spec: it serves JSON-RPC on
    /// the spec's RPC endpoint and, for a seed, on its P2P endpoint too (where other nodes' seed
    /// lists point); a producer makes the blocks of the network's devnet chain (prefix BTS or
    /// TEST); any other node follows its first seed node. The spec's data dir holds the chain.
    pub(crate) fn for_node(spec: &bts_node::spec::NodeSpec, block_interval: u32) -> Result<DevnetArgs, InputError> {
        let listen: Vec<SocketAddr> = spec
            .rpc
            .into_iter()
            .chain(spec.p2p.listen.filter(|_| spec.roles.seed))
            .collect();
        if listen.is_empty() {
            return Err(InputError::new("the devnet engine has nothing to serve on")
                .hint("turn rpc-endpoint on, or make the node a seed (its p2p-endpoint serves the devnet's RPC)"));
        }
        let follow = match (spec.roles.producer, spec.p2p.seed_nodes.first()) {
            (true, _) => None,
            (false, Some(seed)) => Some(format!("ws://{}/", seed.as_str())),
            (false, None) => {
                return Err(InputError::new("a devnet-engine node that is not a producer needs a seed node to follow")
                    .hint("give --seed-node HOST:PORT (BTS_NODE_SEED_NODE): the producer's or another node's seed endpoint"));
            }
        };
        let producer = follow.is_none();
        Ok(DevnetArgs {
            listen,
            block_interval: producer.then_some(block_interval),
            prefix: producer.then(|| spec.network.prefix()),
            chain_id: None,
            genesis: None,
            follow,
            data_dir: Some(spec.data_dir.clone()),
            admin: false,
            http_keep_alive: false,
            output: OutputArgs::default(),
        })
    }

    /// Runs the devnet until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        if let Some(url) = self.follow.clone() {
            return self.run_follower(&url);
        }
        serve::block_on(async move {
            // Inside the runtime, so that what opening the data dir logs (a torn tail cut off)
            // is not lost before the log is set up.
            let data_dir = self.data_dir.as_ref().map(DataDir::new);
            let config = match data_dir
                .as_ref()
                .map(DataDir::stored_genesis)
                .transpose()
                .map_err(store_error)?
            {
                Some(Some(stored)) => self.check_stored(stored)?,
                _ => self.chain_config()?,
            };
            let ledger = match &data_dir {
                Some(dir) => Arc::new(dir.open(&config).map_err(store_error)?),
                None => Arc::new(Ledger::memory()),
            };
            let listeners = self.listeners().await?;
            let devnet = Devnet::resume("devnet", config, ledger, listeners, self.server()).await?;
            let stop = serve::stop_signal();
            let report = NetworkReport::new(devnet.network().config(), devnet.nodes(), self.admin)
                .stored_in(self.data_dir.clone());
            self.output.print(&report)?;
            stop.await;
            devnet.shutdown().await;
            Ok(())
        })
    }

    fn run_follower(self, url: &str) -> anyhow::Result<()> {
        let data_dir = self.data_dir.as_ref().map(DataDir::new);
        serve::block_on(async move {
            let listeners = self.listeners().await?;
            let stop = serve::stop_signal();
            tokio::pin!(stop);
            let (_cancel, never) = tokio::sync::watch::channel(false);
            let starting = Follower::start(url, data_dir.as_ref(), listeners, self.server(), never);
            let follower = tokio::select! {
                started = starting => match started {
                    Ok(Some(f)) => f,
                    Ok(None) => return Ok(()),
                    // Whatever keeps a follower from following (a foreign or damaged data dir
                    // included) is a failure to start: exit code 1.
                    Err(e) => return Err(e.into()),
                },
                () = &mut stop => return Ok(()),
            };
            let mut report =
                NetworkReport::new(follower.config(), follower.nodes(), self.admin).stored_in(self.data_dir.clone());
            report.role = Role::Follower;
            report.upstream = Some(follower.upstream().to_owned());
            self.output.print(&report)?;
            let failed = tokio::select! {
                () = &mut stop => None,
                e = follower.failed() => Some(e),
            };
            follower.shutdown().await;
            match failed {
                Some(e) => Err(anyhow::anyhow!("{e}")),
                None => Ok(()),
            }
        })
    }

    async fn listeners(&self) -> anyhow::Result<Vec<tokio::net::TcpListener>> {
        let mut listeners = Vec::new();
        for addr in &self.listen {
            listeners.push(serve::bind(*addr, "--listen").await?);
        }
        Ok(listeners)
    }

    fn server(&self) -> ServerConfig {
        ServerConfig {
            admin: self.admin,
            http_keep_alive: self.http_keep_alive,
        }
    }

    /// A restarted producer runs the stored chain; flags that name another one are refused.
    fn check_stored(&self, stored: ChainConfig) -> anyhow::Result<ChainConfig> {
        let dir = self
            .data_dir
            .as_ref()
            .map_or(String::new(), |d| d.display().to_string());
        let refuse = |what: String| {
            InputError::new(format!("--data-dir {dir} holds another chain: {what}"))
                .hint("drop the flag to resume the stored chain, or give another --data-dir to start a new one")
        };
        if let Some(prefix) = self.prefix
            && prefix != stored.prefix
        {
            return Err(refuse(format!("prefix {}, not --prefix {prefix}", stored.prefix)).into());
        }
        if let Some(id) = self.chain_id
            && id != stored.chain_id
        {
            return Err(refuse(format!("chain id {}, not --chain-id {id}", stored.chain_id)).into());
        }
        if let Some(interval) = self.block_interval
            && interval != stored.block_interval
        {
            return Err(refuse(format!(
                "blocks every {}s, not --block-interval {interval}s",
                stored.block_interval
            ))
            .into());
        }
        if self.genesis.is_some() {
            let given = self.chain_config()?;
            let pinned = given.genesis_time;
            let mut comparable = given;
            comparable.genesis_time = stored.genesis_time;
            if comparable.genesis_hash() != stored.genesis_hash() || (self.pins_time() && pinned != stored.genesis_time)
            {
                return Err(refuse("its genesis differs from --genesis's".to_owned()).into());
            }
        }
        Ok(stored)
    }

    fn pins_time(&self) -> bool {
        self.genesis.as_ref().is_some_and(|path| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .is_some_and(|v| v.get("genesis-time").is_some())
        })
    }

    fn chain_config(&self) -> anyhow::Result<ChainConfig> {
        let prefix = self.prefix.unwrap_or(Prefix::BTS);
        let pinned_time = self.pins_time();
        let mut config = match &self.genesis {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| InputError::new(format!("cannot read the genesis file {}: {e}", path.display())))?;
                ChainConfig::from_genesis_json(&text, prefix)
                    .map_err(|e| InputError::new(format!("genesis file {}: {e}", path.display())))?
            }
            None => ChainConfig::devnet(prefix),
        };
        if let Some(interval) = self.block_interval {
            config.block_interval = interval;
        }
        // Clients compute expirations from their own clock, so the chain's head must be now,
        // unless the genesis file pins the time (for reproducible chains).
        if !pinned_time {
            config.genesis_time = bts_devnet::genesis_now(config.block_interval);
        }
        if let Some(id) = self.chain_id {
            if id == ChainId::MAINNET || id == ChainId::TESTNET {
                return Err(InputError::new("--chain-id is a public network's chain id")
                    .hint(
                        "a devnet must never share a chain id with a real network: signatures would be valid there too",
                    )
                    .into());
            }
            config.chain_id = id;
        }
        config.validate().map_err(|e| InputError::new(e.to_string()))?;
        Ok(config)
    }
}

/// A data dir that cannot be used: the operator can pick another one (or repair this one).
pub(crate) fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Io { .. } => anyhow::Error::new(e),
        other => InputError::new(other.to_string()).into(),
    }
}

/// Whether a node makes blocks or copies them.
#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Role {
    Producer,
    Follower,
}

/// What a started network looks like from outside.
#[derive(Serialize)]
pub(crate) struct NetworkReport {
    name: String,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
    data_dir: Option<PathBuf>,
    chain_id: ChainId,
    genesis_hash: String,
    prefix: Prefix,
    block_interval_secs: u32,
    registrar: RegistrarReport,
    nodes: Vec<NodeReport>,
}

#[derive(Serialize)]
struct RegistrarReport {
    name: String,
    id: String,
    public_key: String,
    /// The development key: public knowledge, only for this devnet. A follower does not know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    development_wif: Option<String>,
}

#[derive(Serialize)]
struct NodeReport {
    ws: String,
    http: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin: Option<String>,
}

impl NetworkReport {
    /// Describes running devnet nodes of the chain `config`, as a producer.
    pub(crate) fn new(config: &ChainConfig, nodes: &[RunningNode], admin: bool) -> NetworkReport {
        let call = Call {
            api: ApiRef::DATABASE,
            method: "get_account_by_name".to_owned(),
            args: to_raw(&(&config.registrar_name,)),
        };
        let account = nodes[0].node.with_chain(|c| c.database_call(&call)).unwrap_or_default();
        NetworkReport {
            name: "devnet".to_owned(),
            role: Role::Producer,
            upstream: None,
            data_dir: None,
            chain_id: config.chain_id,
            genesis_hash: config.genesis_hash().to_string(),
            prefix: config.prefix,
            block_interval_secs: config.block_interval,
            registrar: RegistrarReport {
                name: config.registrar_name.clone(),
                id: account["id"].as_str().unwrap_or("?").to_owned(),
                public_key: config.registrar_key.to_string(),
                development_wif: config.registrar_private_key.as_ref().map(|k| k.to_wif()),
            },
            nodes: nodes
                .iter()
                .map(|n| NodeReport {
                    ws: n.ws_url(),
                    http: n.http_url(),
                    admin: admin.then(|| format!("{}devnet/admin", n.http_url())),
                })
                .collect(),
        }
    }

    /// Names the network (`up` runs several).
    pub(crate) fn named(mut self, name: &str) -> NetworkReport {
        self.name = name.to_owned();
        self
    }

    /// Says where the chain is stored.
    pub(crate) fn stored_in(mut self, dir: Option<PathBuf>) -> NetworkReport {
        self.data_dir = dir;
        self
    }
}

impl Report for NetworkReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}: a development chain (not BitShares mainnet)", self.name)?;
        match (&self.role, &self.upstream) {
            (Role::Follower, Some(upstream)) => writeln!(out, "  follower   of {upstream}")?,
            _ => writeln!(out, "  producer   makes the blocks")?,
        }
        match &self.data_dir {
            Some(dir) => writeln!(out, "  data dir   {}", dir.display())?,
            None => writeln!(out, "  data dir   none (in memory: a restart starts over)")?,
        }
        writeln!(out, "  chain id   {}", self.chain_id)?;
        writeln!(
            out,
            "  prefix     {} (core asset {}, precision 5), a block every {}s",
            self.prefix, self.prefix, self.block_interval_secs
        )?;
        writeln!(
            out,
            "  registrar  {} ({}), lifetime member, key {}",
            self.registrar.name, self.registrar.id, self.registrar.public_key
        )?;
        if let Some(wif) = &self.registrar.development_wif {
            writeln!(
                out,
                "  dev key    {wif}  <- DEVELOPMENT KEY: public, only for this devnet"
            )?;
        }
        for (i, n) in self.nodes.iter().enumerate() {
            writeln!(out, "  node {i}     {}  {}", n.ws, n.http)?;
            if let Some(admin) = &n.admin {
                writeln!(out, "             admin: {admin}")?;
            }
        }
        Ok(())
    }
}
