//! An OpenEMR stack's data, made on the real servers of [`crate::servers`] for the restore
//! drill's tests: a database with OpenEMR's table names and rows, CouchDB documents, the
//! `sites/` tree EFS holds; and the restores a recovery makes of them (a SQL dump loaded into
//! another server, a CouchDB replication, a copy of the tree). The tests' own clients (the
//! `mariadb` tools, curl) do the work, never the code under test.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::servers::{Mariadb, Pouchdb, write_file};

/// CouchDB's admin user (the document store's user-data creates it).
pub const COUCH_ADMIN: &str = "admin";

/// A schema `schema` with `main_tables` (table `i` holding `(i + 1) * 10` rows) and three
/// other tables, and `user`@127.0.0.1 allowed to read it with `password`.
pub fn seed_database(db: &Mariadb, schema: &str, main_tables: &[&str], user: &str, password: &str) {
    let mut sql = format!(
        "CREATE DATABASE {schema}; USE {schema};
         CREATE TABLE globals (gl_name VARCHAR(63), gl_value TEXT);
         CREATE TABLE lists (id INT);
         CREATE TABLE facility (id INT);"
    );
    for (i, table) in main_tables.iter().enumerate() {
        sql.push_str(&format!("CREATE TABLE {table} (id INT PRIMARY KEY);"));
        let rows: Vec<String> = (1..=(i + 1) * 10).map(|n| format!("({n})")).collect();
        sql.push_str(&format!("INSERT INTO {table} VALUES {};", rows.join(",")));
    }
    db.sql(&sql);
    grant_reader(db, schema, user, password);
}

/// `user`@127.0.0.1 with `password`, allowed to read `schema` (a restored RDS instance keeps
/// its master user; a dump does not carry it).
pub fn grant_reader(db: &Mariadb, schema: &str, user: &str, password: &str) {
    db.sql(&format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';
         GRANT SELECT ON {schema}.* TO '{user}'@'127.0.0.1';"
    ));
}

