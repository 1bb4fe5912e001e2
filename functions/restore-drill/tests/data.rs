//! The recorder and the verifier against real servers: MariaDB on loopback with OpenEMR's
//! table names and seeded rows, pouchdb-server (CouchDB's HTTP API) with documents, a
//! directory tree for EFS, and the stack bucket in the emulator (manifest, CouchDB password,
//! fingerprint). Matching data passes; a dropped table, missing documents, a missing site file
//! each fail naming what differs.

use recovery_manifest::{Database, Manifest, Secret};
use restore_drill::config::DataConfig;
use restore_drill::fingerprint::{MAIN_TABLES, Verdict};
use restore_drill::state::DrillState;
use restore_drill::{data, observe};
use stack_contract::bucket::{COUCHDB_ADMIN_PASSWORD_KEY, MANIFEST_KEY};
use stack_contract::restore_drill::FINGERPRINT_KEY;
use test_harness::Moto;
use test_harness::openemr_data::{
    LoginPage, couch_admin, couch_delete, couch_docs, seed_database, write_site,
};
use test_harness::servers::{Mariadb, Pouchdb};
use time::OffsetDateTime;

const DB_USER: &str = "openemr_admin";
const DB_PASSWORD: &str = "s3cret-db-pass-Zq7";
const COUCH_PASSWORD: &str = "couch-admin-pass-Xy9";
const BUCKET: &str = "openemr-drill-test";
const SCHEMA: &str = "clinic_emr";

/// The world of one stack: its servers, its EFS tree, its bucket in the emulator.
struct World {
    db: Mariadb,
    couch: Pouchdb,
    efs: tempfile::TempDir,
    moto: Moto,
    sdk: aws_config::SdkConfig,
}

