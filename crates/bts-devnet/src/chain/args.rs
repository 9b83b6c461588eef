//! Positional API arguments as fc's `generic_api` reads them: missing trailing arguments are
//! allowed only where the method declares them optional, extra ones are ignored.

use super::errors;
use super::validate::check_prefix;
use bts_protocol::{Prefix, SignedTransaction};
use bts_rpc::fc::code;
use bts_rpc::{Call, ErrorObject, FcException};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A call's arguments (or why they are not an array, reported when one is read).
pub(crate) struct Args<'a> {
    method: &'a str,
    values: Result<Vec<Value>, ErrorObject>,
}

/// The node's answer to an argument of the wrong type.
fn bad_argument(method: &str, e: &serde_json::Error) -> ErrorObject {
    FcException::new(
        code::PARSE_ERROR,
        "parse_error_exception",
        "Parse Error",
        format!("Bad arguments for {method}: {e}"),
    )
    .into_execution_error()
}

impl<'a> Args<'a> {
    /// The arguments of `call`, which should be a JSON array.
    pub(crate) fn of(call: &'a Call) -> Args<'a> {
        Args {
            method: &call.method,
            values: call.args(),
        }
    }

    fn value(&self, i: usize) -> Result<Option<&Value>, ErrorObject> {
        match &self.values {
            Ok(values) => Ok(values.get(i)),
            Err(e) => Err(e.clone()),
        }
    }

    /// Argument `i`, required.
    pub(crate) fn get<T: DeserializeOwned>(&self, i: usize) -> Result<T, ErrorObject> {
        let v = self
            .value(i)?
            .ok_or_else(|| errors::too_few_arguments().into_execution_error())?;
        serde_json::from_value(v.clone()).map_err(|e| bad_argument(self.method, &e))
    }

    /// Argument `i` as a signed transaction whose keys use `prefix` (the node cannot parse
    /// keys of another chain).
    pub(crate) fn transaction(&self, i: usize, prefix: Prefix) -> Result<SignedTransaction, ErrorObject> {
        let tx: SignedTransaction = self.get(i)?;
        check_prefix(&tx.transaction, prefix).map_err(FcException::into_execution_error)?;
        Ok(tx)
    }

    /// A `limit` argument that may not exceed the node's configured API limit.
    pub(crate) fn limit(&self, i: usize, configured: u32) -> Result<usize, ErrorObject> {
        let limit: u32 = self.get(i)?;
        if limit > configured {
            return Err(errors::limit_exceeded(configured).into_execution_error());
        }
        Ok(limit as usize)
    }
}
