//! CloudWatch's embedded metric format (EMF): a JSON log line that CloudWatch Logs turns into
//! metrics (AWS's "Embedded metric format specification"). A function prints the line to
//! stdout; Lambda sends it to the function's log group, where the metrics are extracted. Every
//! function that publishes metrics builds its lines here.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// One EMF line: metrics of one namespace under one set of dimensions, with other fields beside
/// them (which CloudWatch keeps in the log event, not as metrics).
#[derive(Debug, Clone)]
pub struct EmfLine {
    namespace: String,
    timestamp_ms: i64,
    dimensions: Vec<String>,
    metrics: Vec<Value>,
    fields: Map<String, Value>,
}

impl EmfLine {
    /// A line of `namespace`'s metrics at `at` (written as EMF's Unix milliseconds).
    pub fn new(namespace: &str, at: OffsetDateTime) -> EmfLine {
        EmfLine {
            namespace: namespace.to_owned(),
            timestamp_ms: (at.unix_timestamp_nanos() / 1_000_000) as i64,
            dimensions: Vec::new(),
            metrics: Vec::new(),
            fields: Map::new(),
        }
    }

    /// A dimension of every metric of the line, and its value.
    pub fn dimension(mut self, name: &str, value: impl Into<Value>) -> EmfLine {
        self.dimensions.push(name.to_owned());
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// A metric: its name, unit (`Count`, `Seconds`, `None`, ...) and value.
    pub fn metric(mut self, name: &str, unit: &str, value: impl Into<Value>) -> EmfLine {
        self.metrics.push(json!({ "Name": name, "Unit": unit }));
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// A field that is not a metric (a verdict, a message).
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> EmfLine {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// The line's JSON (one line): `_aws` first, then the fields in the order given.
    pub fn render(self) -> String {
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [self.dimensions],
                    "Metrics": self.metrics
                }]
            }),
        );
        line.extend(self.fields);
        Value::Object(line).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_its_metrics_and_dimensions_and_carries_their_values() {
        let at = time::macros::datetime!(2026-11-25 10:00:01.250 UTC);
        let line = EmfLine::new("OpenEMR/Test", at)
            .dimension("Stack", "stk")
            .dimension("Check", "efs")
            .metric("AgeHours", "None", 3.5)
            .field("ok", true)
            .render();
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_795_600_801_250_i64);
        assert_eq!(declared["Namespace"], "OpenEMR/Test");
        assert_eq!(declared["Dimensions"], json!([["Stack", "Check"]]));
        assert_eq!(
            declared["Metrics"],
            json!([{ "Name": "AgeHours", "Unit": "None" }])
        );
        assert_eq!(v["Stack"], "stk");
        assert_eq!(v["Check"], "efs");
        assert_eq!(v["AgeHours"], 3.5);
        assert_eq!(v["ok"], true);
    }
}
