//! Callback streams: the receiving end of a subscription made with [`super::WsClient::subscribe`].

use bts_protocol::BlockId;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// The notices of one callback, in the order the node sent them.
///
/// Each item is the notice's argument array, unparsed (`["<block id>"]` for
/// `set_block_applied_callback`). The stream ends when the client is closed or dropped, or when
/// the node refused the subscription again after a reconnection.
#[derive(Debug)]
pub struct Subscription {
    callback: u64,
    notices: mpsc::Receiver<Box<RawValue>>,
}

impl Subscription {
    pub(super) fn new(callback: u64, notices: mpsc::Receiver<Box<RawValue>>) -> Subscription {
        Subscription { callback, notices }
    }

    /// The callback number the client chose and the node puts in every notice.
    pub fn callback(&self) -> u64 {
        self.callback
    }

    /// The next notice's arguments; `None` when the stream has ended.
    pub async fn recv(&mut self) -> Option<Box<RawValue>> {
        self.notices.recv().await
    }

    /// The next notice's arguments decoded as `T` (a tuple for positional arguments); a notice of
    /// another shape is logged and skipped. `None` when the stream has ended.
    pub async fn recv_as<T: DeserializeOwned>(&mut self) -> Option<T> {
        loop {
            let args = self.notices.recv().await?;
            match serde_json::from_str(args.get()) {
                Ok(value) => return Some(value),
                Err(error) => tracing::warn!(
                    target: "bts_rpc::ws",
                    callback = self.callback,
                    %error,
                    "skipping a notice of unexpected shape"
                ),
            }
        }
    }

    /// The underlying channel.
    pub fn into_receiver(self) -> mpsc::Receiver<Box<RawValue>> {
        self.notices
    }
}

/// The ids of the blocks a node applies (`set_block_applied_callback`).
#[derive(Debug)]
pub struct BlockApplied {
    inner: Subscription,
}

impl BlockApplied {
    pub(super) fn new(inner: Subscription) -> BlockApplied {
        BlockApplied { inner }
    }

    /// The callback number of the subscription.
    pub fn callback(&self) -> u64 {
        self.inner.callback()
    }

    /// The next applied block's id; `None` when the stream has ended.
    pub async fn recv(&mut self) -> Option<BlockId> {
        self.inner.recv_as::<(BlockId,)>().await.map(|(id,)| id)
    }

    /// The raw subscription.
    pub fn into_inner(self) -> Subscription {
        self.inner
    }
}
