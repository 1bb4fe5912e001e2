//! The checker against the AWS emulator (moto server on loopback): real S3 listings and HEADs,
//! real EC2 and RDS snapshots, a real SNS topic delivering to a loopback HTTP subscriber.

mod common;

use backup_checker::Clients;
use backup_checker::checks::Thresholds;
use backup_checker::{Config, Run, check, handle};
use common::*;
use stack_contract::volumes::{ROLES, Volume};
use test_harness::Moto;

const H: time::Duration = time::Duration::HOUR;
const MIN: time::Duration = time::Duration::MINUTE;
const DB_PASSWORD: &str = "db-master-secret-Pa55w0rd";

struct World {
    moto: Moto,
    /// Seeding and (in most tests) the checker's own calls.
    clients: Clients,
}

impl World {
    async fn start() -> World {
        World::on(Moto::start()).await
    }

    async fn on(moto: Moto) -> World {
        let clients = Clients::new(&moto.sdk_config().await);
        World { moto, clients }
    }

    /// A bucket with `keys` and the passphrase object (SSE-KMS when `kms`, absent when `None`).
    async fn bucket(&self, name: &str, keys: &[String], passphrase: Option<bool>) {
        create_bucket(&self.clients.s3, name).await;
        put_keys(&self.clients.s3, name, keys).await;
        if let Some(kms) = passphrase {
            put_passphrase(&self.clients.s3, name, kms).await;
        }
    }

    /// A document volume, with one (completed) snapshot taken now when `snapshot`.
    async fn volume(&self, snapshot: bool) -> String {
        let volume = self
            .clients
            .ec2
            .create_volume()
            .availability_zone("us-east-1a")
            .size(10)
            .send()
            .await
            .unwrap();
        let id = volume.volume_id().unwrap().to_owned();
        if snapshot {
            self.clients
                .ec2
                .create_snapshot()
                .volume_id(&id)
                .description("CouchDB backup")
                .send()
                .await
                .unwrap();
        }
        id
    }

    /// A MySQL instance (moto takes an automated snapshot at once) plus a manual snapshot.
    async fn database(&self, id: &str) {
        self.clients
            .rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("mysql")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("openemr")
            .master_user_password(DB_PASSWORD)
            .send()
            .await
            .unwrap();
        self.clients
            .rds
            .create_db_snapshot()
            .db_instance_identifier(id)
            .db_snapshot_identifier(format!("{id}-manual"))
            .send()
            .await
            .unwrap();
    }

    async fn topic(&self, inbox: &SnsInbox) -> String {
        let topic = self
            .clients
            .sns
            .create_topic()
            .name("OperatorAlerts")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        self.clients
            .sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("http")
            .endpoint(&inbox.url)
            .send()
            .await
            .unwrap();
        topic
    }
}

fn config(bucket: &str, volumes: &[&str], db: Option<&str>, topic: Option<&str>) -> Config {
    Config {
        bucket: bucket.to_owned(),
        prefix: "Backup/".to_owned(),
        volumes: volumes
            .iter()
            .enumerate()
            .map(|(i, v)| Volume {
                role: ROLES[i].to_owned(),
                id: (*v).to_owned(),
            })
            .collect(),
        db_instance: db.map(str::to_owned),
        limits: Thresholds {
            max_age: 26 * H,
            max_skew: 2 * H,
        },
        topic: topic.map(str::to_owned),
        stack: "test-stack".to_owned(),
        drill_max_age: None,
    }
}

fn failed(run: &Run) -> Vec<String> {
    run.report.failed().map(|c| c.name.clone()).collect()
}

fn message<'a>(run: &'a Run, check: &str) -> &'a str {
    &run.report
        .checks
        .iter()
        .find(|c| c.name == check)
        .unwrap_or_else(|| panic!("no check {check}"))
        .message
}

