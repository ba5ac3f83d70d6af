//! Time formats on the wire: RFC 3339 UTC (native API), unix seconds (OpenAI
//! face).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 UTC with second precision.
pub fn now_rfc3339() -> String {
    to_rfc3339(OffsetDateTime::now_utc())
}

/// A time as RFC 3339 UTC with second precision.
pub fn to_rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&Rfc3339)
        .expect("RFC 3339 formats any UTC time")
}

/// Unix seconds of an RFC 3339 time (0 if it does not parse).
pub fn unix_seconds(rfc3339: &str) -> i64 {
    OffsetDateTime::parse(rfc3339, &Rfc3339).map_or(0, |t| t.unix_timestamp())
}

/// Now, in unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The clock of time-dependent rules (strike windows, appeal deadlines):
/// the system clock, shifted by a fixed offset when the operator's tests set
/// `IMINI_TEST_CLOCK_OFFSET_SECS`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset_secs: i64,
}

impl Clock {
    /// The system clock, shifted by `offset_secs`.
    pub fn shifted(offset_secs: i64) -> Self {
        Self { offset_secs }
    }

    /// Now, by this clock.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.offset_secs)
    }
}
