//! Reading a stack's data the way the application stores it: the OpenEMR database over MySQL's
//! protocol (mysql_async), the documents over CouchDB's HTTP API, the site on EFS through the
//! Lambda's file-system mount. The recorder and the verifier call the same readers, so a
//! fingerprint and an observation count the same things the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use recovery_manifest::Secret;
use time::OffsetDateTime;

use crate::fingerprint::{
    self, DOCUMENTS_DIR, Database, Files, Fingerprint, MAIN_TABLES, SITE_FILES,
};
use crate::http::{self, HttpError};

/// The schema OpenEMR uses when `sqlconf.php` does not say (its installer's default).
pub const DEFAULT_SCHEMA: &str = "openemr";
/// Where the site keeps the RDS CA bundle OpenEMR trusts (README, "The application bundle").
/// The application servers' hook writes it there on every deployment.
pub const MYSQL_CA: &str = stack_contract::site::MYSQL_CA;
/// How long one connection attempt to MySQL or CouchDB may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("MySQL at {host}:{port}: {reason}")]
    Database {
        host: String,
        port: u16,
        reason: String,
    },
    #[error(
        "MySQL requires TLS (DB_TLS=true) but the site has no RDS CA bundle at sites/{MYSQL_CA} on EFS: put the region's bundle there (README, \"The application bundle\")"
    )]
    NoMysqlCa,
    #[error("CouchDB at {url}: {source}")]
    CouchDb { url: String, source: HttpError },
    #[error("CouchDB at {url}: {what} is not what CouchDB answers ({why})")]
    CouchDbAnswer {
        url: String,
        what: String,
        why: String,
    },
    #[error("EFS at {path}: {reason}")]
    Files { path: String, reason: String },
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct MysqlTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    /// PEM bundle of the CA the server's certificate must chain to; `None`: no TLS.
    pub tls_ca: Option<PathBuf>,
}

/// How to reach CouchDB.
#[derive(Debug, Clone)]
pub struct CouchTarget {
    pub url: String,
    pub user: String,
    pub password: Secret,
    /// PEM of the CA CouchDB's certificate chains to (the stack's own CA) for `https://`.
    pub ca_pem: Option<Vec<u8>>,
}

/// The schema named by `sqlconf.php` (`$dbase = 'openemr';`), if it names one.
pub fn schema_from_sqlconf(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("$dbase")?.trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let value = &rest[1..];
        let end = value.find(quote)?;
        Some(value[..end].to_owned()).filter(|v| !v.is_empty())
    })
}

/// The site's schema name: from `sites/default/sqlconf.php` when it names one.
pub fn site_schema(efs: &Path) -> String {
    std::fs::read_to_string(efs.join(SITE_FILES[0]))
        .ok()
        .and_then(|text| schema_from_sqlconf(&text))
        .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned())
}

/// The CA bundle MySQL's certificate is checked against when TLS is required.
pub fn mysql_ca(efs: &Path, tls: bool) -> Result<Option<PathBuf>, ObserveError> {
    if !tls {
        return Ok(None);
    }
    let path = efs.join(MYSQL_CA);
    if path.is_file() {
        Ok(Some(path))
    } else {
        Err(ObserveError::NoMysqlCa)
    }
}

/// Counts the schema's tables and the rows of OpenEMR's main tables.
pub async fn database(target: &MysqlTarget, schema: &str) -> Result<Database, ObserveError> {
    let fail = |reason: String| ObserveError::Database {
        host: target.host.clone(),
        port: target.port,
        reason,
    };
    let mut opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(target.user.clone()))
        .pass(Some(target.password.expose().to_owned()))
        .db_name(Some(schema.to_owned()));
    if let Some(ca) = &target.tls_ca {
        opts = opts.ssl_opts(Some(
            mysql_async::SslOpts::default().with_root_certs(vec![ca.clone().into()]),
        ));
    }
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(opts))
        .await
        .map_err(|_| fail(format!("no connection within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| fail(describe_mysql(&e)))?;
    let tables: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?",
            (schema,),
        )
        .await
        .map_err(|e| fail(describe_mysql(&e)))?;
    let mut rows = BTreeMap::new();
    for table in MAIN_TABLES {
        // Table names are our constants, never input: safe to splice.
        let counted: Result<Option<u64>, _> = conn
            .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
            .await;
        match counted {
            Ok(n) => {
                rows.insert(table.to_owned(), n.unwrap_or(0));
            }
            // ER_NO_SUCH_TABLE: a dropped table is an observation, not an error.
            Err(mysql_async::Error::Server(e)) if e.code == 1146 => {}
            Err(e) => return Err(fail(describe_mysql(&e))),
        }
    }
    let _ = conn.disconnect().await;
    Ok(Database {
        schema: schema.to_owned(),
        tables: tables.unwrap_or(0),
        rows,
    })
}

/// A MySQL error without anything it might echo of the connection's secrets.
fn describe_mysql(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Server(e) => format!("server error {} ({})", e.code, e.message),
        mysql_async::Error::Io(e) => format!("I/O error: {e}"),
        mysql_async::Error::Driver(e) => format!("driver error: {e}"),
        other => other.to_string(),
    }
}

