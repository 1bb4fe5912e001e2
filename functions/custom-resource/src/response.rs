//! The response document CloudFormation expects at the ResponseURL, and the pure decisions that
//! shape it: which PhysicalResourceId to answer and how to keep the body within 4096 bytes.

use serde::Serialize;
use serde_json::{Map, Value};

/// CloudFormation rejects a response body larger than this (bytes).
pub const MAX_BODY_BYTES: usize = 4096;

/// CloudFormation rejects a PhysicalResourceId longer than this (bytes).
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;

/// Prefix of the PhysicalResourceId answered when a Create fails.
///
/// CloudFormation answers a failed Create by rolling back, which sends a Delete carrying the
/// PhysicalResourceId of the FAILED answer. A Delete whose PhysicalResourceId starts with this
/// prefix is therefore the clean-up of something that was never created: the crate answers it
/// SUCCESS without calling the handler. Handlers never return ids with this prefix (such an
/// answer is turned into FAILED).
pub const CREATE_FAILED_PREFIX: &str = "create-failed:";

/// Appended to a Reason that had to be shortened to fit the body limit.
pub const TRUNCATED_SUFFIX: &str = " [truncated]";

/// `Status` of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    Failed,
}

/// The JSON document PUT to the ResponseURL.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub no_echo: bool,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

impl Response {
    /// The body as sent.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response always serialises")
    }

    fn body_len(&self) -> usize {
        self.to_body().len()
    }
}

/// The three request types. `Unknown` is a malformed event's (missing or unknown RequestType).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Create,
    Update,
    Delete,
    Unknown,
}

impl Kind {
    pub fn parse(request_type: Option<&str>) -> Kind {
        match request_type {
            Some("Create") => Kind::Create,
            Some("Update") => Kind::Update,
            Some("Delete") => Kind::Delete,
            _ => Kind::Unknown,
        }
    }
}

/// The PhysicalResourceId of a FAILED answer to a request the handler did not complete.
///
/// Update and Delete keep the request's own id (CloudFormation then rolls back to the resource it
/// knows). A failed Create (or an event too broken to tell) answers the
/// [`CREATE_FAILED_PREFIX`] marker, so the rollback's Delete is recognised and answered SUCCESS
/// without touching anything.
pub fn failed_physical_id(
    kind: Kind,
    request_physical_id: Option<&str>,
    request_id: &str,
) -> String {
    match (kind, request_physical_id) {
        (Kind::Update | Kind::Delete, Some(id)) if !id.is_empty() => id.to_owned(),
        _ => format!("{CREATE_FAILED_PREFIX}{request_id}"),
    }
}

/// The PhysicalResourceId of a SUCCESS answer, or why the handler's choice cannot be answered.
///
/// The handler's own id wins (on Update, a different id means replacement: CloudFormation then
/// sends a Delete for the old one). Without one, Create gets `<LogicalResourceId>-<RequestId>`
/// (stable across retries of the same request) and Update/Delete keep the request's id.
pub fn success_physical_id(
    kind: Kind,
    handler_id: Option<&str>,
    request_physical_id: Option<&str>,
    logical_id: &str,
    request_id: &str,
) -> Result<String, String> {
    let id = match (handler_id, kind, request_physical_id) {
        (Some(id), _, _) => id.to_owned(),
        (None, Kind::Update | Kind::Delete, Some(id)) if !id.is_empty() => id.to_owned(),
        _ => format!("{logical_id}-{request_id}"),
    };
    if id.is_empty() {
        return Err("the handler returned an empty PhysicalResourceId".to_owned());
    }
    if id.len() > MAX_PHYSICAL_ID_BYTES {
        return Err(format!(
            "the handler returned a PhysicalResourceId of {} bytes; CloudFormation accepts at most {MAX_PHYSICAL_ID_BYTES}",
            id.len()
        ));
    }
    if id.starts_with(CREATE_FAILED_PREFIX) && kind != Kind::Delete {
        return Err(format!(
            "the handler returned a PhysicalResourceId starting with the reserved prefix {CREATE_FAILED_PREFIX:?}"
        ));
    }
    Ok(id)
}

/// Makes `response` fit [`MAX_BODY_BYTES`].
///
/// Data is never cut silently: a SUCCESS whose body is too large because of its Data becomes
/// FAILED, with a reason naming the size and the attribute names (never their values). A Reason
/// that is too long is truncated (on a character boundary, marked with [`TRUNCATED_SUFFIX`]).
pub fn fit(mut response: Response) -> Response {
    if response.body_len() <= MAX_BODY_BYTES {
        return response;
    }
    if !response.data.is_empty() {
        let data_bytes = serde_json::to_vec(&response.data)
            .map(|d| d.len())
            .unwrap_or(0);
        let keys: Vec<&str> = response.data.keys().map(String::as_str).collect();
        response.reason = Some(format!(
            "the response Data ({data_bytes} bytes, attributes {}) does not fit the {MAX_BODY_BYTES}-byte limit of a custom-resource response; answered FAILED instead of dropping attributes",
            keys.join(", ")
        ));
        response.status = Status::Failed;
        response.data.clear();
    }
    if response.body_len() > MAX_BODY_BYTES {
        let reason = response.reason.take().unwrap_or_default();
        let overhead = {
            response.reason = Some(String::new());
            response.body_len()
        };
        let budget = MAX_BODY_BYTES.saturating_sub(overhead);
        response.reason = Some(truncate_escaped(&reason, budget));
    }
    response
}

