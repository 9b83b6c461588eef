//! fc exceptions: the error the node reports in an error object's `data`, and its codes.
//!
//! An execution error looks like this on the wire:
//! `{"code":10,"message":"Execution error: Assert Exception: now <= trx.expiration: ","data":{"code":10,
//! "name":"assert_exception","message":"Assert Exception","stack":[{"context":{...},"format":
//! "now <= trx.expiration: ","data":{...}}]}}`. The outer message is `"Execution error: "`, the
//! exception's message, `": "` and its first log entry's format with `${name}` filled from `data`.

use crate::message::ErrorObject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// fc and graphene exception codes the node reports.
pub mod code {
    /// `fc::exception` (unspecified).
    pub const UNSPECIFIED: i64 = 0;
    /// `fc::parse_error_exception`.
    pub const PARSE_ERROR: i64 = 4;
    /// `fc::assert_exception`: an `FC_ASSERT` failed (most chain rule violations).
    pub const ASSERT: i64 = 10;
    /// `fc::eof_exception`.
    pub const EOF: i64 = 11;
    /// `fc::method_not_found_exception`.
    pub const METHOD_NOT_FOUND: i64 = 22;
    /// `graphene::chain::duplicate_transaction`.
    pub const DUPLICATE_TRANSACTION: i64 = 3_030_001;
    /// `tx_missing_active_auth`.
    pub const MISSING_ACTIVE_AUTH: i64 = 4_010_001;
    /// `tx_missing_owner_auth`.
    pub const MISSING_OWNER_AUTH: i64 = 4_010_002;
    /// `tx_irrelevant_sig`: a signature no authority needs.
    pub const IRRELEVANT_SIG: i64 = 4_010_004;
    /// `tx_duplicate_sig`.
    pub const DUPLICATE_SIG: i64 = 4_010_005;
    /// `insufficient_fee`.
    pub const INSUFFICIENT_FEE: i64 = 4_010_007;
}

/// Where a log entry was made; the devnet fills what it can.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogContext {
    /// `error`, `warn`, ...
    pub level: String,
    /// Source file.
    pub file: String,
    /// Source line.
    pub line: u64,
    /// Function.
    pub method: String,
    /// Host name (empty on the node).
    #[serde(default)]
    pub hostname: String,
    /// Thread name.
    #[serde(default)]
    pub thread_name: String,
    /// When, in the node's time format.
    pub timestamp: String,
}

/// One entry of an exception's stack: a format string and the values it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Where it was logged.
    pub context: LogContext,
    /// Text with `${name}` placeholders.
    pub format: String,
    /// Values for the placeholders (and more).
    #[serde(default)]
    pub data: Value,
}

/// An fc exception.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FcException {
    /// The exception code ([`code`]).
    pub code: i64,
    /// The exception's type name, e.g. `assert_exception`.
    pub name: String,
    /// Its generic message, e.g. `Assert Exception`.
    pub message: String,
    /// Log entries, innermost first.
    #[serde(default)]
    pub stack: Vec<LogEntry>,
}

impl FcException {
    /// An exception with one log entry whose format is `format`.
    pub fn new(code: i64, name: &str, message: &str, format: impl Into<String>) -> FcException {
        FcException {
            code,
            name: name.to_owned(),
            message: message.to_owned(),
            stack: vec![LogEntry {
                context: LogContext {
                    level: "error".to_owned(),
                    thread_name: "th_a".to_owned(),
                    ..LogContext::default()
                },
                format: format.into(),
                data: Value::Object(Map::new()),
            }],
        }
    }

    /// `FC_ASSERT(expr, text)`: an assert exception whose format is `"expr: text"`, as the
    /// node writes it.
    pub fn assert(expr: &str, text: &str) -> FcException {
        FcException::new(
            code::ASSERT,
            "assert_exception",
            "Assert Exception",
            format!("{expr}: {text}"),
        )
    }

    /// Sets the first log entry's data (the values of its `${name}` placeholders).
    pub fn with_data(mut self, data: Value) -> FcException {
        if let Some(entry) = self.stack.first_mut() {
            entry.data = data;
        }
        self
    }

    /// Sets where the first log entry was made.
    pub fn at(mut self, file: &str, line: u64, method: &str, timestamp: &str) -> FcException {
        if let Some(entry) = self.stack.first_mut() {
            entry.context.file = file.to_owned();
            entry.context.line = line;
            entry.context.method = method.to_owned();
            entry.context.timestamp = timestamp.to_owned();
        }
        self
    }

    /// The first log entry's format with its placeholders filled.
    pub fn detail(&self) -> String {
        self.stack
            .first()
            .map(|e| format_string(&e.format, &e.data))
            .unwrap_or_default()
    }

    /// `"<message>: <detail>"`, the text the node puts after `"Execution error: "`.
    pub fn text(&self) -> String {
        format!("{}: {}", self.message, self.detail())
    }

    /// As JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an exception serializes")
    }

    /// The error object the node answers with when a call throws this exception.
    pub fn into_execution_error(self) -> ErrorObject {
        ErrorObject {
            code: self.code,
            message: format!("Execution error: {}", self.text()),
            data: Some(self.to_value()),
        }
    }
}

/// fc's `format_string`: replaces `${name}` with the value of `name` in `data` (strings without
/// quotes); unknown names stay as they are.
pub fn format_string(format: &str, data: &Value) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match data.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execution_error_text_is_the_nodes() {
        let e = FcException::assert("now <= trx.expiration", "").into_execution_error();
        assert_eq!(e.code, 10);
        assert_eq!(e.message, "Execution error: Assert Exception: now <= trx.expiration: ");
        let e = FcException::new(
            code::MISSING_ACTIVE_AUTH,
            "tx_missing_active_auth",
            "missing required active authority",
            "Missing Active Authority ${id}",
        )
        .with_data(json!({"id": "1.2.17"}))
        .into_execution_error();
        assert_eq!(
            e.message,
            "Execution error: missing required active authority: Missing Active Authority 1.2.17"
        );
        assert_eq!(e.exception().unwrap().name, "tx_missing_active_auth");
    }

    #[test]
    fn format_string_fills_what_it_knows() {
        let data = json!({"a": "alice", "n": 5});
        assert_eq!(
            format_string("Account '${a}' has ${n} ${x}", &data),
            "Account 'alice' has 5 ${x}"
        );
        assert_eq!(format_string("unterminated ${a", &data), "unterminated ${a");
    }
}
