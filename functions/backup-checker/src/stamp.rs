//! The two text forms of a time the checker reads and writes, and durations for people. Times
//! are `OffsetDateTime` (UTC), spans `Duration`; texts are to the second.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// Parses duplicity's `YYYYMMDDTHHMMSSZ` (UTC).
pub fn parse_duplicity(text: &str) -> Option<OffsetDateTime> {
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Formats as duplicity does (`20261125T070001Z`), to name files.
pub fn duplicity(t: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    utc(t)
        .format(&format)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Formats as RFC 3339 to the second (`2026-11-25T07:00:01Z`), for people.
pub fn iso(t: OffsetDateTime) -> String {
    utc(t)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A span in hours and minutes (`26h05m`), for people.
pub fn hours(span: Duration) -> String {
    let sign = if span.is_negative() { "-" } else { "" };
    let secs = span.whole_seconds().unsigned_abs();
    format!("{sign}{}h{:02}m", secs / 3600, secs % 3600 / 60)
}

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_and_rejects() {
        let t = parse_duplicity("20261125T070001Z").unwrap();
        assert_eq!(t, datetime!(2026-11-25 07:00:01 UTC));
        assert_eq!(duplicity(t), "20261125T070001Z");
        assert_eq!(iso(t), "2026-11-25T07:00:01Z");
        assert_eq!(
            iso(datetime!(2026-11-25 07:00:01.999 UTC)),
            "2026-11-25T07:00:01Z",
            "to the second"
        );
        assert_eq!(
            iso(datetime!(2026-11-25 08:00:01 +01:00)),
            "2026-11-25T07:00:01Z",
            "in UTC"
        );
        for bad in [
            "20261125T070001",
            "2026112T5070001Z",
            "20261325T070001Z",
            "20261125t070001z",
            "20261125T250001Z",
            "",
            "２0261125T070001Z",
        ] {
            assert_eq!(parse_duplicity(bad), None, "{bad}");
        }
        assert_eq!(hours(Duration::seconds(26 * 3600 + 5 * 60 + 9)), "26h05m");
        assert_eq!(hours(Duration::seconds(-90)), "-0h01m");
    }
}
