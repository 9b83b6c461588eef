//! Who gets the referral share: the requested referrer if it exists and is a member (lifetime, or
//! annual and not expired at the head block time), else the registrar (the proposal: "if no
//! referrer is present, the registrar will be used"), or a refusal when so configured.
//!
//! A referrer is given as a name or as `1.2.N` (astro-ui sends ids). A failed lookup is not a
//! fallback: it would hand the referral to the registrar silently, so it is "try again later".

use super::Rejection;
use crate::config::UnknownReferrer;
use crate::state::Shared;
use bts_protocol::name::is_valid_name;
use bts_protocol::{AccountId, TimePointSec};

/// The account that gets the referral share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Referrer {
    pub(crate) id: AccountId,
    pub(crate) name: String,
}

impl Shared {
    /// Resolves the requested referrer at head block time `now`.
    pub(crate) async fn resolve_referrer(
        &self,
        requested: Option<&str>,
        now: TimePointSec,
    ) -> Result<Referrer, Rejection> {
        let Some(text) = requested.map(str::trim).filter(|t| !t.is_empty()) else {
            self.metrics.referrer_fallback("absent");
            return Ok(self.registrar.clone());
        };
        if text == self.registrar.name || text == self.registrar.id.to_string() {
            return Ok(self.registrar.clone());
        }
        // Junk (from a URL) is not worth a node call.
        let lookup = text.parse::<AccountId>().is_ok() || is_valid_name(text).is_ok();
        let account = if lookup {
            self.nodes.account(text).await.map_err(|e| self.unavailable(e))?
        } else {
            None
        };
        match account {
            Some(a) if a.is_member(now) => Ok(Referrer { id: a.id, name: a.name }),
            Some(_) => self.fallback(text, "not_member"),
            None => self.fallback(text, "unknown"),
        }
    }

    fn fallback(&self, requested: &str, reason: &'static str) -> Result<Referrer, Rejection> {
        match self.config.unknown_referrer {
            UnknownReferrer::UseRegistrar => {
                self.metrics.referrer_fallback(reason);
                tracing::info!(target: "bts_faucet::register", requested = %shown(requested), reason, "referrer replaced by the registrar");
                Ok(self.registrar.clone())
            }
            UnknownReferrer::Reject => Err(Rejection::UnknownReferrer(shown(requested))),
        }
    }
}

/// The requested referrer as it may be echoed: at most 64 characters, no control characters.
fn shown(requested: &str) -> String {
    requested.chars().filter(|c| !c.is_control()).take(64).collect()
}
