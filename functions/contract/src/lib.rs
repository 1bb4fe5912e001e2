//! The contract between the template and the functions: every name both sides must agree on,
//! defined once. `stack-gen` writes these names into the template; each function reads them
//! through the same constants, so a rename changes both sides or fails to compile.
//!
//! Also here, because both sides encode or decode them: the `Role=vol-id` list of document
//! volumes ([`volumes`]) and the environment reader every function's configuration uses
//! ([`env`]).

pub mod env;
pub mod volumes;

/// Logical IDs of the stack that code outside their component names: the functions that read
/// a stack's resources (recovery-lookup) and stack-gen's other components.
pub mod logical_ids {
    pub const BUCKET: &str = "S3Bucket";
    pub const KEY: &str = "OpenEMRKey";
    pub const DATABASE: &str = "RDSInstance";
    /// The first document volume (also its role in the volume list: `volumes::PRIMARY`).
    pub const DOCUMENT_VOLUME: &str = crate::volumes::PRIMARY;
}

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
    /// The CouchDB admin password (SSE-KMS), written by the first document-store node.
    pub const COUCHDB_ADMIN_PASSWORD_KEY: &str = "CouchDB/admin-password.txt";
    /// The stack's own CA certificate (signs CouchDB's and the instances' certificates).
    pub const CA_CERT_KEY: &str = "CA/certs/ca.crt";
}

/// Storage sizes both sides bound: the template's parameters and what recovery-params resolves
/// for a recovery stack.
pub mod storage {
    /// RDS MySQL on gp3 takes 20-65536 GiB (the original's default of 10 no longer creates; a
    /// snapshot of such a database still restores, onto 20).
    pub const MIN_DATABASE_GB: u32 = 20;
    /// sc1, the document volumes' type, starts at 125 GiB.
    pub const MIN_DOCUMENT_GB: u32 = 125;
}

/// The custom resource `ApplicationPlatform` (function `platform-resolver`).
pub mod platform_resolver {
    pub mod properties {
        /// The Elastic Beanstalk platform branch, e.g. "Docker running on 64bit Amazon Linux 2023".
        pub const BRANCH: &str = "BranchName";
    }
    pub mod attributes {
        /// The newest recommended platform version's ARN (the environment's `PlatformArn`).
        pub const PLATFORM_ARN: &str = "PlatformArn";
        /// Its version, e.g. "4.7.3" (for the operator).
        pub const VERSION: &str = "PlatformVersion";
    }
}

