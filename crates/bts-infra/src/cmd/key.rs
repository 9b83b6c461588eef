//! `bts-infra key`: create a key, show the public key of a private key, derive password keys.

use crate::error::InputError;
use crate::input;
use crate::output::{OutputArgs, Report};
use bts_protocol::name::is_valid_name;
use bts_protocol::{Prefix, PrivateKey, PublicKey, Role};
use clap::{Args, Subcommand};
use rand_core::OsRng;
use serde::Serialize;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The environment variable `key derive` reads the password from.
const PASSWORD_ENV: &str = "BTS_PASSWORD";

/// `bts-infra key ...`
#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a random private key; print it (WIF) and its public key
    New(NewArgs),
    /// Print the public key of a private key (WIF)
    Public(PublicArgs),
    /// Derive an account's owner, active and memo keys from its password, as bitshares-ui does
    #[command(
        after_help = "The password comes from exactly one of --password, --password-file or the \
        BTS_PASSWORD environment variable (an empty BTS_PASSWORD counts as unset). --password is \
        visible to other users in `ps`; prefer the other two."
    )]
    Derive(DeriveArgs),
}

impl KeyCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            KeyCommand::New(args) => args.run(),
            KeyCommand::Public(args) => args.run(),
            KeyCommand::Derive(args) => args.run(),
        }
    }
}

/// The address prefix public keys are written with.
#[derive(Args)]
struct PrefixArgs {
    /// Address prefix of the chain: BTS (mainnet), TEST (public testnet) or your own chain's
    #[arg(long, value_name = "PREFIX", default_value = "BTS")]
    prefix: Prefix,
}

/// Arguments of `key new`.
#[derive(Args)]
pub(crate) struct NewArgs {
    #[command(flatten)]
    prefix: PrefixArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `key new` result.
#[derive(Serialize)]
struct NewKey {
    public_key: PublicKey,
    wif: String,
    prefix: Prefix,
}

impl NewArgs {
    fn run(self) -> anyhow::Result<()> {
        let key = PrivateKey::random(&mut OsRng);
        let prefix = self.prefix.prefix;
        self.output.print(&NewKey {
            public_key: key.public_key(prefix),
            wif: key.to_wif(),
            prefix,
        })
    }
}

impl Report for NewKey {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "public key: {}", self.public_key)?;
        writeln!(out, "WIF:        {}", self.wif)
    }
}

/// Arguments of `key public`.
#[derive(Args)]
pub(crate) struct PublicArgs {
    /// The private key in WIF, or - to read it from stdin (keeps it out of `ps`)
    #[arg(value_name = "WIF")]
    wif: String,
    #[command(flatten)]
    prefix: PrefixArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `key public` result.
#[derive(Serialize)]
struct PublicKeyReport {
    public_key: PublicKey,
    prefix: Prefix,
}

impl PublicArgs {
    fn run(self) -> anyhow::Result<()> {
        let key = if self.wif == "-" {
            input::parse_wif(&input::read_stdin("the private key (WIF)")?, "stdin")?
        } else {
            input::parse_wif(&self.wif, "WIF argument")?
        };
        let prefix = self.prefix.prefix;
        self.output.print(&PublicKeyReport {
            public_key: key.public_key(prefix),
            prefix,
        })
    }
}

impl Report for PublicKeyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.public_key)
    }
}

