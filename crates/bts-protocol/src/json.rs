//! JSON conventions of the node (fc variants) that serde does not do by default.
//!
//! fc writes 64-bit integers that do not fit in 32 bits as strings
//! (`stringify_large_ints_and_doubles`): an `int64` outside `i32` range and a `uint64` above
//! `u32::MAX` become `"1000000000000000"`. Clients do the same, so when reading we accept both
//! forms for every 64-bit field.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// `#[serde(with = "json::i64_compat")]` for `int64` fields (`share_type`).
pub mod i64_compat {
    use super::*;

    /// Writes `v` as fc does: a number within `i32` range, else a string.
    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        if i32::try_from(*v).is_ok() {
            s.serialize_i64(*v)
        } else {
            s.collect_str(v)
        }
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(IntVisitor::<i64>::new("a 64-bit signed integer"))
    }
}

/// `#[serde(with = "json::u64_compat")]` for `uint64` fields.
pub mod u64_compat {
    use super::*;

    /// Writes `v` as fc does: a number up to `u32::MAX`, else a string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if u32::try_from(*v).is_ok() {
            s.serialize_u64(*v)
        } else {
            s.collect_str(v)
        }
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(IntVisitor::<u64>::new("a 64-bit unsigned integer"))
    }
}

struct IntVisitor<T> {
    expecting: &'static str,
    _t: std::marker::PhantomData<T>,
}

impl<T> IntVisitor<T> {
    fn new(expecting: &'static str) -> Self {
        IntVisitor {
            expecting,
            _t: std::marker::PhantomData,
        }
    }
}

impl<T> Visitor<'_> for IntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (a number or a decimal string)", self.expecting)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range for {}", self.expecting)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range for {}", self.expecting)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        // `str::parse` accepts a leading '+'; fc does not write one, and neither do we accept it.
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(format_args!("{v:?} is not {}", self.expecting)));
        }
        v.parse()
            .map_err(|_| E::custom(format_args!("{v:?} is out of range for {}", self.expecting)))
    }
}

/// Bytes written as a lowercase hex string (fc `vector<char>`).
pub mod hex_bytes {
    use super::*;

    /// Writes lowercase hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        hex::encode(v).serialize(s)
    }

    /// Reads a hex string (either case).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(s.as_ref()).map_err(|e| de::Error::custom(format_args!("invalid hex: {e}")))
    }
}

/// Implements `Serialize`/`Deserialize` through `Display`/`FromStr`, for types whose node JSON
/// form is a string (ids, keys, times).
#[macro_export]
#[doc(hidden)]
macro_rules! impl_serde_as_string {
    ($ty:ty, $expecting:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct T {
        #[serde(with = "i64_compat")]
        a: i64,
        #[serde(with = "u64_compat")]
        b: u64,
    }

    #[test]
    fn large_ints_are_strings_like_fc() {
        let t = T {
            a: 1_000_000_000_000_000,
            b: u64::from(u32::MAX),
        };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"a": "1000000000000000", "b": 4294967295u64})
        );
        let t = T { a: -5, b: 1 << 32 };
        assert_eq!(serde_json::to_value(&t).unwrap(), json!({"a": -5, "b": "4294967296"}));
    }

    #[test]
    fn numbers_and_strings_are_both_read() {
        let t: T = serde_json::from_value(json!({"a": "-12", "b": 7})).unwrap();
        assert_eq!(t, T { a: -12, b: 7 });
        for bad in [
            json!({"a": "+1", "b": 1}),
            json!({"a": "1e3", "b": 1}),
            json!({"a": 1, "b": -1}),
        ] {
            assert!(serde_json::from_value::<T>(bad.clone()).is_err(), "{bad}");
        }
    }
}
