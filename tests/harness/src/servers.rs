//! Real data servers on loopback for the restore drill's tests, each in a temporary directory
//! and stopped on drop: MariaDB (Debian's `mariadb-server`, a MySQL-compatible server) and
//! pouchdb-server (npm, tests/node: CouchDB's HTTP API), both installed by tests/setup.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, workspace_root};

pub(crate) fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on port {port}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A MariaDB server with its own data directory, on 127.0.0.1:<free port>.
pub struct Mariadb {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Mariadb {
    /// Initialises a data directory and starts the server (root over the socket only).
    pub fn start() -> Mariadb {
        // mariadb-install-db crashes when several run at once in one test binary.
        static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("mkdir tmp");
        let installing = INSTALL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let out = Command::new("mariadb-install-db")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ])
            .output()
            .expect("run mariadb-install-db (tests/setup installs mariadb-server)");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        drop(installing);
        let port = free_port();
        let mut child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--user=root", "--bind-address=127.0.0.1", "--skip-log-bin"])
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        wait_for_port(port, "mariadbd", &mut child);
        Mariadb { child, port, dir }
    }

    /// Runs `sql` as root over the socket (seeding, users, dropping tables).
    pub fn sql(&self, sql: &str) {
        let out = Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["--user=root", "--batch"])
            .arg("--execute")
            .arg(sql)
            .output()
            .expect("run mariadb");
        assert!(
            out.status.success(),
            "mariadb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's socket, where root logs in.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// pouchdb-server (in memory) on 127.0.0.1:<free port>.
pub struct Pouchdb {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Pouchdb {
    pub fn start() -> Pouchdb {
        let bin: PathBuf = workspace_root().join("tests/node/node_modules/.bin/pouchdb-server");
        assert!(
            bin.exists(),
            "{} is missing: run tests/setup (npm ci in tests/node)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut child = Command::new(&bin)
            .args([
                "--in-memory",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .arg("--config")
            .arg(dir.path().join("config.json"))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pouchdb-server");
        wait_for_port(port, "pouchdb-server", &mut child);
        Pouchdb {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Pouchdb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `content` at `root/relative`, making the directories.
pub fn write_file(root: &Path, relative: &str, content: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}
