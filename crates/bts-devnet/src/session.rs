//! One client connection's view of a node: its API ids, its subscriptions, and the dispatch of
//! its requests to the chain, as witness_node 7.0 does it.
//!
//! * API id 0 is the database API and 1 the login API on every connection; the login API hands
//!   out further ids (`network_broadcast`, `history`) per connection, the same id each time it is
//!   asked for the same API. An API may also be named by string in any request.
//! * After `set_subscribe_callback`, objects the client fetches are watched, and a block that
//!   changes them sends `{"method":"notice","params":[CB,[[objects]]]}`; `set_block_applied_callback`
//!   sends the block id of every block. Callback numbers are the client's.
//! * `broadcast_transaction_synchronous` answers when the node applies the block that includes the
//!   transaction; `broadcast_transaction_with_callback` sends a notice then. Neither blocks the
//!   connection: later requests are answered meanwhile.
//!
//! * The `devnet` API (by name; a devnet extension) serves followers: `get_genesis` and
//!   `get_block_records` (see `follow.rs`).
//!
//! Over HTTP every request is a connection of its own, so callbacks make no sense there and are
//! refused with an error that says so.

use crate::chain::BlockProduced;
use crate::follow::{GenesisInfo, MAX_RECORDS_PER_CALL, RecordJson};
use crate::network::Node;
use bts_protocol::{ObjectId, SignedTransaction, TransactionId};
use bts_rpc::{ApiRef, Call, ErrorObject, FcException, Notice, Request, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// How the client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A WebSocket: API ids and callbacks live as long as the connection.
    WebSocket,
    /// One HTTP POST.
    Http,
}

/// A message for the client, with the HTTP status the node would answer it with.
#[derive(Debug)]
pub struct Outgoing {
    /// The JSON text.
    pub json: String,
    /// 200, or 400 for unknown methods and unreadable requests (as witness_node does).
    pub http_status: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Database,
    Login,
    NetworkBroadcast,
    History,
    Devnet,
}

impl Api {
    fn by_name(name: &str) -> Result<Api, ErrorObject> {
        match name {
            "database" => Ok(Api::Database),
            "login" => Ok(Api::Login),
            "network_broadcast" => Ok(Api::NetworkBroadcast),
            "history" => Ok(Api::History),
            crate::follow::DEVNET_API => Ok(Api::Devnet),
            other => Err(unsupported(&format!(
                "API {other} is not available on the devnet: it serves database, network_broadcast, history and devnet"
            ))),
        }
    }
}

/// A confirmation the client is waiting for.
enum Awaiting {
    /// Answer this request with the confirmation.
    Answer { request: Request, id: TransactionId },
    /// Send a notice to this callback.
    Callback { callback: Value, id: TransactionId },
}

/// The state of one connection.
pub struct Session {
    node: Arc<Node>,
    transport: Transport,
    apis: Vec<Api>,
    subscribe_callback: Option<Value>,
    block_callback: Option<Value>,
    pending_callback: Option<Value>,
    watched: BTreeSet<ObjectId>,
    awaiting: Vec<Awaiting>,
}

/// Methods whose results a subscribed client watches, as the node's `subscribe_to_item` does.
const WATCHING_METHODS: [&str; 6] = [
    "get_objects",
    "get_accounts",
    "get_account_by_name",
    "lookup_account_names",
    "get_full_accounts",
    "get_assets",
];

impl Session {
    /// A new connection to `node`.
    pub fn new(node: Arc<Node>, transport: Transport) -> Session {
        Session {
            node,
            transport,
            apis: vec![Api::Database, Api::Login],
            subscribe_callback: None,
            block_callback: None,
            pending_callback: None,
            watched: BTreeSet::new(),
            awaiting: Vec::new(),
        }
    }