/// OpenEMR's `sites/` directory on EFS: the root of the file system is `sites/`. The web tier
/// binds it into the official image (`APPLICATION_SITES_DIR`), the NFS backup agent backs it
/// up whole, and the fingerprint recorder and the drill verifier read the site through these
/// paths (relative to `sites/`).
pub mod site {
    /// Where the application servers mount EFS (the bundle's hook) and the Lambdas that read
    /// it mount their access point: one path on every reader.
    pub const EFS_MOUNT: &str = "/mnt/efs";
    /// `sites/` inside the official image (its document root is OpenEMR itself).
    pub const APPLICATION_SITES_DIR: &str = "/var/www/localhost/htdocs/openemr/sites";
    /// The site OpenEMR serves when none is named.
    pub const SITE: &str = "default";
    /// The site's database configuration: host, port, user, password, schema.
    pub const SQLCONF: &str = "default/sqlconf.php";
    /// The site's documents tree.
    pub const DOCUMENTS_DIR: &str = "default/documents";
    /// The CA certificates OpenEMR trusts for MySQL and Redis TLS (its presence turns MySQL
    /// TLS on).
    pub const MYSQL_CA: &str = "default/documents/certificates/mysql-ca";
    pub const REDIS_CA: &str = "default/documents/certificates/redis-ca";
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
    /// `DrillMaxAgeDays`, set when the stack has a scheduled restore drill (unset when it is
    /// off, or in a recovery stack): the checker then lists the drill's reports and publishes
    /// [`crate::restore_drill::DAYS_SINCE_SUCCESS_METRIC`] in its [`DRILL_CHECK`] check.
    pub const DRILL_MAX_AGE_DAYS: &str = "DRILL_MAX_AGE_DAYS";
    /// The check (its `Check` dimension) that carries the drill's age.
    pub const DRILL_CHECK: &str = "restore-drill";
    /// CloudWatch namespace of its metrics.
    pub const NAMESPACE: &str = "OpenEMR/BackupChecker";
    /// Per-run metric (dimension `Stack`): failed checks; `BackupCheckFailedAlarm` reads it.
    pub const FAILED_METRIC: &str = "FailedChecks";
    /// Dimension of every metric.
    pub const STACK_DIMENSION: &str = "Stack";
    /// Second dimension of a check's metrics: the check's name.
    pub const CHECK_DIMENSION: &str = "Check";
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

/// The restore drill (`functions/restore-drill`, `components/restore_drill.rs`): one zip, three
/// deployments told apart by the `task` of their input — the orchestrator's tasks (state machine
/// `RestoreDrillStateMachine` in the source stack), the nightly fingerprint recorder (source
/// stack, in its VPC) and the verifier (drill stack, in the drill's VPC).
pub mod restore_drill {
    /// Field of every task input naming the task; the values below.
    pub const TASK: &str = "task";
    /// Orchestrator tasks, in the order the state machine runs them.
    pub const TASK_GATHER: &str = "gather";
    pub const TASK_BUILD: &str = "build";
    pub const TASK_CHECK: &str = "check";
    pub const TASK_VERIFY: &str = "verify";
    pub const TASK_TEARDOWN: &str = "teardown";
    pub const TASK_CHECK_TEARDOWN: &str = "check-teardown";
    pub const TASK_REPORT: &str = "report";
    /// The recorder's task (scheduled input of `FingerprintRecorderFunction`).
    pub const TASK_RECORD_FINGERPRINT: &str = "record-fingerprint";
    /// Field of a task input holding the drill's state (the state machine's `$`).
    pub const STATE: &str = "state";
    /// Where the state machine's Catch puts a failed step's error (`{Error, Cause}`).
    pub const ERROR: &str = "error";
    /// Where the Catch of a teardown step puts its error: apart from [`ERROR`], which may still
    /// hold the error of the step that sent the drill to teardown (a failed task's input goes
    /// on unchanged), so the report has both.
    pub const TEARDOWN_ERROR: &str = "teardown_error";
    /// Field of the state the Choice states read after `check` / `check-teardown`: one of the
    /// `OUTCOME_*` values.
    pub const OUTCOME: &str = "outcome";
    pub const OUTCOME_WAITING: &str = "waiting";
    pub const OUTCOME_READY: &str = "ready";
    pub const OUTCOME_FAILED: &str = "failed";
    pub const OUTCOME_TIMED_OUT: &str = "timed_out";
    pub const OUTCOME_DELETED: &str = "deleted";
    /// Field of the state: the drill stack's verifier function name (the `Verify` state invokes
    /// it by name, `FunctionName.$`), and the final verdict the last Choice reads (`true`/`false`).
    pub const VERIFIER_FUNCTION: &str = "verifier_function";
    pub const DRILL_OK: &str = "ok";

    /// Tag on the drill stack (CloudFormation propagates it to every resource that takes tags);
    /// the drill's roles may act only on what carries it. Its value is [`DRILL_TAG_VALUE`].
    pub const DRILL_TAG: &str = "openemr:drill";
    pub const DRILL_TAG_VALUE: &str = "true";
    /// Tag on the drill stack: which stack it is a drill of (its value, the source's name).
    pub const SOURCE_STACK_TAG: &str = "openemr:drill-of";
    /// Tag on the drill stack: the Step Functions execution that created it. Teardown deletes
    /// a stack it did not see created (CreateStack's answer lost) only when this names its own
    /// execution: a second execution never deletes the first one's drill.
    pub const EXECUTION_TAG: &str = "openemr:drill-execution";
    /// Drill stacks are named `<source stack>-drill-<yyyymmdd>`.
    pub const STACK_INFIX: &str = "-drill-";
    /// What a drill stack's names start with: `openemr-`, then the first group of the source
    /// stack's UUID, then [`STACK_INFIX`] (see [`resource_name`]).
    pub const RESOURCE_NAME_HEAD: &str = "openemr-";

