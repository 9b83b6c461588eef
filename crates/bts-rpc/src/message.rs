//! The messages of witness_node's JSON-RPC dialect (fc `websocket_api`), for servers, clients and
//! proxies alike.
//!
//! * Request: `{"id":1,"method":"call","params":[API,"method",[args]]}` where API is a numeric,
//!   per-connection API id or an API name (`"database"`); any other `method` goes to API 0 with
//!   `params` as its arguments. A `"jsonrpc"` member is optional and echoed when present.
//! * Response: `{"id":1,"result":...}` or `{"id":1,"error":{"code","message","data"}}`.
//! * Notice (server to client, WebSocket only): `{"method":"notice","params":[CALLBACK,[...]]}`.
//!
//! Arguments and results stay raw JSON ([`RawValue`]) until someone needs them, so a proxy reads a
//! request's id, API and method without parsing, copying or re-serializing the arguments.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

pub use crate::fc::{FcException, LogContext, LogEntry};

/// A request id as the client chose it: usually a number, sometimes a string; `null` when missing.
pub type Id = Value;

/// The API a call is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApiRef {
    /// A per-connection numeric id: 0 database, 1 login, others handed out by the login API.
    Id(u32),
    /// An API name (`"database"`, `"network_broadcast"`, `"history"`), resolved through login.
    Name(String),
}

impl ApiRef {
    /// API id 0: the database API on every connection.
    pub const DATABASE: ApiRef = ApiRef::Id(0);
    /// API id 1: the login API on every connection.
    pub const LOGIN: ApiRef = ApiRef::Id(1);
}

impl fmt::Display for ApiRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiRef::Id(n) => write!(f, "{n}"),
            ApiRef::Name(s) => f.write_str(s),
        }
    }
}

impl Serialize for ApiRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ApiRef::Id(n) => s.serialize_u32(*n),
            ApiRef::Name(name) => s.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for ApiRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(name) => Ok(ApiRef::Name(name)),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(ApiRef::Id)
                .ok_or_else(|| D::Error::custom(format_args!("API id {n} is not a small non-negative number"))),
            other => Err(D::Error::custom(format_args!(
                "API must be a number or a name, not {other}"
            ))),
        }
    }
}

/// A request with its envelope parsed and its parameters kept raw.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The client's id, echoed in the response.
    #[serde(default)]
    pub id: Id,
    /// `"2.0"` when the client sent it; the response then carries it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonrpc: Option<String>,
    /// `"call"`, or a database API method name.
    pub method: String,
    /// The parameters, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Box<RawValue>>,
}

/// A request resolved to its target: which API, which method, which arguments.
#[derive(Debug)]
pub struct Call {
    /// The API addressed.
    pub api: ApiRef,
    /// The method name.
    pub method: String,
    /// The argument array, unparsed.
    pub args: Box<RawValue>,
}

impl Request {
    /// Parses one request; a text that is not a request object is the node's parse error.
    pub fn parse(text: &str) -> Result<Request, ErrorObject> {
        serde_json::from_str(text).map_err(|e| ErrorObject::parse_error(&e.to_string()))
    }

    /// A `call` request, as clients send it: `{"id","method":"call","params":[api,method,args]}`.
    pub fn call(id: impl Into<Id>, api: ApiRef, method: &str, args: &impl Serialize) -> Request {
        let params = (api, method, args);
        Request {
            id: id.into(),
            jsonrpc: Some("2.0".to_owned()),
            method: "call".to_owned(),
            params: Some(to_raw(&params)),
        }
    }

    /// Resolves the target as fc does: `call` carries `[api, method, args]`, anything else is a
    /// database method whose arguments are `params`.
    pub fn target(&self) -> Result<Call, ErrorObject> {
        let params = self.params.as_deref();
        if self.method != "call" {
            let args = params.map_or_else(empty_args, |p| p.to_owned());
            return Ok(Call {
                api: ApiRef::DATABASE,
                method: self.method.clone(),
                args,
            });
        }
        let Some(params) = params else {
            return Err(ErrorObject::invalid_request(
                "a call needs params [API, METHOD, [ARGS]]",
            ));
        };
        let (api, method, args): (ApiRef, String, Option<Box<RawValue>>) =
            serde_json::from_str(params.get()).map_err(|e| {
                ErrorObject::invalid_request(&format!("params of a call must be [API, METHOD, [ARGS]]: {e}"))
            })?;
        Ok(Call {
            api,
            method,
            args: args.unwrap_or_else(empty_args),
        })
    }
}

impl Call {
    /// Parses the arguments as `T` (a tuple for positional arguments); a mismatch is an error
    /// naming the method, as the node reports bad parameters.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, ErrorObject> {
        serde_json::from_str(self.args.get()).map_err(|e| {
            FcException::new(
                crate::fc::code::PARSE_ERROR,
                "parse_error_exception",
                "Parse Error",
                format!("Bad arguments for {}: {e}", self.method),
            )
            .into_execution_error()
        })
    }
}

fn empty_args() -> Box<RawValue> {
    RawValue::from_string("[]".to_owned()).expect("[] is JSON")
}

