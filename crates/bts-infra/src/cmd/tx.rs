//! `bts-infra tx`: offline transaction signing.
//!
//! `tx sign` reads an unsigned transaction in the node's JSON form on stdin, checks what the node
//! would check without chain state (key prefixes, `transaction::validate`), and signs it exactly as
//! the node's own wallet does, so the output can be broadcast as is.

use crate::error::InputError;
use crate::input;
use crate::output::{OutputArgs, Report};
use bts_protocol::{
    ChainId, Digest, Prefix, PrivateKey, PublicKey, Signature, SignedTransaction, Transaction, TransactionId,
};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::error::Category;
use std::io::{self, Write};
use std::path::PathBuf;

/// The shape of the expected input, for hints.
const TX_SHAPE: &str = "expected the node's JSON form of an unsigned transaction: {\"ref_block_num\":N,\
    \"ref_block_prefix\":N,\"expiration\":\"YYYY-MM-DDTHH:MM:SS\",\"operations\":[[TAG,{...}]],\"extensions\":[]}";

/// `bts-infra tx ...`
#[derive(Subcommand)]
pub(crate) enum TxCommand {
    /// Sign an unsigned transaction read from stdin (node JSON) and print it signed
    #[command(
        after_help = "Keys from --wif sign first, then keys from --wif-file, each in the order given. \
        Supported operations: transfer (0), account_create (5), account_update (6), account_upgrade (8), proposal_create (22), proposal_update (23).\n\n\
        Example: bts-infra tx sign --chain-id 4018d784...12c8 --wif-file registrar.wif < tx.json"
    )]
    Sign(SignArgs),
}

impl TxCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            TxCommand::Sign(args) => args.run(),
        }
    }
}

/// Arguments of `tx sign`.
#[derive(Args)]
pub(crate) struct SignArgs {
    /// Chain id the signatures commit to (64 hex characters, from get_chain_properties)
    #[arg(long, value_name = "HEX")]
    chain_id: ChainId,
    /// Signing key in WIF; repeat for more signers (visible in `ps`: prefer --wif-file)
    #[arg(long = "wif", value_name = "WIF")]
    wifs: Vec<String>,
    /// File holding one signing key in WIF (surrounding whitespace ignored); repeatable
    #[arg(long = "wif-file", value_name = "PATH")]
    wif_files: Vec<PathBuf>,
    /// Prefix every public key in the transaction must carry [default: the chain id's (BTS on
    /// mainnet, TEST on the public testnet), else BTS]
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<Prefix>,
    #[command(flatten)]
    output: OutputArgs,
}

impl SignArgs {
    fn run(self) -> anyhow::Result<()> {
        // Keys first: a bad key should not wait for stdin.
        let keys = self.signing_keys()?;
        let prefix = self.prefix();
        let tx = parse_transaction(&input::read_stdin("the unsigned transaction JSON")?)?;
        tx.check_prefix(prefix)
            .map_err(|e| InputError::new(e.to_string()).hint(self.prefix_hint(prefix)))?;
        validate(&tx)?;
        let key_refs: Vec<&PrivateKey> = keys.iter().collect();
        self.output
            .print(&SignReport::new(tx, &self.chain_id, &key_refs, prefix))
    }

    /// The prefix keys must carry: `--prefix`, else the chain's if it is a known one, else BTS.
    fn prefix(&self) -> Prefix {
        self.prefix
            .or_else(|| self.chain_id.known_prefix())
            .unwrap_or(Prefix::BTS)
    }

    /// Why that prefix was expected, and what to do about a key that does not carry it.
    fn prefix_hint(&self, prefix: Prefix) -> String {
        if self.prefix.is_some() {
            format!("--prefix {prefix} was given: write the key with that prefix, or pass the chain's prefix")
        } else if self.chain_id.known_prefix().is_some() {
            format!("this chain id is a known chain whose keys start with {prefix}: write the key with that prefix")
        } else {
            "the chain id is not mainnet's or the public testnet's, so BTS was assumed: \
             pass --prefix with your chain's prefix"
                .to_owned()
        }
    }

