//! The recovery drill, end to end in the emulator (moto, one server):
//!
//! 1. An "original" stack is created through moto's CloudFormation: a small template with the
//!    resources a recovery reads (`OpenEMRKey`, `S3Bucket`, `RDSInstance`, `CouchDBVolume`) and
//!    the parameters the manifest records (the key and the volume are made with the SDK and
//!    named by stand-in resources: see [`stand_in`]). moto's CloudFormation cannot run the real template
//!    (Lambda-backed custom resources, Beanstalk, ...), so the drill stands in this one and
//!    plays the custom resources itself: it takes `RecoveryManifest` / `RecoveryParameters`
//!    *from the generated templates* (stack-gen), resolves their `Ref`/`GetAtt`s against the
//!    stack's values and sends them to the function through the protocol crate with a
//!    loopback ResponseURL, as CloudFormation would. So the template's wiring and the
//!    function's property names are checked against each other.
//! 2. The original records its manifest; the nightly backups run (duplicity objects and
//!    passphrase in `Backup/`, an RDS snapshot, the EBS snapshot by the document-snapshotter's
//!    logic) and the backup-checker's logic passes them.
//! 3. `stack_ops::recovery_lookup` (the `stack-ops recovery-params --stack` logic) reads the
//!    stack and writes the recovery parameters file.
//! 4. The recovery stack's `RecoveryParameters` resolves them: every value equals the original's.
//! 5. The recovery stack (again a stand-in template, built from the resolved values, since moto
//!    does not restore snapshots through CloudFormation) records its own manifest, is backed
//!    up, looked up and resolved again (chained): every value still equals the original's.
//!
//! The stand-in stacks do not take the password as a parameter: moto's DescribeStacks returns
//! NoEcho parameters unmasked (CloudFormation shows `****`), and the SDK's trace log would show
//! it. The drill passes it to `RecoveryManifest` as CloudFormation passes `RDSPassword`.
//!
//! The restore drill's own steps run on the same stacks: the original's nightly fingerprint
//! (real MariaDB, pouchdb-server and a directory tree; step 2b), the drill's gather (3b), its
//! recovery inputs resolved (4) and its verifier against the data a recovery brings back (5b).
//!
//! Throughout, the password must appear in no log line (all levels, SDK traces included), no Reason, no non-NoEcho answer and no
//! parameters file.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use custom_resource::{Context, Options as CrOptions};
use recovery_params::Clients;
use recovery_params::Request;
use serde_json::{Value, json};
use stack_gen::Options;
use test_harness::Moto;
use test_harness::recovery::{self as fixtures, PASSWORD};
use test_harness::response_url::ResponseUrl;

const ORIGINAL: &str = "openemr-drill";
const RECOVERY: &str = "openemr-drill-recovery";

/// The original values the drill must get back at every step.
const TIME_ZONE: &str = "America/Denver";
const PATIENT_RECORDS: &str = "20";
const DOCUMENT_STORAGE: &str = "200";
const MYSQL_VERSION: &str = "8.0";

/// `Ref`/`GetAtt` replaced from `env` (`GetAtt` as `a.b`); anything else unresolved is a
/// wiring error the drill must report.
fn resolve_intrinsics(value: &Value, env: &BTreeMap<String, Value>) -> Value {
    test_harness::intrinsics::resolve(value, &|name| env.get(name).cloned())
}

/// The properties of `logical_id` in the template stack-gen generates for `options`.
fn template_properties(options: &Options, logical_id: &str) -> Value {
    let template = stack_gen::generate(options).unwrap().to_json();
    template["Resources"][logical_id]["Properties"].clone()
}

/// Sends one Create to the function as CloudFormation would; returns the answer body.
async fn create(clients: &Clients, stack_id: &str, logical_id: &str, properties: Value) -> Value {
    let server = ResponseUrl::start();
    let event = fixtures::event(
        "Create",
        &server.url(),
        stack_id,
        logical_id,
        properties,
        None,
    );
    let handler = |request: Request, _context: Context| {
        let clients = clients.clone();
        async move { recovery_params::handler(&clients, request).await }
    };
    custom_resource::handle(&handler, event, Context::default(), &CrOptions::default())
        .await
        .expect("answer delivered");
    let answers = server.requests();
    assert_eq!(answers.len(), 1, "{logical_id}: exactly one answer");
    let body = answers[0].json();
    assert_eq!(
        body["Status"], "SUCCESS",
        "{logical_id}: {}",
        body["Reason"]
    );
    if body["NoEcho"] != json!(true) {
        assert!(
            !body.to_string().contains(PASSWORD),
            "{logical_id}: the password is in an answer without NoEcho"
        );
    }
    body
}