/// Document counts of every CouchDB database but the system ones (`_users`, `_replicator`).
pub async fn documents(target: &CouchTarget) -> Result<BTreeMap<String, u64>, ObserveError> {
    let base = target.url.trim_end_matches('/');
    let client =
        http::Client::new(target.ca_pem.as_deref()).map_err(|source| ObserveError::CouchDb {
            url: base.to_owned(),
            source,
        })?;
    let auth = Some((target.user.as_str(), &target.password));
    let get = |path: String| {
        let client = &client;
        async move {
            let url = format!("{base}/{path}");
            let answer = client
                .get(&url, auth, CONNECT_TIMEOUT)
                .await
                .map_err(|source| ObserveError::CouchDb {
                    url: base.to_owned(),
                    source,
                })?;
            if answer.status != 200 {
                return Err(ObserveError::CouchDbAnswer {
                    url: base.to_owned(),
                    what: format!("GET /{path}"),
                    why: format!("HTTP {}", answer.status),
                });
            }
            serde_json::from_slice::<serde_json::Value>(&answer.body).map_err(|e| {
                ObserveError::CouchDbAnswer {
                    url: base.to_owned(),
                    what: format!("GET /{path}"),
                    why: format!("not JSON: {e}"),
                }
            })
        }
    };
    let all = get("_all_dbs".to_owned()).await?;
    let names: Vec<String> = all
        .as_array()
        .ok_or_else(|| ObserveError::CouchDbAnswer {
            url: base.to_owned(),
            what: "GET /_all_dbs".into(),
            why: "not a list".into(),
        })?
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| !n.starts_with('_'))
        .map(str::to_owned)
        .collect();
    let mut counts = BTreeMap::new();
    for name in names {
        let info = get(name.clone()).await?;
        let docs = info["doc_count"]
            .as_u64()
            .ok_or_else(|| ObserveError::CouchDbAnswer {
                url: base.to_owned(),
                what: format!("GET /{name}"),
                why: "no doc_count".into(),
            })?;
        counts.insert(name, docs);
    }
    Ok(counts)
}

/// The site files ([`SITE_FILES`]) present on the mounted file system, without walking it.
pub fn site_files(efs: &Path) -> Result<Vec<String>, ObserveError> {
    if !efs.is_dir() {
        return Err(ObserveError::Files {
            path: efs.display().to_string(),
            reason: "not mounted (no such directory)".into(),
        });
    }
    Ok(SITE_FILES
        .iter()
        .filter(|f| efs.join(f).is_file())
        .map(|f| (*f).to_owned())
        .collect())
}

/// The site files that exist and the documents tree's regular files and bytes (symbolic links
/// are not followed: a link out of the tree is not a document of this site).
pub fn files(efs: &Path) -> Result<Files, ObserveError> {
    let site_files = site_files(efs)?;
    let (mut document_files, mut document_bytes) = (0, 0);
    let documents = efs.join(DOCUMENTS_DIR);
    if documents.is_dir() {
        for entry in walkdir::WalkDir::new(&documents).follow_links(false) {
            let entry = entry.map_err(|e| ObserveError::Files {
                path: documents.display().to_string(),
                reason: e.to_string(),
            })?;
            if entry.file_type().is_file() {
                let meta = entry.metadata().map_err(|e| ObserveError::Files {
                    path: entry.path().display().to_string(),
                    reason: e.to_string(),
                })?;
                document_files += 1;
                document_bytes += meta.len();
            }
        }
    }
    Ok(Files {
        site_files,
        document_files,
        document_bytes,
    })
}

/// Where a stack's data is, for [`fingerprint_of`].
#[derive(Debug, Clone)]
pub struct DataSources {
    pub stack: String,
    pub efs: PathBuf,
    pub mysql: MysqlTarget,
    pub couch: Option<CouchTarget>,
}

/// Observes the whole stack: what the recorder stores and what the verifier compares.
/// `schema`: the database to count (the verifier's is the fingerprint's, so a lost
/// `sqlconf.php` cannot hide the database); `None`: the one `sqlconf.php` names.
pub async fn fingerprint_of(
    sources: &DataSources,
    schema: Option<&str>,
    now: OffsetDateTime,
) -> Result<Fingerprint, ObserveError> {
    let files = files(&sources.efs)?;
    let schema = schema.map_or_else(|| site_schema(&sources.efs), str::to_owned);
    let database = database(&sources.mysql, &schema).await?;
    let documents = match &sources.couch {
        Some(couch) => Some(self::documents(couch).await?),
        None => None,
    };
    Ok(Fingerprint {
        format_version: fingerprint::FORMAT_VERSION,
        stack: sources.stack.clone(),
        recorded_at: now,
        database,
        documents,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_comes_from_sqlconf() {
        let sqlconf = "<?php\n$host\t= 'db.internal';\n$port\t= '3306';\n$login\t= 'openemr';\n$pass\t= 'secret';\n$dbase\t= 'clinic_emr';\n";
        assert_eq!(schema_from_sqlconf(sqlconf).as_deref(), Some("clinic_emr"));
        assert_eq!(
            schema_from_sqlconf("$dbase = \"openemr\";").as_deref(),
            Some("openemr")
        );
        assert_eq!(schema_from_sqlconf("$dbase = '';"), None);
        assert_eq!(schema_from_sqlconf("$dbasex = 'a';"), None);
        assert_eq!(schema_from_sqlconf("no php here"), None);
    }
}
