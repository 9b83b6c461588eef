//! The routing table of a WebSocket client: which request id a caller waits on, which callback
//! number a subscriber listens to, and how to make each subscription again. Pure state, no IO: the
//! task ([`super::task`]) sends the texts it returns and feeds it what the node sends.

use super::Reply;
use crate::error::RpcError;
use crate::message::{ApiRef, Incoming, Notice, Request, Response};
use serde_json::value::RawValue;
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tracing::{debug, warn};

/// A call sent and not yet answered.
enum Pending {
    /// An ordinary call.
    Call(Reply),
    /// The first call of a subscription: an error answer removes the subscriber.
    Subscribe { callback: u64, reply: Reply },
    /// A subscription call sent again after a reconnection; nobody waits for it.
    Replay { callback: u64 },
}

impl Pending {
    fn abandoned(&self) -> bool {
        match self {
            Pending::Call(reply) | Pending::Subscribe { reply, .. } => reply.is_closed(),
            Pending::Replay { .. } => false,
        }
    }
}

/// A live subscription: how to make it again, and where its notices go.
struct Subscriber {
    api: ApiRef,
    method: String,
    args: Box<RawValue>,
    notices: mpsc::Sender<Box<RawValue>>,
}

/// Calls in flight and live subscriptions.
pub(super) struct Routes {
    pending: HashMap<u64, Pending>,
    subscribers: HashMap<u64, Subscriber>,
    next_id: u64,
}

impl Routes {
    pub(super) fn new() -> Routes {
        Routes {
            pending: HashMap::new(),
            subscribers: HashMap::new(),
            next_id: 1,
        }
    }

    /// The number of live subscriptions.
    pub(super) fn subscriptions(&self) -> usize {
        self.subscribers.len()
    }

    /// Registers a call; returns the text to send.
    pub(super) fn call(&mut self, api: ApiRef, method: &str, args: &RawValue, reply: Reply) -> String {
        let (id, text) = self.request(api, method, args);
        self.pending.insert(id, Pending::Call(reply));
        text
    }

    /// Registers a subscription and its first call; returns the text to send. The subscriber is
    /// registered before the call goes out, because the first notice may follow the answer at once.
    pub(super) fn subscribe(
        &mut self,
        api: ApiRef,
        method: String,
        args: Box<RawValue>,
        callback: u64,
        notices: mpsc::Sender<Box<RawValue>>,
        reply: Reply,
    ) -> String {
        let (id, text) = self.request(api.clone(), &method, &args);
        self.pending.insert(id, Pending::Subscribe { callback, reply });
        let subscriber = Subscriber {
            api,
            method,
            args,
            notices,
        };
        self.subscribers.insert(callback, subscriber);
        text
    }

    /// The calls that make every live subscription again on a new connection, with the same
    /// callback numbers; subscribers that went away are forgotten first.
    pub(super) fn replays(&mut self) -> Vec<String> {
        self.subscribers.retain(|_, s| !s.notices.is_closed());
        let calls: Vec<_> = (self.subscribers.iter())
            .map(|(callback, s)| (*callback, s.api.clone(), s.method.clone(), s.args.clone()))
            .collect();
        let mut texts = Vec::with_capacity(calls.len());
        for (callback, api, method, args) in calls {
            let (id, text) = self.request(api, &method, &args);
            self.pending.insert(id, Pending::Replay { callback });
            texts.push(text);
        }
        texts
    }

    /// Forgets the calls whose caller stopped waiting, so a node that never answers cannot grow
    /// the table.
    pub(super) fn sweep(&mut self) {
        self.pending.retain(|_, p| !p.abandoned());
    }

    /// A fresh request id and the JSON text of the call with it. Ids are never reused, not even
    /// across reconnections, so a late answer cannot be taken for another call's.
    fn request(&mut self, api: ApiRef, method: &str, args: &RawValue) -> (u64, String) {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request::call(id, api, method, &args);
        (
            id,
            serde_json::to_string(&request).expect("a request made of JSON values serializes"),
        )
    }

