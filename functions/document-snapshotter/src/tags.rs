//! The tags that mark a snapshot as this stack's, and the test that reads them.
//!
//! A snapshot is *ours* only when its `openemr:stack-id` tag equals this stack's id (the full
//! CloudFormation stack ARN, unique per stack, even across a delete and re-create under the
//! same name) and its `openemr:volume-role` names one of the stack's document volumes. The IAM
//! policy uses the same stack-id tag: the role may delete only snapshots carrying it.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use stack_contract::tags as contract;

/// The stack that made the snapshot (`AWS::StackId`).
pub const STACK_ID: &str = contract::SNAPSHOT_STACK_ID;
/// Which volume of the stack it is a snapshot of (`CouchDBVolume`, `RCouchDBVolume`).
pub const VOLUME_ROLE: &str = contract::SNAPSHOT_VOLUME_ROLE;
/// When the backup was taken (RFC 3339, UTC): the same for every volume of one run, so the
/// snapshots of one run form a backup set.
pub const BACKUP_TIME: &str = contract::SNAPSHOT_BACKUP_TIME;
/// On a copy in the second region: the snapshot it was copied from.
pub const SOURCE_SNAPSHOT: &str = contract::SNAPSHOT_SOURCE;
/// On a copy in the second region: the region it was copied from.
pub const SOURCE_REGION: &str = contract::SNAPSHOT_SOURCE_REGION;
/// Who made it (informational).
pub const MANAGED_BY: &str = contract::MANAGED_BY;
pub const MANAGED_BY_VALUE: &str = stack_contract::document_snapshotter::MANAGED_BY_VALUE;
/// The volume's name, copied onto its snapshots.
pub const NAME: &str = "Name";

/// True when `tags` mark a snapshot of `role` made by the stack `stack_id`.
pub fn is_ours(tags: &BTreeMap<String, String>, stack_id: &str, role: &str) -> bool {
    tags.get(STACK_ID).is_some_and(|v| v == stack_id)
        && tags.get(VOLUME_ROLE).is_some_and(|v| v == role)
}

/// The backup time recorded in `tags`, if present and readable.
pub fn backup_time(tags: &BTreeMap<String, String>) -> Option<OffsetDateTime> {
    let text = tags.get(BACKUP_TIME)?;
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// `t` as RFC 3339 UTC to the second (`2026-11-25T07:00:00Z`), as the tag is written.
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 is a nanosecond")
        .format(&Rfc3339)
        .expect("a UTC time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/0f3e";

    #[test]
    fn ours_needs_both_stack_and_role() {
        let cases = [
            (
                tags(&[(STACK_ID, STACK), (VOLUME_ROLE, "CouchDBVolume")]),
                true,
                "both tags",
            ),
            (tags(&[(STACK_ID, STACK)]), false, "no role"),
            (
                tags(&[(VOLUME_ROLE, "CouchDBVolume")]),
                false,
                "no stack (manual copy of the tag?)",
            ),
            (
                tags(&[(STACK_ID, STACK), (VOLUME_ROLE, "RCouchDBVolume")]),
                false,
                "the other volume",
            ),
            (
                tags(&[
                    (
                        STACK_ID,
                        "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/other",
                    ),
                    (VOLUME_ROLE, "CouchDBVolume"),
                ]),
                false,
                "another stack",
            ),
            (
                tags(&[
                    (STACK_ID, &format!("{STACK} ")),
                    (VOLUME_ROLE, "CouchDBVolume"),
                ]),
                false,
                "no fuzzy match",
            ),
            (tags(&[("Name", "openemr-couchdb")]), false, "manual"),
        ];
        for (t, want, name) in cases {
            assert_eq!(is_ours(&t, STACK, "CouchDBVolume"), want, "{name}");
        }
    }

    #[test]
    fn backup_time_round_trip() {
        let t = time::macros::datetime!(2026-05-28 20:26:40 UTC);
        let text = format_time(t + time::Duration::milliseconds(900));
        assert_eq!(text, "2026-05-28T20:26:40Z", "to the second");
        assert_eq!(backup_time(&tags(&[(BACKUP_TIME, &text)])), Some(t));
        assert_eq!(backup_time(&tags(&[(BACKUP_TIME, "yesterday")])), None);
        assert_eq!(backup_time(&tags(&[])), None);
    }
}
