//! What a run leaves behind: CloudWatch embedded-metric-format (EMF) log lines and the
//! operators' SNS message. Both are built from the [`Report`] only, which holds names, times,
//! ids and counts — never an object's content, so no secret can reach them.

use aws_clients::EmfLine;
// The template's alarm reads the same namespace, metric and dimension.
use stack_contract::backup_checker::{CHECK_DIMENSION, FAILED_METRIC, NAMESPACE, STACK_DIMENSION};
use time::OffsetDateTime;

use crate::checks::Report;

/// One EMF JSON line per check (its metric, dimensions `Stack` and `Check`) and a last line with
/// [`FAILED_METRIC`] (dimension `Stack`), timestamped `at`, the run's time.
pub fn emf_lines(report: &Report, stack: &str, at: OffsetDateTime) -> Vec<String> {
    let mut lines = Vec::with_capacity(report.checks.len() + 1);
    for check in &report.checks {
        let line = EmfLine::new(NAMESPACE, at)
            .dimension(STACK_DIMENSION, stack)
            .dimension(CHECK_DIMENSION, check.name.as_str());
        let line = check
            .metrics
            .iter()
            .fold(line, |line, m| line.metric(m.name, m.unit, m.value));
        let line = line
            .field("ok", check.ok)
            .field("message", check.message.as_str());
        lines.push(line.render());
    }
    let failed = report.failed().count();
    let summary = EmfLine::new(NAMESPACE, at)
        .dimension(STACK_DIMENSION, stack)
        .metric(FAILED_METRIC, "Count", failed)
        .field("ok", report.ok);
    lines.push(summary.render());
    lines
}

/// Subject and body of the operators' alert for a failed run.
pub fn alert(report: &Report, stack: &str, log_group: Option<&str>) -> (String, String) {
    let failed: Vec<_> = report.failed().collect();
    let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
    let subject = aws_clients::alert::subject(&format!(
        "OpenEMR backup check FAILED ({stack}): {}",
        names.join(", ")
    ));
    let mut body = format!(
        "The nightly backup check of stack {stack} at {} found {} problem(s). Until they are fixed, a restore may lose data.\n\n",
        report.checked_at,
        failed.len()
    );
    for c in &failed {
        body.push_str(&format!(
            "FAILED {}: {}\n  Where to look: {}\n\n",
            c.name, c.message, c.look
        ));
    }
    let passed: Vec<_> = report.checks.iter().filter(|c| c.ok).collect();
    if !passed.is_empty() {
        body.push_str("Passed:\n");
        for c in passed {
            body.push_str(&format!("  ok {}: {}\n", c.name, c.message));
        }
        body.push('\n');
    }
    if let Some(group) = log_group {
        body.push_str(&format!("Full report: CloudWatch Logs group {group}.\n"));
    }
    body.push_str("See the operations guide, \"Backups\", for how to run a backup by hand.\n");
    (subject, body)
}

/// The one-line error the invocation fails with (the Lambda error alarm and the on-failure
/// destination carry it).
pub fn failure_summary(report: &Report) -> String {
    let parts: Vec<String> = report
        .failed()
        .map(|c| format!("{}: {}", c.name, c.message))
        .collect();
    format!("backup check failed: {}", parts.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Check, Metric};
    use serde_json::{Value, json};

    fn report(ok: bool) -> Report {
        Report {
            ok,
            checked_at: "2026-11-25T10:00:01Z".into(),
            checks: vec![
                Check {
                    name: "efs-age".into(),
                    ok: true,
                    message: "fresh".into(),
                    look: "s3".into(),
                    metrics: vec![Metric {
                        name: "BackupAgeSeconds",
                        value: 3600.0,
                        unit: "Seconds",
                    }],
                    api_error: None,
                },
                Check {
                    name: "passphrase".into(),
                    ok,
                    message: if ok {
                        "present".into()
                    } else {
                        "passphrase object s3://b/Backup/passphrase.txt is missing".into()
                    },
                    look: "aws s3api head-object".into(),
                    metrics: vec![Metric {
                        name: "PassphraseOk",
                        value: if ok { 1.0 } else { 0.0 },
                        unit: "Count",
                    }],
                    api_error: None,
                },
            ],
            newest: vec![],
            skew_seconds: None,
        }
    }

    #[test]
    fn emf_has_one_metric_per_check_and_the_failure_count() {
        let at = time::macros::datetime!(2026-11-25 10:00:01 UTC);
        let lines = emf_lines(&report(false), "stk", at);
        assert_eq!(lines.len(), 3);
        let v: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(v[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            v[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "BackupAgeSeconds"
        );
        assert_eq!(v[0]["BackupAgeSeconds"], 3600.0);
        assert_eq!(v[0]["Check"], "efs-age");
        assert_eq!(v[1]["PassphraseOk"], 0.0);
        assert_eq!(v[2][FAILED_METRIC], 1);
        assert_eq!(
            v[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack"]])
        );
        assert_eq!(v[2]["_aws"]["Timestamp"], 1_795_600_801_000_i64);
    }

    #[test]
    fn alert_names_what_failed_and_where_to_look() {
        let (subject, body) = alert(&report(false), "stk", Some("/aws/lambda/x"));
        assert_eq!(subject, "OpenEMR backup check FAILED (stk): passphrase");
        assert!(body.contains(
            "FAILED passphrase: passphrase object s3://b/Backup/passphrase.txt is missing"
        ));
        assert!(body.contains("Where to look: aws s3api head-object"));
        assert!(body.contains("ok efs-age: fresh"));
        assert!(body.contains("/aws/lambda/x"));
    }

    #[test]
    fn long_subjects_are_cut_to_100_characters() {
        let mut r = report(false);
        for i in 0..20 {
            r.checks.push(Check {
                name: format!("documents-volume-{i}"),
                ok: false,
                message: "m".into(),
                look: "l".into(),
                metrics: vec![],
                api_error: None,
            });
        }
        let (subject, _) = alert(&r, "stk", None);
        assert!(
            subject.len() <= 100 && subject.ends_with("..."),
            "{subject}"
        );
    }
}