    /// Handles one text frame from the node.
    pub(super) fn dispatch(&mut self, text: &str) {
        match Incoming::parse(text) {
            Ok(Incoming::Response(response)) => self.answer(response),
            Ok(Incoming::Notice(notice)) => self.notify(notice),
            Err(error) => warn!(target: "bts_rpc::ws", %error, "ignoring a message that is neither answer nor notice"),
        }
    }

    fn answer(&mut self, response: Response) {
        let outcome = response.outcome.map_err(RpcError::Node);
        let Some(pending) = response.id.as_u64().and_then(|id| self.pending.remove(&id)) else {
            match outcome {
                Err(error) => warn!(target: "bts_rpc::ws", id = %response.id, %error, "an error nobody waits for"),
                Ok(_) => debug!(target: "bts_rpc::ws", id = %response.id, "an answer nobody waits for"),
            }
            return;
        };
        match pending {
            Pending::Call(reply) => {
                let _ = reply.send(outcome);
            }
            Pending::Subscribe { callback, reply } => {
                let refused = outcome.is_err();
                if reply.send(outcome).is_err() || refused {
                    self.subscribers.remove(&callback);
                }
            }
            Pending::Replay { callback } => {
                if let Err(error) = outcome {
                    warn!(target: "bts_rpc::ws", callback, %error, "the node refused a subscription again; ending its stream");
                    self.subscribers.remove(&callback);
                }
            }
        }
    }

