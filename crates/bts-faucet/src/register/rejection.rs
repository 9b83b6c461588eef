//! Why a registration request is refused, with the texts wallets show and match on.
//!
//! The texts are the reference faucets' where one exists (mobile wallets compare lower-cased
//! substrings: "account exists", "only one account per ip", "creating more accounts"). How each
//! one becomes an HTTP response is decided in one place, `http::reply`.

use thiserror::Error;

/// A refused registration request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The body is not JSON, or has no `account` object.
    #[error("{0}")]
    Malformed(String),
    /// The body is larger than `max-body-bytes`.
    #[error("Request body too large: at most {0} bytes")]
    TooLarge(usize),
    /// A required field is missing, empty or not a string.
    #[error("Please provide '{0}'")]
    MissingField(&'static str),
    /// The name breaks the chain's or the wallet's rules (the wallet's message).
    #[error("{0}")]
    InvalidName(String),
    /// A premium name under the cheap-names-only policy.
    #[error("Only cheap names allowed!")]
    PremiumName,
    /// A key that does not parse with the chain's prefix.
    #[error("Invalid {field}: {reason}")]
    InvalidKey {
        /// `owner_key`, `active_key` or `memo_key`.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The name is taken (on chain, or by another request with other keys).
    #[error("Account exists")]
    AccountExists,
    /// The referrer does not exist or is not a member, and the policy is to refuse.
    #[error("Unknown referrer: {0}")]
    UnknownReferrer(String),
    /// One account per address per interval.
    #[error("Only one account per IP every {0}: please wait before registering another")]
    IpInterval(String),
    /// The daily cap per address.
    #[error("Too many accounts from this IP today: please wait a day before creating more accounts")]
    IpDaily,
    /// The global hourly cap.
    #[error("The faucet has registered its maximum of accounts for this hour: please try again later")]
    GlobalCap,
    /// The registration was sent but its result is not known yet; asking again with the same
    /// name and keys returns it.
    #[error(
        "Your registration is being processed: ask again in a minute with the same name and keys to get its result"
    )]
    InProgress,
    /// The chain refused the registration (the node's message, shortened).
    #[error("{0}")]
    NodeRejected(String),
    /// No node answered.
    #[error("The faucet cannot reach the blockchain right now: please try again later")]
    Unavailable,
    /// Our fault (database); details are in the log.
    #[error("Internal error: please try again later")]
    Internal,
}

impl Rejection {
    /// The `outcome` label of `bts_faucet_registrations_total` and the `code` of the reply.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) | Rejection::TooLarge(_) => "malformed",
            Rejection::MissingField(_)
            | Rejection::InvalidName(_)
            | Rejection::PremiumName
            | Rejection::InvalidKey { .. } => "invalid",
            Rejection::AccountExists => "name_taken",
            Rejection::UnknownReferrer(_) => "referrer_rejected",
            Rejection::IpInterval(_) | Rejection::IpDaily | Rejection::GlobalCap => "rate_limited",
            Rejection::InProgress => "in_progress",
            Rejection::NodeRejected(_) => "node_rejected",
            Rejection::Unavailable => "unavailable",
            Rejection::Internal => "internal",
        }
    }
}

/// The node's rejection as a person can read it: `Execution error: Assert Exception: expr: Text`
/// becomes `Text`; at most 300 characters.
pub(crate) fn short_node_message(message: &str) -> String {
    let text = message.strip_prefix("Execution error: ").unwrap_or(message);
    let text = match text.strip_prefix("Assert Exception: ") {
        Some(rest) => rest.rsplit(": ").find(|s| !s.trim().is_empty()).unwrap_or(rest),
        None => text,
    };
    text.trim().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_mobile_wallets_match_on() {
        let lower = |r: Rejection| r.to_string().to_lowercase();
        assert!(lower(Rejection::AccountExists).contains("account exists"));
        assert!(lower(Rejection::IpInterval("30m".into())).contains("only one account per ip"));
        assert!(lower(Rejection::IpDaily).contains("creating more accounts"));
        assert_eq!(
            Rejection::MissingField("owner_key").to_string(),
            "Please provide 'owner_key'"
        );
        assert_eq!(
            Rejection::UnknownReferrer("x".into()).to_string(),
            "Unknown referrer: x"
        );
        assert_eq!(Rejection::PremiumName.to_string(), "Only cheap names allowed!");
    }

    #[test]
    fn node_messages_are_shortened() {
        assert_eq!(
            short_node_message(
                "Execution error: Assert Exception: current_account_itr == acnt_indx.indices().get<by_name>().end(): Account 'alice' already exists."
            ),
            "Account 'alice' already exists."
        );
        assert_eq!(
            short_node_message("Execution error: insufficient fee: Insufficient Fee Paid"),
            "insufficient fee: Insufficient Fee Paid"
        );
    }
}
