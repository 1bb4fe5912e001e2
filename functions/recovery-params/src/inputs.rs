//! The recovery inputs as the operator types them: format checks and ARN parsing, before any
//! AWS call. A malformed input, or one from another region, is rejected here in microseconds.
//!
//! RDS snapshot ARNs are parsed rather than passed to `DescribeDBSnapshots` as they are: the
//! emulator does not accept ARNs there, and parsing lets a wrong-region ARN fail without a call.

use std::fmt;

/// Parameter names, as the operator sees them in the console and in every failure Reason (the
/// resolve-mode properties of the same names, from the template contract).
pub use stack_contract::recovery_params::resolve::{
    BUCKET, COUCHDB_SNAPSHOT, KMS_KEY, RDS_SNAPSHOT, TIME_ZONE,
};

/// What is wrong with one input: the Reason CloudFormation shows names the input first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: &'static str,
    pub problem: String,
}

impl InputError {
    pub fn new(input: &'static str, problem: impl Into<String>) -> InputError {
        InputError {
            input,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.problem)
    }
}

/// All problems found, joined into one Reason.
pub fn reason(errors: &[InputError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A KMS key ARN: `arn:<partition>:kms:<region>:<account>:key/<key id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyArn {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub key_id: String,
}

/// An RDS DB snapshot ARN: `arn:<partition>:rds:<region>:<account>:snapshot:<name>` (automated
/// snapshots' names start with `rds:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsSnapshotArn {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

struct Arn<'a> {
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split_arn(text: &str) -> Option<Arn<'_>> {
    let mut parts = text.splitn(6, ':');
    let (arn, partition) = (parts.next()?, parts.next()?);
    let (service, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if arn != "arn" || !partition.starts_with("aws") {
        return None;
    }
    Some(Arn {
        service,
        region,
        account,
        resource,
    })
}

fn is_region(text: &str) -> bool {
    // e.g. us-east-1, ap-southeast-2, us-gov-west-1
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_digit())
}

/// A KMS key id: a UUID, or a multi-Region key id `mrk-<32 hex>`.
pub fn is_key_id(text: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(rest) = text.strip_prefix("mrk-") {
        return rest.len() == 32 && hex(rest);
    }
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| hex(g))
}

fn check_region(input: &'static str, region: &str, stack_region: &str) -> Result<(), InputError> {
    if region == stack_region {
        Ok(())
    } else {
        Err(InputError::new(
            input,
            format!(
                "is in region {region}, but this stack is in {stack_region}: copy it to {stack_region} first and give the copy's identifier"
            ),
        ))
    }
}

/// Parses `RecoveryKMSKey`: a key ARN in the stack's region (an alias or a bare key id is not
/// enough: the template grants the key by ARN).
pub fn parse_kms_key(text: &str, stack_region: &str) -> Result<KmsKeyArn, InputError> {
    let text = text.trim();
    let bad = |why: &str| {
        InputError::new(
            KMS_KEY,
            format!(
                "{text:?} is not a KMS key ARN ({why}); expected arn:aws:kms:<region>:<account>:key/<key id>, the original stack's key (its OpenEMRKey resource)"
            ),
        )
    };
    if text.is_empty() {
        return Err(InputError::new(
            KMS_KEY,
            "is empty: give the ARN of the original stack's KMS key",
        ));
    }
    let arn = split_arn(text).ok_or_else(|| bad("not an ARN"))?;
    if arn.service != "kms" {
        return Err(bad(&format!("service is {}, not kms", arn.service)));
    }
    if !is_region(arn.region) {
        return Err(bad("no region"));
    }
    if !is_account(arn.account) {
        return Err(bad("no 12-digit account"));
    }
    if arn.resource.starts_with("alias/") {
        return Err(bad("an alias, not a key"));
    }
    let key_id = arn
        .resource
        .strip_prefix("key/")
        .ok_or_else(|| bad("no key/ part"))?;
    if !is_key_id(key_id) {
        return Err(bad("the key id is not a UUID or mrk- id"));
    }
    check_region(KMS_KEY, arn.region, stack_region)?;
    Ok(KmsKeyArn {
        arn: text.to_owned(),
        region: arn.region.to_owned(),
        account: arn.account.to_owned(),
        key_id: key_id.to_owned(),
    })
}

fn is_db_snapshot_name(name: &str) -> bool {
    let name = name.strip_prefix("rds:").unwrap_or(name);
    let mut chars = name.chars();
    (1..=255).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Parses `RecoveryRDSSnapshotARN`: a DB (instance) snapshot ARN in the stack's region.
pub fn parse_rds_snapshot(text: &str, stack_region: &str) -> Result<RdsSnapshotArn, InputError> {
    let text = text.trim();
    let bad = |why: &str| {
        InputError::new(
            RDS_SNAPSHOT,
            format!(
                "{text:?} is not an RDS snapshot ARN ({why}); expected arn:aws:rds:<region>:<account>:snapshot:<name>"
            ),
        )
    };
    if text.is_empty() {
        return Err(InputError::new(
            RDS_SNAPSHOT,
            "is empty: give the ARN of a snapshot of the original stack's database",
        ));
    }
    let arn = split_arn(text).ok_or_else(|| bad("not an ARN"))?;
    if arn.service != "rds" {
        return Err(bad(&format!("service is {}, not rds", arn.service)));
    }
    if !is_region(arn.region) {
        return Err(bad("no region"));
    }
    if !is_account(arn.account) {
        return Err(bad("no 12-digit account"));
    }
    if arn.resource.starts_with("cluster-snapshot:") {
        return Err(bad(
            "an Aurora cluster snapshot; the stack's database is a MySQL instance",
        ));
    }
    let name = arn
        .resource
        .strip_prefix("snapshot:")
        .ok_or_else(|| bad("no snapshot: part"))?;
    if !is_db_snapshot_name(name) {
        return Err(bad("the snapshot name is not valid"));
    }
    check_region(RDS_SNAPSHOT, arn.region, stack_region)?;
    Ok(RdsSnapshotArn {
        arn: text.to_owned(),
        region: arn.region.to_owned(),
        account: arn.account.to_owned(),
        name: name.to_owned(),
    })
}

/// Checks `RecoveryCouchDBSnapshot`: `snap-` and 8 or 17 hex digits.
pub fn parse_ebs_snapshot(text: &str) -> Result<String, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InputError::new(
            COUCHDB_SNAPSHOT,
            "is empty: give the id (snap-...) of a snapshot of the original stack's CouchDB volume",
        ));
    }
    let ok = text.strip_prefix("snap-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if ok {
        Ok(text.to_owned())
    } else {
        Err(InputError::new(
            COUCHDB_SNAPSHOT,
            format!(
                "{text:?} is not an EBS snapshot id; expected snap- and 17 hex digits (e.g. snap-0ebb4f155ff27040c)"
            ),
        ))
    }
}

