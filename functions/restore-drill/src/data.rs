//! The two tasks that read a stack's data from inside its network: the nightly recorder
//! (source stack) and the verifier (drill stack). Both read their credentials from their own
//! stack's bucket — the manifest's database user and password, CouchDB's admin password and the
//! stack CA — and observe with [`crate::observe`].

use aws_clients::ApiError;
use recovery_manifest::{Manifest, Secret};
use stack_contract::bucket::{CA_CERT_KEY, COUCHDB_ADMIN_PASSWORD_KEY, MANIFEST_KEY};
use stack_contract::restore_drill::FINGERPRINT_KEY;
use time::OffsetDateTime;

use crate::bucket;
use crate::config::DataConfig;
use crate::error::DrillError;
use crate::fingerprint::{self, Check, Fingerprint, Verdict};
use crate::http;
use crate::observe::{self, CouchTarget, DataSources, MysqlTarget};
use crate::state::{DrillState, StepResult};

/// CouchDB's admin user (the document store's user-data creates it).
pub const COUCHDB_ADMIN: &str = "admin";
/// What the login page must contain to count as OpenEMR answering: the fields of the login
/// form OpenEMR renders whatever the clinic's branding (its title and logo may say anything).
/// A setup wizard, an upgrade page or a web server's error page has neither.
pub const LOGIN_FORM_FIELDS: [&str; 2] = ["name=\"authUser\"", "name=\"clearPass\""];
/// How long the application gets to answer one request.
pub const APPLICATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, DrillError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            DrillError::aws(
                format!("reading s3://{bucket}/{key}"),
                ApiError::from_sdk(&e),
            )
        })?;
    Ok(out
        .body
        .collect()
        .await
        .map_err(|e| DrillError::Stack(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes()
        .to_vec())
}

/// Where the stack's data is and the credentials to read it.
pub async fn sources(
    s3: &aws_sdk_s3::Client,
    config: &DataConfig,
) -> Result<DataSources, DrillError> {
    let manifest = Manifest::parse(&object(s3, &config.bucket, MANIFEST_KEY).await?)
        .map_err(|e| DrillError::Stack(e.to_string()))?;
    let password = manifest.database.password.clone().ok_or_else(|| {
        DrillError::Stack(format!(
            "{MANIFEST_KEY} has no database password (a recovery of a stack built by the original generator): the drill cannot log in to verify"
        ))
    })?;
    let couch = match &config.couchdb_url {
        None => None,
        Some(url) => {
            let password =
                String::from_utf8(object(s3, &config.bucket, COUCHDB_ADMIN_PASSWORD_KEY).await?)
                    .map_err(|_| {
                        DrillError::Stack(format!("{COUCHDB_ADMIN_PASSWORD_KEY} is not text"))
                    })?;
            let ca_pem = if url.starts_with("https://") {
                Some(object(s3, &config.bucket, CA_CERT_KEY).await?)
            } else {
                None
            };
            Some(CouchTarget {
                url: url.clone(),
                user: COUCHDB_ADMIN.into(),
                password: Secret::new(password.trim()),
                ca_pem,
            })
        }
    };
    Ok(DataSources {
        stack: config.stack_name.clone(),
        efs: config.efs.clone(),
        mysql: MysqlTarget {
            host: config.db_host.clone(),
            port: config.db_port,
            user: manifest.database.master_username.clone(),
            password,
            tls_ca: observe::mysql_ca(&config.efs, config.db_tls)?,
        },
        couch,
    })
}

/// The recorder: observes the source stack and stores the fingerprint (SSE-KMS).
pub async fn record_fingerprint(
    s3: &aws_sdk_s3::Client,
    config: &DataConfig,
    now: OffsetDateTime,
) -> Result<Fingerprint, DrillError> {
    let sources = sources(s3, config).await?;
    // No site where the contract puts it, no fingerprint: a record of nothing would let a
    // drill that restores nothing pass. (Checked before the database is read, which needs the
    // site's configuration; the documents are walked once, by the fingerprint.)
    let documents_tree = sources.efs.join(crate::fingerprint::DOCUMENTS_DIR).is_dir();
    let site_files = observe::site_files(&sources.efs)?;
    if let Some(missing) = crate::fingerprint::missing_site(&site_files, documents_tree, None) {
        return Err(DrillError::NoSite(missing));
    }
    let fingerprint = observe::fingerprint_of(&sources, None, now).await?;
    let schema = (
        fingerprint.database.schema.as_str(),
        fingerprint.database.tables,
    );
    if let Some(missing) = crate::fingerprint::missing_site(
        &fingerprint.files.site_files,
        documents_tree,
        Some(schema),
    ) {
        return Err(DrillError::NoSite(missing));
    }
    let body = serde_json::to_vec_pretty(&fingerprint).expect("a fingerprint serialises");
    bucket::put_json(
        s3,
        &config.bucket,
        &config.kms_key_arn,
        FINGERPRINT_KEY,
        body,
    )
    .await?;
    tracing::info!(
        tables = fingerprint.database.tables,
        document_files = fingerprint.files.document_files,
        "fingerprint recorded"
    );
    Ok(fingerprint)
}

/// Whether the login page answers: a check for the verification.
pub async fn application_check(url: &str) -> Check {
    let answered = match http::Client::new(None) {
        Ok(client) => client.get(url, None, APPLICATION_TIMEOUT).await.ok(),
        Err(_) => None,
    };
    let ok = answered.as_ref().is_some_and(|a| {
        let page = String::from_utf8_lossy(&a.body);
        a.status == 200 && LOGIN_FORM_FIELDS.iter().all(|field| page.contains(field))
    });
    Check {
        what: format!(
            "OpenEMR login page at {url} (HTTP {})",
            answered.map_or_else(|| "no answer".to_owned(), |a| a.status.to_string())
        ),
        expected: Some(1),
        observed: Some(u64::from(ok)),
        verdict: if ok { Verdict::Match } else { Verdict::Missing },
    }
}

/// The verifier: the login page, then the restored data against the fingerprint. A failed
/// check is a result, not an error: the report lists it.
pub async fn verify(
    s3: &aws_sdk_s3::Client,
    config: &DataConfig,
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    let recorded = state
        .fingerprint
        .clone()
        .ok_or_else(|| DrillError::BadState("verify without a fingerprint".into()))?;
    let url = config
        .application_url
        .clone()
        .or_else(|| state.application_url.clone())
        .ok_or_else(|| DrillError::Stack("no APPLICATION_URL: the drill stack's verifier does not know where the application is".into()))?;
    let application = application_check(&url).await;
    if !application.verdict.failed() {
        state.application_answered = Some(OffsetDateTime::now_utc());
    }
    let mut verification = match sources(s3, config).await {
        Ok(sources) => {
            match observe::fingerprint_of(&sources, Some(&recorded.database.schema), now).await {
                Ok(restored) => fingerprint::compare(&recorded, &restored, state.tolerance_percent),
                Err(e) => unreadable(e.to_string()),
            }
        }
        Err(e) => unreadable(e.to_string()),
    };
    verification.ok &= !application.verdict.failed();
    verification.checks.insert(0, application);
    let failed = verification.failed().count();
    state.record(
        "verify",
        now,
        OffsetDateTime::now_utc(),
        if verification.ok {
            StepResult::Ok
        } else {
            StepResult::Failed
        },
        format!("{} checks, {failed} failed", verification.checks.len()),
    );
    state.verification = Some(verification);
    Ok(state)
}

/// The verification when the restored data could not be read at all.
fn unreadable(why: String) -> fingerprint::Verification {
    fingerprint::Verification {
        ok: false,
        checks: vec![Check {
            what: format!("restored data readable ({why})"),
            expected: Some(1),
            observed: Some(0),
            verdict: Verdict::Missing,
        }],
    }
}