    fn notify(&mut self, notice: Notice) {
        let Some(callback) = notice.callback.as_u64() else {
            debug!(target: "bts_rpc::ws", callback = %notice.callback, "ignoring a notice with an unknown callback");
            return;
        };
        let Some(subscriber) = self.subscribers.get(&callback) else {
            debug!(target: "bts_rpc::ws", callback, "ignoring a notice for a callback without subscriber");
            return;
        };
        match subscriber.notices.try_send(notice.args) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                warn!(target: "bts_rpc::ws", callback, "subscriber is behind; dropping a notice");
            }
            Err(TrySendError::Closed(_)) => {
                self.subscribers.remove(&callback);
            }
        }
    }

    /// The connection is gone: every call in flight fails with `Disconnected`, as does a
    /// subscription whose first call was not answered (its caller sees the failure, so it is
    /// not replayed). Live subscriptions stay, to be replayed.
    pub(super) fn fail_in_flight(&mut self) {
        for (_, pending) in self.pending.drain() {
            match pending {
                Pending::Call(reply) => {
                    let _ = reply.send(Err(RpcError::Disconnected));
                }
                Pending::Subscribe { callback, reply } => {
                    self.subscribers.remove(&callback);
                    let _ = reply.send(Err(RpcError::Disconnected));
                }
                Pending::Replay { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::to_raw;
    use serde_json::{Value, json};
    use tokio::sync::oneshot;

    fn db() -> ApiRef {
        ApiRef::Name("database".into())
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn id_of(text: &str) -> u64 {
        parse(text)["id"].as_u64().unwrap()
    }

    /// A subscription to callback `cb` with a notice buffer of `capacity`, answered by the node.
    fn subscribed(routes: &mut Routes, cb: u64, capacity: usize) -> mpsc::Receiver<Box<RawValue>> {
        let (notices, receiver) = mpsc::channel(capacity);
        let (reply, mut answer) = oneshot::channel();
        let text = routes.subscribe(
            db(),
            "set_block_applied_callback".into(),
            to_raw(&[cb]),
            cb,
            notices,
            reply,
        );
        routes.dispatch(&format!(r#"{{"id":{},"result":null}}"#, id_of(&text)));
        assert_eq!(answer.try_recv().unwrap().unwrap().get(), "null");
        receiver
    }

    #[test]
    fn answers_reach_their_caller_in_any_order() {
        let mut routes = Routes::new();
        let (a_reply, mut a) = oneshot::channel();
        let (b_reply, mut b) = oneshot::channel();
        let a_text = routes.call(db(), "get_chain_id", &to_raw(&[(); 0]), a_reply);
        let b_text = routes.call(db(), "get_objects", &to_raw(&[["2.1.0"]]), b_reply);
        assert_eq!(
            parse(&b_text),
            json!({"id": id_of(&b_text), "jsonrpc": "2.0", "method": "call", "params": ["database", "get_objects", [["2.1.0"]]]})
        );
        routes.dispatch(&format!(r#"{{"id":{},"result":"b"}}"#, id_of(&b_text)));
        routes.dispatch(r#"{"id":999,"result":1}"#);
        routes.dispatch("not json");
        routes.dispatch(&format!(
            r#"{{"id":{},"error":{{"code":10,"message":"no"}}}}"#,
            id_of(&a_text)
        ));
        assert_eq!(b.try_recv().unwrap().unwrap().get(), r#""b""#);
        assert!(matches!(a.try_recv().unwrap(), Err(RpcError::Node(e)) if e.code == 10));
    }

    #[test]
    fn replays_keep_the_callback_and_take_fresh_ids() {
        let mut routes = Routes::new();
        let mut notices = subscribed(&mut routes, 7, 4);
        let replays = routes.replays();
        assert_eq!(replays.len(), 1);
        let replay = parse(&replays[0]);
        assert_eq!(replay["params"], json!(["database", "set_block_applied_callback", [7]]));
        assert_eq!(replay["id"], 2, "ids are never reused");
        // Refused again on the new connection: the stream ends.
        routes.dispatch(r#"{"id":2,"error":{"code":10,"message":"no"}}"#);
        assert!(routes.replays().is_empty());
        assert!(notices.try_recv().is_err() && notices.is_closed());
    }

    #[test]
    fn a_refused_subscription_is_not_replayed() {
        let mut routes = Routes::new();
        let (notices, _receiver) = mpsc::channel(1);
        let (reply, mut answer) = oneshot::channel();
        let text = routes.subscribe(db(), "set_x_callback".into(), to_raw(&[1]), 1, notices, reply);
        routes.dispatch(&format!(
            r#"{{"id":{},"error":{{"code":10,"message":"no"}}}}"#,
            id_of(&text)
        ));
        assert!(answer.try_recv().unwrap().is_err());
        assert_eq!(routes.subscriptions(), 0);
    }

    #[test]
    fn a_lost_connection_fails_what_is_in_flight_and_keeps_live_subscriptions() {
        let mut routes = Routes::new();
        let _live = subscribed(&mut routes, 1, 4);
        let (reply, mut call) = oneshot::channel();
        routes.call(db(), "never", &to_raw(&[(); 0]), reply);
        let (notices, _unanswered) = mpsc::channel(1);
        let (reply, mut subscription) = oneshot::channel();
        routes.subscribe(db(), "set_x_callback".into(), to_raw(&[2]), 2, notices, reply);
        routes.fail_in_flight();
        assert!(matches!(call.try_recv().unwrap(), Err(RpcError::Disconnected)));
        assert!(matches!(subscription.try_recv().unwrap(), Err(RpcError::Disconnected)));
        let replays: Vec<Value> = routes.replays().iter().map(|t| parse(t)).collect();
        assert_eq!(replays.len(), 1);
        assert_eq!(replays[0]["params"][2], json!([1]));
    }

    #[test]
    fn notices_beyond_the_buffer_or_without_reader_are_dropped() {
        let mut routes = Routes::new();
        let mut notices = subscribed(&mut routes, 3, 1);
        routes.dispatch(r#"{"method":"notice","params":[3,["first"]]}"#);
        routes.dispatch(r#"{"method":"notice","params":[3,["second"]]}"#);
        routes.dispatch(r#"{"method":"notice","params":[4,["nobody"]]}"#);
        routes.dispatch(r#"{"method":"notice","params":["x",["odd callback"]]}"#);
        assert_eq!(notices.try_recv().unwrap().get(), r#"["first"]"#);
        assert!(notices.try_recv().is_err());
        drop(notices);
        routes.dispatch(r#"{"method":"notice","params":[3,["third"]]}"#);
        assert_eq!(routes.subscriptions(), 0);
    }

    #[test]
    fn abandoned_calls_are_swept() {
        let mut routes = Routes::new();
        let (reply, answer) = oneshot::channel();
        routes.call(db(), "never", &to_raw(&[(); 0]), reply);
        routes.sweep();
        assert_eq!(routes.pending.len(), 1);
        drop(answer);
        routes.sweep();
        assert!(routes.pending.is_empty());
    }
}