/// Checks `RecoveryS3Bucket`: an S3 bucket name (a name, not an ARN or s3:// URL).
pub fn parse_bucket(text: &str) -> Result<String, InputError> {
    let text = text.trim();
    let bad = |why: &str| {
        InputError::new(
            BUCKET,
            format!(
                "{text:?} is not an S3 bucket name ({why}); give the name of the original stack's bucket, e.g. openemr-c49525c0-82e5-11e7-bcf4-50faeaa96461"
            ),
        )
    };
    if text.is_empty() {
        return Err(InputError::new(
            BUCKET,
            "is empty: give the name of the original stack's bucket",
        ));
    }
    if text.starts_with("arn:") || text.starts_with("s3://") {
        return Err(bad("an ARN or URL; only the name"));
    }
    if !(3..=63).contains(&text.len()) {
        return Err(bad("3 to 63 characters"));
    }
    let edge_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !text.chars().all(|c| edge_ok(c) || c == '-' || c == '.')
        || !text.starts_with(edge_ok)
        || !text.ends_with(edge_ok)
        || text.contains("..")
    {
        return Err(bad("lowercase letters, digits, '-' and '.'"));
    }
    Ok(text.to_owned())
}

/// Checks a time zone name: IANA style (`America/Chicago`, `UTC`, `Etc/GMT+5`), at most 41
/// characters as the original's TimeZone parameter allowed.
pub fn check_time_zone(input: &'static str, text: &str) -> Result<String, InputError> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text.len() <= 41
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(InputError::new(
            input,
            format!("{text:?} is not a time zone name (e.g. America/Chicago, UTC)"),
        ))
    }
}

/// The key id of a KMS key reference (an ARN, `key/<id>` or a bare id), for comparing the key
/// a snapshot names with `RecoveryKMSKey`. Returns `(region and account if an ARN, key id)`.
pub fn key_reference(text: &str) -> (Option<(String, String)>, String) {
    if let Some(arn) = split_arn(text) {
        let id = arn.resource.strip_prefix("key/").unwrap_or(arn.resource);
        return (
            Some((arn.region.to_owned(), arn.account.to_owned())),
            id.to_owned(),
        );
    }
    (None, text.strip_prefix("key/").unwrap_or(text).to_owned())
}