/// Serializes into a raw JSON value.
pub fn to_raw(value: &(impl Serialize + ?Sized)) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("serializing to JSON text cannot fail for protocol values")
}

/// A response: the request's id and either a result or an error.
#[derive(Debug)]
pub struct Response {
    /// The id of the request answered.
    pub id: Id,
    /// Echoes the request's `"jsonrpc"`.
    pub jsonrpc: Option<String>,
    /// The result (raw JSON, may be `null`) or the error.
    pub outcome: Result<Box<RawValue>, ErrorObject>,
}

impl Response {
    /// A successful answer to `request`.
    pub fn ok(request: &Request, result: &(impl Serialize + ?Sized)) -> Response {
        Response {
            id: request.id.clone(),
            jsonrpc: request.jsonrpc.clone(),
            outcome: Ok(to_raw(result)),
        }
    }

    /// A failed answer to `request`.
    pub fn err(request: &Request, error: ErrorObject) -> Response {
        Response {
            id: request.id.clone(),
            jsonrpc: request.jsonrpc.clone(),
            outcome: Err(error),
        }
    }

    /// An error for a message that could not be read as a request (id `null`, as the node does).
    pub fn unreadable(error: ErrorObject) -> Response {
        Response {
            id: Id::Null,
            jsonrpc: Some("2.0".to_owned()),
            outcome: Err(error),
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a response serializes")
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        if let Some(v) = &self.jsonrpc {
            map.serialize_entry("jsonrpc", v)?;
        }
        match &self.outcome {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

#[derive(Deserialize)]
struct ResponseWire {
    #[serde(default)]
    id: Id,
    #[serde(default)]
    jsonrpc: Option<String>,
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = ResponseWire::deserialize(d)?;
        // A missing result is a null result: `Option<Box<RawValue>>` reads `null` as `None` too.
        let outcome = match w.error {
            Some(e) => Err(e),
            None => Ok(w.result.unwrap_or_else(|| to_raw(&Value::Null))),
        };
        Ok(Response {
            id: w.id,
            jsonrpc: w.jsonrpc,
            outcome,
        })
    }
}

/// A callback from the server: `{"method":"notice","params":[CALLBACK,[...]]}`.
#[derive(Debug)]
pub struct Notice {
    /// The callback number the client chose when it subscribed.
    pub callback: Value,
    /// The notice's arguments (an array), unparsed.
    pub args: Box<RawValue>,
}

impl Notice {
    /// A notice with these arguments.
    pub fn new(callback: Value, args: &(impl Serialize + ?Sized)) -> Notice {
        Notice {
            callback,
            args: to_raw(args),
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a notice serializes")
    }
}

impl Serialize for Notice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("method", "notice")?;
        map.serialize_entry("params", &(&self.callback, &self.args))?;
        map.end()
    }
}

/// Anything a server sends on a WebSocket.
#[derive(Debug)]
pub enum Incoming {
    /// The answer to a request.
    Response(Response),
    /// A callback notice.
    Notice(Notice),
}

impl Incoming {
    /// Parses a server message in one pass over its text (a proxy does this for every message).
    pub fn parse(text: &str) -> Result<Incoming, serde_json::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            method: Option<String>,
            #[serde(default)]
            params: Option<Box<RawValue>>,
            #[serde(default)]
            id: Id,
            #[serde(default)]
            jsonrpc: Option<String>,
            #[serde(default)]
            result: Option<Box<RawValue>>,
            #[serde(default)]
            error: Option<ErrorObject>,
        }
        let w: Wire = serde_json::from_str(text)?;
        if w.method.as_deref() == Some("notice") {
            let params = w
                .params
                .ok_or_else(|| serde_json::Error::custom("a notice needs params [CALLBACK, [ARGS]]"))?;
            let (callback, args): (Value, Box<RawValue>) = serde_json::from_str(params.get())?;
            return Ok(Incoming::Notice(Notice { callback, args }));
        }
        // A missing result is a null result, as in `Response`'s own reading.
        let outcome = match w.error {
            Some(e) => Err(e),
            None => Ok(w.result.unwrap_or_else(|| to_raw(&Value::Null))),
        };
        Ok(Incoming::Response(Response {
            id: w.id,
            jsonrpc: w.jsonrpc,
            outcome,
        }))
    }
}