    /// The signing keys, `--wif` ones first, refusing none and duplicates.
    fn signing_keys(&self) -> Result<Vec<PrivateKey>, InputError> {
        let mut keys = Vec::new();
        for (i, wif) in self.wifs.iter().enumerate() {
            keys.push(input::parse_wif(wif, &format!("--wif #{}", i + 1))?);
        }
        for path in &self.wif_files {
            let text = input::read_secret_file(path, "--wif-file")?;
            keys.push(input::parse_wif(&text, &format!("--wif-file {}", path.display()))?);
        }
        if keys.is_empty() {
            return Err(InputError::new("no signing key given").hint("pass --wif-file PATH (or --wif WIF)"));
        }
        let publics: Vec<PublicKey> = keys.iter().map(|k| k.public_key(Prefix::BTS)).collect();
        if let Some(dup) = publics
            .iter()
            .enumerate()
            .find_map(|(i, k)| publics[..i].contains(k).then_some(i))
        {
            return Err(InputError::new(format!("signing key #{} is given twice", dup + 1))
                .hint("the node rejects two signatures by the same key: give each key once"));
        }
        Ok(keys)
    }
}

/// Parses the unsigned transaction, refusing one that is already signed.
fn parse_transaction(text: &str) -> Result<Transaction, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::new("no transaction on stdin").hint(
            "pipe the unsigned transaction JSON in: bts-infra tx sign --chain-id HEX --wif-file PATH < tx.json",
        ));
    }
    let tx: Transaction = serde_json::from_str(text).map_err(json_error)?;
    // `Transaction` ignores fields it does not know, so look for signatures separately.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        signatures: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(json_error)?;
    match probe.signatures {
        None => Ok(tx),
        Some(serde_json::Value::Array(sigs)) if sigs.is_empty() => Ok(tx),
        Some(_) => Err(InputError::new("the transaction on stdin already has signatures").hint(
            "tx sign signs an unsigned transaction: remove the \"signatures\" field (or make it []) \
                 and give every signing key",
        )),
    }
}

/// Says whether stdin is not JSON at all or not a transaction; serde names line and column.
fn json_error(e: serde_json::Error) -> InputError {
    let what = match e.classify() {
        Category::Syntax | Category::Eof => "stdin is not valid JSON",
        Category::Data | Category::Io => "stdin is not a valid unsigned transaction",
    };
    InputError::new(format!("{what}: {e}")).hint(TX_SHAPE)
}

/// The node's stateless validation, naming the operation that fails.
fn validate(tx: &Transaction) -> Result<(), InputError> {
    let Err(e) = tx.validate() else { return Ok(()) };
    let failing = tx.operations.iter().enumerate().find(|(_, op)| op.validate().is_err());
    let what = match failing {
        Some((i, op)) => format!("operation {i} ({}) fails the node's check {e}", op.name()),
        None => format!("the transaction fails the node's check {e}"),
    };
    Err(InputError::new(what).hint("the node would reject this transaction: fix it before signing"))
}

/// `tx sign` result.
#[derive(Serialize)]
struct SignReport {
    /// The unsigned transaction's fc raw serialization.
    hex: String,
    digest: Digest,
    txid: TransactionId,
    signatures: Vec<Signature>,
    transaction: SignedTransaction,
    /// Shown in the text form so the operator sees who signed.
    #[serde(skip)]
    signers: Vec<PublicKey>,
}

impl SignReport {
    fn new(tx: Transaction, chain_id: &ChainId, keys: &[&PrivateKey], prefix: Prefix) -> SignReport {
        let hex = hex::encode(tx.to_bytes());
        let digest = tx.sig_digest(chain_id);
        let txid = tx.id();
        let signed = tx.sign(chain_id, keys);
        SignReport {
            hex,
            digest,
            txid,
            signatures: signed.signatures.clone(),
            transaction: signed,
            signers: keys.iter().map(|k| k.public_key(prefix)).collect(),
        }
    }
}

impl Report for SignReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "txid:         {}", self.txid)?;
        writeln!(out, "digest:       {}", self.digest)?;
        for (signer, sig) in self.signers.iter().zip(&self.signatures) {
            writeln!(out, "signed by:    {signer}")?;
            writeln!(out, "signature:    {sig}")?;
        }
        writeln!(out, "unsigned hex: {}", self.hex)?;
        let json = serde_json::to_string(&self.transaction).map_err(io::Error::other)?;
        writeln!(out, "transaction:  {json}")
    }
}
