//! The operators' alerts: one SNS message to the stack's topic. Every function that alerts
//! sends it here, with a subject SNS accepts.

use crate::ApiError;

/// SNS takes a subject of ASCII text, fewer than 100 characters, with no line break or control
/// character (Publish's `Subject`, SNS API reference); any other fails the whole Publish.
pub const MAX_SUBJECT: usize = 99;

/// `text` as SNS takes it for a subject: control characters (line breaks included) as spaces,
/// other non-ASCII characters as `?`, cut to [`MAX_SUBJECT`] characters with "..." when longer.
pub fn subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            c if !c.is_ascii() => '?',
            c => c,
        })
        .collect();
    if clean.len() <= MAX_SUBJECT {
        return clean;
    }
    let mut cut = clean[..MAX_SUBJECT - 3].to_owned();
    cut.push_str("...");
    cut
}

/// Publishes `message` to `topic` under `subject` (made to fit: [`subject`]).
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    subject: &str,
    message: &str,
) -> Result<(), ApiError> {
    sns.publish()
        .topic_arn(topic)
        .subject(self::subject(subject))
        .message(message)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| ApiError::from_sdk(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_fits_sns() {
        assert_eq!(
            subject("OpenEMR backup check FAILED (s)"),
            "OpenEMR backup check FAILED (s)"
        );
        assert_eq!(subject("two\nlines\r"), "two lines ");
        assert_eq!(subject("Zürich"), "Z?rich");
        let fitted = subject(&"é".repeat(150));
        assert_eq!(fitted.len(), MAX_SUBJECT);
        assert!(fitted.is_ascii() && fitted.ends_with("..."), "{fitted}");
        assert_eq!(subject(&"x".repeat(MAX_SUBJECT)), "x".repeat(MAX_SUBJECT));
    }
}