/// The database restored from `source`: `schema` dumped with mysqldump and loaded into
/// `restored`, as a snapshot brings back the tables and their rows.
pub fn restore_database(source: &Mariadb, restored: &Mariadb, schema: &str) {
    let dump = Command::new("mariadb-dump")
        .arg(format!("--socket={}", source.socket().display()))
        .args(["--user=root", "--databases", schema])
        .output()
        .expect("run mariadb-dump");
    assert!(
        dump.status.success(),
        "mariadb-dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    restored.sql(&String::from_utf8(dump.stdout).expect("a SQL dump is text"));
}

/// The site as EFS holds it: `default/sqlconf.php` naming `schema`, and 7 documents of
/// 1000–1006 bytes in three folders.
pub fn write_site(root: &Path, schema: &str) {
    write_file(
        root,
        "default/sqlconf.php",
        format!("<?php\n$host = 'db';\n$dbase = '{schema}';\n").as_bytes(),
    );
    for n in 0..7 {
        write_file(
            root,
            &format!("default/documents/{}/doc-{n}.pdf", n % 3),
            &vec![b'x'; 1000 + n],
        );
    }
}

/// `from`'s tree copied into `to`, as a duplicity restore writes it back.
pub fn restore_site(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// One request with curl: the HTTP status and the body. `admin`: Basic auth as the admin.
pub fn couch_request(
    method: &str,
    url: &str,
    body: Option<&str>,
    admin: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut curl = Command::new("curl");
    curl.args(["-s", "-w", "\n%{http_code}", "-X", method]);
    if let Some(password) = admin {
        curl.args(["-u", &format!("{COUCH_ADMIN}:{password}")]);
    }
    if let Some(body) = body {
        curl.args(["-H", "Content-Type: application/json", "--data", body]);
    }
    let out = curl.arg(url).stderr(Stdio::null()).output().expect("curl");
    let mut text = out.stdout;
    let split = text.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&text[split..])
        .trim()
        .parse()
        .unwrap_or(0);
    text.truncate(split);
    (status, text)
}

/// Makes `password` the admin's (CouchDB then wants it for everything).
pub fn couch_admin(couch: &Pouchdb, password: &str) {
    let url = format!("{}/_config/admins/{COUCH_ADMIN}", couch.url());
    let (status, _) = couch_request("PUT", &url, Some(&format!("\"{password}\"")), None);
    assert!(status < 300, "creating the CouchDB admin: HTTP {status}");
}

/// Database `db` with `count` documents `doc-<n>`.
pub fn couch_docs(couch: &Pouchdb, password: &str, db: &str, count: usize) {
    let (status, _) = couch_request(
        "PUT",
        &format!("{}/{db}", couch.url()),
        Some(""),
        Some(password),
    );
    assert!(status < 300, "creating {db}: HTTP {status}");
    for n in 0..count {
        let url = format!("{}/{db}/doc-{n}", couch.url());
        let (status, _) =
            couch_request("PUT", &url, Some(&format!("{{\"n\":{n}}}")), Some(password));
        assert!(status < 300, "putting doc-{n}: HTTP {status}");
    }
}

/// Deletes document `doc` of `db`.
pub fn couch_delete(couch: &Pouchdb, password: &str, db: &str, doc: &str) {
    let url = format!("{}/{db}/{doc}", couch.url());
    let (_, body) = couch_request("GET", &url, None, Some(password));
    let found: serde_json::Value = serde_json::from_slice(&body).expect("a document");
    let rev = found["_rev"].as_str().expect("the document's revision");
    let (status, _) = couch_request("DELETE", &format!("{url}?rev={rev}"), None, Some(password));
    assert!(status < 300, "deleting {db}/{doc}: HTTP {status}");
}

/// `db` replicated from `source` into `restored` (CouchDB's `_replicate`), as the restored
/// volume brings the documents back.
pub fn restore_documents(source: &Pouchdb, restored: &Pouchdb, password: &str, db: &str) {
    let with_admin = |couch: &Pouchdb| {
        format!(
            "http://{COUCH_ADMIN}:{password}@127.0.0.1:{}/{db}",
            couch.port
        )
    };
    let body = serde_json::json!({
        "source": with_admin(source),
        "target": with_admin(restored),
        "create_target": true
    });
    let (status, answer) = couch_request(
        "POST",
        &format!("{}/_replicate", restored.url()),
        Some(&body.to_string()),
        Some(password),
    );
    assert!(
        status < 300,
        "replicating {db}: HTTP {status} {}",
        String::from_utf8_lossy(&answer)
    );
}

/// The login page of the official image as a clinic may have rebranded it: its title names
/// the clinic, not OpenEMR, and the form is OpenEMR's own (`authUser`, `clearPass`).
pub const LOGIN_PAGE: &[u8] =
    br#"<!DOCTYPE html><html><head><title>Riverside Clinic EHR</title></head><body>
<form method="POST" id="login_form" action="../main/main_screen.php?auth=login&amp;site=default">
<input type="text" class="form-control" id="authUser" name="authUser" placeholder="Username">
<input type="password" class="form-control" id="clearPass" name="clearPass" placeholder="Password">
<button type="submit" class="btn btn-primary" id="login-button">Login</button>
</form></body></html>"#;

/// A web server (Python's http.server) answering with a page at the official image's login
/// path, `/interface/login/login.php`; stopped on drop.
pub struct LoginPage {
    child: std::process::Child,
    pub url: String,
    _root: tempfile::TempDir,
}

impl LoginPage {
    /// Serving [`LOGIN_PAGE`].
    pub fn start() -> LoginPage {
        LoginPage::serving(LOGIN_PAGE)
    }

    /// Serving `page` where the login page should be (a setup wizard, say).
    pub fn serving(page: &[u8]) -> LoginPage {
        let root = tempfile::tempdir().expect("temp dir");
        write_file(root.path(), "interface/login/login.php", page);
        let port = crate::free_port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        crate::servers::wait_for_port(port, "python3 -m http.server", &mut child);
        LoginPage {
            child,
            url: format!("http://127.0.0.1:{port}/interface/login/login.php"),
            _root: root,
        }
    }
}

impl Drop for LoginPage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
