//! The functions' one time type is `time::OffsetDateTime` (UTC): instants read from AWS come
//! in as the SDK's `DateTime` and are converted here, once.

use time::OffsetDateTime;

/// An SDK timestamp as an instant. `None` only outside what `OffsetDateTime` holds (years
/// before -9999 or after 9999), which no AWS timestamp is.
pub fn instant(t: &aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sdk_timestamp_keeps_its_instant_to_the_nanosecond() {
        let sdk = aws_smithy_types::DateTime::from_secs_and_nanos(1_764_990_000, 123_456_789);
        let t = instant(&sdk).unwrap();
        assert_eq!(t.unix_timestamp(), 1_764_990_000);
        assert_eq!(t.nanosecond(), 123_456_789);
        assert_eq!(
            instant(&aws_smithy_types::DateTime::from_secs(0)),
            Some(OffsetDateTime::UNIX_EPOCH)
        );
    }
}
