//! `fc::time_point_sec`: whole seconds since the Unix epoch, UTC, as an unsigned 32-bit number.
//!
//! JSON form is `"2024-01-01T00:00:30"`: no fraction and no zone, as the node writes it. When
//! reading we also accept a trailing `Z`, which some clients add.

use crate::raw::{Pack, RawError, Reader, Unpack};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A point in time with one-second resolution, from 1970-01-01T00:00:00 to 2106-02-07T06:28:15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimePointSec(pub u32);

/// A time string that is not `YYYY-MM-DDTHH:MM:SS` or is outside the 32-bit range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not a time: {reason}")]
pub struct TimeError {
    input: String,
    reason: &'static str,
}

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

impl TimePointSec {
    /// The largest time, `2106-02-07T06:28:15`; a lifetime membership expires then.
    pub const MAXIMUM: TimePointSec = TimePointSec(u32::MAX);

    /// Seconds since the epoch.
    pub const fn secs(self) -> u32 {
        self.0
    }

    /// This time plus `secs`, saturating at [`Self::MAXIMUM`].
    pub const fn saturating_add(self, secs: u32) -> Self {
        TimePointSec(self.0.saturating_add(secs))
    }
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = OffsetDateTime::from_unix_timestamp(i64::from(self.0)).expect("every u32 second count is a valid date");
        let s = t.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl FromStr for TimePointSec {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, TimeError> {
        let err = |reason| TimeError {
            input: s.to_owned(),
            reason,
        };
        let body = s.strip_suffix('Z').unwrap_or(s);
        let t =
            PrimitiveDateTime::parse(body, FORMAT).map_err(|_| err("expected YYYY-MM-DDTHH:MM:SS (UTC, no zone)"))?;
        let secs = t.assume_utc().unix_timestamp();
        u32::try_from(secs)
            .map(TimePointSec)
            .map_err(|_| err("outside 1970-01-01T00:00:00 ..= 2106-02-07T06:28:15"))
    }
}

crate::impl_serde_as_string!(TimePointSec, "a time string such as \"2024-01-01T00:00:30\"");

impl Pack for TimePointSec {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for TimePointSec {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        u32::unpack(r).map(TimePointSec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_format() {
        let t: TimePointSec = "2024-01-01T00:00:30".parse().unwrap();
        assert_eq!(t.0, 1_704_067_230);
        assert_eq!(t.to_string(), "2024-01-01T00:00:30");
        assert_eq!(TimePointSec::MAXIMUM.to_string(), "2106-02-07T06:28:15");
        assert_eq!(TimePointSec(0).to_string(), "1970-01-01T00:00:00");
        assert_eq!("2024-01-01T00:00:30Z".parse::<TimePointSec>(), Ok(t));
    }

    #[test]
    fn rejects_other_forms() {
        for bad in [
            "2024-01-01 00:00:30",
            "2024-01-01T00:00:30.000",
            "2024-01-01T00:00:30+01:00",
            "2024-13-01T00:00:00",
            "1969-12-31T23:59:59",
            "2106-02-07T06:28:16",
            "",
        ] {
            assert!(bad.parse::<TimePointSec>().is_err(), "{bad:?}");
        }
    }
}
