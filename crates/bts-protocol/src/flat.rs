//! `flat_map` and `flat_set`: sorted, duplicate-free containers as fc serializes them.
//!
//! The node reads a map or set from JSON by inserting entries one by one (a repeated key keeps
//! its first value) and writes and hashes it in sorted order. A transaction that lists keys in
//! another order is therefore signed over the sorted form: these types sort on construction so
//! our bytes are the node's bytes.

use crate::raw::{Pack, RawError, Reader, Unpack};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A sorted map with unique keys, serialized as `[[key, value], ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlatMap<K, V>(Vec<(K, V)>);

impl<K: Ord, V> FlatMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        FlatMap(Vec::new())
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(K, V)> {
        self.0.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.0.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.0[i].1)
    }
}

impl<K: Ord, V> Default for FlatMap<K, V> {
    fn default() -> Self {
        FlatMap::new()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for FlatMap<K, V> {
    /// Sorts by key; of repeated keys the first one wins, as in the node.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0)); // stable: keeps the first of equal keys in front
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        FlatMap(entries)
    }
}

impl<K, V> IntoIterator for FlatMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Serialize, V: Serialize> Serialize for FlatMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for FlatMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(K, V)>::deserialize(d).map(FromIterator::from_iter)
    }
}

impl<K: Pack, V: Pack> Pack for FlatMap<K, V> {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl<K: Unpack + Ord, V: Unpack> Unpack for FlatMap<K, V> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        Vec::<(K, V)>::unpack(r).map(FromIterator::from_iter)
    }
}

/// A sorted set of unique values, serialized as `[value, ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlatSet<T>(Vec<T>);

impl<T: Ord> FlatSet<T> {
    /// An empty set.
    pub const fn new() -> Self {
        FlatSet(Vec::new())
    }

    /// Values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> {
        self.0.iter()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: &T) -> bool {
        self.0.binary_search(value).is_ok()
    }
}

impl<T: Ord> Default for FlatSet<T> {
    fn default() -> Self {
        FlatSet::new()
    }
}

impl<T: Ord> FromIterator<T> for FlatSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut values: Vec<T> = iter.into_iter().collect();
        values.sort();
        values.dedup();
        FlatSet(values)
    }
}

impl<T: Serialize> Serialize for FlatSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de> + Ord> Deserialize<'de> for FlatSet<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(FromIterator::from_iter)
    }
}

impl<T: Pack> Pack for FlatSet<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl<T: Unpack + Ord> Unpack for FlatSet<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        Vec::<T>::unpack(r).map(FromIterator::from_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_first_wins() {
        let m: FlatMap<u32, &str> = [(3, "c"), (1, "a"), (3, "x"), (2, "b")].into_iter().collect();
        assert_eq!(m.iter().cloned().collect::<Vec<_>>(), [(1, "a"), (2, "b"), (3, "c")]);
        assert_eq!(m.get(&3), Some(&"c"));
        let s: FlatSet<u8> = [5, 1, 5, 2].into_iter().collect();
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 2, 5]);
    }
}
