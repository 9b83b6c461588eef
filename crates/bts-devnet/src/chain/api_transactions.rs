//! Database API methods about transactions: fees (`get_required_fees`), serialization
//! (`get_transaction_hex`), signing help (`get_potential_signatures`,
//! `get_required_signatures`, `verify_authority`) and a dry run (`validate_transaction`).

use super::Chain;
use super::args::Args;
use super::authority::{potential_signatures, required_signatures, verify_authority};
use super::errors;
use super::evaluate::Env;
use super::json::{hex, int};
use super::transaction::{apply_transaction, finish_error, processed_json};
use super::validate::{check_prefix, precheck, signature_keys};
use bts_protocol::{Operation, PublicKey, SignedTransaction};
use bts_rpc::{ErrorObject, FcException};
use serde_json::{Value, json};
use std::collections::BTreeSet;

impl Chain {
    /// Answers the transaction methods; `None` for other methods.
    pub(crate) fn transaction_call(&self, method: &str, a: &Args<'_>) -> Option<Result<Value, ErrorObject>> {
        let prefix = self.config.prefix;
        let result = match method {
            "get_required_fees" => self.required_fees(a),
            "get_transaction_hex" => a.transaction(0, prefix).map(|tx| json!(hex(&tx.to_bytes()))),
            "get_transaction_hex_without_sig" => a
                .transaction(0, prefix)
                .map(|tx| json!(hex(&tx.transaction.to_bytes()))),
            "get_potential_signatures" => a.transaction(0, prefix).map(|tx| {
                let depth = self.max_depth();
                json!(potential_signatures(&self.state, &tx.transaction, depth))
            }),
            "get_required_signatures" => (|| {
                let tx = a.transaction(0, prefix)?;
                let available: Vec<String> = a.get(1)?;
                let available = available
                    .iter()
                    .map(|k| self.parse_key(k))
                    .collect::<Result<BTreeSet<PublicKey>, _>>()?;
                let signers = self.signers(&tx)?;
                let keys = required_signatures(&self.state, &tx.transaction, &signers, &available, self.max_depth());
                Ok(json!(keys))
            })(),
            "verify_authority" => (|| {
                let tx = a.transaction(0, prefix)?;
                let signers = self.signers(&tx)?;
                verify_authority(&self.state, &tx.transaction, &signers, self.max_depth())
                    .map_err(FcException::into_execution_error)?;
                Ok(json!(true))
            })(),
            "validate_transaction" => a.transaction(0, prefix).and_then(|tx| {
                self.validate_transaction(&tx)
                    .map_err(FcException::into_execution_error)
            }),
            _ => return None,
        };
        Some(result)
    }

    fn max_depth(&self) -> u32 {
        u32::from(self.params.chain.max_authority_depth)
    }

    fn signers(&self, tx: &SignedTransaction) -> Result<BTreeSet<PublicKey>, ErrorObject> {
        signature_keys(tx, &self.config.chain_id, self.config.prefix).map_err(FcException::into_execution_error)
    }

    /// `get_required_fees(ops, asset)`: each operation's fee as `set_fee` computes it.
    fn required_fees(&self, a: &Args<'_>) -> Result<Value, ErrorObject> {
        let ops: Vec<Operation> = a.get(0)?;
        let as_tx = bts_protocol::Transaction::new(&bts_protocol::BlockId::default(), Default::default(), ops);
        check_prefix(&as_tx, self.config.prefix).map_err(FcException::into_execution_error)?;
        let ops = as_tx.operations;
        let asset: String = a.get(1)?;
        if asset.is_empty() {
            return Err(errors::api_assert("symbol_or_id.size() > 0").into_execution_error());
        }
        let is_core = match asset.parse::<bts_protocol::AssetId>() {
            Ok(id) => id == bts_protocol::AssetId::CORE,
            Err(_) => asset == self.config.prefix.as_str(),
        };
        if !is_core {
            return Err(errors::no_such_asset().into_execution_error());
        }
        let mut out = Vec::with_capacity(ops.len());
        for mut op in ops {
            out.push(
                self.set_required_fee(&mut op)
                    .map_err(FcException::into_execution_error)?,
            );
        }
        Ok(Value::Array(out))
    }

    /// Sets the fee of `op` and returns it as `get_required_fees` lists it: a proposal's
    /// operations get their fees first (they are part of its size), and its entry is
    /// `[fee, [their entries...]]`.
    fn set_required_fee(&self, op: &mut Operation) -> Result<Value, FcException> {
        let inner = match op {
            Operation::ProposalCreate(p) => Some(
                (p.proposed_ops.iter_mut())
                    .map(|w| self.set_required_fee(&mut w.op))
                    .collect::<Result<Vec<Value>, _>>()?,
            ),
            _ => None,
        };
        let fee = self.params.fees.set_fee(op, self.state.globals().basic_fee)?;
        let fee = json!({"amount": int(fee), "asset_id": "1.3.0"});
        Ok(match inner {
            Some(inner) => json!([fee, inner]),
            None => fee,
        })
    }

    /// `validate_transaction`: every check and the full application on a copy of the pending
    /// state, which is then thrown away; the answer is the processed transaction.
    pub fn validate_transaction(&self, tx: &SignedTransaction) -> Result<Value, FcException> {
        let env = Env::pending(
            &self.params,
            self.config.prefix,
            self.head_block_num(),
            self.head_block_time(),
        );
        let signers = precheck(tx, &self.config.chain_id, self.config.prefix).map_err(|e| finish_error(e, tx, &env))?;
        let mut scratch = self.state.clone();
        apply_transaction(&mut scratch, &self.log, &env, env.block_num, tx, &signers)
            .map(|results| processed_json(tx, &results))
            .map_err(|e| finish_error(e, tx, &env))
    }
}
