//! A registration request as wallets send it, read leniently, then checked without any IO: the
//! name against the chain's, the wallet's and the faucet's rules, the keys against the chain's
//! prefix.
//!
//! Wallets send `{"account":{name, owner_key, active_key, memo_key, refcode, referrer}}`; some add
//! `registrar`, `referrer_percent`, `real_name`, `email`. Everything but the four names and keys
//! and `referrer` is ignored: in particular the client never chooses the registrar or the
//! percentage. `referrer` may be a name, an id (`1.2.N`, astro-ui), `null`, `""` or junk from a
//! URL; anything that is not a non-empty string counts as absent.

use super::rejection::Rejection;
use bts_protocol::name::FaucetNameError;
use bts_protocol::{NamePolicy, Prefix, PublicKey};
use serde_json::Value;

/// Names starting with this are built and signed but not broadcast (the reference faucet's test
/// mode, used by wallet developers).
pub const TEST_PREFIX: &str = "test-faucet";

/// The fields of a request the faucet reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// Account name.
    pub name: String,
    /// Owner key, with the chain's prefix.
    pub owner_key: String,
    /// Active key.
    pub active_key: String,
    /// Memo key.
    pub memo_key: String,
    /// Referrer name or `1.2.N`, if any.
    pub referrer: Option<String>,
}

impl AccountRequest {
    /// Reads a request body. Not JSON, or no `account` object: [`Rejection::Malformed`]; a
    /// missing field: [`Rejection::MissingField`].
    pub fn from_json(body: &[u8]) -> Result<AccountRequest, Rejection> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Rejection::Malformed(format!("The request body is not valid JSON: {e}")))?;
        let Some(account) = value.get("account").filter(|a| a.is_object()) else {
            return Err(Rejection::Malformed(
                "The request body must be {\"account\":{\"name\":...,\"owner_key\":...,\"active_key\":...,\"memo_key\":...}}"
                    .to_owned(),
            ));
        };
        let field = |key: &'static str| -> Result<String, Rejection> {
            match account.get(key).and_then(Value::as_str).map(str::trim) {
                Some(s) if !s.is_empty() => Ok(s.to_owned()),
                _ => Err(Rejection::MissingField(key)),
            }
        };
        Ok(AccountRequest {
            name: field("name")?,
            owner_key: field("owner_key")?,
            active_key: field("active_key")?,
            memo_key: field("memo_key")?,
            referrer: account
                .get("referrer")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

/// A request that passed every check that needs no chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) name: String,
    pub(crate) owner: PublicKey,
    pub(crate) active: PublicKey,
    pub(crate) memo: PublicKey,
    pub(crate) referrer: Option<String>,
}

impl Checked {
    /// A `test-faucet*` name: build and sign, do not broadcast.
    pub(crate) fn is_test(&self) -> bool {
        self.name.starts_with(TEST_PREFIX)
    }

    /// The keys as the chain writes them (owner, active, memo).
    pub(crate) fn key_strings(&self) -> [String; 3] {
        [self.owner, self.active, self.memo].map(|k| k.to_string())
    }
}

/// Checks the name against `policy` and parses the keys with `prefix`.
pub(crate) fn check(req: &AccountRequest, prefix: Prefix, policy: NamePolicy) -> Result<Checked, Rejection> {
    policy.check(&req.name).map_err(|e| match e {
        FaucetNameError::Premium => Rejection::PremiumName,
        other => Rejection::InvalidName(other.to_string()),
    })?;
    let key = |field: &'static str, text: &str| -> Result<PublicKey, Rejection> {
        let invalid = |reason: String| Rejection::InvalidKey { field, reason };
        let key = PublicKey::parse(text, prefix).map_err(|e| invalid(e.to_string()))?;
        if key.is_null() {
            return Err(invalid("the null key cannot sign; send a real public key".to_owned()));
        }
        Ok(key)
    };
    Ok(Checked {
        name: req.name.clone(),
        owner: key("owner_key", &req.owner_key)?,
        active: key("active_key", &req.active_key)?,
        memo: key("memo_key", &req.memo_key)?,
        referrer: req.referrer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::{PrivateKey, Role};

    fn body(account: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "account": account })).unwrap()
    }

    fn keys(prefix: Prefix) -> [String; 3] {
        Role::ALL.map(|r| {
            PrivateKey::from_password("alice-1", r, "pw")
                .unwrap()
                .public_key(prefix)
                .to_string()
        })
    }

    #[test]
    fn reads_what_wallets_send_and_ignores_the_rest() {
        let [o, a, m] = keys(Prefix::BTS);
        let req = AccountRequest::from_json(&body(serde_json::json!({
            "name": "alice-1", "owner_key": o, "active_key": a, "memo_key": m,
            "refcode": null, "referrer": " 1.2.17 ", "registrar": "evil", "referrer_percent": 10000
        })))
        .unwrap();
        assert_eq!(req.referrer.as_deref(), Some("1.2.17"));
        for junk in [serde_json::json!(null), serde_json::json!(""), serde_json::json!(42)] {
            let req = AccountRequest::from_json(&body(serde_json::json!({
                "name": "alice-1", "owner_key": o, "active_key": a, "memo_key": m, "referrer": junk
            })))
            .unwrap();
            assert_eq!(req.referrer, None);
        }
        let checked = check(&req, Prefix::BTS, NamePolicy::default()).unwrap();
        assert_eq!(checked.key_strings(), [o, a, m]);
        assert!(!checked.is_test());
    }

    #[test]
    fn rejections() {
        let [o, a, m] = keys(Prefix::BTS);
        assert!(matches!(
            AccountRequest::from_json(b"{nope"),
            Err(Rejection::Malformed(_))
        ));
        assert!(matches!(
            AccountRequest::from_json(b"[1]"),
            Err(Rejection::Malformed(_))
        ));
        assert_eq!(
            AccountRequest::from_json(&body(serde_json::json!({"name": "alice-1", "active_key": a}))),
            Err(Rejection::MissingField("owner_key"))
        );
        let req = |name: &str, owner: &str| AccountRequest {
            name: name.into(),
            owner_key: owner.into(),
            active_key: a.clone(),
            memo_key: m.clone(),
            referrer: None,
        };
        let policy = NamePolicy::default();
        assert_eq!(
            check(&req("alice", &o), Prefix::BTS, policy),
            Err(Rejection::PremiumName)
        );
        assert_eq!(
            check(&req("ab", &o), Prefix::BTS, policy),
            Err(Rejection::InvalidName("Account name should be longer.".into()))
        );
        let wrong = check(&req("alice-1", &o), Prefix::TEST, policy).unwrap_err();
        assert!(
            matches!(wrong, Rejection::InvalidKey { field: "owner_key", .. }),
            "{wrong}"
        );
        let null = PublicKey::null(Prefix::BTS).to_string();
        assert!(matches!(
            check(&req("alice-1", &null), Prefix::BTS, policy),
            Err(Rejection::InvalidKey { .. })
        ));
    }
}
