//! Object ids: `space.type.instance`, e.g. `1.2.17` for account 17.
//!
//! On the wire a typed id (`account_id_type`, `asset_id_type`, ...) is only its instance as a
//! varint; the space and type are implied by the field. An untyped [`ObjectId`] is what
//! `get_objects` takes. Instances are 48 bits wide in the node.

use crate::raw::{self, Pack, RawError, Reader, Unpack};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Largest instance an object id can hold (48 bits).
pub const MAX_INSTANCE: u64 = (1 << 48) - 1;

/// Why an object id string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// Not three dot-separated decimal numbers.
    #[error("{input:?} is not an object id: expected SPACE.TYPE.INSTANCE, e.g. 1.2.17")]
    Malformed {
        /// The input.
        input: String,
    },
    /// A part is out of range.
    #[error("{input:?} is not an object id: {reason}")]
    OutOfRange {
        /// The input.
        input: String,
        /// Which part and its limit.
        reason: &'static str,
    },
    /// A valid id of the wrong kind, e.g. an asset id where an account id is needed.
    #[error("{input:?} is not {expected} id (expected {space}.{type_id}.N)")]
    WrongType {
        /// The input.
        input: String,
        /// The kind that was expected, with its article ("an account").
        expected: &'static str,
        /// Expected space.
        space: u8,
        /// Expected type.
        type_id: u8,
    },
}

/// Any object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    /// Space: 1 protocol objects, 2 implementation objects.
    pub space: u8,
    /// Object type within the space.
    pub type_id: u8,
    /// Instance number (at most [`MAX_INSTANCE`]).
    pub instance: u64,
}

impl ObjectId {
    /// Builds an id; `None` when the instance exceeds 48 bits.
    pub fn new(space: u8, type_id: u8, instance: u64) -> Option<Self> {
        (instance <= MAX_INSTANCE).then_some(ObjectId {
            space,
            type_id,
            instance,
        })
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.space, self.type_id, self.instance)
    }
}

/// Parses a decimal part without sign, whitespace or leading zeros.
fn decimal(part: &str) -> Option<u64> {
    let canonical =
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && (part == "0" || !part.starts_with('0'));
    if canonical { part.parse().ok() } else { None }
}

impl FromStr for ObjectId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let malformed = || IdError::Malformed { input: s.to_owned() };
        let out_of_range = |reason| IdError::OutOfRange {
            input: s.to_owned(),
            reason,
        };
        let mut parts = s.split('.');
        let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let (a, b, c) = (
            decimal(a).ok_or_else(malformed)?,
            decimal(b).ok_or_else(malformed)?,
            decimal(c).ok_or_else(malformed)?,
        );
        let space = u8::try_from(a).map_err(|_| out_of_range("space exceeds 255"))?;
        let type_id = u8::try_from(b).map_err(|_| out_of_range("type exceeds 255"))?;
        ObjectId::new(space, type_id, c).ok_or_else(|| out_of_range("instance exceeds 2^48-1"))
    }
}

crate::impl_serde_as_string!(ObjectId, "an object id string such as \"1.2.17\"");

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $space:literal, $type_id:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(u64);

        impl $name {
            /// Object space of this id kind.
            pub const SPACE: u8 = $space;
            /// Object type of this id kind.
            pub const TYPE_ID: u8 = $type_id;

            /// The id with this instance; `None` when it exceeds 48 bits.
            pub const fn new(instance: u64) -> Option<Self> {
                if instance <= MAX_INSTANCE { Some($name(instance)) } else { None }
            }

            /// The instance number.
            pub const fn instance(self) -> u64 {
                self.0
            }
        }

        impl From<$name> for ObjectId {
            fn from(id: $name) -> ObjectId {
                ObjectId { space: $space, type_id: $type_id, instance: id.0 }
            }
        }

        impl TryFrom<ObjectId> for $name {
            type Error = IdError;
            fn try_from(id: ObjectId) -> Result<Self, IdError> {
                if id.space == $space && id.type_id == $type_id {
                    Ok($name(id.instance))
                } else {
                    Err(IdError::WrongType {
                        input: id.to_string(),
                        expected: $what,
                        space: $space,
                        type_id: $type_id,
                    })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}.{}.{}", $space, $type_id, self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                s.parse::<ObjectId>()?.try_into()
            }
        }

        crate::impl_serde_as_string!($name, concat!($what, " id string"));

        impl Pack for $name {
            fn pack(&self, out: &mut Vec<u8>) {
                raw::write_varint(out, self.0);
            }
        }

        impl Unpack for $name {
            fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
                let n = raw::read_varint(r)?;
                $name::new(n).ok_or_else(|| RawError::invalid($what, "instance exceeds 2^48-1"))
            }
        }
    };
}

typed_id!(
    /// An account, `1.2.N`.
    AccountId, 1, 2, "an account"
);
typed_id!(
    /// An asset, `1.3.N`; `1.3.0` is the core asset (BTS).
    AssetId, 1, 3, "an asset"
);
typed_id!(
    /// A committee member, `1.5.N`.
    CommitteeMemberId, 1, 5, "a committee member"
);
typed_id!(
    /// A witness (block producer), `1.6.N`.
    WitnessId, 1, 6, "a witness"
);
typed_id!(
    /// A proposed transaction waiting for approvals, `1.10.N`.
    ProposalId, 1, 10, "a proposal"
);

impl AccountId {
    /// `committee-account`, 1.2.0.
    pub const COMMITTEE: AccountId = AccountId(0);
    /// `witness-account`, 1.2.1.
    pub const WITNESS: AccountId = AccountId(1);
    /// `relaxed-committee-account`, 1.2.2.
    pub const RELAXED_COMMITTEE: AccountId = AccountId(2);
    /// `null-account`, 1.2.3.
    pub const NULL: AccountId = AccountId(3);
    /// `temp-account`, 1.2.4.
    pub const TEMP: AccountId = AccountId(4);
    /// `proxy-to-self`, 1.2.5: the voting account meaning "vote for yourself".
    pub const PROXY_TO_SELF: AccountId = AccountId(5);
}

impl AssetId {
    /// The core asset, 1.3.0.
    pub const CORE: AssetId = AssetId(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let id: AccountId = "1.2.17".parse().unwrap();
        assert_eq!(id.instance(), 17);
        assert_eq!(id.to_string(), "1.2.17");
        assert_eq!("2.1.0".parse::<ObjectId>().unwrap().to_string(), "2.1.0");
        assert_eq!(raw::to_bytes(&AccountId::new(200).unwrap()), [0xc8, 0x01]);
    }

    #[test]
    fn errors_name_the_problem() {
        let err = "1.3.0".parse::<AccountId>().unwrap_err();
        assert_eq!(err.to_string(), "\"1.3.0\" is not an account id (expected 1.2.N)");
        for bad in [
            "", "1.2", "1.2.3.4", "1.2.-1", "1.2.+1", " 1.2.3", "1.2.017", "a.b.c", "1..2",
        ] {
            assert!(
                matches!(bad.parse::<ObjectId>(), Err(IdError::Malformed { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!("256.1.1".parse::<ObjectId>(), Err(IdError::OutOfRange { .. })));
        assert!(matches!(
            "1.2.281474976710656".parse::<ObjectId>(),
            Err(IdError::OutOfRange { .. })
        ));
        assert!("1.2.281474976710655".parse::<AccountId>().is_ok());
    }
}
