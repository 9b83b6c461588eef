//! A WebSocket session's recipe: what a client has told its node that a replacement node must
//! be told again, and how the client's API ids map onto the current node's.
//!
//! A witness_node connection has state: the API ids the login API handed out, the callbacks the
//! client registered (`set_subscribe_callback`, `set_block_applied_callback`, ...), the market
//! subscriptions and the objects it fetched while subscribed (which the node then watches). The
//! gateway records these from the traffic it relays, and on failover replays them on the new
//! node: login, the same API names, the same callbacks with the *client's* callback numbers (so
//! notices arrive under numbers the client knows), the same subscribing calls. Numeric API ids
//! the client got from the first node are translated to the new node's ids for that API name.
//!
//! Pure: no IO. The session asks [`Recipe::effect_of`] when it forwards a request, and applies
//! the effect with [`Recipe::apply`] once the node answers it successfully.

use bts_rpc::message::to_raw;
use bts_rpc::{ApiRef, Call};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// At most this many distinct subscribing calls are remembered per session (the newest win).
const MAX_WATCHING_CALLS: usize = 256;

/// Database methods whose results the node watches for a client that set a subscribe callback.
const WATCHING_METHODS: [&str; 8] = [
    "get_objects",
    "get_accounts",
    "get_account_by_name",
    "lookup_account_names",
    "get_full_accounts",
    "get_assets",
    "lookup_asset_symbols",
    "get_account_balances",
];

/// Database methods that register a callback; replayed with the client's arguments.
const CALLBACK_METHODS: [&str; 4] = [
    "set_subscribe_callback",
    "set_pending_transaction_callback",
    "set_block_applied_callback",
    "set_auto_subscription",
];

/// What a forwarded request changes in the recipe, once the node accepts it.
#[derive(Debug, Clone)]
pub enum Effect {
    /// `login(user, password)`: replayed first.
    Login(Box<RawValue>),
    /// The login API handed out an id for this API name (the result holds it).
    ApiId(String),
    /// A callback registration, by method.
    Callback(String, Box<RawValue>),
    /// `subscribe_to_market(cb, a, b)`.
    Market(Box<RawValue>),
    /// `unsubscribe_from_market(a, b)`.
    Unmarket(Box<RawValue>),
    /// `cancel_all_subscriptions`.
    Cancel,
    /// A call whose results the node now watches.
    Watch(String, Box<RawValue>),
}

/// One call to make on a new node, in order.
#[derive(Debug)]
pub struct Replay {
    /// Where it goes.
    pub api: ApiRef,
    /// Method.
    pub method: String,
    /// Arguments.
    pub args: Box<RawValue>,
    /// For API-id calls: the name whose new id the answer holds.
    pub api_name: Option<String>,
}

/// The recipe of one session.
#[derive(Debug, Default)]
pub struct Recipe {
    login: Option<Box<RawValue>>,
    /// Numeric API ids as the client knows them, with their names.
    client_apis: BTreeMap<u32, String>,
    /// The current node's ids for API names.
    upstream_apis: HashMap<String, u32>,
    callbacks: BTreeMap<String, Box<RawValue>>,
    markets: Vec<Box<RawValue>>,
    watching: Vec<(String, Box<RawValue>)>,
}

impl Recipe {
    /// What forwarding `call` will change, if the node accepts it. `api_name` is the API the call
    /// resolved to (`database`, `login`, ...), if known.
    pub fn effect_of(&self, call: &Call) -> Option<Effect> {
        let api = self.api_name(&call.api)?;
        let args = || call.args.clone();
        match (api.as_str(), call.method.as_str()) {
            ("login", "login") => Some(Effect::Login(args())),
            ("login", name) if name != "get_api_by_name" => Some(Effect::ApiId(name.to_owned())),
            ("database", "cancel_all_subscriptions") => Some(Effect::Cancel),
            ("database", "subscribe_to_market") => Some(Effect::Market(args())),
            ("database", "unsubscribe_from_market") => Some(Effect::Unmarket(args())),
            ("database", m) if CALLBACK_METHODS.contains(&m) => Some(Effect::Callback(m.to_owned(), args())),
            ("database", m)
                if WATCHING_METHODS.contains(&m) && self.callbacks.contains_key("set_subscribe_callback") =>
            {
                Some(Effect::Watch(m.to_owned(), args()))
            }
            _ => None,
        }
    }