impl World {
    async fn new() -> World {
        let db = Mariadb::start();
        seed_database(&db, SCHEMA, &MAIN_TABLES, DB_USER, DB_PASSWORD);
        let couch = Pouchdb::start();
        // An admin: from here on CouchDB wants the password.
        couch_admin(&couch, COUCH_PASSWORD);
        couch_docs(&couch, COUCH_PASSWORD, "openemr", 12);
        let efs = tempfile::tempdir().unwrap();
        write_site(efs.path(), SCHEMA);
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let s3 = aws_clients::s3_client(&sdk);
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let manifest = Manifest {
            format_version: recovery_manifest::FORMAT_VERSION,
            written_at: "2026-12-06T07:00:00Z".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/1".into(),
            kms_key_arn: "arn:aws:kms:us-east-1:123456789012:key/1".into(),
            time_zone: "UTC".into(),
            patient_records_gb: 20,
            document_storage_gb: Some(100),
            database: Database {
                engine: "mysql".into(),
                engine_version: "8.0".into(),
                master_username: DB_USER.into(),
                password: Some(Secret::new(DB_PASSWORD)),
            },
            flags: vec![],
            recovered_from: None,
        };
        for (key, body) in [
            (MANIFEST_KEY, manifest.to_bytes()),
            (
                COUCHDB_ADMIN_PASSWORD_KEY,
                format!("{COUCH_PASSWORD}\n").into_bytes(),
            ),
        ] {
            s3.put_object()
                .bucket(BUCKET)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
        World {
            db,
            couch,
            efs,
            moto,
            sdk,
        }
    }

    fn config(&self) -> DataConfig {
        DataConfig {
            stack_name: "openemr".into(),
            bucket: BUCKET.into(),
            kms_key_arn: "arn:aws:kms:us-east-1:123456789012:key/1".into(),
            db_host: "127.0.0.1".into(),
            db_port: self.db.port,
            db_tls: false,
            couchdb_url: Some(self.couch.url()),
            efs: self.efs.path().to_owned(),
            application_url: None,
        }
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        aws_clients::s3_client(&self.sdk)
    }
}

#[tokio::test]
async fn the_recorder_counts_what_openemr_keeps_and_stores_no_data() {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let fingerprint = data::record_fingerprint(&world.s3(), &world.config(), now)
        .await
        .unwrap();
    assert_eq!(fingerprint.database.schema, "clinic_emr");
    assert_eq!(fingerprint.database.tables, 3 + 5);
    for (i, table) in MAIN_TABLES.iter().enumerate() {
        assert_eq!(
            fingerprint.database.rows[*table],
            (i as u64 + 1) * 10,
            "{table}"
        );
    }
    assert_eq!(
        fingerprint.documents.as_ref().unwrap()["openemr"],
        12,
        "system databases are not counted: {:?}",
        fingerprint.documents
    );
    assert_eq!(fingerprint.files.site_files, ["default/sqlconf.php"]);
    assert_eq!(fingerprint.files.document_files, 7);
    assert_eq!(fingerprint.files.document_bytes, 7000 + 21);
    // Stored in the bucket, and nothing in it but counts, names and times.
    let stored = world
        .s3()
        .get_object()
        .bucket(BUCKET)
        .key(FINGERPRINT_KEY)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let text = String::from_utf8(stored.to_vec()).unwrap();
    for secret in [DB_PASSWORD, COUCH_PASSWORD, DB_USER] {
        assert!(!text.contains(secret), "the fingerprint holds {secret}");
    }
    let _ = &world.moto;
}

/// Records, then changes the world with `damage`, then verifies: the failed checks' lines.
async fn verify_after(damage: impl AsyncFnOnce(&World)) -> Vec<String> {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let fingerprint = data::record_fingerprint(&world.s3(), &world.config(), now)
        .await
        .unwrap();
    damage(&world).await;
    let restored = observe::fingerprint_of(
        &data::sources(&world.s3(), &world.config()).await.unwrap(),
        Some(&fingerprint.database.schema),
        now,
    )
    .await
    .unwrap();
    let verification = restore_drill::fingerprint::compare(&fingerprint, &restored, 1);
    assert_eq!(
        verification.ok,
        verification.failed().next().is_none(),
        "ok is the absence of failures"
    );
    verification.failed().map(|c| c.describe()).collect()
}

#[tokio::test]
async fn the_same_data_passes() {
    assert!(verify_after(async |_| {}).await.is_empty());
}

#[tokio::test]
async fn a_dropped_table_fails_naming_it() {
    let failed = verify_after(async |w| w.db.sql("DROP TABLE clinic_emr.form_encounter;")).await;
    assert_eq!(
        failed,
        [
            "database clinic_emr tables: 7 restored, 8 recorded (-1), beyond the tolerance",
            "database table form_encounter rows: MISSING in the restored stack (recorded: 20)",
        ]
    );
}

#[tokio::test]
async fn missing_documents_fail_naming_the_database() {
    let failed = verify_after(async |w| {
        for n in 0..4 {
            couch_delete(&w.couch, COUCH_PASSWORD, "openemr", &format!("doc-{n}"));
        }
    })
    .await;
    assert_eq!(
        failed,
        ["CouchDB database openemr documents: 8 restored, 12 recorded (-4), beyond the tolerance"]
    );
}

#[tokio::test]
async fn a_missing_site_file_and_lost_documents_fail_naming_them() {
    let failed = verify_after(async |w| {
        std::fs::remove_file(w.efs.path().join("default/sqlconf.php")).unwrap();
        std::fs::remove_dir_all(w.efs.path().join("default/documents/1")).unwrap();
    })
    .await;
    assert!(
        failed.contains(
            &"site file sites/default/sqlconf.php: MISSING in the restored stack (recorded: 1)"
                .to_owned()
        ),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|f| f
                .starts_with("files under sites/default/documents: 5 restored, 7 recorded (-2)")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_row_written_after_the_fingerprint_is_drift_not_failure() {
    let failed =
        verify_after(async |w| w.db.sql("INSERT INTO clinic_emr.forms VALUES (1000);")).await;
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn the_recorder_refuses_a_site_that_is_not_where_it_looks_and_stores_nothing() {
    let world = World::new().await;
    // The original bundle's layout: the site at the root of EFS, not under default/.
    let site = world.efs.path().join("default");
    for entry in std::fs::read_dir(&site).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), world.efs.path().join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir(&site).unwrap();
    let error = data::record_fingerprint(&world.s3(), &world.config(), OffsetDateTime::now_utc())
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "DrillNoSite");
    let text = error.to_string();
    assert!(
        text.contains("no sites/default/sqlconf.php")
            && text.contains("no sites/default/documents/"),
        "{text}"
    );
    let stored = world
        .s3()
        .head_object()
        .bucket(BUCKET)
        .key(FINGERPRINT_KEY)
        .send()
        .await;
    assert!(stored.is_err(), "a fingerprint of no site was stored");
}

#[tokio::test]
async fn wrong_credentials_and_a_missing_ca_are_named() {
    let world = World::new().await;
    let mut sources = data::sources(&world.s3(), &world.config()).await.unwrap();
    sources.mysql.password = Secret::new("not-the-password");
    let error = observe::fingerprint_of(&sources, None, OffsetDateTime::now_utc())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "MySQL at 127.0.0.1:{}: server error 1045",
            world.db.port
        )),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");
    let mut tls = world.config();
    tls.db_tls = true;
    let error = data::sources(&world.s3(), &tls)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("sites/default/documents/certificates/mysql-ca"),
        "{error}"
    );
}