    /// The name a drill stack gives its bucket, database and Elastic Beanstalk environment
    /// (lower case, as S3 and RDS need, which a stack name need not be):
    /// `openemr-<first group of the source's UUID>-drill-<first group of the drill's UUID>`.
    /// The source's group is read from its bucket's name (`openemr-<UUID>`), the drill's from
    /// its stack id (`arn:…:stack/<name>/<UUID>`), as the template's `Fn::Sub` reads them.
    /// `None` when either is not of that form.
    pub fn resource_name(source_bucket: &str, drill_stack_id: &str) -> Option<String> {
        fn first_group(uuid: &str) -> Option<&str> {
            uuid.split('-').next().filter(|g| !g.is_empty())
        }
        let source = first_group(source_bucket.strip_prefix(RESOURCE_NAME_HEAD)?)?;
        let drill = first_group(drill_stack_id.split('/').nth(2)?)?;
        Some(format!("{RESOURCE_NAME_HEAD}{source}{STACK_INFIX}{drill}"))
    }

    /// Where AWS writes the logs of a drill's resources, which deleting the drill stack leaves:
    /// Lambda's groups are named after the function (the drill's functions after the drill
    /// stack), RDS's and Elastic Beanstalk's after the instance and the environment
    /// ([`resource_name`]). The orchestrator may delete only groups under these.
    pub const LAMBDA_LOG_GROUPS: &str = "/aws/lambda/";
    pub const RDS_LOG_GROUPS: &str = "/aws/rds/instance/";
    pub const BEANSTALK_LOG_GROUPS: &str = "/aws/elasticbeanstalk/";

    #[cfg(test)]
    mod resource_name_tests {
        use super::resource_name;

        #[test]
        fn names_come_from_the_source_bucket_and_the_drill_stack_id() {
            let id = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-drill-20261206/5e0c7a10-96b1-11ef-8d0b-0affd3c5b3a1";
            assert_eq!(
                resource_name("openemr-2f1d4c80-96b1-11ef-a1b2-12a3b4c5d6e7", id).as_deref(),
                Some("openemr-2f1d4c80-drill-5e0c7a10")
            );
            assert_eq!(resource_name("my-own-bucket", id), None);
            assert_eq!(resource_name("openemr-", id), None);
            assert_eq!(
                resource_name("openemr-2f1d4c80", "openemr-drill-20261206"),
                None
            );
        }
    }
    /// The verifier's function name in the drill stack: `<resource name>-verifier`.
    pub const VERIFIER_SUFFIX: &str = "-verifier";
    /// Output of the drill stack naming its verifier function.
    pub const VERIFIER_OUTPUT: &str = "DrillVerifierFunction";
    /// Output of the drill stack: the application's URL inside the drill network.
    pub const APPLICATION_URL_OUTPUT: &str = "DrillApplicationURL";

    /// Parameter values a drill stack always gets, whatever the source uses: the smallest
    /// instance classes that still run OpenEMR (a drill proves the data, not the capacity).
    /// Every other parameter comes from the source stack or the gathered recovery inputs;
    /// Redis (`cache.t4g.micro`) and the CouchDB and NFS instances have fixed types already.
    /// The drill template must accept them (stack-gen's tests check).
    pub const DRILL_PARAMETER_OVERRIDES: &[(&str, &str)] = &[
        // The smallest class RDS MySQL 8.0 and 8.4 run on.
        ("DBInstanceClass", "db.t4g.micro"),
        // 2 GiB: OpenEMR's PHP workers and the EFS restore fit; 1 GiB (t3.micro) swaps.
        ("BeanstalkInstanceType", "t3.small"),
        // No subscription on the drill's own alert topic: every drill would e-mail the
        // source's operators a subscription confirmation. The drill's report and alert go
        // to the source stack's topic.
        ("AlertEmail", ""),
    ];

    /// Keys in the stack bucket (SSE-KMS with the stack key).
    pub const FINGERPRINT_KEY: &str = "recovery/fingerprint.json";
    /// Reports: `recovery/drills/<yyyy-mm-dd>.json`.
    pub const REPORT_PREFIX: &str = "recovery/drills/";
    /// The last successful drill's report (a copy), which the backup checker reads to publish
    /// [`DAYS_SINCE_SUCCESS_METRIC`].
    pub const LAST_SUCCESS_KEY: &str = "recovery/drills/last-success.json";

