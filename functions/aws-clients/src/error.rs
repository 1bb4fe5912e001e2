//! The one formatter of AWS SDK errors for every function and tool: AWS's error code (or the
//! transport failure's kind) and its message, short enough for a CloudFormation Reason or an
//! alert. AWS error messages never carry request bodies, so no secret passes through here.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Longest message kept (a transport error's chain can be long).
pub const MAX_MESSAGE: usize = 512;

/// A failed AWS call: the service's error code (`NoSuchKey`, `InvalidSnapshot.NotFound`,
/// `RequestLimitExceeded` ...) or the transport failure's kind (`Timeout`, `Dispatch`,
/// `Response`, `Construction`), and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: &str) -> ApiError {
        ApiError {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Reads the code and message of any SDK operation's error.
    pub fn from_sdk<E, R>(error: &SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = match error {
            SdkError::ServiceError(e) => e.err().code().unwrap_or("Unknown"),
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(_) => "Dispatch",
            SdkError::ResponseError(_) => "Response",
            SdkError::ConstructionFailure(_) => "Construction",
            _ => "Unknown",
        };
        let message = match error {
            SdkError::ServiceError(e) => match e.err().message() {
                Some(message) => message.to_owned(),
                None => DisplayErrorContext(e.err()).to_string(),
            },
            _ => DisplayErrorContext(error).to_string(),
        };
        ApiError {
            code: code.to_owned(),
            message: shorten(message),
        }
    }

    /// True when the service answered with `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

fn shorten(mut text: String) -> String {
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// An error and its causes on one line (hyper's top-level message alone says little): the
/// formatter of errors that are not the SDK's (those are [`ApiError`]'s).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_MESSAGE);
        let short = shorten(text);
        assert!(short.len() <= MAX_MESSAGE + 3);
        assert!(short.ends_with("..."));
        assert_eq!(shorten("short".into()), "short");
    }

    #[test]
    fn transport_failures_are_named_by_kind() {
        let error: SdkError<aws_sdk_s3::operation::get_object::GetObjectError, ()> =
            SdkError::timeout_error("no answer in 5 s");
        let api = ApiError::from_sdk(&error);
        assert_eq!(api.code, "Timeout");
        assert!(api.to_string().starts_with("Timeout: "), "{api}");
    }
}
