//! Client address to country and continent, from a MaxMind-format database (GeoLite2-Country,
//! DB-IP Lite, or one the tests generate). Read once into memory at start and on reload; a lookup
//! is a walk down the file's search tree, no allocation.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A database that cannot be used.
#[derive(Debug, Error)]
#[error("cannot use the geo database {path}: {reason}")]
pub struct GeoError {
    /// The file.
    pub path: PathBuf,
    /// Why: unreadable, not a MaxMind DB, or without country data.
    pub reason: String,
}

/// A two-letter code (`US`, `AS`), stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code([u8; 2]);

impl Code {
    /// The code of a two-letter ASCII string, in capitals; `None` for anything else.
    pub fn new(text: &str) -> Option<Code> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Code([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// Where an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    /// ISO 3166-1 country code.
    pub country: Option<Code>,
    /// Continent code: AF, AN, AS, EU, NA, OC, SA.
    pub continent: Option<Code>,
}

/// An open database.
pub struct GeoDb {
    path: PathBuf,
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    country: Option<Named<'a>>,
    #[serde(borrow, default)]
    continent: Option<Named<'a>>,
}

#[derive(serde::Deserialize)]
struct Named<'a> {
    #[serde(default)]
    iso_code: Option<&'a str>,
    #[serde(default)]
    code: Option<&'a str>,
}

impl GeoDb {
    /// Reads a database file into memory and checks that it is one.
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        let error = |reason: String| GeoError {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        let mut db = GeoDb::from_bytes(bytes).map_err(|e| error(e.reason))?;
        db.path = path.to_owned();
        Ok(db)
    }

    /// A database from its bytes (tests build them in memory).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoError {
            path: PathBuf::from("<memory>"),
            reason: e.to_string(),
        })?;
        Ok(GeoDb {
            path: PathBuf::from("<memory>"),
            reader,
        })
    }

    /// The place of an address; empty when the database does not know it (private ranges, a
    /// malformed record).
    pub fn lookup(&self, ip: IpAddr) -> Place {
        let Ok(result) = self.reader.lookup(ip) else {
            return Place::default();
        };
        match result.decode::<Record<'_>>() {
            Ok(Some(record)) => Place {
                country: record.country.and_then(|c| c.iso_code).and_then(Code::new),
                continent: record.continent.and_then(|c| c.code).and_then(Code::new),
            },
            _ => Place::default(),
        }
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_letters() {
        assert_eq!(Code::new("us").map(|c| c.as_str().to_owned()).as_deref(), Some("US"));
        assert_eq!(Code::new("USA"), None);
        assert_eq!(Code::new("1A"), None);
        assert_eq!(Code::new(""), None);
    }

    #[test]
    fn garbage_is_not_a_database() {
        let e = GeoDb::from_bytes(b"not a database".to_vec()).unwrap_err();
        assert!(!e.reason.is_empty());
        let e = GeoDb::open(Path::new("/nonexistent/x.mmdb")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.mmdb"), "{e}");
    }
}