    /// Handles one message from the client. The answer may be empty: a broadcast that waits for
    /// its block is answered from [`Session::on_block`]. Only a broadcast on a follower waits
    /// (for its upstream's answer).
    pub async fn handle(&mut self, text: &str) -> Vec<Outgoing> {
        if text.trim_start().starts_with('[') {
            // witness_node's own words (and HTTP 400), over both transports.
            let e = ErrorObject {
                code: ErrorObject::INVALID_REQUEST,
                message: "Batch requests not supported".to_owned(),
                data: None,
            };
            return vec![reply(Response::unreadable(e))];
        }
        let request = match Request::parse(text) {
            Ok(r) => r,
            Err(e) => return vec![reply(Response::unreadable(e))],
        };
        let result = match request.target() {
            Ok(call) => self.dispatch(&request, &call).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(value)) => vec![reply(Response::ok(&request, &value))],
            Ok(None) => Vec::new(),
            Err(e) => vec![reply(Response::err(&request, e))],
        }
    }

    /// What the client is owed when the node applies `block`: answers to waiting broadcasts, and
    /// notices for its callbacks.
    pub fn on_block(&mut self, block: &BlockProduced) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for c in &block.confirmations {
            if let Some(cb) = &self.pending_callback {
                out.push(notice(Notice::new(cb.clone(), &[&c.trx])));
            }
        }
        let (dropped, awaiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.awaiting)
            .into_iter()
            .partition(|a| block.dropped.iter().any(|(id, _)| *id == a.id()));
        for a in dropped {
            let (_, why) = block
                .dropped
                .iter()
                .find(|(id, _)| *id == a.id())
                .expect("partitioned on it");
            if let Awaiting::Answer { request, .. } = a {
                out.push(reply(Response::err(&request, why.clone().into_execution_error())));
            }
        }
        let (done, waiting): (Vec<_>, Vec<_>) = awaiting
            .into_iter()
            .partition(|a| block.confirmations.iter().any(|c| c.id == a.id()));
        self.awaiting = waiting;
        for a in done {
            let confirmation = block
                .confirmations
                .iter()
                .find(|c| c.id == a.id())
                .expect("partitioned on it");
            let json = serde_json::json!({
                "id": confirmation.id,
                "block_num": confirmation.block_num,
                "trx_num": confirmation.trx_num,
                "trx": confirmation.trx,
            });
            out.push(match a {
                Awaiting::Answer { request, .. } => reply(Response::ok(&request, &json)),
                Awaiting::Callback { callback, .. } => notice(Notice::new(callback, &[json])),
            });
        }
        if let Some(cb) = &self.subscribe_callback {
            let changed: Vec<Value> = block
                .changed
                .iter()
                .filter(|id| self.watched.contains(id))
                // A removed object (an executed or expired proposal) is announced by its bare id,
                // as the node does.
                .map(|id| {
                    self.node
                        .with_chain(|c| c.object(*id))
                        .unwrap_or_else(|| Value::String(id.to_string()))
                })
                .collect();
            if !changed.is_empty() {
                out.push(notice(Notice::new(cb.clone(), &[changed])));
            }
        }
        if let Some(cb) = &self.block_callback {
            out.push(notice(Notice::new(cb.clone(), &[block.block_id.to_string()])));
        }
        out
    }

    async fn dispatch(&mut self, request: &Request, call: &Call) -> Result<Option<Value>, ErrorObject> {
        let api = match &call.api {
            ApiRef::Name(name) => Api::by_name(name)?,
            ApiRef::Id(n) => *self
                .apis
                .get(*n as usize)
                .ok_or_else(|| unsupported(&format!("API id {n} was not handed out on this connection")))?,
        };
        match api {
            Api::Login => self.login(call).map(Some),
            Api::Database => self.database(call).map(Some),
            Api::History => self.node.with_chain(|c| c.history_call(call)).map(Some),
            Api::NetworkBroadcast => self.broadcast(request, call).await,
            Api::Devnet => self.devnet(call).map(Some),
        }
    }

    fn login(&mut self, call: &Call) -> Result<Value, ErrorObject> {
        match call.method.as_str() {
            // Without an api-access file the node lets anyone in.
            "login" => Ok(Value::Bool(true)),
            "database" | "network_broadcast" | "history" | crate::follow::DEVNET_API => {
                let api = Api::by_name(&call.method)?;
                let id = match self.apis.iter().position(|a| *a == api) {
                    Some(id) => id,
                    None => {
                        self.apis.push(api);
                        self.apis.len() - 1
                    }
                };
                Ok(Value::from(id))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    fn database(&mut self, call: &Call) -> Result<Value, ErrorObject> {
        match call.method.as_str() {
            "set_subscribe_callback" => {
                let (cb, _notify_remove_create): (Value, bool) = call.args()?;
                self.needs_websocket(&call.method)?;
                self.subscribe_callback = Some(cb);
                self.watched.clear();
                Ok(Value::Null)
            }
            "set_pending_transaction_callback" | "set_block_applied_callback" => {
                let (cb,): (Value,) = call.args()?;
                self.needs_websocket(&call.method)?;
                match call.method.as_str() {
                    "set_pending_transaction_callback" => self.pending_callback = Some(cb),
                    _ => self.block_callback = Some(cb),
                }
                Ok(Value::Null)
            }
            "cancel_all_subscriptions" => {
                self.subscribe_callback = None;
                self.pending_callback = None;
                self.block_callback = None;
                self.watched.clear();
                Ok(Value::Null)
            }
            method => {
                let mut value = self.node.with_chain(|c| c.database_call(call))?;
                if let Some(fake) = self.node.faults().fake_chain_id() {
                    lie_about_chain_id(method, &mut value, fake);
                }
                if self.subscribe_callback.is_some() && WATCHING_METHODS.contains(&method) {
                    collect_ids(&value, &mut self.watched);
                }
                Ok(value)
            }
        }
    }

    /// The devnet's own API, for followers: the genesis, and block records up to this node's
    /// head (a frozen node serves no more than it applied), only to a follower of the same
    /// genesis.
    fn devnet(&self, call: &Call) -> Result<Value, ErrorObject> {
        match call.method.as_str() {
            "get_genesis" => Ok(serde_json::to_value(GenesisInfo::of(self.node.config())).expect("plain struct")),
            "get_block_records" => {
                let (first, limit, genesis_hash): (u32, u32, String) = call.args()?;
                let ours = self.node.config().genesis_hash().to_string();
                if genesis_hash != ours {
                    return Err(unsupported(&format!(
                        "this node runs the chain with genesis hash {ours}, not {genesis_hash}"
                    )));
                }
                let head = self.node.with_chain(crate::chain::Chain::head_block_num);
                let limit = (limit as usize).min(MAX_RECORDS_PER_CALL);
                let records: Vec<RecordJson> = self
                    .node
                    .ledger()
                    .range(first, limit)
                    .iter()
                    .take_while(|r| r.num <= head)
                    .map(|r| RecordJson {
                        num: r.num,
                        raw: hex::encode(r.to_bytes()),
                    })
                    .collect();
                Ok(serde_json::to_value(records).expect("plain structs"))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    async fn broadcast(&mut self, request: &Request, call: &Call) -> Result<Option<Value>, ErrorObject> {
        match call.method.as_str() {
            "broadcast_transaction" => {
                let (tx,): (SignedTransaction,) = call.args()?;
                self.node.relay(&tx).await?;
                Ok(Some(Value::Null))
            }
            "broadcast_transaction_synchronous" => {
                let (tx,): (SignedTransaction,) = call.args()?;
                let id = self.node.relay(&tx).await?;
                self.awaiting.push(Awaiting::Answer {
                    request: copy_request(request),
                    id,
                });
                Ok(None)
            }
            "broadcast_transaction_with_callback" => {
                let (callback, tx): (Value, SignedTransaction) = call.args()?;
                self.needs_websocket(&call.method)?;
                let id = self.node.relay(&tx).await?;
                self.awaiting.push(Awaiting::Callback { callback, id });
                Ok(Some(Value::Null))
            }
            "broadcast_block" => Err(unsupported(
                "broadcast_block is not supported: the devnet makes its own blocks",
            )),
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    fn needs_websocket(&self, method: &str) -> Result<(), ErrorObject> {
        match self.transport {
            Transport::WebSocket => Ok(()),
            Transport::Http => Err(unsupported(&format!(
                "{method} needs a WebSocket connection: callbacks cannot be delivered over HTTP"
            ))),
        }
    }
}

impl Awaiting {
    fn id(&self) -> TransactionId {
        match self {
            Awaiting::Answer { id, .. } | Awaiting::Callback { id, .. } => *id,
        }
    }
}

/// The node's assert exception with `text`, as an error object.
fn unsupported(text: &str) -> ErrorObject {
    FcException::assert("false", text).into_execution_error()
}

fn reply(response: Response) -> Outgoing {
    let http_status = match &response.outcome {
        Err(e) if e.code < 0 => 400,
        _ => 200,
    };
    Outgoing {
        json: response.to_json(),
        http_status,
    }
}

fn notice(notice: Notice) -> Outgoing {
    Outgoing {
        json: notice.to_json(),
        http_status: 200,
    }
}

/// Requests hold raw parameters that cannot be cloned cheaply; an answer needs only the id.
fn copy_request(r: &Request) -> Request {
    Request {
        id: r.id.clone(),
        jsonrpc: r.jsonrpc.clone(),
        method: String::new(),
        params: None,
    }
}

/// The ids of the objects in a result: top-level objects, arrays of them, and the `account` of
/// `get_full_accounts` entries (`[[name, {account, ...}], ...]`).
fn collect_ids(value: &Value, out: &mut BTreeSet<ObjectId>) {
    match value {
        Value::Object(map) => {
            if let Some(id) = map.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
                out.insert(id);
            }
            if let Some(account) = map.get("account") {
                collect_ids(account, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

/// A node on the wrong network reports that network's chain id.
fn lie_about_chain_id(method: &str, value: &mut Value, fake: bts_protocol::ChainId) {
    match method {
        "get_chain_id" => *value = Value::String(fake.to_string()),
        "get_chain_properties" => value["chain_id"] = Value::String(fake.to_string()),
        _ => {}
    }
}
