//! Building a [`NodeSpec`] from merged layers: one function per concern, each refusing what
//! witness_node 7.0.2 would refuse, abort on or silently get wrong (`node-modes-verified.md`).

use super::values::{check_endpoint, check_index_prefix};
use super::{
    Files, History, HistoryLevel, Mode, Network, NodeSpec, P2p, Producer, RawSpec, Roles, RpcEndpoint, Setting,
    SpecError, suggest,
};
use crate::apis::{self, ApiSet};
use crate::extra::{API_ACCESS_EXAMPLE, ExtraConfig, check_api_access};
use crate::keyfile;
use crate::options::API_LIMITS;
use crate::plugins::{Needs, Plugin};
use bts_protocol::PublicKey;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// witness_node's own default data directory (relative to its working directory).
const DEFAULT_DATA_DIR: &str = "witness_node_data_dir";

pub(super) fn build(raw: &RawSpec, files: &dyn Files) -> Result<NodeSpec, SpecError> {
    let network = raw.network.ok_or_else(|| {
        missing(Setting::Network, "the node's network is not given (mainnet and testnet need different witness_node builds, so the launcher never guesses)")
    })?;
    let (roles, level) = roles_and_level(raw)?;
    let producer = producer(raw, roles, network, files)?;
    let history = history(raw, level, network)?;
    let track_accounts = track_accounts(raw, level)?;
    let rpc = rpc(raw, network, roles)?;
    let p2p = p2p(raw, network, roles)?;
    let needs = Needs {
        producer: roles.producer,
        seed: roles.seed,
        api: roles.api,
        history: level,
        rpc: rpc.is_some(),
    };
    let plugins = match &raw.plugins {
        None => needs.implied(),
        Some(names) => needs.check(names, &raw.describe(Setting::Plugins))?,
    };
    let api_limits = api_limits(raw, rpc.is_some())?;
    let (extra, access) = extra(raw, files, &plugins)?;
    if rpc.is_some() {
        let (open, from) = match access {
            Some(open) => (open, "the extra config's api-access file"),
            None => (
                BTreeSet::from(ApiSet::DEFAULT_OPEN),
                "the default access (no api-access file)",
            ),
        };
        apis::check_open(&open, &plugins, from)?;
    }
    let data_dir = raw.data_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if data_dir.as_os_str().is_empty() {
        return Err(refuse(
            raw,
            Setting::DataDir,
            "is empty",
            "name witness_node's data directory",
        ));
    }
    Ok(NodeSpec {
        network,
        roles,
        history,
        track_accounts,
        producer,
        p2p,
        rpc,
        api_limits,
        plugins,
        data_dir,
        extra,
        replay: raw.replay.unwrap_or(false),
    })
}

/// An error about a setting that was given: `<as given> <problem>`.
fn refuse(raw: &RawSpec, setting: Setting, problem: &str, fix: impl Into<String>) -> SpecError {
    SpecError::new(format!("{} {problem}", raw.describe(setting)), fix)
}

/// An error about a setting that is needed and missing.
fn missing(setting: Setting, problem: &str) -> SpecError {
    SpecError::new(problem, format!("set {}", setting.all_ways()))
}

fn roles_and_level(raw: &RawSpec) -> Result<(Roles, HistoryLevel), SpecError> {
    let modes = raw.mode.as_deref().unwrap_or_default();
    if modes.is_empty() {
        return Err(missing(
            Setting::Mode,
            "no mode given: say what the node is for: producer, seed, api (combinable), or full (= producer + seed + history full)",
        ));
    }
    let full = modes.contains(&Mode::Full);
    let roles = Roles {
        producer: full || modes.contains(&Mode::Producer),
        seed: full || modes.contains(&Mode::Seed),
        api: modes.contains(&Mode::Api),
    };
    let level = match raw.history {
        Some(level) if full && level != HistoryLevel::Full => {
            return Err(SpecError::new(
                format!(
                    "{} includes full (producer + seed + history full), but {} is {level}",
                    raw.describe(Setting::Mode),
                    raw.describe(Setting::History)
                ),
                "list the modes as producer,seed to choose another history, or drop the history setting",
            ));
        }
        Some(level) => level,
        None if full => HistoryLevel::Full,
        None => HistoryLevel::None,
    };
    Ok((roles, level))
}

fn producer(raw: &RawSpec, roles: Roles, network: Network, files: &dyn Files) -> Result<Option<Producer>, SpecError> {
    if !roles.producer {
        for setting in [Setting::WitnessId, Setting::KeyFile] {
            if raw.is_set(setting) {
                return Err(refuse(
                    raw,
                    setting,
                    "is given, but the node is not a block producer",
                    "add producer to the modes, or remove it",
                ));
            }
        }
        return Ok(None);
    }
    let mut witness_ids = raw.witness_id.clone().unwrap_or_default();
    witness_ids.sort_unstable();
    witness_ids.dedup();
    if witness_ids.is_empty() {
        return Err(missing(
            Setting::WitnessId,
            "a block producer needs the ids of the witnesses it signs for (1.6.N)",
        ));
    }
    let (key_file, public_keys) = key_file(raw, network, files)?;
    Ok(Some(Producer {
        witness_ids,
        key_file,
        public_keys,
    }))
}