#[tokio::test]
async fn healthy_stack_passes_and_stays_quiet() {
    let w = World::start().await;
    let now = now();
    w.bucket("healthy", &chain(now - 10 * MIN, 5), Some(true))
        .await;
    let primary = w.volume(true).await;
    let replica = w.volume(true).await;
    w.database("openemr-db").await;
    let inbox = SnsInbox::start();
    let topic = w.topic(&inbox).await;
    let config = config(
        "healthy",
        &[&primary, &replica],
        Some("openemr-db"),
        Some(&topic),
    );

    let mut emf = Vec::new();
    let result = handle(&w.clients, &config, now, &mut emf)
        .await
        .expect("healthy backups pass");
    assert_eq!(result["ok"], true, "{result:#}");
    let names: Vec<&str> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "efs-chain",
            "efs-age",
            "efs-leftovers",
            "passphrase",
            "documents-CouchDBVolume",
            "documents-RCouchDBVolume",
            "database",
            "skew"
        ]
    );
    assert_eq!(result["api_calls"]["s3_list_objects"], 1);
    assert_eq!(result["api_calls"]["s3_head_object"], 1);
    assert_eq!(result["api_calls"]["s3_list_multipart_uploads"], 1);
    assert_eq!(result["api_calls"]["ec2_describe_snapshots"], 2);
    assert_eq!(result["api_calls"]["rds_describe_db_snapshots"], 1);
    assert_eq!(result["api_calls"]["sns_publish"], 0);
    let emf = String::from_utf8(emf).unwrap();
    assert_eq!(emf.lines().count(), names.len() + 1);
    assert!(
        emf.lines().last().unwrap().contains("\"FailedChecks\":0"),
        "{emf}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(inbox.wait_for(0).is_empty(), "a healthy run must not alert");
}

#[tokio::test]
async fn each_backup_fault_fails_naming_it() {
    let w = World::start().await;
    let now = now();
    let healthy = chain(now - 10 * MIN, 3);
    let without = |needle: &str| -> Vec<String> {
        healthy
            .iter()
            .filter(|k| !k.contains(needle))
            .cloned()
            .collect()
    };
    let full_time = backup_checker::stamp::duplicity(now - 10 * MIN - 3 * DAY);
    let inc2_start = backup_checker::stamp::duplicity(now - 10 * MIN - 2 * DAY);
    let broken: Vec<String> = healthy
        .iter()
        .filter(|k| !k.contains(&format!("{inc2_start}.to.")))
        .cloned()
        .collect();
    let with_part = [
        healthy.clone(),
        vec![format!(
            "Backup/duplicity-full.{full_time}.vol4.difftar.part.gpg"
        )],
    ]
    .concat();
    // (bucket, keys, passphrase, failing check, words)
    type Case<'a> = (&'a str, Vec<String>, Option<bool>, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "missing-manifest",
            without(&format!("duplicity-full.{full_time}.manifest")),
            Some(true),
            "efs-chain",
            vec!["manifest missing"],
        ),
        (
            "volume-gap",
            without(&format!("duplicity-full.{full_time}.vol2.")),
            Some(true),
            "efs-chain",
            vec!["volume gap", "vol2 missing"],
        ),
        (
            "broken-incremental",
            broken,
            Some(true),
            "efs-chain",
            vec!["broken incremental chain"],
        ),
        (
            "part-leftover",
            with_part,
            Some(true),
            "efs-leftovers",
            vec!["1 leftover partial upload", ".part.gpg"],
        ),
        (
            "stale-newest",
            chain(now - 30 * H, 3),
            Some(true),
            "efs-age",
            vec!["stale", "older than 26h00m"],
        ),
        (
            "no-passphrase",
            healthy.clone(),
            None,
            "passphrase",
            vec!["missing", "s3://no-passphrase/Backup/passphrase.txt"],
        ),
        (
            "plain-passphrase",
            healthy.clone(),
            Some(false),
            "passphrase",
            vec!["not SSE-KMS"],
        ),
        (
            "empty-backup",
            vec![],
            Some(true),
            "efs-chain",
            vec!["no duplicity backup found"],
        ),
    ];
    for (bucket, keys, passphrase, check_name, words) in cases {
        w.bucket(bucket, &keys, passphrase).await;
        let run = check(&w.clients, &config(bucket, &[], None, None), now).await;
        let failing = failed(&run);
        assert!(
            failing.contains(&check_name.to_owned()),
            "{bucket}: failing {failing:?}"
        );
        let text = message(&run, check_name);
        for word in words {
            assert!(text.contains(word), "{bucket}: {text:?} lacks {word:?}");
        }
    }
    // and the healthy layout in the same emulator passes
    w.bucket("control", &healthy, Some(true)).await;
    let run = check(&w.clients, &config("control", &[], None, None), now).await;
    assert!(run.report.ok, "{:#?}", run.report.checks);
}

#[tokio::test]
async fn interrupted_multipart_upload_is_a_leftover() {
    // moto reports every multipart upload as initiated in 2010, so it is always old here; the
    // grace period for an upload still running is covered by the table tests in checks.rs.
    let w = World::start().await;
    let now = now();
    w.bucket("multipart", &chain(now - 10 * MIN, 2), Some(true))
        .await;
    let run = check(&w.clients, &config("multipart", &[], None, None), now).await;
    assert!(run.report.ok, "{:#?}", run.report.checks);
    let key = "Backup/duplicity-full.20261125T070001Z.vol9.difftar.gpg";
    w.clients
        .s3
        .create_multipart_upload()
        .bucket("multipart")
        .key(key)
        .send()
        .await
        .unwrap();
    let run = check(&w.clients, &config("multipart", &[], None, None), now).await;
    assert_eq!(failed(&run), ["efs-leftovers"]);
    let text = message(&run, "efs-leftovers");
    assert!(
        text.contains("1 incomplete multipart upload") && text.contains(key),
        "{text}"
    );
}

