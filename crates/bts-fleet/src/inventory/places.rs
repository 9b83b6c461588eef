//! The places of an inventory: regions, hosts (with their SSH logins and host keys) and networks.

use super::build::{Checker, exists, image_ref, label};
use super::raw::{RawHost, RawInventory, RawNetwork, Text};
use super::{Engine, Host, Network, Region, SshTarget};
use bts_node::spec::Network as Chain;
use bts_protocol::ChainId;
use std::path::PathBuf;
use toml::Spanned;

/// SSH host key types OpenSSH accepts in known_hosts.
const HOST_KEY_TYPES: [&str; 6] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
];

pub(super) fn regions(c: &mut Checker<'_>, raw: &RawInventory) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    for (i, r) in raw.regions.iter().enumerate() {
        let r = r.get_ref();
        let key = format!("region[{i}].name");
        let Some(name) = label(c, &r.name, &key) else { continue };
        if out.iter().any(|o| o.name == name) {
            c.error(
                Some(r.name.span().start),
                key,
                format!("region {name:?} is defined twice"),
                "give each region one [[region]] table",
            );
            continue;
        }
        let clients = r
            .clients
            .iter()
            .filter_map(|code| {
                let s = code.get_ref();
                let ok = s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) || s == "*";
                if !ok {
                    c.error(
                        Some(code.span().start),
                        format!("region {name:?}.clients"),
                        format!("{s:?} is not a country or continent code"),
                        "write two capital letters (US, DE, or a continent: NA, EU, AS) or *",
                    );
                }
                ok.then(|| s.clone())
            })
            .collect();
        out.push(Region { name, clients });
    }
    if out.is_empty() {
        c.error(
            None,
            "region",
            "no [[region]] is defined",
            "define at least one region, e.g. [[region]] name = \"us\"",
        );
    }
    out
}

pub(super) fn hosts(c: &mut Checker<'_>, raw: &[Spanned<RawHost>], regions: &[&str]) -> Vec<Host> {
    let mut out: Vec<Host> = Vec::new();
    for (i, h) in raw.iter().enumerate() {
        let h = h.get_ref();
        let Some(name) = label(c, &h.name, &format!("host[{i}].name")) else {
            continue;
        };
        let key = |k: &str| format!("host {name:?}.{k}");
        if out.iter().any(|o| o.name == name) {
            c.error(
                Some(h.name.span().start),
                key("name"),
                format!("host {name:?} is defined twice"),
                "give each host one [[host]] table",
            );
            continue;
        }
        exists(c, &h.region, &key("region"), "region", regions);
        let address = h.address.get_ref().trim().to_owned();
        if address.is_empty() || address.contains(['/', ' ', '@']) {
            c.error(
                Some(h.address.span().start),
                key("address"),
                format!("{address:?} is not a host address"),
                "write the IP address or DNS name other hosts reach it at",
            );
        }
        let ssh = match &h.ssh {
            Some(t) => ssh_target(c, t, &key("ssh")),
            None => Some(SshTarget {
                user: "root".to_owned(),
                host: address.clone(),
                port: 22,
            }),
        };
        let host_key = h.host_key.get_ref().split_whitespace().collect::<Vec<_>>();
        if host_key.len() < 2 || !HOST_KEY_TYPES.contains(&host_key[0]) {
            c.error(Some(h.host_key.span().start), key("host-key"), "is not an SSH public key (TYPE BASE64)", "copy the host's key, e.g. from `ssh-keyscan HOST` or /etc/ssh/ssh_host_ed25519_key.pub on it: \"ssh-ed25519 AAAA...\"");
        }
        out.push(Host {
            region: h.region.get_ref().clone(),
            address,
            ssh: ssh.unwrap_or(SshTarget {
                user: String::new(),
                host: String::new(),
                port: 22,
            }),
            ssh_key: PathBuf::from(h.ssh_key.get_ref()),
            host_key: host_key.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            dir: h
                .dir
                .as_ref()
                .map_or_else(|| "bts-fleet".to_owned(), |d| d.get_ref().clone()),
            name,
        });
    }
    if out.is_empty() {
        c.error(
            None,
            "host",
            "no [[host]] is defined",
            "define the servers the fleet runs on ([[host]] name, region, address, ssh-key, host-key)",
        );
    }
    out
}

fn ssh_target(c: &mut Checker<'_>, t: &Text, key: &str) -> Option<SshTarget> {
    let s = t.get_ref();
    let (user, rest) = s.split_once('@').unwrap_or(("root", s));
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse::<u16>().ok()),
        _ => (rest, Some(22)),
    };
    match port {
        Some(port) if !user.is_empty() && !host.is_empty() && port != 0 => Some(SshTarget {
            user: user.to_owned(),
            host: host.to_owned(),
            port,
        }),
        _ => {
            c.error(
                Some(t.span().start),
                key,
                format!("{s:?} is not an SSH login"),
                "write USER@HOST or USER@HOST:PORT",
            );
            None
        }
    }
}

pub(super) fn networks(c: &mut Checker<'_>, raw: &[Spanned<RawNetwork>]) -> Vec<Network> {
    let mut out: Vec<Network> = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        let n = n.get_ref();
        let Some(name) = label(c, &n.name, &format!("network[{i}].name")) else {
            continue;
        };
        let key = |k: &str| format!("network {name:?}.{k}");
        if out.iter().any(|o| o.name == name) {
            c.error(
                Some(n.name.span().start),
                key("name"),
                format!("network {name:?} is defined twice"),
                "give each network one [[network]] table",
            );
            continue;
        }
        let chain = match n.chain.get_ref().parse::<Chain>() {
            Ok(chain) => chain,
            Err(e) => {
                c.error(
                    Some(n.chain.span().start),
                    key("chain"),
                    e,
                    "the chain is the witness_node build the node image holds",
                );
                continue;
            }
        };
        let engine = match n.engine.as_ref().map(|e| e.get_ref().as_str()) {
            None | Some("witness-node") => Engine::WitnessNode,
            Some("devnet") => Engine::Devnet,
            Some(other) => {
                let at = n.engine.as_ref().map(|e| e.span().start);
                c.error(
                    at,
                    key("engine"),
                    format!("{other:?} is not an engine"),
                    "write witness-node (production) or devnet (tests and demos)",
                );
                continue;
            }
        };
        let chain_id = match engine {
            Engine::WitnessNode => chain.chain_id(),
            Engine::Devnet => ChainId::devnet(chain.prefix()),
        };
        let paths = match &n.paths {
            Some(paths) => paths.get_ref().iter().map(|p| p.get_ref().clone()).collect(),
            None => match chain {
                Chain::Mainnet => vec!["/".to_owned(), "/ws".to_owned()],
                Chain::Testnet => vec!["/testnet".to_owned()],
            },
        };
        for p in &paths {
            if !p.starts_with('/') {
                let at = n.paths.as_ref().map(|p| p.span().start);
                c.error(
                    at,
                    key("paths"),
                    format!("{p:?} is not a path"),
                    "paths start with /, e.g. \"/testnet\"",
                );
            }
        }
        out.push(Network {
            node_image: image_ref(c, &n.node_image, &key("node-image")),
            previous_node_image: n
                .previous_node_image
                .as_ref()
                .map(|t| image_ref(c, t, &key("previous-node-image"))),
            name,
            chain,
            engine,
            chain_id,
            paths,
        });
    }
    out
}
