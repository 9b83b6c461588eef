//! Why a backend is in its state, as data for the status JSON and as the sentence a person reads
//! ("head 120 is 5 blocks behind 125", "chain id 39f5e2ed… is not mainnet's 4018d784…").

use bts_protocol::ChainId;
use std::fmt;

/// Which kind of failure a backend is having.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// No answer in time.
    Timeout,
    /// Refused, reset, closed, or a node error.
    Error,
}

/// Why a backend is in its state, for people: `Display` gives the sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// No check has finished.
    NotChecked,
    /// The last check was good.
    InSync {
        /// Its head.
        head: u32,
        /// Blocks behind the corroborated head (0: at it).
        behind: u32,
    },
    /// Another chain.
    WrongChain {
        /// What the node reported.
        reported: ChainId,
        /// What the network serves.
        expected: ChainId,
        /// The network's name.
        network: String,
    },
    /// Consecutive failed checks.
    Failing {
        /// How many.
        count: u32,
        /// The count at which the backend is out.
        threshold: u32,
        /// Of the last one.
        kind: FailKind,
        /// The last error's text.
        last: String,
    },
    /// Too far behind the corroborated head.
    Lagging {
        /// Its head.
        head: u32,
        /// The corroborated head.
        reference: u32,
    },
    /// Its head stopped while others advanced.
    Stopped {
        /// Its head.
        head: u32,
        /// How much older its head is than the pool's, in seconds.
        behind_secs: f64,
        /// The allowed difference (two block intervals), in seconds.
        limit_secs: u32,
    },
    /// Out, and passing checks again.
    Recovering {
        /// Good checks so far.
        good: u32,
        /// Good checks needed.
        needed: u32,
        /// Why it went out.
        was: Box<Reason>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotChecked => f.write_str("not checked yet"),
            Reason::InSync { head, behind: 0 } => write!(f, "head {head} in sync"),
            Reason::InSync { head, behind } => write!(f, "head {head} in sync ({behind} behind the pool)"),
            Reason::WrongChain {
                reported,
                expected,
                network,
            } => write!(f, "chain id {} is not {network}'s {}", short(reported), short(expected)),
            Reason::Failing {
                count,
                threshold,
                kind,
                last,
            } => {
                let what = match kind {
                    FailKind::Timeout => "timeout",
                    FailKind::Error => "error",
                };
                let plural = if *count == 1 { "" } else { "s" };
                write!(f, "{count} consecutive {what}{plural}")?;
                if *kind == FailKind::Error {
                    write!(f, " (last: {last})")?;
                }
                if count < threshold {
                    write!(f, "; out at {threshold}")?;
                }
                Ok(())
            }
            Reason::Lagging { head, reference } => {
                write!(f, "head {head} is {} blocks behind {reference}", reference - head)
            }
            Reason::Stopped {
                head,
                behind_secs,
                limit_secs,
            } => write!(
                f,
                "head {head} stopped: {behind_secs:.1} s older than the pool's (limit {limit_secs} s)"
            ),
            Reason::Recovering { good, needed, was } => {
                write!(f, "passing again, {good} of {needed} good checks (was: {was})")
            }
        }
    }
}

/// `4018d784…`: enough of a chain id to tell it apart.
fn short(id: &ChainId) -> String {
    let hex = id.to_string();
    format!("{}…", &hex[..8.min(hex.len())])
}
