//! Instants and calendar days as the domain sees them. Core never reads the clock:
//! callers pass `Timestamp`s in through [`crate::Ctx`].

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{format_description::well_known::Rfc3339, Date, OffsetDateTime};

const INSTANT_FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

use crate::error::{CoreError, Result};

/// Milliseconds since the Unix epoch, UTC. Serialised as RFC 3339 so JSON output is readable,
/// always with three fractional digits: text of equal width sorts like the instants it names,
/// which the window's lists and anyone piping `--json` rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Timestamp(pub i64);

pub const DAY_MS: i64 = 86_400_000;

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The calendar day (UTC) this instant falls on.
    pub fn day(self) -> Day {
        Day(self.datetime().date())
    }

    /// `YYYY-MM` of this instant: the period that names a decision shard.
    pub fn period(self) -> String {
        let d = self.datetime().date();
        format!("{:04}-{:02}", d.year(), u8::from(d.month()))
    }

    /// `YYYY-MM-DD HH:MM UTC`, for sentences.
    pub fn minute(self) -> String {
        let d = self.datetime();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    }

    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_add(days.saturating_mul(DAY_MS)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.datetime().format(INSTANT_FORMAT) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let dt = OffsetDateTime::parse(&s, &Rfc3339).map_err(serde::de::Error::custom)?;
        let ms = dt.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Timestamp)
            .map_err(serde::de::Error::custom)
    }
}

/// A calendar day, for due dates and review dates. Written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Day(pub Date);

const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Day {
    pub fn parse(s: &str) -> Result<Day> {
        Date::parse(s.trim(), DAY_FORMAT)
            .map(Day)
            .map_err(|_| CoreError::invalid(format!("`{s}` is not a date: write it as YYYY-MM-DD")))
    }

    /// The first instant of this day, UTC.
    pub fn start(self) -> Timestamp {
        let secs = self.0.midnight().assume_utc().unix_timestamp();
        Timestamp(secs.saturating_mul(1000))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(DAY_FORMAT) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_and_day_follow_utc() {
        // 2026-11-22T00:40:00Z
        let t = Timestamp(1_795_308_000_000);
        assert_eq!(t.period(), "2026-11");
        assert_eq!(t.day().to_string(), "2026-11-22");
        assert_eq!(
            Day::parse("2026-11-22").unwrap().start().period(),
            "2026-11"
        );
    }

    #[test]
    fn bad_day_says_the_format() {
        let err = Day::parse("22/11/2026").unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn whole_seconds_keep_their_fraction_so_text_sorts_like_time() {
        // A pass is stamped in whole seconds, a decision in milliseconds: listed together,
        // "…:02Z" once sorted after "…:02.012Z".
        let whole = Timestamp(1_795_308_002_000);
        let later = Timestamp(1_795_308_002_012);
        assert_eq!(whole.to_string(), "2026-11-22T00:40:02.000Z");
        assert!(later.to_string() > whole.to_string());
    }

    proptest::proptest! {
        #[test]
        fn text_order_is_time_order(a in 0i64..253_402_300_799_000, b in 0i64..253_402_300_799_000) {
            let (ta, tb) = (Timestamp(a), Timestamp(b));
            proptest::prop_assert_eq!(ta.cmp(&tb), ta.to_string().cmp(&tb.to_string()));
            proptest::prop_assert_eq!(serde_json::from_str::<Timestamp>(&serde_json::to_string(&ta).unwrap()).unwrap(), ta);
        }
    }

    #[test]
    fn timestamp_json_roundtrip() {
        let t = Timestamp(1_795_308_000_123);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, "\"2026-11-22T00:40:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&s).unwrap(), t);
    }
}
