//! A minimal MaxMind DB writer for tests: an IPv6 database (IPv4 under `::/96`, where readers look
//! for it) with 24-bit records, mapping networks to `{country: {iso_code}, continent: {code}}`
//! records, the shape of GeoLite2-Country. Follows the MaxMind DB format 2.0 specification:
//! search tree, 16 zero bytes, data section, metadata marker, metadata map.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// A value in the data section.
enum Value {
    Str(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(BTreeMap<String, Value>),
    Array(Vec<Value>),
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The control byte(s) for type `kind` (1..=15) and `size`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (low, extra): (u8, Vec<u8>) = match size {
        s if s < 29 => (s as u8, vec![]),
        s if s < 29 + 256 => (29, vec![(s - 29) as u8]),
        s if s < 285 + 65_536 => (30, ((s - 285) as u16).to_be_bytes().to_vec()),
        s => (31, ((s - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | low);
    } else {
        out.push(low);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn uint(out: &mut Vec<u8>, kind: u8, value: u64, width: usize) {
    let bytes = value.to_be_bytes();
    let significant: Vec<u8> = bytes[8 - width..].iter().copied().skip_while(|b| *b == 0).collect();
    control(out, kind, significant.len());
    out.extend(significant);
}

fn encode(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        Value::U16(v) => uint(out, 5, u64::from(*v), 2),
        Value::U32(v) => uint(out, 6, u64::from(*v), 4),
        Value::U64(v) => uint(out, 9, *v, 8),
        Value::Map(m) => {
            control(out, 7, m.len());
            for (k, v) in m {
                encode(out, &Value::Str(k.clone()));
                encode(out, v);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Child {
    Empty,
    Node(usize),
    Data(usize),
}

/// Networks and their country records, written as a database.
#[derive(Default)]
pub struct Writer {
    /// The search tree: two children per node; node 0 is the root.
    nodes: Vec<[Child; 2]>,
    /// Encoded records and their offsets in the data section.
    data: Vec<u8>,
    records: BTreeMap<(String, String), usize>,
}

impl Writer {
    /// An empty database.
    pub fn new() -> Writer {
        Writer {
            nodes: vec![[Child::Empty; 2]],
            ..Writer::default()
        }
    }

    /// Maps `network` (`"127.0.1.0/24"`, `"::1/128"`) to a country and continent code.
    pub fn insert(&mut self, network: &str, country: &str, continent: &str) {
        let (addr, len) = network.split_once('/').expect("CIDR");
        let addr: IpAddr = addr.parse().expect("address");
        let len: usize = len.parse().expect("prefix length");
        let (bits, len) = match addr {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), len + 96),
            IpAddr::V6(v6) => (u128::from(v6), len),
        };
        let record = self.record(country, continent);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == len {
                self.nodes[node][bit] = Child::Data(record);
                return;
            }
            node = match self.nodes[node][bit] {
                Child::Node(next) => next,
                // Test networks do not overlap; a record above this one would be split here.
                Child::Empty | Child::Data(_) => {
                    self.nodes.push([Child::Empty; 2]);
                    let next = self.nodes.len() - 1;
                    self.nodes[node][bit] = Child::Node(next);
                    next
                }
            };
        }
    }

    fn record(&mut self, country: &str, continent: &str) -> usize {
        let key = (country.to_owned(), continent.to_owned());
        if let Some(offset) = self.records.get(&key) {
            return *offset;
        }
        let offset = self.data.len();
        let value = map(vec![
            ("continent", map(vec![("code", Value::Str(continent.into()))])),
            ("country", map(vec![("iso_code", Value::Str(country.into()))])),
        ]);
        encode(&mut self.data, &value);
        self.records.insert(key, offset);
        offset
    }

    /// The database file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let count = self.nodes.len();
        let value = |c: Child| -> u32 {
            let v = match c {
                Child::Empty => count,
                Child::Node(i) => i,
                Child::Data(offset) => count + 16 + offset,
            };
            u32::try_from(v).expect("fits 24 bits")
        };
        let mut out = Vec::new();
        for [left, right] in &self.nodes {
            out.extend(&value(*left).to_be_bytes()[1..]);
            out.extend(&value(*right).to_be_bytes()[1..]);
        }
        out.extend([0u8; 16]);
        out.extend(&self.data);
        out.extend(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(1_700_000_000)),
            ("database_type", Value::Str("bts-infra-Test-Country".into())),
            (
                "description",
                map(vec![("en", Value::Str("bts-gateway test database".into()))]),
            ),
            ("ip_version", Value::U16(6)),
            ("languages", Value::Array(vec![Value::Str("en".into())])),
            ("node_count", Value::U32(count as u32)),
            ("record_size", Value::U16(24)),
        ]);
        encode(&mut out, &metadata);
        out
    }
}

/// The test database: loopback and documentation ranges in three countries on three continents.
/// 127.0.0.0/24 → US (NA), 127.0.1.0/24 → JP (AS), 127.0.2.0/24 → DE (EU), 192.0.2.0/24 → JP
/// (AS), ::1 → US (NA). Everything else is unknown.
pub fn test_database() -> Vec<u8> {
    let mut w = Writer::new();
    w.insert("127.0.0.0/24", "US", "NA");
    w.insert("127.0.1.0/24", "JP", "AS");
    w.insert("127.0.2.0/24", "DE", "EU");
    w.insert("192.0.2.0/24", "JP", "AS");
    w.insert("::1/128", "US", "NA");
    w.build()
}