async fn create_stack(
    config: &SdkConfig,
    name: &str,
    template: Value,
    parameters: &[(String, String)],
) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let mut request = cfn
        .create_stack()
        .stack_name(name)
        .template_body(template.to_string());
    for (key, value) in parameters {
        request = request.parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build(),
        );
    }
    let id = request
        .send()
        .await
        .expect("create stack")
        .stack_id
        .unwrap();
    let stack = cfn.describe_stacks().stack_name(name).send().await.unwrap();
    assert_eq!(
        stack.stacks()[0].stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE"),
        "{name}"
    );
    id
}

async fn physical_ids(config: &SdkConfig, name: &str) -> BTreeMap<String, String> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let out = cfn
        .list_stack_resources()
        .stack_name(name)
        .send()
        .await
        .unwrap();
    out.stack_resource_summaries()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A resource whose physical id is `parameter`'s value: stands in for a resource moto's
/// CloudFormation cannot make as the stack does. moto creates `AWS::EC2::Volume` unencrypted
/// (it ignores Encrypted and KmsKeyId), which recovery-params rightly rejects, and cannot
/// restore a volume from a snapshot; so the drill makes the key and the volumes with the SDK
/// and the stand-in stacks name them, as `ListStackResources` does for the real stack.
fn stand_in(parameter: &str) -> Value {
    json!({"Type": "AWS::SSM::Parameter", "Properties": {"Name": {"Ref": parameter}, "Type": "String", "Value": "stand-in"}})
}

fn original_template() -> Value {
    json!({
        "Parameters": {
            "EC2KeyPair": {"Type": "String"},
            "TimeZone": {"Type": "String", "Default": "America/Chicago"},
            "PatientRecords": {"Type": "Number", "Default": 10},
            "DocumentStorage": {"Type": "Number", "Default": 500},
            "MySQLVersion": {"Type": "String", "Default": "8.4"},
            "KeyId": {"Type": "String"},
            "KeyArn": {"Type": "String"},
            "DocumentVolumeId": {"Type": "String"}
        },
        "Resources": {
            "OpenEMRKey": stand_in("KeyId"),
            "S3Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}},
            "RDSInstance": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "Engine": "mysql", "EngineVersion": {"Ref": "MySQLVersion"}, "DBInstanceClass": "db.t3.micro",
                "AllocatedStorage": {"Ref": "PatientRecords"}, "MasterUsername": "openemr", "MasterUserPassword": "stand-in-password",
                "StorageEncrypted": true, "KmsKeyId": {"Ref": "KeyArn"}}},
            "CouchDBVolume": stand_in("DocumentVolumeId")
        }
    })
}

/// The recovery stack's stand-in: its own bucket, and a database and volume sized and keyed
/// as the real recovery template does with `RecoveryParameters` (passed here as parameters,
/// since moto's CloudFormation cannot call the custom resource).
fn recovery_template() -> Value {
    json!({
        "Parameters": {
            "EC2KeyPair": {"Type": "String"},
            "RecoveryKMSKey": {"Type": "String"},
            "RecoveryRDSSnapshotARN": {"Type": "String"},
            "RecoveryCouchDBSnapshot": {"Type": "String"},
            "RecoveryS3Bucket": {"Type": "String"},
            "TimeZone": {"Type": "String", "Default": ""},
            "ResolvedPatientRecords": {"Type": "Number"},
            "ResolvedEngineVersion": {"Type": "String"},
            "RestoredVolumeId": {"Type": "String"}
        },
        "Resources": {
            "S3Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}},
            "RDSInstance": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "Engine": "mysql", "EngineVersion": {"Ref": "ResolvedEngineVersion"}, "DBInstanceClass": "db.t3.micro",
                "AllocatedStorage": {"Ref": "ResolvedPatientRecords"}, "MasterUsername": "openemr", "MasterUserPassword": "stand-in-password",
                "StorageEncrypted": true, "KmsKeyId": {"Ref": "RecoveryKMSKey"}}},
            "CouchDBVolume": stand_in("RestoredVolumeId")
        }
    })
}