/// The producer's key file: named, absolute, readable and holding valid pairs for `network`.
fn key_file(raw: &RawSpec, network: Network, files: &dyn Files) -> Result<(PathBuf, Vec<PublicKey>), SpecError> {
    let key_file = raw.key_file.clone().ok_or_else(|| {
        missing(
            Setting::KeyFile,
            "a block producer needs its signing key: a file with one [\"PUBLIC_KEY\",\"WIF\"] pair per line (e.g. a mounted secret)",
        )
    })?;
    if !key_file.is_absolute() {
        return Err(refuse(
            raw,
            Setting::KeyFile,
            "is a relative path",
            "write an absolute path: witness_node resolves it from its own working directory",
        ));
    }
    let text = files.read(&key_file).map_err(|e| {
        refuse(
            raw,
            Setting::KeyFile,
            &format!(
                "{} cannot be read ({e}); witness_node would exit (\"Failed to load private key file\")",
                key_file.display()
            ),
            "mount the key file there, or fix the path",
        )
    })?;
    let public_keys = keyfile::check(&text, network.prefix(), &key_file.display().to_string())?;
    Ok((key_file, public_keys))
}

fn history(raw: &RawSpec, level: HistoryLevel, network: Network) -> Result<History, SpecError> {
    if level != HistoryLevel::Es {
        for setting in [Setting::EsUrl, Setting::EsIndexPrefix] {
            if raw.is_set(setting) {
                return Err(refuse(
                    raw,
                    setting,
                    &format!("is given, but the history is {level}, not es"),
                    "set the history to es, or remove it",
                ));
            }
        }
    }
    Ok(match level {
        HistoryLevel::None => History::None,
        HistoryLevel::Low => History::Low,
        HistoryLevel::Full => History::Full,
        HistoryLevel::Es => {
            let url = raw.es_url.clone().ok_or_else(|| {
                missing(
                    Setting::EsUrl,
                    "history es needs the Elasticsearch URL (e.g. http://elasticsearch:9200/)",
                )
            })?;
            let index_prefix = raw
                .es_index_prefix
                .clone()
                .unwrap_or_else(|| network.es_index_prefix().to_owned());
            check_index_prefix(&index_prefix).map_err(|e| {
                refuse(
                    raw,
                    Setting::EsIndexPrefix,
                    &format!("is not usable: {e}"),
                    "choose another prefix",
                )
            })?;
            History::Es { url, index_prefix }
        }
    })
}

fn track_accounts(raw: &RawSpec, level: HistoryLevel) -> Result<Vec<bts_protocol::AccountId>, SpecError> {
    let mut accounts = raw.track_account.clone().unwrap_or_default();
    accounts.sort_unstable();
    accounts.dedup();
    if accounts.is_empty() {
        return Ok(accounts);
    }
    match level {
        HistoryLevel::None => Err(refuse(
            raw,
            Setting::TrackAccount,
            "restricts the account history, but the history is none",
            "choose history low or full, or remove the tracked accounts",
        )),
        HistoryLevel::Es => Err(refuse(
            raw,
            Setting::TrackAccount,
            "has no effect with history es: only account_history reads track-account, so Elasticsearch would store every account",
            "choose history low or full to keep only these accounts, or remove the tracked accounts",
        )),
        HistoryLevel::Low | HistoryLevel::Full => Ok(accounts),
    }
}

fn rpc(raw: &RawSpec, network: Network, roles: Roles) -> Result<Option<SocketAddr>, SpecError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), network.rpc_port());
    match raw.rpc_endpoint.unwrap_or(RpcEndpoint::On(loopback)) {
        RpcEndpoint::Off if roles.api => Err(refuse(
            raw,
            Setting::RpcEndpoint,
            "is off, but an API node serves RPC",
            format!(
                "set an endpoint, e.g. 0.0.0.0:{} to serve other hosts",
                network.rpc_port()
            ),
        )),
        RpcEndpoint::Off => Ok(None),
        RpcEndpoint::On(addr) if roles.producer && !addr.ip().is_loopback() => Err(refuse(
            raw,
            Setting::RpcEndpoint,
            &format!("is {addr}, reachable from other hosts, but the node is a block producer"),
            format!(
                "bind RPC to 127.0.0.1:{} (or turn it off) and serve the public from separate API nodes behind the gateway",
                addr.port()
            ),
        )),
        RpcEndpoint::On(addr) => Ok(Some(addr)),
    }
}