/// Arguments of `key derive`.
#[derive(Args)]
pub(crate) struct DeriveArgs {
    /// The account the keys are for (must be a valid account name)
    #[arg(long, value_name = "NAME")]
    account: String,
    /// The account's password (visible in `ps`: prefer --password-file or BTS_PASSWORD)
    #[arg(long, value_name = "PASS")]
    password: Option<String>,
    /// Read the password from this file (- for stdin); a trailing line break is not part of it
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    #[command(flatten)]
    prefix: PrefixArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `key derive` result.
#[derive(Serialize)]
struct Derived {
    account: String,
    prefix: Prefix,
    keys: DerivedKeys,
}

/// The password keys, one per role.
#[derive(Serialize)]
struct DerivedKeys {
    owner: KeyPair,
    active: KeyPair,
    memo: KeyPair,
}

/// A public key and its private key.
#[derive(Serialize)]
struct KeyPair {
    public_key: PublicKey,
    wif: String,
}

impl DeriveArgs {
    fn run(self) -> anyhow::Result<()> {
        is_valid_name(&self.account).map_err(|e| {
            InputError::new(format!("--account {:?} is not a valid account name: {e}", self.account))
                .hint("keys derived for it would belong to no account; names are lowercase, e.g. alice-1")
        })?;
        let password = self.read_password()?;
        let prefix = self.prefix.prefix;
        let pair = |role| -> anyhow::Result<KeyPair> {
            let key = PrivateKey::from_password(&self.account, role, &password)?;
            Ok(KeyPair {
                public_key: key.public_key(prefix),
                wif: key.to_wif(),
            })
        };
        let keys = DerivedKeys {
            owner: pair(Role::Owner)?,
            active: pair(Role::Active)?,
            memo: pair(Role::Memo)?,
        };
        self.output.print(&Derived {
            account: self.account.clone(),
            prefix,
            keys,
        })
    }

    /// The password from its one source.
    fn read_password(&self) -> Result<String, InputError> {
        let mut sources = Vec::new();
        if let Some(p) = &self.password {
            sources.push(("--password", PasswordSource::Flag(p.clone())));
        }
        if let Some(path) = &self.password_file {
            sources.push(("--password-file", PasswordSource::File(path.clone())));
        }
        if let Some(v) = std::env::var_os(PASSWORD_ENV).filter(|v| !v.is_empty()) {
            sources.push((PASSWORD_ENV, PasswordSource::Env(v)));
        }
        let source = match <[_; 1]>::try_from(sources) {
            Ok([(_, source)]) => source,
            Err(sources) => {
                let names: Vec<&str> = sources.iter().map(|(name, _)| *name).collect();
                let what = match names.len() {
                    0 => "no password given".to_owned(),
                    n => format!("the password is given {n} ways ({})", names.join(", ")),
                };
                return Err(InputError::new(what).hint(format!(
                    "give exactly one of --password-file PATH, the {PASSWORD_ENV} environment variable or --password PASS"
                )));
            }
        };
        let password = source.read()?;
        if password.is_empty() {
            return Err(InputError::new("the password is empty"));
        }
        Ok(password)
    }
}

/// Where `key derive` got the password from.
enum PasswordSource {
    Flag(String),
    File(PathBuf),
    Env(OsString),
}

impl PasswordSource {
    fn read(self) -> Result<String, InputError> {
        match self {
            PasswordSource::Flag(p) => Ok(p),
            PasswordSource::File(path) => read_password_file(&path),
            PasswordSource::Env(v) => v
                .into_string()
                .map_err(|_| InputError::new(format!("{PASSWORD_ENV} is not valid UTF-8"))),
        }
    }
}

/// Reads a password file (or stdin for `-`), without the trailing line break editors add.
fn read_password_file(path: &Path) -> Result<String, InputError> {
    let text = if path == Path::new("-") {
        input::read_stdin("the password")?
    } else {
        input::read_secret_file(path, "--password-file")?
    };
    // Only the line break goes: other whitespace could be part of the password.
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

impl Report for Derived {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "password keys of {}", self.account)?;
        for (role, pair) in [
            ("owner", &self.keys.owner),
            ("active", &self.keys.active),
            ("memo", &self.keys.memo),
        ] {
            writeln!(out, "{role:<7}public key  {}", pair.public_key)?;
            writeln!(out, "{:<7}WIF         {}", "", pair.wif)?;
        }
        Ok(())
    }
}
