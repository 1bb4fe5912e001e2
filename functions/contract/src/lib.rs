//! The contract between the template and the functions: every name both sides must agree on,
//! defined once. `stack-gen` writes these names into the template; each function reads them
//! through the same constants, so a rename changes both sides or fails to compile.
//!
//! Also here, because both sides encode or decode them: the `Role=vol-id` list of document
//! volumes ([`volumes`]) and the environment reader every function's configuration uses
//! ([`env`]).

pub mod env;
pub mod volumes;

/// Layout of the stack bucket (`S3Bucket`; `RecoveryS3Bucket` in a recovery stack).
pub mod bucket {
    /// The NFS backup agent's duplicity chains (EFS → S3).
    pub const BACKUP_PREFIX: &str = "Backup/";
    /// The duplicity passphrase, written once by the NFS agent, read by a recovery.
    pub const PASSPHRASE_KEY: &str = "Backup/passphrase.txt";
    /// Key pattern of a full duplicity backup's objects (a recovery lists them).
    pub const FULL_BACKUP_PATTERN: &str = "Backup/duplicity-full.*";
    /// The recovery manifest: time zone, sizes, password of the stack (SSE-KMS).
    pub const MANIFEST_KEY: &str = "recovery/manifest.json";
}

/// Tags on the resources a function finds by tag.
pub mod tags {
    /// Document snapshots: the stack that made it (`AWS::StackId`).
    pub const SNAPSHOT_STACK_ID: &str = "openemr:stack-id";
    /// Document snapshots: which volume it is of (one of [`crate::volumes::ROLES`]).
    pub const SNAPSHOT_VOLUME_ROLE: &str = "openemr:volume-role";
    /// Document snapshots: when the backup set was taken (RFC 3339, UTC).
    pub const SNAPSHOT_BACKUP_TIME: &str = "openemr:backup-time";
    /// Copies in the second region: the snapshot and region they were copied from.
    pub const SNAPSHOT_SOURCE: &str = "openemr:source-snapshot";
    pub const SNAPSHOT_SOURCE_REGION: &str = "openemr:source-region";
    /// Who made it (informational).
    pub const MANAGED_BY: &str = "openemr:managed-by";
}

/// `DocumentBackupManagerFunction`'s environment.
pub mod document_snapshotter {
    pub const STACK_ID: &str = "STACK_ID";
    /// [`crate::volumes`] list of the document volumes.
    pub const VOLUMES: &str = "VOLUMES";
    pub const RETAIN_COUNT: &str = "RETAIN_COUNT";
    pub const DESCRIPTION: &str = "DESCRIPTION";
    pub const IDEMPOTENCY_WINDOW_HOURS: &str = "IDEMPOTENCY_WINDOW_HOURS";
    pub const COPY_REGION: &str = "COPY_REGION";
    pub const COPY_KMS_KEY_ID: &str = "COPY_KMS_KEY_ID";
    pub const DRY_RUN: &str = "DRY_RUN";
    /// Value of [`crate::tags::MANAGED_BY`] on its snapshots.
    pub const MANAGED_BY_VALUE: &str = "document-snapshotter";
}

/// `BackupCheckerFunction`'s environment and metrics.
pub mod backup_checker {
    pub const BUCKET: &str = "BACKUP_BUCKET";
    pub const PREFIX: &str = "BACKUP_PREFIX";
    /// [`crate::volumes`] list of the document volumes (absent without a document store).
    pub const VOLUMES: &str = "DOCUMENT_VOLUMES";
    pub const DB_INSTANCE: &str = "DB_INSTANCE_ID";
    pub const MAX_AGE_HOURS: &str = "MAX_BACKUP_AGE_HOURS";
    pub const MAX_SKEW_HOURS: &str = "MAX_SKEW_HOURS";
    pub const TOPIC: &str = "ALERT_TOPIC_ARN";
    pub const STACK: &str = "STACK_NAME";
    /// CloudWatch namespace of its metrics.
    pub const NAMESPACE: &str = "OpenEMR/BackupChecker";
    /// Per-run metric (dimension `Stack`): failed checks; `BackupCheckFailedAlarm` reads it.
    pub const FAILED_METRIC: &str = "FailedChecks";
    /// Dimension of every metric.
    pub const STACK_DIMENSION: &str = "Stack";
    /// Defaults of `BackupMaxAgeHours` / `BackupMaxSkewHours`, also the function's when its
    /// variable is unset.
    pub const DEFAULT_MAX_AGE_HOURS: i64 = 26;
    pub const DEFAULT_MAX_SKEW_HOURS: i64 = 2;
    /// Largest threshold either side accepts (a leap year of hours).
    pub const MAX_HOURS: i64 = 24 * 366;

