//! Block-applied notices across a session's move: the client sees every block once, in order.
//!
//! A client that registered `set_block_applied_callback` gets one notice per block, carrying the
//! block id (whose first four bytes are the block number). When the session moves, the blocks
//! applied while it was between nodes would be lost: the new node only notifies blocks after the
//! recipe re-registered the callback. So after a move, the first notice that skips numbers
//! starts a fill: the notices of the missing blocks are made from `get_block_header_batch` (the
//! id of block n is the `previous` of block n + 1's header) and sent before the held notice and
//! any that arrive meanwhile. A notice for a block the client already had is dropped.
//!
//! Pure: the session sends the request this asks for and hands back the answer.

use bts_rpc::Notice;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// At most this many missing blocks are filled (a longer outage is not worth a huge request;
/// the client then misses the older ones, as it would have without the fill).
const MAX_FILL: u32 = 100;

/// A fill in progress: blocks `from..to` are being fetched; notices held meanwhile.
#[derive(Debug)]
struct Fill {
    from: u32,
    to: u32,
    held: Vec<(u32, String)>,
}

/// What to do with a node's notice.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Send these to the client.
    Send(Vec<String>),
    /// Ask the new node for these block numbers' headers (`get_block_header_batch`); the notice
    /// is held until the answer.
    Fetch(Vec<u32>),
}

/// The block-applied notices of one session.
#[derive(Debug, Default)]
pub(super) struct BlockNotices {
    last: Option<u32>,
    moved: bool,
    fill: Option<Fill>,
}

/// The block number of a notice's arguments (`[block_id]`), if it is a block id.
fn block_number(args: &RawValue) -> Option<u32> {
    let ids: Vec<String> = serde_json::from_str(args.get()).ok()?;
    let id = ids.first()?;
    u32::from_str_radix(id.get(..8)?, 16).ok()
}

impl BlockNotices {
    /// The session moved to another node: the next notice may skip blocks. A fill in progress
    /// died with the old connection; the next notice starts a new one from the last block sent.
    pub(super) fn moved(&mut self) {
        self.moved = true;
        self.fill = None;
    }

    /// A notice on the block-applied callback (`text` as the node sent it).
    pub(super) fn on_notice(&mut self, args: &RawValue, text: &str) -> Step {
        let Some(number) = block_number(args) else {
            return Step::Send(vec![text.to_owned()]);
        };
        if let Some(fill) = &mut self.fill {
            fill.held.push((number, text.to_owned()));
            return Step::Send(Vec::new());
        }
        match self.last {
            Some(last) if number <= last => Step::Send(Vec::new()),
            Some(last) if self.moved && number > last + 1 => {
                self.moved = false;
                let from = (last + 1).max(number.saturating_sub(MAX_FILL));
                self.fill = Some(Fill {
                    from,
                    to: number,
                    held: vec![(number, text.to_owned())],
                });
                Step::Fetch(((from + 1)..=number).collect())
            }
            _ => {
                self.moved = false;
                self.last = Some(number);
                Step::Send(vec![text.to_owned()])
            }
        }
    }

    /// The answer to the fetch (`None` if it failed): the missing notices, then the held ones.
    pub(super) fn on_headers(&mut self, callback: &Value, answer: Option<&RawValue>) -> Vec<String> {
        let Some(fill) = self.fill.take() else {
            return Vec::new();
        };
        // `[[number, header], ...]`; a header is null past the node's head.
        let previous: BTreeMap<u32, String> = answer
            .and_then(|a| serde_json::from_str::<Vec<(u32, Value)>>(a.get()).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(n, h)| Some((n, h["previous"].as_str()?.to_owned())))
            .collect();
        let mut out = Vec::new();
        for n in fill.from..fill.to {
            if let Some(id) = previous.get(&(n + 1)) {
                out.push(Notice::new(callback.clone(), &[id]).to_json());
                self.last = Some(n);
            }
        }
        for (n, text) in fill.held {
            if self.last.is_none_or(|last| n > last) {
                self.last = Some(n);
                out.push(text);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_rpc::message::to_raw;
    use serde_json::json;

    fn id(n: u32) -> String {
        format!("{n:08x}{}", "ab".repeat(16))
    }

    fn notice(b: &mut BlockNotices, n: u32) -> Step {
        let args = to_raw(&[id(n)]);
        let text = Notice::new(json!(7), &[id(n)]).to_json();
        b.on_notice(&args, &text)
    }

    fn sent(step: Step) -> Vec<u32> {
        match step {
            Step::Send(texts) => texts.iter().map(|t| number_of(t)).collect(),
            Step::Fetch(n) => panic!("fetch {n:?}"),
        }
    }

    fn number_of(text: &str) -> u32 {
        let v: Value = serde_json::from_str(text).unwrap();
        u32::from_str_radix(&v["params"][1][0].as_str().unwrap()[..8], 16).unwrap()
    }

    #[test]
    fn in_order_notices_pass_and_repeats_are_dropped() {
        let mut b = BlockNotices::default();
        assert_eq!(sent(notice(&mut b, 10)), [10]);
        assert_eq!(sent(notice(&mut b, 11)), [11]);
        assert_eq!(sent(notice(&mut b, 11)), Vec::<u32>::new());
        // Without a move a gap is the node's own (it notified what it applied): passed on.
        assert_eq!(sent(notice(&mut b, 14)), [14]);
    }

    #[test]
    fn after_a_move_the_missing_blocks_are_filled_in_order() {
        let mut b = BlockNotices::default();
        sent(notice(&mut b, 10));
        b.moved();
        assert_eq!(notice(&mut b, 14), Step::Fetch(vec![12, 13, 14]));
        // Meanwhile: held.
        assert_eq!(sent(notice(&mut b, 15)), Vec::<u32>::new());
        let headers =
            to_raw(&json!([[12, {"previous": id(11)}], [13, {"previous": id(12)}], [14, {"previous": id(13)}]]));
        let out = b.on_headers(&json!(7), Some(&headers));
        assert_eq!(
            out.iter().map(|t| number_of(t)).collect::<Vec<_>>(),
            [11, 12, 13, 14, 15]
        );
        assert_eq!(
            sent(notice(&mut b, 15)),
            Vec::<u32>::new(),
            "no duplicate after the fill"
        );
        assert_eq!(sent(notice(&mut b, 16)), [16]);
    }

    #[test]
    fn a_failed_fetch_still_releases_the_held_notices() {
        let mut b = BlockNotices::default();
        sent(notice(&mut b, 10));
        b.moved();
        assert!(matches!(notice(&mut b, 13), Step::Fetch(_)));
        let out = b.on_headers(&json!(7), None);
        assert_eq!(out.iter().map(|t| number_of(t)).collect::<Vec<_>>(), [13]);
    }

    #[test]
    fn a_long_outage_fills_the_last_hundred() {
        let mut b = BlockNotices::default();
        sent(notice(&mut b, 10));
        b.moved();
        let Step::Fetch(numbers) = notice(&mut b, 1_000) else {
            panic!()
        };
        assert_eq!((numbers[0], numbers.len()), (901, 100));
    }
}
