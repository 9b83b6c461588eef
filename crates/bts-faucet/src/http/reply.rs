//! The one place where outcomes become HTTP responses.
//!
//! Wallets decide on the body, not the status: bitshares-ui ignores the status, the mobile
//! wallets only read 200/201 bodies. So a refused registration is HTTP 200 with
//! `{"error":{"base":["<message>"]}}` (plus a machine-readable `code`), success is HTTP 201 with
//! `{"status":"Account created","account":{...}}` (oases requires `status`), and only what no
//! wallet can send on purpose (unreadable JSON, a huge body) gets a 4xx, still with a JSON body.

use crate::register::{Registered, Rejection};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

impl IntoResponse for Registered {
    fn into_response(self) -> Response {
        let mut body = json!({ "status": "Account created", "account": &self });
        if let Some(tx) = self.transaction {
            body["tx"] = tx;
            body["test"] = json!("test-faucet names are built and signed, never broadcast");
        }
        (StatusCode::CREATED, Json(body)).into_response()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match self {
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            Rejection::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::OK,
        };
        (status, Json(error_body(&self.to_string(), self.code()))).into_response()
    }
}

/// `{"error":{"base":[message],"code":code}}`.
fn error_body(message: &str, code: &str) -> Value {
    json!({ "error": { "base": [message], "code": code } })
}