#[tokio::test]
async fn missing_or_stale_snapshots_fail() {
    let w = World::start().await;
    let now = now();
    let no_snapshot = w.volume(false).await;
    let snapshotted = w.volume(true).await;
    w.database("db-a").await;

    // missing: a volume never snapshotted, a database that has none
    w.bucket("snapshots", &chain(now - 10 * MIN, 2), Some(true))
        .await;
    let run = check(
        &w.clients,
        &config(
            "snapshots",
            &[&snapshotted, &no_snapshot],
            Some("db-missing"),
            None,
        ),
        now,
    )
    .await;
    let failing = failed(&run);
    assert!(
        !failing.contains(&"documents-CouchDBVolume".to_owned()),
        "{failing:?}"
    );
    assert!(
        failing.contains(&"documents-RCouchDBVolume".to_owned()),
        "{failing:?}"
    );
    assert!(message(&run, "documents-RCouchDBVolume").contains(&no_snapshot));
    assert!(failing.contains(&"database".to_owned()), "{failing:?}");
    assert!(message(&run, "database").contains("db-missing"));

    // stale: the same snapshots judged 27 hours later (the EFS backup made an hour before that)
    let later = now + 27 * H;
    w.bucket("later", &chain(later - H, 2), Some(true)).await;
    let run = check(
        &w.clients,
        &config("later", &[&snapshotted], Some("db-a"), None),
        later,
    )
    .await;
    let failing = failed(&run);
    for c in ["documents-CouchDBVolume", "database", "skew"] {
        assert!(
            failing.contains(&c.to_owned()),
            "{c} should fail: {failing:?}"
        );
    }
    assert!(message(&run, "documents-CouchDBVolume").contains("stale"));
    assert!(message(&run, "database").contains("stale"));
    assert!(!failing.contains(&"efs-age".to_owned()));
}

#[tokio::test]
async fn skew_over_threshold_fails_alone() {
    let w = World::start().await;
    let now = now();
    let volume = w.volume(true).await;
    w.database("db-skew").await;
    // EFS backup 5 h before the snapshots: everything fresh, but not aligned
    w.bucket("skewed", &chain(now - 5 * H, 2), Some(true)).await;
    let run = check(
        &w.clients,
        &config("skewed", &[&volume], Some("db-skew"), None),
        now,
    )
    .await;
    assert_eq!(failed(&run), ["skew"]);
    assert!(
        message(&run, "skew").contains("more than 2h00m"),
        "{}",
        message(&run, "skew")
    );
    assert!(run.report.skew_seconds.unwrap() >= time::Duration::hours(5).whole_seconds() - 5);
}

#[tokio::test]
async fn failed_run_alerts_operators_without_secrets() {
    let w = World::start().await;
    let now = now();
    let volume = w.volume(false).await;
    w.database("db-alert").await;
    w.bucket("alerting", &chain(now - 10 * MIN, 2), None).await;
    let inbox = SnsInbox::start();
    let topic = w.topic(&inbox).await;
    let config = config("alerting", &[&volume], Some("db-alert"), Some(&topic));

    let mut emf = Vec::new();
    let error = handle(&w.clients, &config, now, &mut emf)
        .await
        .expect_err("a failed check fails the invocation");
    assert_eq!(error.error_type(), "BackupChecksFailed");
    let error = error.to_string();
    assert!(
        error.contains("passphrase") && error.contains("documents-CouchDBVolume"),
        "{error}"
    );

    let got = inbox.wait_for(1);
    assert_eq!(got.len(), 1, "one alert");
    let subject = got[0]["Subject"].as_str().unwrap();
    let body = got[0]["Message"].as_str().unwrap();
    assert!(
        subject.contains("FAILED")
            && subject.contains("test-stack")
            && subject.contains("passphrase"),
        "{subject}"
    );
    assert!(
        body.contains(
            "FAILED passphrase: passphrase object s3://alerting/Backup/passphrase.txt is missing"
        ),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "FAILED documents-CouchDBVolume: no completed snapshot of document volume {volume}"
        )),
        "{body}"
    );
    assert!(
        body.contains("Where to look: EC2 console > Snapshots"),
        "{body}"
    );
    assert!(body.contains("ok efs-chain"), "{body}");

    let emf = String::from_utf8(emf).unwrap();
    let lines: Vec<serde_json::Value> = emf
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let passphrase = lines.iter().find(|l| l["Check"] == "passphrase").unwrap();
    assert_eq!(passphrase["PassphraseOk"], 0.0);
    assert_eq!(
        passphrase["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "OpenEMR/BackupChecker"
    );
    assert_eq!(lines.last().unwrap()["FailedChecks"], 2);
    assert!(
        lines.iter().find(|l| l["Check"] == "efs-age").unwrap()["BackupAgeSeconds"]
            .as_f64()
            .unwrap()
            >= 600.0
    );

    for text in [subject, body, &error, &emf] {
        assert!(
            !text.contains(PASSPHRASE) && !text.contains(DB_PASSWORD),
            "secret leaked: {text}"
        );
    }
}

