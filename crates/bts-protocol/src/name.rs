//! Account name rules: the chain's, the reference wallet's, and the faucet policy built on both.
//!
//! * Chain (`is_valid_name`, consensus): 1..=63 bytes, dot-separated labels, each starting with a
//!   lowercase letter, ending with a letter or digit, with letters, digits and dashes between.
//!   One-letter labels and `--` are valid.
//! * Chain fee class (`is_cheap_name`): a digit, `.`, `-` or `/`, or no vowel (`y` counts), makes
//!   a name cheap (basic fee); otherwise it is premium.
//! * Reference wallet (bitsharesjs `ChainValidation`, used by bitshares-ui): at least 3 characters,
//!   every label at least 3 characters, no `--`; and a stricter cheap rule where `.` does not count.
//! * Faucet policy: valid on chain, accepted by the wallet, and (unless premium names are
//!   allowed) cheap by the wallet's rule, so a faucet never pays a premium fee.

use serde::Serialize;
use thiserror::Error;

/// `GRAPHENE_MAX_ACCOUNT_NAME_LENGTH`.
pub const MAX_NAME_LENGTH: usize = 63;

/// Why a name is not valid on chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The empty string.
    #[error("name is empty")]
    Empty,
    /// Longer than 63 bytes.
    #[error("name is {0} bytes long; at most 63 are allowed")]
    TooLong(usize),
    /// `a..b`, `.a` or `a.`.
    #[error("name has an empty segment (a dot at the start or end, or two dots in a row)")]
    EmptyLabel,
    /// A label that starts with something other than `a`-`z`.
    #[error("segment {0:?} must start with a lowercase letter")]
    BadStart(String),
    /// A label that ends with something other than `a`-`z` or `0`-`9`.
    #[error("segment {0:?} must end with a lowercase letter or a digit")]
    BadEnd(String),
    /// A character other than `a`-`z`, `0`-`9`, `-` inside a label.
    #[error("segment {0:?} may contain only lowercase letters, digits and dashes")]
    BadChar(String),
}

/// The chain's `is_valid_name`, with the reason a name fails.
pub fn is_valid_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    if bytes.len() > MAX_NAME_LENGTH {
        return Err(NameError::TooLong(bytes.len()));
    }
    for label in bytes.split(|&b| b == b'.') {
        let text = || String::from_utf8_lossy(label).into_owned();
        let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
            return Err(NameError::EmptyLabel);
        };
        if !first.is_ascii_lowercase() {
            return Err(NameError::BadStart(text()));
        }
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            return Err(NameError::BadEnd(text()));
        }
        let inner = &label[1..label.len().saturating_sub(1).max(1)];
        if !inner
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(NameError::BadChar(text()));
        }
    }
    Ok(())
}

/// The chain's `is_cheap_name`: whether registering it costs the basic rather than the premium fee.
pub fn is_cheap_name(name: &str) -> bool {
    let mut has_vowel = false;
    for b in name.bytes() {
        if b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'/') {
            return true;
        }
        has_vowel |= matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    }
    !has_vowel
}