    /// EMF metrics (namespace, dimension `Stack`).
    pub const NAMESPACE: &str = "OpenEMR/RestoreDrill";
    pub const STACK_DIMENSION: &str = "Stack";
    pub const OK_METRIC: &str = "DrillOk";
    pub const RECOVERY_MINUTES_METRIC: &str = "RecoveryMinutes";
    pub const DATA_AGE_HOURS_METRIC: &str = "DataAgeHours";
    /// Published nightly by the backup checker, in its own namespace
    /// ([`crate::backup_checker::NAMESPACE`], dimensions `Stack` and `Check` =
    /// [`crate::backup_checker::DRILL_CHECK`]): days since [`LAST_SUCCESS_KEY`] was written
    /// (before any drill passed: since the first report); `RestoreDrillOverdueAlarm` reads it.
    pub const DAYS_SINCE_SUCCESS_METRIC: &str = "DaysSinceSuccessfulDrill";
    /// Default of `DrillMaxAgeDays`: a monthly drill plus slack.
    pub const DEFAULT_MAX_AGE_DAYS: u32 = 35;
    /// Bounds of `DrillMaxAgeDays`, the template's and the backup checker's.
    pub const MAX_AGE_DAYS_RANGE: (u32, u32) = (1, 366);

    /// The orchestrator's environment (`RestoreDrillFunction`).
    pub mod orchestrator {
        pub const STACK_NAME: &str = "STACK_NAME";
        pub const BUCKET: &str = "BUCKET";
        pub const KMS_KEY_ARN: &str = "KMS_KEY_ARN";
        /// HTTPS URL of the drill template (`stack-ops package` uploads it, content-addressed).
        pub const TEMPLATE_URL: &str = "DRILL_TEMPLATE_URL";
        /// The CloudFormation service role the drill stack is created and deleted with.
        pub const STACK_ROLE_ARN: &str = "DRILL_STACK_ROLE_ARN";
        pub const TOPIC: &str = "ALERT_TOPIC_ARN";
        pub const WAIT_MINUTES: &str = "DRILL_WAIT_MINUTES";
        pub const TOLERANCE_PERCENT: &str = "DRILL_TOLERANCE_PERCENT";
        /// Bounds of `DrillWaitMinutes`, the template's and the function's: never shorter than
        /// the drill stack's own creation time-outs (the file system's restore, then the
        /// application's deployment: stack-gen's `restore_drill` tests hold the sum under the
        /// minimum), at most eight hours.
        pub const WAIT_MINUTES_RANGE: (u32, u32) = (150, 480);
        /// Defaults of `DrillWaitMinutes` / `DrillTolerancePercent`, also the function's.
        pub const DEFAULT_WAIT_MINUTES: u32 = 180;
        pub const DEFAULT_TOLERANCE_PERCENT: u32 = 1;
        /// Bounds of `DrillTolerancePercent`, the template's and the function's.
        pub const TOLERANCE_PERCENT_RANGE: (u32, u32) = (0, 20);
    }

    /// The recorder's and the verifier's environment: where the data is.
    pub mod data {
        pub const STACK_NAME: &str = "STACK_NAME";
        /// The stack's bucket: the manifest (database user and password), the CouchDB admin
        /// password and CA, and (recorder) where the fingerprint goes.
        pub const BUCKET: &str = "BUCKET";
        pub const KMS_KEY_ARN: &str = "KMS_KEY_ARN";
        pub const DB_HOST: &str = "DB_HOST";
        pub const DB_PORT: &str = "DB_PORT";
        /// `true`: TLS, the server checked against the site's RDS CA bundle on EFS.
        pub const DB_TLS: &str = "DB_TLS";
        /// Base URL of CouchDB (`https://couchdb.openemr.internal:6984`); unset without a
        /// document store.
        pub const COUCHDB_URL: &str = "COUCHDB_URL";
        /// Where the Lambda mounts EFS (OpenEMR's `sites/`, [`crate::site`]).
        pub const EFS_MOUNT: &str = "EFS_MOUNT";
        /// Verifier only: the application's URL inside the drill network.
        pub const APPLICATION_URL: &str = "APPLICATION_URL";
        /// The Lambda file-system mount path both use.
        pub const DEFAULT_EFS_MOUNT: &str = crate::site::EFS_MOUNT;
    }
}