/// An encrypted sc1 volume of `size_gb`, from `snapshot` if given (the recovery's restore).
async fn sized_volume(
    config: &SdkConfig,
    key_arn: &str,
    size_gb: i32,
    snapshot: Option<&str>,
) -> String {
    aws_sdk_ec2::Client::new(config)
        .create_volume()
        .availability_zone("us-east-1a")
        .size(size_gb)
        .volume_type(aws_sdk_ec2::types::VolumeType::Sc1)
        .encrypted(true)
        .kms_key_id(key_arn)
        .set_snapshot_id(snapshot.map(str::to_owned))
        .send()
        .await
        .expect("create volume")
        .volume_id
        .unwrap()
}

/// The night's backups of a stack, as the stack makes them: the NFS agent's duplicity backup
/// (fixture objects), an RDS snapshot (RDS's own backup), the EBS snapshot by the
/// document-snapshotter's logic; then the backup-checker's logic must find them all fine.
async fn nightly_backups(
    config: &SdkConfig,
    stack_id: &str,
    resources: &fixtures::Resources,
    name: &str,
) -> fixtures::Leftovers {
    fixtures::write_backup(config, &resources.bucket, &resources.key_arn).await;
    let rds_snapshot_arn =
        fixtures::snapshot_db(config, &resources.db_instance, &format!("{name}-final")).await;

    use stack_contract::{backup_checker as checker_env, document_snapshotter as snapshotter_env};
    let volumes = format!(
        "{}={}",
        stack_contract::volumes::PRIMARY,
        resources.volume_id
    );
    let settings = document_snapshotter::Config::from_lookup(|var| match var {
        snapshotter_env::STACK_ID => Some(stack_id.to_owned()),
        snapshotter_env::VOLUMES => Some(volumes.clone()),
        _ => None,
    })
    .expect("snapshotter settings");
    let clients = document_snapshotter::Clients::new(config);
    let summary = document_snapshotter::handle(&clients, &settings, &Default::default(), now())
        .await
        .unwrap_or_else(|failed| panic!("document snapshotter: {failed}"));
    let ebs_snapshot = summary
        .volumes
        .iter()
        .find_map(|v| v.created.clone())
        .expect("the snapshotter made a snapshot");

    let checker = backup_checker::Config::from_vars(|var| match var {
        checker_env::BUCKET => Some(resources.bucket.clone()),
        checker_env::VOLUMES => Some(volumes.clone()),
        checker_env::DB_INSTANCE => Some(resources.db_instance.clone()),
        checker_env::STACK => Some(name.to_owned()),
        _ => None,
    })
    .expect("checker settings");
    let run = backup_checker::check(
        &backup_checker::Clients::new(config),
        &checker,
        time::OffsetDateTime::now_utc(),
    )
    .await;
    let failed: Vec<String> = run
        .report
        .failed()
        .map(|c| format!("{}: {}", c.name, c.message))
        .collect();
    assert!(
        run.report.ok && failed.is_empty(),
        "backup checker on {name}: {failed:?}"
    );

    fixtures::Leftovers {
        resources: resources.clone(),
        rds_snapshot_arn,
        ebs_snapshot,
    }
}

fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_clients::s3_client(config)
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// The schema OpenEMR's sqlconf.php names, and CouchDB's admin password (in the stack bucket,
/// where the document store's user-data keeps it).
const SCHEMA: &str = "openemr";
const COUCH_PASSWORD: &str = "Couch-5e1d-never-in-logs";
/// The drill's stand-in for RecoveryParameters' stack id.
const DRILL_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-drill-drill-20261206/5e0c";

/// One stack's data on real servers: the database, CouchDB, the EFS tree.
struct SiteData {
    db: test_harness::servers::Mariadb,
    couch: test_harness::servers::Pouchdb,
    efs: tempfile::TempDir,
    bucket: String,
    key_arn: String,
    /// The database user of the stack's manifest.
    user: String,
}