/// Whether a key reference names the same key as `key`.
pub fn same_key(reference: &str, key: &KmsKeyArn) -> bool {
    match key_reference(reference) {
        (Some((region, account)), id) => {
            region == key.region && account == key.account && id == key.key_id
        }
        (None, id) => id == key.key_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a";

    #[test]
    fn kms_key_arns() {
        let key = parse_kms_key(KEY, "us-east-1").unwrap();
        assert_eq!(
            (key.region.as_str(), key.account.as_str()),
            ("us-east-1", "123456789012")
        );
        assert_eq!(key.key_id, "6fc10c90-d550-4fd5-bb5c-c2416e31839a");
        assert!(
            parse_kms_key(
                "arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef",
                "us-east-1"
            )
            .is_ok()
        );
        for (text, expect) in [
            ("", "is empty"),
            ("6fc10c90-d550-4fd5-bb5c-c2416e31839a", "not an ARN"),
            ("arn:aws:kms:us-east-1:123456789012:alias/openemr", "alias"),
            (
                "arn:aws:s3:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
                "service is s3",
            ),
            (
                "arn:aws:kms:us-east-1:1234:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
                "12-digit account",
            ),
            (
                "arn:aws:kms:us-east-1:123456789012:key/not-a-uuid",
                "not a UUID",
            ),
            (
                "arn:aws:kms::123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
                "no region",
            ),
            (
                "arn:aws:kms:eu-west-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
                "is in region eu-west-1, but this stack is in us-east-1",
            ),
        ] {
            let error = parse_kms_key(text, "us-east-1").unwrap_err();
            assert_eq!(error.input, KMS_KEY, "{text}");
            assert!(error.problem.contains(expect), "{text}: {}", error.problem);
        }
    }

    #[test]
    fn rds_snapshot_arns() {
        let manual = parse_rds_snapshot(
            "arn:aws:rds:us-east-1:123456789012:snapshot:openemr063-backup",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(manual.name, "openemr063-backup");
        let automated = parse_rds_snapshot(
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:db-2024-01-01-07-00",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(automated.name, "rds:db-2024-01-01-07-00");
        for (text, expect) in [
            ("openemr063-backup", "not an ARN"),
            (
                "arn:aws:rds:us-east-1:123456789012:db:openemr",
                "no snapshot: part",
            ),
            (
                "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:x",
                "Aurora",
            ),
            (
                "arn:aws:rds:us-east-1:123456789012:snapshot:1bad",
                "name is not valid",
            ),
            (
                "arn:aws:rds:us-east-1:123456789012:snapshot:bad--name",
                "name is not valid",
            ),
            (
                "arn:aws:ec2:us-east-1:123456789012:snapshot:x",
                "service is ec2",
            ),
            (
                "arn:aws:rds:us-west-2:123456789012:snapshot:ok",
                "is in region us-west-2",
            ),
        ] {
            let error = parse_rds_snapshot(text, "us-east-1").unwrap_err();
            assert_eq!(error.input, RDS_SNAPSHOT, "{text}");
            assert!(error.problem.contains(expect), "{text}: {}", error.problem);
        }
    }

    #[test]
    fn ebs_snapshot_ids() {
        assert_eq!(
            parse_ebs_snapshot(" snap-0ebb4f155ff27040c ").unwrap(),
            "snap-0ebb4f155ff27040c"
        );
        assert!(parse_ebs_snapshot("snap-12345678").is_ok());
        for text in [
            "",
            "vol-0ebb4f155ff27040c",
            "snap-0EBB4F155FF27040C",
            "snap-0ebb4f",
            "snap-0ebb4f155ff27040z",
        ] {
            assert_eq!(
                parse_ebs_snapshot(text).unwrap_err().input,
                COUCHDB_SNAPSHOT,
                "{text}"
            );
        }
    }

    #[test]
    fn bucket_names() {
        assert!(parse_bucket("openemr-c49525c0-82e5-11e7-bcf4-50faeaa96461").is_ok());
        for text in [
            "",
            "ab",
            "s3://openemr-x",
            "arn:aws:s3:::openemr-x",
            "OpenEMR-x",
            "openemr..x",
            "-openemr",
            &"a".repeat(64),
        ] {
            assert_eq!(parse_bucket(text).unwrap_err().input, BUCKET, "{text}");
        }
    }

    #[test]
    fn time_zones() {
        for ok in [
            "America/Chicago",
            "UTC",
            "Etc/GMT+5",
            "America/Argentina/Buenos_Aires",
        ] {
            assert_eq!(check_time_zone(TIME_ZONE, ok).unwrap(), ok);
        }
        for bad in ["", "America Chicago", "/etc/localtime", &"A".repeat(42)] {
            assert_eq!(
                check_time_zone(TIME_ZONE, bad).unwrap_err().input,
                TIME_ZONE,
                "{bad}"
            );
        }
    }

    #[test]
    fn key_comparison() {
        let key = parse_kms_key(KEY, "us-east-1").unwrap();
        assert!(same_key(KEY, &key));
        assert!(same_key("6fc10c90-d550-4fd5-bb5c-c2416e31839a", &key));
        assert!(!same_key(
            "arn:aws:kms:us-east-1:210987654321:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
            &key
        ));
        assert!(!same_key(
            "arn:aws:kms:us-east-1:123456789012:key/00000000-d550-4fd5-bb5c-c2416e31839a",
            &key
        ));
    }

    #[test]
    fn reasons_join_every_problem() {
        let text = reason(&[InputError::new(KMS_KEY, "a"), InputError::new(BUCKET, "b")]);
        assert_eq!(text, "RecoveryKMSKey: a; RecoveryS3Bucket: b");
    }
}