#[tokio::test]
async fn encrypted_passphrase_content_is_never_read() {
    // The passphrase is present and SSE-KMS: the check passes from its metadata alone, and its
    // content appears nowhere in the result.
    let w = World::start().await;
    let now = now();
    w.bucket("meta-only", &chain(now - 10 * MIN, 1), Some(true))
        .await;
    let mut emf = Vec::new();
    let result = handle(
        &w.clients,
        &config("meta-only", &[], None, None),
        now,
        &mut emf,
    )
    .await
    .unwrap();
    assert!(result.to_string().contains("SSE-KMS encrypted (aws:kms)"));
    assert!(!result.to_string().contains(PASSPHRASE));
    assert!(!String::from_utf8(emf).unwrap().contains(PASSPHRASE));
}

/// With only what the template gives `BackupCheckerRole`, IAM enforced by the emulator: the
/// night's checks read what they need (listing `Backup/`, the passphrase's head, snapshots)
/// and a failure is published to the topic.
#[tokio::test]
async fn its_own_role_checks_and_alerts() {
    let admin = World::on(Moto::start_with_iam()).await;
    let now = now();
    let bucket = "checker-iam";
    admin
        .bucket(bucket, &chain(now - 10 * MIN, 3), Some(true))
        .await;
    let volume = admin.volume(true).await;
    admin.database("openemr-db").await;
    let inbox = SnsInbox::start();
    let topic = admin.topic(&inbox).await;
    let template = stack_gen::generate(&stack_gen::Options::default())
        .unwrap()
        .to_json();
    let role = test_harness::iam::component(
        &admin.moto,
        &template,
        "BackupCheckerRole",
        &test_harness::iam::stack_env(bucket),
    )
    .await;
    let clients = Clients::new(&role);
    // IAM is enforced: the checker reads backups, it cannot delete them.
    let key = chain(now - 10 * MIN, 3)[0].clone();
    assert!(
        clients
            .s3
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .is_err(),
        "the checker's role deleted a backup"
    );

    // The restore drill's reports: the role lists their names and times, nothing else.
    let reports = [
        "recovery/drills/2026-11-01.json".to_owned(),
        stack_contract::restore_drill::LAST_SUCCESS_KEY.to_owned(),
    ];
    put_keys(&admin.clients.s3, bucket, &reports).await;
    assert!(
        clients
            .s3
            .get_object()
            .bucket(bucket)
            .key(&reports[1])
            .send()
            .await
            .is_err(),
        "the checker's role read a drill report"
    );

    let mut emf = Vec::new();
    let mut healthy = config(bucket, &[&volume], Some("openemr-db"), Some(&topic));
    healthy.drill_max_age = Some(35 * DAY);
    let result = handle(&clients, &healthy, now, &mut emf)
        .await
        .expect("healthy backups pass under the role");
    assert_eq!(result["ok"], true, "{result:#}");
    let drill = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == stack_contract::backup_checker::DRILL_CHECK)
        .unwrap_or_else(|| panic!("no drill check: {result:#}"));
    assert!(
        drill["message"]
            .as_str()
            .unwrap()
            .starts_with("last successful restore drill 0.0 days ago"),
        "{drill:#}"
    );
    use stack_contract::restore_drill::DAYS_SINCE_SUCCESS_METRIC as DAYS;
    let emf = String::from_utf8(emf.clone()).unwrap();
    let line = emf
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l.get(DAYS).is_some())
        .unwrap_or_else(|| panic!("no drill metric in {emf}"));
    assert!(line[DAYS].as_f64().unwrap() < 1.0);
    let mut emf = Vec::new();
    // A night without a fresh backup: the alert goes out with the role's sns:Publish.
    let stale = handle(&clients, &healthy, now + 30 * H, &mut emf).await;
    assert!(stale.is_err(), "a stale backup fails the invocation");
    assert_eq!(inbox.wait_for(1).len(), 1, "the role may publish the alert");
}