impl SiteData {
    /// The original's: seeded, its CouchDB admin password in `bucket`.
    async fn original(config: &SdkConfig, bucket: &str, key_arn: &str) -> SiteData {
        use test_harness::openemr_data::*;
        let user = manifest_user(config, bucket).await;
        let db = test_harness::servers::Mariadb::start();
        seed_database(
            &db,
            SCHEMA,
            &restore_drill::fingerprint::MAIN_TABLES,
            &user,
            PASSWORD,
        );
        let couch = test_harness::servers::Pouchdb::start();
        couch_admin(&couch, COUCH_PASSWORD);
        couch_docs(&couch, COUCH_PASSWORD, "openemr", 12);
        let efs = tempfile::tempdir().unwrap();
        write_site(efs.path(), SCHEMA);
        SiteData {
            db,
            couch,
            efs,
            bucket: bucket.to_owned(),
            key_arn: key_arn.to_owned(),
            user,
        }
        .keeping_couch_password(config)
        .await
    }

    /// What a recovery into the stack whose bucket is `bucket` brings back of this data.
    async fn restored(&self, config: &SdkConfig, bucket: &str, key_arn: &str) -> SiteData {
        use test_harness::openemr_data::*;
        let user = manifest_user(config, bucket).await;
        assert_eq!(
            user, self.user,
            "the recovery's manifest names the original's user"
        );
        let db = test_harness::servers::Mariadb::start();
        restore_database(&self.db, &db, SCHEMA);
        // The restored instance keeps its master user, with the original's password.
        grant_reader(&db, SCHEMA, &user, PASSWORD);
        let couch = test_harness::servers::Pouchdb::start();
        couch_admin(&couch, COUCH_PASSWORD);
        restore_documents(&self.couch, &couch, COUCH_PASSWORD, "openemr");
        let efs = tempfile::tempdir().unwrap();
        restore_site(self.efs.path(), efs.path());
        // The recovery's CouchDB node copies the original's password into its own bucket.
        SiteData {
            db,
            couch,
            efs,
            bucket: bucket.to_owned(),
            key_arn: key_arn.to_owned(),
            user,
        }
        .keeping_couch_password(config)
        .await
    }

    /// CouchDB's admin password put where the document store's user-data keeps it.
    async fn keeping_couch_password(self, config: &SdkConfig) -> SiteData {
        s3(config)
            .put_object()
            .bucket(&self.bucket)
            .key(stack_contract::bucket::COUCHDB_ADMIN_PASSWORD_KEY)
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.key_arn)
            .body(format!("{COUCH_PASSWORD}\n").into_bytes().into())
            .send()
            .await
            .unwrap();
        self
    }

    /// The recorder's or the verifier's configuration for this data.
    fn config(&self) -> restore_drill::config::DataConfig {
        restore_drill::config::DataConfig {
            stack_name: ORIGINAL.into(),
            bucket: self.bucket.clone(),
            kms_key_arn: self.key_arn.clone(),
            db_host: "127.0.0.1".into(),
            db_port: self.db.port,
            db_tls: false,
            couchdb_url: Some(self.couch.url()),
            efs: self.efs.path().to_owned(),
            application_url: None,
        }
    }
}

/// The database user the manifest in `bucket` records.
async fn manifest_user(config: &SdkConfig, bucket: &str) -> String {
    let body = s3(config)
        .get_object()
        .bucket(bucket)
        .key(stack_contract::bucket::MANIFEST_KEY)
        .send()
        .await
        .expect("the manifest")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    recovery_params::manifest::Manifest::parse(&body)
        .expect("a manifest")
        .database
        .master_username
}

/// The drill's gather task, as the state machine starts it, for the stack `ORIGINAL`.
async fn drill_gather(
    config: &SdkConfig,
    bucket: &str,
    key_arn: &str,
) -> restore_drill::state::DrillState {
    use stack_contract::restore_drill::{self as drill, orchestrator as vars};
    let env: Vec<(&str, String)> = vec![
        (vars::STACK_NAME, ORIGINAL.to_owned()),
        (vars::BUCKET, bucket.to_owned()),
        (vars::KMS_KEY_ARN, key_arn.to_owned()),
        (
            vars::TEMPLATE_URL,
            "https://code.s3.amazonaws.com/templates/recovery-drill/x.json".to_owned(),
        ),
        (
            vars::STACK_ROLE_ARN,
            "arn:aws:iam::123456789012:role/DrillStackRole".to_owned(),
        ),
    ];
    let env = stack_contract::env::Env::new(move |name: &str| {
        env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    });
    let event = json!({
        drill::TASK: drill::TASK_GATHER,
        drill::STATE: { "execution": "arn:aws:states:us-east-1:123456789012:execution:RestoreDrill:e2e" }
    });
    let state = restore_drill::handle(
        &restore_drill::Clients::new(config),
        &env,
        event,
        now(),
        &mut Vec::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("the drill's gather: {e}"));
    serde_json::from_value(state).unwrap()
}