    /// The passphrase object's name inside the backup prefix (`passphrase.txt`).
    pub fn passphrase_name() -> &'static str {
        crate::bucket::PASSPHRASE_KEY
            .strip_prefix(crate::bucket::BACKUP_PREFIX)
            .unwrap_or(crate::bucket::PASSPHRASE_KEY)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_passphrase_lies_in_the_backup_prefix() {
            assert!(crate::bucket::PASSPHRASE_KEY.starts_with(crate::bucket::BACKUP_PREFIX));
            assert_eq!(super::passphrase_name(), "passphrase.txt");
        }
    }
}

/// `ServiceLogGroups` (custom resource served by log-group-keeper): the log groups AWS services
/// create for the stack, given the stack's retention and key.
pub mod log_group_keeper {
    /// Resource properties.
    pub mod properties {
        /// Log groups to create (with the key and retention) unless they exist, then adopt.
        pub const LOG_GROUPS: &str = "LogGroups";
        /// Prefixes under which every existing log group is adopted.
        pub const LOG_GROUP_PREFIXES: &str = "LogGroupPrefixes";
        /// Days to keep (a CloudWatch Logs retention value).
        pub const RETENTION_IN_DAYS: &str = "RetentionInDays";
        /// ARN of the KMS key the groups are encrypted with.
        pub const KMS_KEY_ARN: &str = "KmsKeyArn";
    }
}

/// `RecoveryManifest` / `RecoveryParameters` (custom resources served by recovery-params).
pub mod recovery_params {
    /// `Mode`: which of the two resources this is.
    pub const MODE: &str = "Mode";
    pub const MODE_RECORD: &str = "record";
    pub const MODE_RESOLVE: &str = "resolve";
    /// Properties of `RecoveryManifest` (record mode): what the manifest records.
    pub mod record {
        pub const BUCKET: &str = "Bucket";
        pub const KMS_KEY: &str = "KmsKeyArn";
        pub const TIME_ZONE: &str = "TimeZone";
        pub const PATIENT_RECORDS: &str = "PatientRecords";
        pub const DOCUMENT_STORAGE: &str = "DocumentStorage";
        pub const ENGINE: &str = "Engine";
        pub const ENGINE_VERSION: &str = "EngineVersion";
        pub const MASTER_USERNAME: &str = "MasterUsername";
        pub const PASSWORD: &str = "Password";
        pub const FLAGS: &str = "Flags";
        pub const RECOVERED_FROM: &str = "RecoveredFrom";
    }
    /// Properties of `RecoveryParameters` (resolve mode): the recovery stack's four inputs
    /// (the template parameters of the same names) and the optional time zone.
    pub mod resolve {
        pub const KMS_KEY: &str = "RecoveryKMSKey";
        pub const RDS_SNAPSHOT: &str = "RecoveryRDSSnapshotARN";
        pub const COUCHDB_SNAPSHOT: &str = "RecoveryCouchDBSnapshot";
        pub const BUCKET: &str = "RecoveryS3Bucket";
        pub const TIME_ZONE: &str = "TimeZone";
    }
    /// Attributes of `RecoveryManifest` (record mode).
    pub mod record_attributes {
        pub const MANIFEST_KEY: &str = "ManifestKey";
        /// The S3 version id of the manifest written (empty when the bucket is unversioned).
        pub const MANIFEST_VERSION: &str = "ManifestVersion";
        pub const FORMAT_VERSION: &str = "FormatVersion";
        /// Every attribute a `RecoveryManifest` answer carries.
        pub const ALL: [&str; 3] = [MANIFEST_KEY, MANIFEST_VERSION, FORMAT_VERSION];
    }
    /// Attributes (`Fn::GetAtt`) of `RecoveryParameters`.
    pub mod attributes {
        pub const TIME_ZONE: &str = "TimeZone";
        pub const PATIENT_RECORDS: &str = "PatientRecords";
        pub const DOCUMENT_STORAGE: &str = "DocumentStorage";
        pub const MASTER_USERNAME: &str = "MasterUsername";
        pub const ENGINE_VERSION: &str = "EngineVersion";
        pub const PASSWORD: &str = "Password";
        /// `manifest` or `snapshots` (no manifest: a stack built by the original generator).
        pub const SOURCE: &str = "Source";
        pub const NOTES: &str = "Notes";
        /// Every attribute a `RecoveryParameters` answer may carry (`DocumentStorage` only with
        /// a document store).
        pub const ALL: [&str; 8] = [
            TIME_ZONE,
            PATIENT_RECORDS,
            DOCUMENT_STORAGE,
            MASTER_USERNAME,
            ENGINE_VERSION,
            PASSWORD,
            SOURCE,
            NOTES,
        ];
    }
}