#[tokio::test]
async fn the_verifier_reports_an_application_that_does_not_answer() {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let fingerprint = data::record_fingerprint(&world.s3(), &world.config(), now)
        .await
        .unwrap();
    let mut config = world.config();
    // Nothing listens there.
    config.application_url = Some("http://127.0.0.1:9/interface/login/login.php".into());
    let state = DrillState {
        fingerprint: Some(fingerprint),
        tolerance_percent: 1,
        ..DrillState::default()
    };
    let state = data::verify(&world.s3(), &config, state, now)
        .await
        .unwrap();
    let v = state.verification.unwrap();
    assert!(!v.ok);
    assert_eq!(v.checks[0].verdict, Verdict::Missing);
    assert!(
        v.checks[0].what.starts_with("OpenEMR login page"),
        "{:?}",
        v.checks[0]
    );
    // The data itself matched.
    assert_eq!(v.failed().count(), 1);
    assert!(state.application_answered.is_none());
}

#[tokio::test]
async fn the_verifier_passes_a_stack_whose_application_answers_and_data_match() {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let fingerprint = data::record_fingerprint(&world.s3(), &world.config(), now)
        .await
        .unwrap();
    // A real HTTP server serving a page where the login page is.
    let web = LoginPage::start();
    let mut config = world.config();
    config.application_url = Some(web.url.clone());
    let state = DrillState {
        fingerprint: Some(fingerprint),
        tolerance_percent: 1,
        started: Some(now),
        ..DrillState::default()
    };
    let state = data::verify(&world.s3(), &config, state, now)
        .await
        .unwrap();
    let v = state.verification.as_ref().unwrap();
    assert!(v.ok, "{v:?}");
    assert!(state.application_answered.is_some());
    assert_eq!(state.steps.last().unwrap().name, "verify");
}

/// "OpenEMR answers" means its login form, not a word a clinic may rebrand away or a page that
/// is not the login: the rebranded login page passes, a page titled OpenEMR without the form
/// (the setup wizard's, an error page) does not.
#[tokio::test]
async fn the_application_check_looks_for_openemrs_login_form() {
    let rebranded = LoginPage::start();
    let check = data::application_check(&rebranded.url).await;
    assert_eq!(check.verdict, Verdict::Match, "{check:?}");
    assert!(
        !String::from_utf8_lossy(test_harness::openemr_data::LOGIN_PAGE).contains("OpenEMR"),
        "the stand-in is rebranded"
    );
    for page in [
        &b"<html><title>OpenEMR Setup</title><form><input name=\"dbname\"></form></html>"[..],
        b"<html><title>OpenEMR</title><p>Site ID is missing from session data!</p></html>",
        b"<html><input name=\"authUser\"></html>",
    ] {
        let web = LoginPage::serving(page);
        let check = data::application_check(&web.url).await;
        assert_eq!(
            check.verdict,
            Verdict::Missing,
            "{}: {check:?}",
            String::from_utf8_lossy(page)
        );
    }
}
