//! Times as Unix seconds, and the two text forms the checker reads and writes.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Parses duplicity's `YYYYMMDDTHHMMSSZ` (UTC).
pub fn parse_duplicity(text: &str) -> Option<i64> {
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Formats as duplicity does (`20261125T070001Z`), to name files.
pub fn duplicity(secs: i64) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    utc(secs)
        .format(&format)
        .unwrap_or_else(|_| secs.to_string())
}

/// Formats as RFC 3339 (`2026-11-25T07:00:01Z`), for people.
pub fn iso(secs: i64) -> String {
    utc(secs)
        .format(&Rfc3339)
        .unwrap_or_else(|_| secs.to_string())
}

/// A duration in hours and minutes (`26h05m`), for people.
pub fn hours(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let secs = secs.unsigned_abs();
    format!("{sign}{}h{:02}m", secs / 3600, secs % 3600 / 60)
}

fn utc(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let t = parse_duplicity("20261125T070001Z").unwrap();
        assert_eq!(t, 1_795_590_001);
        assert_eq!(duplicity(t), "20261125T070001Z");
        assert_eq!(iso(t), "2026-11-25T07:00:01Z");
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
        assert_eq!(hours(26 * 3600 + 5 * 60 + 9), "26h05m");
        assert_eq!(hours(-90), "-0h01m");
    }
}
