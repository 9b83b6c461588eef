//! `bts-infra account register`: registers an account through a faucet exactly as bitshares-ui's
//! password sign-up does: keys derived from the name and password, posted to the faucet.

use crate::error::InputError;
use crate::input;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_faucet::{FaucetClient, NewAccount};
use bts_protocol::name::is_valid_name;
use bts_protocol::{Prefix, PrivateKey, Role};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable the password may come from.
const PASSWORD_ENV: &str = "BTS_PASSWORD";

/// `bts-infra account ...`
#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// Register an account through a faucet, with the keys the reference wallet derives from a password
    #[command(
        after_help = "The password comes from exactly one of --password, --password-file or the BTS_PASSWORD \
        environment variable. Log in to bitshares-ui with the account name and this password afterwards."
    )]
    Register(RegisterArgs),
}

impl AccountCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            AccountCommand::Register(args) => args.run(),
        }
    }
}

/// Arguments of `account register`.
#[derive(Args)]
pub(crate) struct RegisterArgs {
    /// The faucet's address as wallets have it, e.g. http://127.0.0.1:8080/onboarding
    #[arg(long, value_name = "URL")]
    faucet: String,
    /// The account name to register
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The password (visible in `ps`: prefer --password-file or BTS_PASSWORD)
    #[arg(long, value_name = "PASS")]
    password: Option<String>,
    /// Read the password from this file (- for stdin); a trailing line break is not part of it
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    /// Referrer: an account name or id (1.2.N); the faucet uses its registrar when it is not a member
    #[arg(long, value_name = "ACCOUNT")]
    referrer: Option<String>,
    /// Address prefix of the chain the faucet serves: BTS (mainnet), TEST, or your own chain's
    #[arg(long, value_name = "PREFIX", default_value = "BTS")]
    prefix: Prefix,
    #[command(flatten)]
    output: OutputArgs,
}

/// `account register` result.
#[derive(Serialize)]
struct Registered {
    name: String,
    id: Option<String>,
    referrer: Option<String>,
    owner_key: String,
    active_key: String,
    memo_key: String,
    faucet: String,
}

impl RegisterArgs {
    fn run(self) -> anyhow::Result<()> {
        is_valid_name(&self.name).map_err(|e| {
            InputError::new(format!("--name {:?} is not a valid account name: {e}", self.name))
                .hint("names are lowercase letters, digits and dashes, e.g. alice-1")
        })?;
        let client = FaucetClient::new(&self.faucet, Duration::from_secs(120))
            .map_err(|e| InputError::new(format!("--faucet: {e}")))?;
        let password = read_password(self.password.as_deref(), self.password_file.as_deref())?;
        let key = |role| -> anyhow::Result<String> {
            Ok(PrivateKey::from_password(&self.name, role, &password)?
                .public_key(self.prefix)
                .to_string())
        };
        let account = NewAccount {
            name: self.name.clone(),
            owner_key: key(Role::Owner)?,
            active_key: key(Role::Active)?,
            memo_key: key(Role::Memo)?,
            referrer: self.referrer.clone(),
        };
        let reply = serve::block_on_quiet(async { Ok(client.register(&account).await?) })?;
        if let Some(message) = reply.error() {
            anyhow::bail!("the faucet refused the registration (HTTP {}): {message}", reply.status);
        }
        let field = |k: &str| reply.body["account"][k].as_str().map(str::to_owned);
        self.output.print(&Registered {
            id: field("id"),
            referrer: field("referrer"),
            name: account.name,
            owner_key: account.owner_key,
            active_key: account.active_key,
            memo_key: account.memo_key,
            faucet: self.faucet,
        })
    }
}

/// The password from exactly one source; messages never contain it.
fn read_password(flag: Option<&str>, file: Option<&Path>) -> Result<String, InputError> {
    let env = std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty());
    let given = [flag.is_some(), file.is_some(), env.is_some()];
    let password = match (flag, file, env) {
        _ if given.iter().filter(|g| **g).count() > 1 => {
            return Err(InputError::new("the password is given more than once")
                .hint("use exactly one of --password, --password-file or BTS_PASSWORD"));
        }
        (Some(p), _, _) => p.to_owned(),
        (_, Some(path), _) if path == Path::new("-") => input::read_stdin("the password")?,
        (_, Some(path), _) => input::read_secret_file(path, "--password-file")?,
        (_, _, Some(v)) => v,
        (None, None, None) => {
            return Err(InputError::new("no password given")
                .hint("use --password-file PATH (or - for stdin), BTS_PASSWORD, or --password"));
        }
    };
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(InputError::new("the password is empty"));
    }
    Ok(password)
}

impl Report for Registered {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let id = self.id.as_deref().unwrap_or("id not reported");
        writeln!(out, "registered {} ({id}) through {}", self.name, self.faucet)?;
        if let Some(r) = &self.referrer {
            writeln!(out, "  referrer  {r}")?;
        }
        writeln!(out, "  owner     {}", self.owner_key)?;
        writeln!(out, "  active    {}", self.active_key)?;
        writeln!(out, "  memo      {}", self.memo_key)?;
        writeln!(out, "log in to the wallet with the account name and the password")
    }
}
