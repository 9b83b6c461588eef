//! `fleet bootstrap NODE --from PEER`: a new node starts from a synced peer's data directory
//! instead of replaying the chain from genesis (days on mainnet). The peer is cordoned on the
//! gateways and drained, stopped cleanly (witness_node writes its database), its data directory
//! streamed from its host to the new node's volume (through this machine: the hosts need no SSH
//! access to each other), then the peer is started and put back in the pools, and the new node
//! is started on the copy. The peer's P2P identity and logs are not copied: two nodes with one
//! node id would refuse each other.

use super::InventoryArgs;
use super::apply::{Fleet, Target, open_fleet};
use super::cordon::{cordon, drain, gateways_of, rejoin};
use super::hosts::{compose, observe, wait_ready, write_file};
use super::ssh::quote;
use crate::error::InputError;
use bts_fleet::inventory::Node;
use bts_fleet::plan::PROJECT_LABEL;
use bts_fleet::render::NODE_DATA_DIR;
use clap::Args;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `bts-infra fleet bootstrap`.
#[derive(Args)]
pub(crate) struct BootstrapArgs {
    /// The node to give a copy of the peer's data (in the inventory; its container is replaced)
    #[arg(value_name = "NODE")]
    node: String,
    /// A synced node of the same network to copy from; it is out of the pools during the copy
    #[arg(long, value_name = "PEER")]
    from: String,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// How long each node may take to come back healthy and in sync
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// How long to wait for the peer's requests and sessions to move
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
}

impl BootstrapArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let fleet = open_fleet(&self.inventory)?;
        let node = self.node_named(&fleet, &self.node)?;
        let peer = self.node_named(&fleet, &self.from)?;
        if node.name == peer.name {
            return Err(InputError::new("a node cannot be bootstrapped from itself").into());
        }
        if node.network != peer.network {
            return Err(InputError::new(format!(
                "{} is on network {} but {} on {}: copy from a node of the same network",
                node.name, node.network, peer.name, peer.network
            ))
            .into());
        }
        let target = |n: &Node| fleet.targets.iter().find(|t| t.project.host == n.host);
        let (Some(to), Some(from)) = (target(node), target(peer)) else {
            return Err(InputError::new("the nodes' hosts are not in the inventory").into());
        };
        let fleet = &fleet;
        crate::serve::block_on(async move {
            let r = self.bootstrap(fleet, node, peer, to, from).await;
            fleet.close().await;
            r.map_err(|e| anyhow::anyhow!("bootstrap of {} from {} failed: {e}", node.name, peer.name))
        })
    }

    fn node_named<'a>(&self, fleet: &'a Fleet, name: &str) -> Result<&'a Node, InputError> {
        fleet.inv.node(name).ok_or_else(|| {
            InputError::new(format!("no node {name:?} in the inventory")).hint("add it, then bootstrap it")
        })
    }

    async fn bootstrap(
        &self,
        fleet: &Fleet,
        node: &Node,
        peer: &Node,
        to: &Target,
        from: &Target,
    ) -> Result<(), String> {
        let project = fleet.inv.project.as_str();
        // The peer must be serving now: a copy of a node that is behind or broken helps nobody.
        let state = observe(&from.remote, project).await?;
        let healthy = state
            .containers
            .iter()
            .any(|c| c.service == peer.name && c.state == "running" && c.health.as_deref() == Some("healthy"));
        if !healthy {
            return Err(format!(
                "{} is not running and healthy on {}: bootstrap from a synced node (see `bts-infra fleet status`)",
                peer.name, peer.host
            ));
        }
        // The new node's container, created but stopped, with the current definition and volume.
        // Only the compose file is written: a gateway's new configuration is `apply`'s to write,
        // with the reload that goes with it.
        write_file(&to.remote, "compose.yml", to.project.compose.as_bytes()).await?;
        let quoted = quote(&node.name);
        compose(
            &to.remote,
            project,
            &[
                format!("rm -s -f {quoted}"),
                format!("up --no-start --no-deps {quoted}"),
            ],
        )
        .await?;
        // What stopping the peer costs, said before it happens.
        if peer.roles.producer {
            eprintln!(
                "warning: {} is a producer: it misses its block slots until it is back",
                peer.name
            );
        }
        let region = fleet.inv.region_of(&peer.host);
        let others_in_region = fleet
            .inv
            .api_nodes(&peer.network)
            .filter(|n| n.name != peer.name && n.name != node.name && fleet.inv.region_of(&n.host) == region)
            .count();
        if peer.roles.api && others_in_region == 0 {
            eprintln!(
                "warning: {} is the last API node of {} in region {}: its gateways serve it from other regions meanwhile",
                peer.name,
                peer.network,
                region.unwrap_or_default()
            );
        }
        let gateways = gateways_of(&fleet.inv, peer);
        cordon(fleet, peer, &gateways).await?;
        drain(fleet, peer, &gateways, self.drain_timeout).await;
        let peer_quoted = quote(&peer.name);
        let copied = match compose(&from.remote, project, &[format!("stop {peer_quoted}")]).await {
            Ok(()) => {
                eprintln!("{}: stopped; copying its data to {}", peer.name, node.name);
                copy(fleet, peer, from, node, to).await
            }
            Err(e) => Err(format!("stopping {}: {e}", peer.name)),
        };
        // Whatever happened to the copy, the peer goes back into service.
        let restarted = async {
            compose(&from.remote, project, &[format!("up -d --no-deps {peer_quoted}")]).await?;
            wait_ready(&from.remote, project, std::slice::from_ref(&peer.name), self.timeout).await?;
            rejoin(fleet, peer, &gateways, self.timeout).await
        }
        .await;
        let (bytes, took) = match copied {
            Ok(done) => done,
            Err(e) => {
                // A partial copy must not start: the node and its volume go, so that a later
                // `apply` starts it from genesis, or a new bootstrap from a full copy.
                let cleaned = compose(&to.remote, project, &[format!("rm -s -f -v {quoted}")]).await;
                let volume = format!("{project}_{}-data", node.name);
                let _ = to
                    .remote
                    .run(&format!("docker volume rm -f {}", quote(&volume)), None)
                    .await;
                let peer_state = match &restarted {
                    Ok(()) => format!("{} is serving again", peer.name),
                    Err(r) => format!(
                        "{} did not come back either ({r}): see `bts-infra fleet status`",
                        peer.name
                    ),
                };
                return Err(format!(
                    "{e}; {} {}; {peer_state}; run the bootstrap again",
                    node.name,
                    if cleaned.is_ok() {
                        "and its partial copy were removed"
                    } else {
                        "keeps a partial copy: remove its volume before starting it"
                    }
                ));
            }
        };
        restarted.map_err(|e| format!("{} did not come back: {e}; the copy is done", peer.name))?;
        compose(&to.remote, project, &[format!("up -d --no-deps {quoted}")]).await?;
        wait_ready(&to.remote, project, std::slice::from_ref(&node.name), self.timeout).await?;
        println!(
            "{}: started from a copy of {} ({} in {:.1} s); run `bts-infra fleet apply` to add it to the gateways",
            node.name,
            peer.name,
            size(bytes),
            took.as_secs_f64()
        );
        Ok(())
    }
}

