//! The command groups of `bts-infra`, one module each; a new group is a variant here plus a module.

mod account;
mod devnet;
mod faucet;
mod fleet;
mod gateway;
mod healthcheck;
mod key;
mod name;
mod node;
mod probe;
mod registrar;
mod tx;
mod up;

use clap::Subcommand;

/// The top-level commands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create keys, show a key's public key, derive wallet password keys
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Check account names against the chain, wallet and faucet rules
    #[command(subcommand)]
    Name(name::NameCommand),
    /// Sign transactions offline
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Run a BitShares-compatible development chain (WebSocket and HTTP JSON-RPC, like witness_node)
    Devnet(devnet::DevnetArgs),
    /// Run the local stack on devnets: a mainnet-like and a testnet-like network, several nodes each
    Up(up::UpArgs),
    /// Run the onboarding faucet: registers accounts for bitshares-ui and other wallets
    Faucet(faucet::FaucetArgs),
    /// Register an account through a faucet with the reference wallet's password keys
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Run the gateway: a health-aware load balancer in front of BitShares API nodes
    Gateway(gateway::GatewayArgs),
    /// Probe public endpoints as a wallet does; keep their history and serve a status page
    Probe(probe::ProbeArgs),
    /// Run a BitShares node: render witness_node's config from a node spec, run it, probe its readiness
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Exit 0 if an HTTP URL answers 2xx (a container HEALTHCHECK that needs no curl)
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Set up, watch and rotate the faucet's registrar account
    #[command(subcommand)]
    Registrar(registrar::RegistrarCommand),
    /// Deploy and operate a fleet of nodes, gateways and the faucet from one inventory file
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
}

impl Command {
    /// Runs the command, printing its result on stdout.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Key(c) => c.run(),
            Command::Name(c) => c.run(),
            Command::Tx(c) => c.run(),
            Command::Devnet(c) => c.run(),
            Command::Up(c) => c.run(),
            Command::Faucet(c) => c.run(),
            Command::Account(c) => c.run(),
            Command::Gateway(c) => c.run(),
            Command::Probe(c) => c.run(),
            Command::Node(c) => c.run(),
            Command::Healthcheck(c) => c.run(),
            Command::Registrar(c) => c.run(),
            Command::Fleet(c) => c.run(),
        }
    }
}