fn p2p(raw: &RawSpec, network: Network, roles: Roles) -> Result<P2p, SpecError> {
    let listen = listen(raw, network, roles)?;
    let mut seed_nodes = Vec::new();
    for node in raw.seed_node.iter().flatten() {
        if !seed_nodes.contains(node) {
            seed_nodes.push(node.clone());
        }
    }
    let builtin_seeds = raw.builtin_seeds.unwrap_or(true);
    if !builtin_seeds && seed_nodes.is_empty() {
        return Err(refuse(
            raw,
            Setting::BuiltinSeeds,
            "is false and no seed node is given: the node would know no peer and never sync",
            format!(
                "add peers with {}, or use the built-in seeds",
                Setting::SeedNode.all_ways()
            ),
        ));
    }
    Ok(P2p {
        listen,
        public_address: if roles.seed { raw.public_address } else { None },
        seed_nodes,
        builtin_seeds,
    })
}

/// Where a seed listens (`None` for other nodes, which open no P2P socket).
fn listen(raw: &RawSpec, network: Network, roles: Roles) -> Result<Option<SocketAddr>, SpecError> {
    if !roles.seed {
        for setting in [Setting::P2pEndpoint, Setting::PublicAddress] {
            if raw.is_set(setting) {
                return Err(refuse(
                    raw,
                    setting,
                    "is given, but the node is not a seed: it accepts no incoming peers and opens no P2P socket",
                    "add seed to the modes, or remove it",
                ));
            }
        }
        return Ok(None);
    }
    let listen = raw
        .p2p_endpoint
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), network.p2p_port()));
    check_port(raw, Setting::P2pEndpoint, listen)?;
    if let Some(public) = raw.public_address {
        check_port(raw, Setting::PublicAddress, public)?;
        if public.ip().is_unspecified() {
            return Err(refuse(
                raw,
                Setting::PublicAddress,
                &format!("is {public}, which peers cannot connect to"),
                "write the public IP and port peers reach this seed at, e.g. 203.0.113.7:1776",
            ));
        }
    }
    Ok(Some(listen))
}

/// Endpoints from the spec file arrive as plain socket addresses; flags and variables were checked
/// when parsed, but checking again is cheap.
fn check_port(raw: &RawSpec, setting: Setting, addr: SocketAddr) -> Result<(), SpecError> {
    check_endpoint(addr).map_err(|e| refuse(raw, setting, &format!("is not usable: {e}"), "write IPV4:PORT"))
}

fn api_limits(raw: &RawSpec, rpc: bool) -> Result<BTreeMap<String, u32>, SpecError> {
    let Some(given) = &raw.api_limit else {
        return Ok(BTreeMap::new());
    };
    if !rpc && !given.is_empty() {
        return Err(refuse(
            raw,
            Setting::ApiLimit,
            "is given, but RPC is off, so no API would use the limits",
            "set an RPC endpoint, or remove the limits",
        ));
    }
    let mut limits = BTreeMap::new();
    for (name, value) in given {
        let full = if name.starts_with("api-limit-") {
            name.clone()
        } else {
            format!("api-limit-{name}")
        };
        if !API_LIMITS.contains(&full.as_str()) {
            let fix = match suggest(&full, API_LIMITS) {
                Some(near) => format!("did you mean {}?", near.trim_start_matches("api-limit-")),
                None => "see `witness_node --help` for the api-limit-* options of 7.0.2".to_owned(),
            };
            return Err(refuse(
                raw,
                Setting::ApiLimit,
                &format!("names {name:?}, which is not an API limit of witness_node 7.0.2"),
                fix,
            ));
        }
        limits.insert(full, *value);
    }
    Ok(limits)
}

/// The extra config, and the API sets its api-access file opens (`None`: no such file, so
/// witness_node's default access applies).
fn extra(
    raw: &RawSpec,
    files: &dyn Files,
    plugins: &BTreeSet<Plugin>,
) -> Result<(ExtraConfig, Option<BTreeSet<ApiSet>>), SpecError> {
    let Some(path) = &raw.extra_config else {
        return Ok((ExtraConfig::default(), None));
    };
    let text = files.read(path).map_err(|e| {
        refuse(
            raw,
            Setting::ExtraConfig,
            &format!("{} cannot be read ({e})", path.display()),
            "fix the path",
        )
    })?;
    let extra = ExtraConfig::parse(&text, &path.display().to_string(), plugins)?;
    let Some(access) = extra.get("api-access") else {
        return Ok((extra, None));
    };
    let text = files.read(access.as_ref()).map_err(|e| {
        SpecError::new(
            format!("api-access {access} cannot be read ({e}); witness_node would exit (\"Failed to load file\")"),
            "mount the api-access file there, or fix the path in the extra config",
        )
    })?;
    let open = check_api_access(&text).map_err(|e| {
        SpecError::new(
            format!("api-access {access} {e}"),
            format!("write {API_ACCESS_EXAMPLE}"),
        )
    })?;
    Ok((extra, Some(open)))
}