/// The node's error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// JSON-RPC code (-32601 unknown method, -32700 parse error) or the fc exception code.
    pub code: i64,
    /// Human-readable text; for execution errors `"Execution error: ..."` with the node's message.
    pub message: String,
    /// The fc exception, when the node sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// JSON-RPC: the message is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON-RPC: JSON, but not a request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// JSON-RPC: no such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// JSON-RPC: the server failed.
    pub const INTERNAL_ERROR: i64 = -32603;

    /// The node's answer to a message that is not JSON.
    pub fn parse_error(detail: &str) -> ErrorObject {
        let exc = FcException::new(
            crate::fc::code::PARSE_ERROR,
            "parse_error_exception",
            "Parse Error",
            detail,
        );
        ErrorObject {
            code: Self::PARSE_ERROR,
            message: "Invalid JSON message".to_owned(),
            data: Some(exc.to_value()),
        }
    }

    /// JSON that is not a request.
    pub fn invalid_request(detail: &str) -> ErrorObject {
        ErrorObject {
            code: Self::INVALID_REQUEST,
            message: format!("Invalid Request: {detail}"),
            data: None,
        }
    }

    /// The node's answer to an unknown method.
    pub fn method_not_found(method: &str) -> ErrorObject {
        let exc = FcException::new(
            crate::fc::code::METHOD_NOT_FOUND,
            "method_not_found_exception",
            "Method Not Found",
            "No method with name '${name}'",
        )
        .with_data(serde_json::json!({ "name": method }));
        ErrorObject {
            code: Self::METHOD_NOT_FOUND,
            message: "Method not found".to_owned(),
            data: Some(exc.to_value()),
        }
    }

    /// The fc exception in `data`, if there is one.
    pub fn exception(&self) -> Option<FcException> {
        self.data.as_ref().and_then(|d| serde_json::from_value(d.clone()).ok())
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn call_targets() {
        let r = Request::parse(r#"{"id":1,"method":"call","params":[1,"login",["",""]]}"#).unwrap();
        let c = r.target().unwrap();
        assert_eq!(
            (c.api, c.method.as_str(), c.args.get()),
            (ApiRef::LOGIN, "login", r#"["",""]"#)
        );
        let r =
            Request::parse(r#"{"id":"x","method":"call","params":["database","get_objects",[["2.1.0"]]]}"#).unwrap();
        let c = r.target().unwrap();
        assert_eq!(c.api, ApiRef::Name("database".into()));
        assert_eq!(c.args::<(Vec<String>,)>().unwrap().0, ["2.1.0"]);
        // Any method other than "call" goes to the database API with params as its arguments.
        let r = Request::parse(r#"{"id":3,"method":"get_account_by_name","params":["nathan"]}"#).unwrap();
        let c = r.target().unwrap();
        assert_eq!(
            (c.api, c.method.as_str(), c.args.get()),
            (ApiRef::DATABASE, "get_account_by_name", r#"["nathan"]"#)
        );
    }

    #[test]
    fn bad_requests_are_the_nodes_errors() {
        assert_eq!(Request::parse("{not json").unwrap_err().code, ErrorObject::PARSE_ERROR);
        let r = Request::parse(r#"{"id":1,"method":"call","params":[-1,"x",[]]}"#).unwrap();
        assert_eq!(r.target().unwrap_err().code, ErrorObject::INVALID_REQUEST);
        let r = Request::parse(r#"{"id":1,"method":"call","params":[0,"get_objects",[5]]}"#).unwrap();
        let err = r.target().unwrap().args::<(Vec<String>,)>().unwrap_err();
        assert!(err.message.contains("Bad arguments for get_objects"), "{err}");
    }

    #[test]
    fn responses_echo_id_and_jsonrpc() {
        let with = Request::parse(r#"{"jsonrpc":"2.0","id":1,"method":"get_chain_id","params":[]}"#).unwrap();
        assert_eq!(
            Response::ok(&with, "abc").to_json(),
            r#"{"id":1,"jsonrpc":"2.0","result":"abc"}"#
        );
        let without = Request::parse(r#"{"id":8,"method":"call","params":[0,"get_account_by_name",["x"]]}"#).unwrap();
        assert_eq!(
            Response::ok(&without, &Value::Null).to_json(),
            r#"{"id":8,"result":null}"#
        );
        let err = Response::err(&without, ErrorObject::method_not_found("nope"));
        let v: Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(v["error"]["code"], -32601);
        assert_eq!(v["error"]["data"]["stack"][0]["data"]["name"], "nope");
    }

    #[test]
    fn incoming_messages() {
        let n = Incoming::parse(r#"{"method":"notice","params":[7,[["0000000928473b4c"]]]}"#).unwrap();
        let Incoming::Notice(n) = n else { panic!("not a notice") };
        assert_eq!((n.callback, n.args.get()), (json!(7), r#"[["0000000928473b4c"]]"#));
        let r = Incoming::parse(r#"{"id":8,"result":null}"#).unwrap();
        let Incoming::Response(r) = r else {
            panic!("not a response")
        };
        assert_eq!(r.outcome.unwrap().get(), "null");
        let e = Incoming::parse(r#"{"id":5,"error":{"code":-32601,"message":"Method not found"}}"#).unwrap();
        let Incoming::Response(e) = e else {
            panic!("not a response")
        };
        assert_eq!(e.outcome.unwrap_err().code, -32601);
        assert_eq!(
            Notice::new(json!(3), &[1, 2]).to_json(),
            r#"{"method":"notice","params":[3,[1,2]]}"#
        );
    }

    #[test]
    fn client_requests() {
        let r = Request::call(
            4,
            ApiRef::Name("network_broadcast".into()),
            "broadcast_transaction",
            &[json!({})],
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"id":4,"jsonrpc":"2.0","method":"call","params":["network_broadcast","broadcast_transaction",[{}]]}"#
        );
    }
}