/// The longest prefix of `text`, plus [`TRUNCATED_SUFFIX`], whose JSON-escaped form takes at most
/// `budget` bytes.
fn truncate_escaped(text: &str, budget: usize) -> String {
    let suffix_len = escaped_len(TRUNCATED_SUFFIX);
    if escaped_len(text) <= budget {
        return text.to_owned();
    }
    let room = budget.saturating_sub(suffix_len);
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let len = escaped_char_len(c);
        if used + len > room {
            break;
        }
        used += len;
        end = i + c.len_utf8();
    }
    if budget < suffix_len {
        return String::new();
    }
    format!("{}{TRUNCATED_SUFFIX}", &text[..end])
}

fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(reason: Option<&str>, data: Value) -> Response {
        Response {
            status: if reason.is_some() {
                Status::Failed
            } else {
                Status::Success
            },
            reason: reason.map(str::to_owned),
            physical_resource_id: "pid".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid".into(),
            request_id: "req".into(),
            logical_resource_id: "Res".into(),
            no_echo: false,
            data: data.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn failed_physical_ids() {
        let cases = [
            (Kind::Create, None, "create-failed:r1"),
            (Kind::Create, Some("whatever"), "create-failed:r1"),
            (Kind::Update, Some("p-1"), "p-1"),
            (Kind::Delete, Some("p-1"), "p-1"),
            (Kind::Update, None, "create-failed:r1"),
            (Kind::Delete, Some(""), "create-failed:r1"),
            (Kind::Unknown, Some("p-1"), "create-failed:r1"),
        ];
        for (kind, physical, expected) in cases {
            assert_eq!(
                failed_physical_id(kind, physical, "r1"),
                expected,
                "{kind:?} {physical:?}"
            );
        }
    }

    #[test]
    fn success_physical_ids() {
        let long = "x".repeat(MAX_PHYSICAL_ID_BYTES + 1);
        type Case<'a> = (
            Kind,
            Option<&'a str>,
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let cases: [Case; 8] = [
            (Kind::Create, None, None, Ok("Res-r1")),
            (Kind::Create, Some("mine"), None, Ok("mine")),
            (Kind::Update, None, Some("old"), Ok("old")),
            (Kind::Update, Some("new"), Some("old"), Ok("new")),
            (Kind::Delete, None, Some("old"), Ok("old")),
            (Kind::Create, Some(""), None, Err("empty")),
            (Kind::Create, Some(long.as_str()), None, Err("1024")),
            (Kind::Create, Some("create-failed:x"), None, Err("reserved")),
        ];
        for (kind, handler, physical, expected) in cases {
            let got = success_physical_id(kind, handler, physical, "Res", "r1");
            match expected {
                Ok(id) => assert_eq!(got.as_deref(), Ok(id)),
                Err(word) => assert!(got.unwrap_err().contains(word), "{kind:?} {handler:?}"),
            }
        }
    }

    #[test]
    fn small_response_is_untouched() {
        let r = response(None, json!({"PublicKey": "abc"}));
        assert_eq!(fit(r.clone()), r);
    }

    #[test]
    fn long_reason_is_truncated_to_exactly_fit() {
        for filler in ["a", "é", "\"", "\n", "\u{1}", "🙂"] {
            let reason = filler.repeat(5000);
            let fitted = fit(response(Some(&reason), json!({})));
            let body = fitted.to_body();
            assert!(body.len() <= MAX_BODY_BYTES, "{filler:?}: {}", body.len());
            assert!(
                body.len() > MAX_BODY_BYTES - 8,
                "{filler:?}: wasted room, {}",
                body.len()
            );
            let reason = fitted.reason.unwrap();
            assert!(reason.ends_with(TRUNCATED_SUFFIX));
            assert!(reason.starts_with(filler));
            assert_eq!(fitted.status, Status::Failed);
        }
    }

    #[test]
    fn oversized_data_fails_naming_size_and_keys_not_values() {
        let big = "S".repeat(5000);
        let fitted = fit(response(None, json!({"Small": "x", "Big": big})));
        assert_eq!(fitted.status, Status::Failed);
        assert!(fitted.data.is_empty());
        let reason = fitted.reason.as_deref().unwrap();
        assert!(
            reason.contains("Small, Big") || reason.contains("Big, Small"),
            "{reason}"
        );
        assert!(reason.contains("4096"), "{reason}");
        assert!(
            !reason.contains("SSSS"),
            "values must not leak into the reason"
        );
        assert!(fitted.to_body().len() <= MAX_BODY_BYTES);
    }

    #[test]
    fn kind_parses() {
        assert_eq!(Kind::parse(Some("Create")), Kind::Create);
        assert_eq!(Kind::parse(Some("Update")), Kind::Update);
        assert_eq!(Kind::parse(Some("Delete")), Kind::Delete);
        assert_eq!(Kind::parse(Some("create")), Kind::Unknown);
        assert_eq!(Kind::parse(None), Kind::Unknown);
    }
}
