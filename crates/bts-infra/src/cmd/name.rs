//! `bts-infra name`: account name checks against the chain, the reference wallet and the faucet.

use crate::output::{OutputArgs, Report};
use bts_protocol::{NameCheck, NamePolicy};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{self, Write};

/// `bts-infra name ...`
#[derive(Subcommand)]
pub(crate) enum NameCommand {
    /// Report whether a name is valid on chain, cheap, accepted by the wallet and by the faucet
    #[command(
        after_help = "The exit code is 0 whenever the name could be checked, also when it fails a \
        rule: the output is a report. Scripts should read \"faucet_ok\" (or \"valid\") from --json."
    )]
    Check(CheckArgs),
}

impl NameCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            NameCommand::Check(args) => args.run(),
        }
    }
}

/// Arguments of `name check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The account name to check (may start with '-', which is then reported as invalid)
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    name: String,
    /// Let the faucet register premium names too (it then pays the premium fee)
    #[arg(long)]
    allow_premium: bool,
    #[command(flatten)]
    output: OutputArgs,
}

impl CheckArgs {
    fn run(self) -> anyhow::Result<()> {
        let policy = NamePolicy {
            allow_premium: self.allow_premium,
        };
        self.output.print(&NameReport {
            check: NameCheck::new(&self.name, policy),
            policy,
        })
    }
}

/// `name check` result. The JSON form is exactly [`NameCheck`]; the text form also says which
/// faucet policy the verdict is for.
#[derive(Serialize)]
#[serde(transparent)]
struct NameReport {
    check: NameCheck,
    #[serde(skip)]
    policy: NamePolicy,
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Report for NameReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let c = &self.check;
        let policy = if self.policy.allow_premium {
            "premium names allowed"
        } else {
            "cheap names only"
        };
        writeln!(out, "name {:?}", c.name)?;
        writeln!(out, "  valid on chain:             {}", yes_no(c.valid))?;
        writeln!(out, "  cheap (basic fee on chain): {}", yes_no(c.cheap))?;
        writeln!(out, "  accepted by bitshares-ui:   {}", yes_no(c.wallet_ok))?;
        writeln!(out, "  accepted by the faucet:     {} ({policy})", yes_no(c.faucet_ok))?;
        if let Some(reason) = &c.reason {
            writeln!(out, "  reason: {reason}")?;
        }
        Ok(())
    }
}