fn file_to_map(file: &str) -> BTreeMap<String, String> {
    let value: Value = serde_json::from_str(file).expect("the parameters file is JSON");
    value
        .as_array()
        .expect("an array of parameters")
        .iter()
        .map(|p| {
            (
                p["ParameterKey"].as_str().unwrap().to_owned(),
                p["ParameterValue"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Resolves the recovery template's `RecoveryParameters` with the parameters file's values.
async fn resolve_from(
    clients: &Clients,
    stack_id: &str,
    file: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let recovery = Options {
        recovery: true,
        ..Options::default()
    };
    let mut env: BTreeMap<String, Value> =
        file.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    env.entry("TimeZone".into()).or_insert(json!("")); // the recovery template's default
    env.insert(
        "RecoveryParamsFunction.Arn".into(),
        json!(fixtures::SERVICE_TOKEN),
    );
    let properties =
        resolve_intrinsics(&template_properties(&recovery, "RecoveryParameters"), &env);
    let body = create(clients, stack_id, "RecoveryParameters", properties).await;
    assert_eq!(
        body["NoEcho"],
        json!(true),
        "the resolved password is sent NoEcho"
    );
    body["Data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn assert_original_values(step: &str, data: &BTreeMap<String, String>) {
    assert_eq!(data["TimeZone"], TIME_ZONE, "{step}");
    assert_eq!(data["PatientRecords"], PATIENT_RECORDS, "{step}");
    assert_eq!(data["DocumentStorage"], DOCUMENT_STORAGE, "{step}");
    assert_eq!(data["MasterUsername"], "openemr", "{step}");
    assert_eq!(data["EngineVersion"], MYSQL_VERSION, "{step}");
    assert_eq!(data["Source"], "manifest", "{step}");
    assert!(
        data["Password"] == PASSWORD,
        "{step}: the resolved password differs from the original's"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn recovery_drill() {
    assert_eq!(
        stack_gen::components::recovery::MANIFEST_KEY,
        recovery_params::manifest::MANIFEST_KEY,
        "template and function agree on the manifest key"
    );
    let logs = test_harness::logs::capture();
    let started = std::time::Instant::now();
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);

    // 1. The original stack, and its manifest recorded by the template's RecoveryManifest.
    let key_arn = fixtures::create_key(&config).await;
    let key_id = key_arn.rsplit_once("key/").unwrap().1.to_owned();
    let document_volume =
        sized_volume(&config, &key_arn, DOCUMENT_STORAGE.parse().unwrap(), None).await;
    let parameters: Vec<(String, String)> = [
        ("EC2KeyPair", "ops"),
        ("TimeZone", TIME_ZONE),
        ("PatientRecords", PATIENT_RECORDS),
        ("DocumentStorage", DOCUMENT_STORAGE),
        ("MySQLVersion", MYSQL_VERSION),
        ("KeyId", &key_id),
        ("KeyArn", &key_arn),
        ("DocumentVolumeId", &document_volume),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let original_id = create_stack(&config, ORIGINAL, original_template(), &parameters).await;
    let ids = physical_ids(&config, ORIGINAL).await;
    assert_eq!(ids["OpenEMRKey"], key_id);
    let mut env: BTreeMap<String, Value> = parameters
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    // CloudFormation hands the NoEcho parameter to the custom resource as it is.
    env.insert("RDSPassword".into(), json!(PASSWORD));
    env.insert("S3Bucket".into(), json!(ids["S3Bucket"]));
    env.insert("OpenEMRKey.Arn".into(), json!(key_arn));
    env.insert(
        "RecoveryParamsFunction.Arn".into(),
        json!(fixtures::SERVICE_TOKEN),
    );
    let record = resolve_intrinsics(
        &template_properties(&Options::default(), "RecoveryManifest"),
        &env,
    );
    create(&clients, &original_id, "RecoveryManifest", record).await;

    // 2. The nightly backups.
    let original = fixtures::Resources {
        key_arn: key_arn.clone(),
        bucket: ids["S3Bucket"].clone(),
        db_instance: ids["RDSInstance"].clone(),
        volume_id: ids["CouchDBVolume"].clone(),
    };
    let backed_up = nightly_backups(&config, &original_id, &original, "drill-original").await;

    // 2b. The night's fingerprint, by FingerprintRecorderFunction's code, from the original's
    //     data on real servers: MariaDB (logged in as its manifest says), CouchDB, the EFS tree.
    let source = SiteData::original(&config, &original.bucket, &key_arn).await;
    let fingerprint =
        restore_drill::data::record_fingerprint(&s3(&config), &source.config(), now())
            .await
            .expect("the recorder reads the original's data");
    assert_eq!(fingerprint.database.schema, SCHEMA);
    assert_eq!(fingerprint.files.document_files, 7);

    // 3. The parameters file, from the stack alone.
    let file =
        stack_ops::recovery_lookup::recovery_parameters(&config, &Options::default(), ORIGINAL)
            .await
            .expect("lookup");
    assert!(
        !file.contains(PASSWORD),
        "the parameters file holds the password"
    );
    let file = file_to_map(&file);
    assert_eq!(file["RecoveryKMSKey"], key_arn);
    assert_eq!(file["RecoveryS3Bucket"], original.bucket);
    assert_eq!(
        file["RecoveryRDSSnapshotARN"], backed_up.rds_snapshot_arn,
        "the newest completed database snapshot"
    );
    assert_eq!(file["RecoveryCouchDBSnapshot"], backed_up.ebs_snapshot);
    assert_eq!(file["TimeZone"], TIME_ZONE);
    assert_eq!(file["EC2KeyPair"], "ops");

    // 3b. The drill's gather (RestoreDrillFunction's first task) finds the same inputs, one
    //     implementation with the lookup above, and the night's fingerprint.
    let gathered = drill_gather(&config, &original.bucket, &key_arn).await;
    let inputs = gathered
        .inputs
        .clone()
        .expect("the drill's recovery inputs");
    assert_eq!(inputs.kms_key_arn, file["RecoveryKMSKey"]);
    assert_eq!(inputs.bucket, file["RecoveryS3Bucket"]);
    assert_eq!(inputs.rds_snapshot_arn, file["RecoveryRDSSnapshotARN"]);
    assert_eq!(
        inputs.couchdb_snapshot.as_deref(),
        Some(file["RecoveryCouchDBSnapshot"].as_str())
    );
    assert_eq!(gathered.fingerprint.as_ref(), Some(&fingerprint));

    // 4. Resolve: the original's values, from the lookup's file and from the drill's inputs.
    let first = resolve_from(&clients, fixtures::RECOVERY_STACK_ID, &file).await;
    assert_original_values("first recovery", &first);
    let mut drill_file = file.clone();
    for (name, value) in [
        ("RecoveryKMSKey", &inputs.kms_key_arn),
        ("RecoveryS3Bucket", &inputs.bucket),
        ("RecoveryRDSSnapshotARN", &inputs.rds_snapshot_arn),
    ] {
        drill_file.insert(name.to_owned(), value.clone());
    }
    let drilled = resolve_from(&clients, DRILL_STACK_ID, &drill_file).await;
    assert_original_values("the drill's recovery", &drilled);

    // 5. The recovery stack: built from the resolved values, records its own manifest, is
    //    backed up, looked up and resolved again.
    let restored_volume = sized_volume(
        &config,
        &key_arn,
        first["DocumentStorage"].parse().unwrap(),
        Some(&backed_up.ebs_snapshot),
    )
    .await;
    let mut recovery_parameters: Vec<(String, String)> = file.clone().into_iter().collect();
    recovery_parameters.retain(|(k, _)| k != "TimeZone"); // a recovery stack leaves it empty: "from the manifest"
    recovery_parameters.extend([
        (
            "ResolvedPatientRecords".to_owned(),
            first["PatientRecords"].clone(),
        ),
        (
            "ResolvedEngineVersion".to_owned(),
            first["EngineVersion"].clone(),
        ),
        ("RestoredVolumeId".to_owned(), restored_volume),
    ]);
    let recovery_id =
        create_stack(&config, RECOVERY, recovery_template(), &recovery_parameters).await;
    let rids = physical_ids(&config, RECOVERY).await;
    let recovery_options = Options {
        recovery: true,
        ..Options::default()
    };
    let mut env: BTreeMap<String, Value> =
        file.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    for (name, value) in &first {
        env.insert(format!("RecoveryParameters.{name}"), json!(value));
    }
    env.insert("S3Bucket".into(), json!(rids["S3Bucket"]));
    env.insert(
        "RecoveryParamsFunction.Arn".into(),
        json!(fixtures::SERVICE_TOKEN),
    );
    let record = resolve_intrinsics(
        &template_properties(&recovery_options, "RecoveryManifest"),
        &env,
    );
    assert_eq!(record["RecoveredFrom"], json!(original.bucket));
    create(&clients, &recovery_id, "RecoveryManifest", record).await;

    let recovered = fixtures::Resources {
        key_arn: key_arn.clone(),
        bucket: rids["S3Bucket"].clone(),
        db_instance: rids["RDSInstance"].clone(),
        volume_id: rids["CouchDBVolume"].clone(),
    };

    // 5b. The verifier (DrillVerifierFunction's code) against the restored data: the database
    //     dumped and loaded into another server, the documents replicated into another CouchDB,
    //     the site tree copied; logged in as the recovery stack's own manifest says, the login
    //     page served. Everything the fingerprint counted came back.
    let restored = source.restored(&config, &recovered.bucket, &key_arn).await;
    let login = test_harness::openemr_data::LoginPage::start();
    let mut verifier = restored.config();
    verifier.application_url = Some(login.url.clone());
    let verified = restore_drill::data::verify(&s3(&config), &verifier, gathered, now())
        .await
        .expect("the verifier reads the restored data");
    let verification = verified.verification.as_ref().unwrap();
    for check in &verification.checks {
        eprintln!("drill verification: {}", check.describe());
    }
    assert!(verification.ok, "{verification:#?}");
    assert!(verified.application_answered.is_some());
    // The login page, the table count, the five main tables' rows, the documents, sqlconf.php,
    // the documents' files and bytes: each exactly as recorded (nothing wrote in between).
    assert_eq!(
        verification.checks.len(),
        1 + 1 + 5 + 1 + 1 + 2,
        "{verification:#?}"
    );
    assert!(
        verification
            .checks
            .iter()
            .all(|c| c.verdict == restore_drill::fingerprint::Verdict::Match),
        "{verification:#?}"
    );
    let backed_up_again =
        nightly_backups(&config, &recovery_id, &recovered, "drill-recovered").await;
    let file =
        stack_ops::recovery_lookup::recovery_parameters(&config, &Options::default(), RECOVERY)
            .await
            .expect("lookup of the recovery stack");
    assert!(!file.contains(PASSWORD));
    let file = file_to_map(&file);
    assert_eq!(
        file["RecoveryKMSKey"], key_arn,
        "a recovery stack's key is its RecoveryKMSKey"
    );
    assert_eq!(file["RecoveryS3Bucket"], recovered.bucket);
    assert_eq!(
        file["RecoveryRDSSnapshotARN"],
        backed_up_again.rds_snapshot_arn
    );
    assert_eq!(
        file["RecoveryCouchDBSnapshot"],
        backed_up_again.ebs_snapshot
    );
    assert_eq!(
        file["TimeZone"], "",
        "the recovery stack's TimeZone stays empty: from the manifest"
    );

    let second = resolve_from(
        &clients,
        "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-drill-recovery-2/9c8d",
        &file,
    )
    .await;
    assert_original_values("chained recovery", &second);

    let text = logs.text();
    assert!(
        text.contains("recovery parameters resolved"),
        "the function's logs were captured"
    );
    for line in text.lines().filter(|l| l.contains(PASSWORD)) {
        eprintln!(
            "LEAK: {}",
            line.replace(PASSWORD, "<PASSWORD>")
                .chars()
                .take(300)
                .collect::<String>()
        );
    }
    assert!(
        !text.contains(PASSWORD),
        "the password appeared in the logs"
    );
    assert!(
        !text.contains(COUCH_PASSWORD),
        "CouchDB's admin password appeared in the logs"
    );
    eprintln!(
        "recovery drill (two recoveries, chained) took {} ms",
        started.elapsed().as_millis()
    );
}