/// Length as JavaScript counts it (UTF-16 code units), which is what bitsharesjs compares.
fn js_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// bitsharesjs `ChainValidation.is_account_name`: the wallet's basic syntax check.
pub fn is_wallet_account_name(name: &str) -> bool {
    if name.is_empty() || js_len(name) < 3 || js_len(name) > MAX_NAME_LENGTH {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        b.first().is_some_and(u8::is_ascii_lowercase)
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !label.contains("--")
            && b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// bitsharesjs `ChainValidation.is_account_name_error`, which bitshares-ui shows under the name
/// field: `None` when the name is acceptable, else the wallet's own message.
pub fn wallet_name_error(name: &str) -> Option<String> {
    let mut prefix = "Account name should ";
    if name.is_empty() {
        return Some(format!("{prefix}not be empty."));
    }
    if js_len(name) < 3 {
        return Some(format!("{prefix}be longer."));
    }
    if js_len(name) > MAX_NAME_LENGTH {
        return Some(format!("{prefix}be shorter."));
    }
    if name.contains('.') {
        prefix = "Each account segment should ";
    }
    // The wallet's patterns allow `~` where a letter is expected; the chain rule rejects it.
    let letter = |c: u8| c.is_ascii_lowercase() || c == b'~';
    for label in name.split('.') {
        let b = label.as_bytes();
        let problem = if !b.first().copied().is_some_and(letter) {
            "start with a letter."
        } else if !b.iter().all(|&c| letter(c) || c.is_ascii_digit() || c == b'-') {
            "have only letters, digits, or dashes."
        } else if label.contains("--") {
            "have only one dash in a row."
        } else if !b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            "end with a letter or digit."
        } else if js_len(label) < 3 {
            "be longer" // sic: the wallet's message has no full stop
        } else {
            continue;
        };
        return Some(format!("{prefix}{problem}"));
    }
    None
}

/// bitsharesjs `ChainValidation.is_cheap_name`: a digit or `-`, or no vowel. Unlike the chain's
/// rule, `.` does not make a name cheap; every reference faucet uses this one.
pub fn is_wallet_cheap_name(name: &str) -> bool {
    name.bytes().any(|b| b.is_ascii_digit() || b == b'-')
        || !name
            .bytes()
            .any(|b| matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y'))
}

/// Which names a faucet registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamePolicy {
    /// Register premium names too (the registrar then pays the premium fee).
    pub allow_premium: bool,
}

/// Why the faucet refuses a name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaucetNameError {
    /// Not valid on chain.
    #[error("{0}")]
    Invalid(#[from] NameError),
    /// Valid on chain, but the reference wallet rejects it (message from the wallet).
    #[error("{0}")]
    Wallet(String),
    /// A premium name, and the policy only allows cheap ones. The text is the one mobile
    /// wallets match on.
    #[error("Only cheap names allowed!")]
    Premium,
}

impl NamePolicy {
    /// Checks a name against the faucet policy.
    pub fn check(&self, name: &str) -> Result<(), FaucetNameError> {
        is_valid_name(name)?;
        if let Some(msg) = wallet_name_error(name) {
            return Err(FaucetNameError::Wallet(msg));
        }
        if !self.allow_premium && !is_wallet_cheap_name(name) {
            return Err(FaucetNameError::Premium);
        }
        Ok(())
    }
}

/// Every verdict on one name, as `bts-infra name check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCheck {
    /// The name checked.
    pub name: String,
    /// Valid on chain.
    pub valid: bool,
    /// Cheap by the chain's fee rule.
    pub cheap: bool,
    /// Accepted by the reference wallet.
    pub wallet_ok: bool,
    /// Accepted by the faucet policy.
    pub faucet_ok: bool,
    /// Why the faucet refuses it, if it does.
    pub reason: Option<String>,
}

impl NameCheck {
    /// Checks `name` under `policy`.
    pub fn new(name: &str, policy: NamePolicy) -> NameCheck {
        let faucet = policy.check(name);
        NameCheck {
            name: name.to_owned(),
            valid: is_valid_name(name).is_ok(),
            cheap: is_cheap_name(name),
            wallet_ok: wallet_name_error(name).is_none(),
            faucet_ok: faucet.is_ok(),
            reason: faucet.err().map(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(is_valid_name("abc..def"), Err(NameError::EmptyLabel));
        assert_eq!(is_valid_name("1abc"), Err(NameError::BadStart("1abc".into())));
        assert_eq!(is_valid_name("abc-"), Err(NameError::BadEnd("abc-".into())));
        assert_eq!(is_valid_name("ab_c"), Err(NameError::BadChar("ab_c".into())));
        assert_eq!(is_valid_name("a"), Ok(()));
        assert_eq!(is_valid_name("ab"), Ok(()));
        assert_eq!(
            wallet_name_error("ab.cde").as_deref(),
            Some("Each account segment should be longer")
        );
        assert_eq!(NamePolicy::default().check("faucet"), Err(FaucetNameError::Premium));
        assert_eq!(NamePolicy { allow_premium: true }.check("faucet"), Ok(()));
        assert_eq!(NamePolicy::default().check("abc.def"), Err(FaucetNameError::Premium));
    }
}