    /// Records an accepted effect; `result` is the node's answer.
    pub fn apply(&mut self, effect: Effect, result: &RawValue) {
        match effect {
            Effect::Login(args) => self.login = Some(args),
            Effect::ApiId(name) => {
                if let Some(id) = api_id(result) {
                    self.client_apis.insert(id, name.clone());
                    self.upstream_apis.insert(name, id);
                }
            }
            Effect::Callback(method, args) => {
                if method == "set_subscribe_callback" {
                    // A new subscribe callback resets what the node watches.
                    self.watching.clear();
                }
                self.callbacks.insert(method, args);
            }
            Effect::Market(args) => self.markets.push(args),
            Effect::Unmarket(args) => {
                let pair = market_pair(&args, 0);
                self.markets.retain(|m| market_pair(m, 1) != pair);
            }
            Effect::Cancel => {
                self.callbacks.clear();
                self.markets.clear();
                self.watching.clear();
            }
            Effect::Watch(method, args) => {
                self.watching.retain(|(m, a)| !(m == &method && a.get() == args.get()));
                self.watching.push((method, args));
                if self.watching.len() > MAX_WATCHING_CALLS {
                    self.watching.remove(0);
                }
            }
        }
    }

    /// The name of the API a request addresses, as far as this session knows it.
    pub fn api_name(&self, api: &ApiRef) -> Option<String> {
        match api {
            ApiRef::Id(0) => Some("database".to_owned()),
            ApiRef::Id(1) => Some("login".to_owned()),
            ApiRef::Id(n) => self.client_apis.get(n).cloned(),
            ApiRef::Name(name) => Some(name.clone()),
        }
    }

    /// The API reference to send to the current node for a client's reference: the node's own
    /// id for that API, or its name when the node has not handed out an id for it yet.
    pub fn translate(&self, api: &ApiRef) -> ApiRef {
        match api {
            ApiRef::Id(n) if *n > 1 => match self.client_apis.get(n) {
                Some(name) => match self.upstream_apis.get(name) {
                    Some(id) => ApiRef::Id(*id),
                    None => ApiRef::Name(name.clone()),
                },
                None => api.clone(),
            },
            _ => api.clone(),
        }
    }

    /// Forgets the current node's API ids: a new connection starts with none.
    pub fn new_upstream(&mut self) {
        self.upstream_apis.clear();
    }

    /// Records the new node's id for an API name (the answer to a replayed API-id call).
    pub fn replayed_api_id(&mut self, name: &str, result: &RawValue) {
        if let Some(id) = api_id(result) {
            self.upstream_apis.insert(name.to_owned(), id);
        }
    }

    /// The calls that make a new node's connection look like the old one, in order: login, API
    /// ids, callbacks, market subscriptions, then the subscribing fetches.
    pub fn replay(&self) -> Vec<Replay> {
        let mut out = Vec::new();
        let call = |api: ApiRef, method: &str, args: &RawValue, api_name: Option<String>| Replay {
            api,
            method: method.to_owned(),
            args: args.to_owned(),
            api_name,
        };
        let login = self.login.clone().unwrap_or_else(|| to_raw(&["", ""]));
        out.push(call(ApiRef::LOGIN, "login", &login, None));
        let names: std::collections::BTreeSet<&String> = self.client_apis.values().collect();
        for name in names {
            out.push(call(
                ApiRef::LOGIN,
                name,
                &to_raw(&Value::Array(vec![])),
                Some(name.clone()),
            ));
        }
        // The subscribe callback first: the fetches below must be watched under it.
        let ordered = CALLBACK_METHODS
            .iter()
            .filter_map(|m| self.callbacks.get(*m).map(|a| (*m, a)));
        for (method, args) in ordered {
            out.push(call(ApiRef::DATABASE, method, args, None));
        }
        for args in &self.markets {
            out.push(call(ApiRef::DATABASE, "subscribe_to_market", args, None));
        }
        for (method, args) in &self.watching {
            out.push(call(ApiRef::DATABASE, method, args, None));
        }
        out
    }