/// Streams `peer`'s data volume into `node`'s (emptied first), as a tar stream through this
/// machine. Returns the bytes moved and the time taken.
async fn copy(fleet: &Fleet, peer: &Node, from: &Target, node: &Node, to: &Target) -> Result<(u64, Duration), String> {
    let project = fleet.inv.project.as_str();
    let image = |n: &Node| {
        fleet
            .inv
            .network(&n.network)
            .map(|net| quote(&net.node_image))
            .unwrap_or_default()
    };
    let volume = |n: &Node| {
        format!(
            "vol=$(docker volume ls -q --filter label={PROJECT_LABEL}={project} --filter label=com.docker.compose.volume={})\n\
             [ -n \"$vol\" ] || {{ echo 'no data volume for {} on this host' >&2; exit 4; }}\n",
            quote(&format!("{}-data", n.name)),
            n.name
        )
    };
    // The node image (which has tar) as its own user, so ownership stays the node's.
    let read = format!(
        "set -e\n{}exec docker run --rm --network none -v \"$vol:{NODE_DATA_DIR}:ro\" --entrypoint tar {} \
         -C {NODE_DATA_DIR} --exclude=./p2p --exclude=./logs -cf - .",
        volume(peer),
        image(peer)
    );
    let write = format!(
        "set -e\n{}exec docker run --rm -i --network none -v \"$vol:{NODE_DATA_DIR}\" --entrypoint sh {} \
         -c 'find {NODE_DATA_DIR} -mindepth 1 -delete && tar -C {NODE_DATA_DIR} -xf -'",
        volume(node),
        image(node)
    );
    let started = Instant::now();
    let spawn = |remote: &super::ssh::Remote, script: &str, stdin: Stdio, stdout: Stdio| {
        remote
            .command(script)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run ssh: {e}"))
    };
    let mut reader = spawn(&from.remote, &read, Stdio::null(), Stdio::piped())?;
    let mut writer = spawn(&to.remote, &write, Stdio::piped(), Stdio::null())?;
    let (Some(mut out), Some(mut input)) = (reader.stdout.take(), writer.stdin.take()) else {
        return Err("ssh pipes missing".to_owned());
    };
    // Through this process (not a pipe between the two ssh) to count what moved.
    let moved = tokio::io::copy(&mut out, &mut input).await;
    drop(input);
    drop(out);
    if moved.is_err() {
        // The writing side is gone: the reader would block on a full pipe forever.
        let _ = reader.start_kill();
    }
    let (read_out, write_out) = tokio::join!(reader.wait_with_output(), writer.wait_with_output());
    let side = |what: &str, remote: &super::ssh::Remote, out: std::io::Result<std::process::Output>| match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{what} on {}: {}",
            remote.host.name,
            remote.failure(o.status.code(), &String::from_utf8_lossy(&o.stderr))
        )),
        Err(e) => Err(format!("{what}: {e}")),
    };
    // The writing side first: when it fails, the reader was stopped for it.
    side("writing the data", &to.remote, write_out)?;
    side("reading the data", &from.remote, read_out)?;
    let bytes = moved.map_err(|e| format!("copying: {e}"))?;
    Ok((bytes, started.elapsed()))
}

/// `bytes` for a person: KB, MB or GB with one decimal.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000_000 => format!("{:.1} KB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.1} GB", b / 1e9),
    }
}
