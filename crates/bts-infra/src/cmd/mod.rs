//! The command groups of `bts-infra`, one module each; a new group is a variant here plus a module.

mod devnet;
mod key;
mod name;
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
        }
    }
}