    /// The client's subscribe callback number, if it registered one.
    pub fn subscribe_callback(&self) -> Option<Value> {
        let args = self.callbacks.get("set_subscribe_callback")?;
        serde_json::from_str::<Vec<Value>>(args.get()).ok()?.into_iter().next()
    }

    /// Whether `method` is a fetch whose results a node watches under a subscribe callback.
    pub fn is_watching(method: &str) -> bool {
        WATCHING_METHODS.contains(&method)
    }

    /// The client's block-applied callback number, if it registered one.
    pub fn block_applied_callback(&self) -> Option<Value> {
        let args = self.callbacks.get("set_block_applied_callback")?;
        serde_json::from_str::<Vec<Value>>(args.get()).ok()?.into_iter().next()
    }

    /// Whether the session holds any callback (then notices must keep flowing after a failover).
    pub fn has_callbacks(&self) -> bool {
        !self.callbacks.is_empty() || !self.markets.is_empty()
    }
}

fn api_id(result: &RawValue) -> Option<u32> {
    serde_json::from_str::<u32>(result.get()).ok()
}

/// The market pair of `subscribe_to_market(cb, a, b)` (skip 1) or `unsubscribe_from_market(a, b)`
/// (skip 0), as an order-independent key.
fn market_pair(args: &RawValue, skip: usize) -> Option<(String, String)> {
    let v: Vec<Value> = serde_json::from_str(args.get()).ok()?;
    let a = v.get(skip)?.to_string();
    let b = v.get(skip + 1)?.to_string();
    Some(if a <= b { (a, b) } else { (b, a) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_rpc::Request;

    fn call(text: &str) -> Call {
        Request::parse(text).unwrap().target().unwrap()
    }

    fn accept(r: &mut Recipe, text: &str, result: &str) {
        let c = call(text);
        if let Some(e) = r.effect_of(&c) {
            r.apply(e, &RawValue::from_string(result.to_owned()).unwrap());
        }
    }

    /// What bitsharesjs-ws does on connect, then a subscription, a fetch and a market.
    fn wallet_session() -> Recipe {
        let mut r = Recipe::default();
        accept(
            &mut r,
            r#"{"id":1,"method":"call","params":[1,"login",["",""]]}"#,
            "true",
        );
        accept(&mut r, r#"{"id":2,"method":"call","params":[1,"database",[]]}"#, "0");
        accept(
            &mut r,
            r#"{"id":3,"method":"call","params":[1,"network_broadcast",[]]}"#,
            "2",
        );
        accept(&mut r, r#"{"id":4,"method":"call","params":[1,"history",[]]}"#, "3");
        accept(
            &mut r,
            r#"{"id":5,"method":"call","params":[0,"set_subscribe_callback",[5,false]]}"#,
            "null",
        );
        accept(
            &mut r,
            r#"{"id":6,"method":"call","params":[0,"get_objects",[["2.1.0"]]]}"#,
            "[{}]",
        );
        accept(
            &mut r,
            r#"{"id":7,"method":"call","params":[0,"subscribe_to_market",[7,"1.3.0","1.3.121"]]}"#,
            "null",
        );
        accept(
            &mut r,
            r#"{"id":8,"method":"call","params":[0,"set_block_applied_callback",[8]]}"#,
            "null",
        );
        r
    }

    #[test]
    fn replay_rebuilds_the_connection_in_order() {
        let r = wallet_session();
        let replay: Vec<String> = r
            .replay()
            .iter()
            .map(|c| format!("{}:{}:{}", c.api, c.method, c.args.get()))
            .collect();
        assert_eq!(
            replay,
            [
                r#"1:login:["",""]"#,
                "1:database:[]",
                "1:history:[]",
                "1:network_broadcast:[]",
                "0:set_subscribe_callback:[5,false]",
                "0:set_block_applied_callback:[8]",
                r#"0:subscribe_to_market:[7,"1.3.0","1.3.121"]"#,
                r#"0:get_objects:[["2.1.0"]]"#,
            ]
        );
        assert!(r.has_callbacks());
    }

    #[test]
    fn client_api_ids_map_to_the_new_nodes_ids() {
        let mut r = wallet_session();
        assert_eq!(r.translate(&ApiRef::Id(2)), ApiRef::Id(2), "same node: unchanged");
        r.new_upstream();
        // Until the new node answers, the name stands in for the id.
        assert_eq!(r.translate(&ApiRef::Id(2)), ApiRef::Name("network_broadcast".into()));
        // The new node numbers its APIs differently.
        r.replayed_api_id("network_broadcast", &RawValue::from_string("3".into()).unwrap());
        r.replayed_api_id("history", &RawValue::from_string("2".into()).unwrap());
        assert_eq!(r.translate(&ApiRef::Id(2)), ApiRef::Id(3));
        assert_eq!(r.translate(&ApiRef::Id(3)), ApiRef::Id(2));
        assert_eq!(r.translate(&ApiRef::Id(0)), ApiRef::Id(0));
        assert_eq!(
            r.translate(&ApiRef::Id(9)),
            ApiRef::Id(9),
            "unknown ids pass through for the node to refuse"
        );
        assert_eq!(
            r.api_name(&ApiRef::Id(3)).as_deref(),
            Some("history"),
            "the client's view stays"
        );
    }

    #[test]
    fn cancel_and_unsubscribe_shrink_the_recipe() {
        let mut r = wallet_session();
        accept(
            &mut r,
            r#"{"id":9,"method":"call","params":[0,"unsubscribe_from_market",["1.3.121","1.3.0"]]}"#,
            "null",
        );
        assert!(!r.replay().iter().any(|c| c.method == "subscribe_to_market"));
        accept(
            &mut r,
            r#"{"id":10,"method":"call","params":[0,"cancel_all_subscriptions",[]]}"#,
            "null",
        );
        assert!(!r.has_callbacks());
        let methods: Vec<String> = r.replay().into_iter().map(|c| c.method).collect();
        assert_eq!(methods, ["login", "database", "history", "network_broadcast"]);
    }

    #[test]
    fn fetches_are_watched_only_under_a_subscribe_callback_and_deduplicated() {
        let mut r = Recipe::default();
        assert!(
            r.effect_of(&call(r#"{"id":1,"method":"get_objects","params":[["1.2.0"]]}"#))
                .is_none()
        );
        accept(
            &mut r,
            r#"{"id":2,"method":"call","params":["database","set_subscribe_callback",[1,true]]}"#,
            "null",
        );
        for _ in 0..3 {
            accept(
                &mut r,
                r#"{"id":3,"method":"get_objects","params":[["1.2.0"]]}"#,
                "[{}]",
            );
        }
        let fetches = r.replay().iter().filter(|c| c.method == "get_objects").count();
        assert_eq!(fetches, 1);
        for i in 0..(MAX_WATCHING_CALLS + 10) {
            accept(
                &mut r,
                &format!(r#"{{"id":4,"method":"get_objects","params":[["1.2.{i}"]]}}"#),
                "[{}]",
            );
        }
        assert_eq!(
            r.replay().iter().filter(|c| c.method == "get_objects").count(),
            MAX_WATCHING_CALLS
        );
    }

    #[test]
    fn failed_or_odd_answers_change_nothing() {
        let mut r = Recipe::default();
        accept(
            &mut r,
            r#"{"id":3,"method":"call","params":[1,"network_broadcast",[]]}"#,
            r#""not a number""#,
        );
        assert_eq!(r.api_name(&ApiRef::Id(2)), None);
        assert_eq!(r.translate(&ApiRef::Id(2)), ApiRef::Id(2));
    }
}
