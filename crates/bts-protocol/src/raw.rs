//! fc raw serialization: the binary format BitShares hashes and signs.
//!
//! The node computes transaction ids and signing digests over this encoding, so every byte has to
//! match `fc::raw::pack` exactly. Integers are fixed-width little-endian, lengths and counts are
//! LEB128 varints (`fc::unsigned_int`), containers are a count followed by their elements.
//!
//! Decoding is strict about truncation and trailing bytes and never allocates more than the input
//! could describe, so it is safe on untrusted bytes.

use thiserror::Error;

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RawError {
    /// The input ended in the middle of a value.
    #[error("unexpected end of input while reading {what}")]
    Truncated {
        /// The value being read.
        what: &'static str,
    },
    /// A varint did not fit in 64 bits.
    #[error("varint is longer than 64 bits")]
    VarintOverflow,
    /// A value was read but is not acceptable (bad tag, bad key, count too large, ...).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The value being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Decoding finished before the end of the input.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
}

impl RawError {
    /// Shorthand for [`RawError::Invalid`].
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        RawError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// A type with an fc raw encoding.
pub trait Pack {
    /// Appends the encoding of `self` to `out`.
    fn pack(&self, out: &mut Vec<u8>);
}

/// A type that can be decoded from its fc raw encoding.
pub trait Unpack: Sized {
    /// Reads one value from `r`.
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError>;
}

/// Encodes a value.
pub fn to_bytes<T: Pack + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.pack(&mut out);
    out
}

/// Decodes a value that must span the whole input.
pub fn from_bytes<T: Unpack>(bytes: &[u8]) -> Result<T, RawError> {
    let mut r = Reader::new(bytes);
    let value = T::unpack(&mut r)?;
    match r.remaining() {
        0 => Ok(value),
        n => Err(RawError::TrailingBytes(n)),
    }
}

/// A cursor over input bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    depth: u32,
}

/// How deeply values may nest inside each other (a proposal wrapping a proposal wrapping ...).
/// fc stops at 1000 levels of any struct; real transactions nest proposals two or three deep, and
/// without a bound a forged input of nested proposals would exhaust the stack.
pub const MAX_NESTING: u32 = 16;

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, depth: 0 }
    }

    /// Reads a value that may contain itself (an operation inside a proposal), one level deeper;
    /// an error past [`MAX_NESTING`] levels.
    pub fn nested<T>(
        &mut self,
        what: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, RawError>,
    ) -> Result<T, RawError> {
        if self.depth >= MAX_NESTING {
            return Err(RawError::invalid(
                what,
                format!("nested more than {MAX_NESTING} levels deep"),
            ));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RawError> {
        if self.buf.len() < n {
            return Err(RawError::Truncated { what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], RawError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads an element count and checks that the input could hold that many elements of at
    /// least `min_size` bytes each, so a forged count cannot make us allocate gigabytes.
    pub fn count(&mut self, what: &'static str, min_size: usize) -> Result<usize, RawError> {
        let n = read_varint(self)?;
        let fits = usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_size.max(1)) <= self.remaining());
        fits.ok_or_else(|| {
            RawError::invalid(
                what,
                format!("count {n} exceeds the {} remaining bytes", self.remaining()),
            )
        })
    }
}

/// Appends `v` as an LEB128 varint (`fc::unsigned_int`).
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads an LEB128 varint. Like fc, a non-minimal encoding is accepted.
pub fn read_varint(r: &mut Reader<'_>) -> Result<u64, RawError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = r.take(1, "varint")?[0];
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(RawError::VarintOverflow);
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(RawError::VarintOverflow)
}

macro_rules! fixed_int {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Unpack for $t {
            fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
                Ok(<$t>::from_le_bytes(r.array(stringify!($t))?))
            }
        }
    )*};
}
fixed_int!(u8, u16, u32, u64, i64);

impl Pack for bool {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Unpack for bool {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        match r.take(1, "bool")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(RawError::invalid("bool", format!("byte {b:#04x} is neither 0 nor 1"))),
        }
    }
}

impl Pack for str {
    fn pack(&self, out: &mut Vec<u8>) {
        self.as_bytes().pack(out);
    }
}

impl Pack for String {
    fn pack(&self, out: &mut Vec<u8>) {
        self.as_str().pack(out);
    }
}

impl Unpack for String {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        let n = r.count("string length", 1)?;
        let bytes = r.take(n, "string")?;
        String::from_utf8(bytes.to_vec()).map_err(|e| RawError::invalid("string", e.to_string()))
    }
}

/// `vector<char>` and the like: a length and raw bytes.
impl Pack for [u8] {
    fn pack(&self, out: &mut Vec<u8>) {
        write_varint(out, self.len() as u64);
        out.extend_from_slice(self);
    }
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        write_varint(out, self.len() as u64);
        for item in self {
            item.pack(out);
        }
    }
}

impl<T: Unpack> Unpack for Vec<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        let n = r.count("vector", 1)?;
        (0..n).map(|_| T::unpack(r)).collect()
    }
}

/// `fc::optional<T>`: a presence byte, then the value.
impl<T: Pack> Pack for Option<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.pack(out);
            }
        }
    }
}

impl<T: Unpack> Unpack for Option<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        match bool::unpack(r)? {
            false => Ok(None),
            true => T::unpack(r).map(Some),
        }
    }
}

impl<A: Pack, B: Pack> Pack for (A, B) {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
        self.1.pack(out);
    }
}

impl<A: Unpack, B: Unpack> Unpack for (A, B) {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        Ok((A::unpack(r)?, B::unpack(r)?))
    }
}

/// Implements [`Pack`] and [`Unpack`] for a struct by encoding its fields in declaration order,
/// which is what `FC_REFLECT` does.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_raw_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::raw::Pack for $ty {
            fn pack(&self, out: &mut Vec<u8>) {
                $( $crate::raw::Pack::pack(&self.$field, out); )*
            }
        }
        impl $crate::raw::Unpack for $ty {
            fn unpack(r: &mut $crate::raw::Reader<'_>) -> Result<Self, $crate::raw::RawError> {
                Ok($ty { $( $field: $crate::raw::Unpack::unpack(r)?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_fc_unsigned_int() {
        for (value, hex) in [
            (0u64, "00"),
            (1, "01"),
            (127, "7f"),
            (128, "8001"),
            (200, "c801"),
            (16384, "808001"),
            (u64::MAX, "ffffffffffffffffff01"),
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(hex::encode(&out), hex, "encoding {value}");
            assert_eq!(read_varint(&mut Reader::new(&out)), Ok(value));
        }
    }

    #[test]
    fn varint_rejects_overflow_and_truncation() {
        let too_long = [0xff; 10].iter().chain(&[0x01]).copied().collect::<Vec<_>>();
        assert_eq!(read_varint(&mut Reader::new(&too_long)), Err(RawError::VarintOverflow));
        let eleventh_bit = hex::decode("ffffffffffffffffff02").unwrap();
        assert_eq!(
            read_varint(&mut Reader::new(&eleventh_bit)),
            Err(RawError::VarintOverflow)
        );
        assert!(matches!(
            read_varint(&mut Reader::new(&[0x80])),
            Err(RawError::Truncated { .. })
        ));
    }

    #[test]
    fn forged_count_does_not_allocate() {
        let bytes = hex::decode("ffffffff0f00").unwrap();
        let err = from_bytes::<Vec<u64>>(&bytes).unwrap_err();
        assert!(matches!(err, RawError::Invalid { what: "vector", .. }), "{err}");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        assert_eq!(from_bytes::<u16>(&[1, 0, 0]), Err(RawError::TrailingBytes(1)));
    }
}
