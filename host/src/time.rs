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
