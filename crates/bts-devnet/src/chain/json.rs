//! Small helpers for writing values the way the node's JSON (fc variants) writes them.

use serde_json::Value;

/// An `int64` as fc writes it: a number within `i32` range, else a decimal string.
pub(crate) fn int(v: i64) -> Value {
    if i32::try_from(v).is_ok() {
        Value::from(v)
    } else {
        Value::String(v.to_string())
    }
}

/// A `uint64` as fc writes it: a number up to `u32::MAX`, else a decimal string.
pub(crate) fn uint(v: u64) -> Value {
    if u32::try_from(v).is_ok() {
        Value::from(v)
    } else {
        Value::String(v.to_string())
    }
}

/// Lowercase hex, as fc writes hashes and raw bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Any serializable protocol value as JSON. Protocol types serialize infallibly (strings,
/// numbers, maps with string keys), so a failure is a bug in this crate, not bad input.
pub(crate) fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("protocol values serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_ints_are_strings() {
        assert_eq!(int(102_100_000), Value::from(102_100_000));
        assert_eq!(int(1_000_000_000_000_000), Value::from("1000000000000000"));
        assert_eq!(int(-5), Value::from(-5));
        assert_eq!(uint(u64::from(u32::MAX)), Value::from(u32::MAX));
        assert_eq!(uint(1 << 32), Value::from("4294967296"));
        assert_eq!(hex(&[0x00, 0xab, 0x3f]), "00ab3f");
    }
}
