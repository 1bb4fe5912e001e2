//! Helpers every test of the workspace shares.
//!
//! - [`Moto`]: a real moto server (the AWS API emulator) on a free loopback port, one per test,
//!   killed when dropped, so tests run in parallel without seeing each other's resources.
//! - [`iam`]: the emulator with IAM enforced, and users holding exactly a component's
//!   generated policy.
//! - [`tool`]: the path of a tool `tests/setup` installed into the project's `.venv`
//!   (cfn-lint, cargo-lambda, shellcheck, moto_server).
//! - [`intrinsics`]: a template's custom-resource properties with `Ref`/`GetAtt` replaced, and
//!   the attributes a template reads of a resource (the template-contract tests, the drill).
//! - [`logs`]: one global log capture per test binary (no event lost to parallel tests).
//! - [`recovery`]: the data a stack leaves behind for a recovery, made in
//!   the emulator, and recovery-params's events (its tests and the recovery drill).
//! - [`wire`]: what an SDK client puts on the wire (endpoint, signing region), read before sending.
//! - [`fake_couchdb`]: a CouchDB stand-in over HTTPS for the instance scripts' tests.
//! - [`bench`]: cold start + one invocation of a Lambda binary against a fake Runtime API, with
//!   peak RSS and the AWS calls it made (used by the functions' `benches/` and `tests/bench`).

pub mod bench;
pub mod fake_couchdb;
pub mod iam;
pub mod intrinsics;
pub mod logs;
pub mod mocks;
pub mod openemr_data;
pub mod recovery;
pub mod response_url;
pub mod servers;
pub mod stepfunctions;
pub mod wire;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

/// The region every emulator test uses unless it is testing regions.
pub const REGION: &str = "us-east-1";

/// The Lambdas' SDK configuration ([`aws_clients::lambda_sdk_config_from`]) for an emulator at
/// `endpoint`, from the environment a function would have there: every emulator test goes
/// through the configuration the deployed code builds.
pub fn emulator_sdk_config(endpoint: &str, keys: &iam::Keys, region: &str) -> SdkConfig {
    aws_clients::lambda_sdk_config_from(|name| match name {
        "AWS_REGION" => Some(region.to_owned()),
        "AWS_ACCESS_KEY_ID" => Some(keys.access_key_id.clone()),
        "AWS_SECRET_ACCESS_KEY" => Some(keys.secret_access_key.clone()),
        "AWS_ENDPOINT_URL" => Some(endpoint.to_owned()),
        _ => None,
    })
}

/// The workspace root (where Cargo.toml and .venv live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Path of a tool installed by `tests/setup` into `.venv/bin`. Panics with the fix if missing.
pub fn tool(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `tests/setup` (it installs the test tools into .venv)",
        path.display()
    );
    path
}

/// A moto server on 127.0.0.1:<free port>, stopped on drop.
pub struct Moto {
    child: Child,
    port: u16,
    /// The keys [`Moto::sdk_config`] and [`Moto::env`] call with (`admin`'s under IAM).
    keys: iam::Keys,
}

impl Moto {
    /// Starts a fresh emulator (IAM not enforced) and waits until it accepts connections.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// As [`Moto::start`], with extra environment for the server (moto's settings).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let mut server = Command::new(tool("moto_server"));
        server.envs(env.iter().copied());
        Moto::serve(server)
    }

    /// Runs `server` (moto's server, with its settings) on a free port until it listens.
    fn serve(mut server: Command) -> Moto {
        let port = free_port();
        let child = server
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Without this the account starts with ~1300 AMI snapshots of moto's own.
            .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            port,
            keys: iam::Keys::testing(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration pointing at this emulator, with fixed test credentials and [`REGION`].
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_in(REGION).await
    }

    /// As [`Moto::sdk_config`], in another region.
    pub async fn sdk_config_in(&self, region: &str) -> SdkConfig {
        self.sdk_config_as(&self.keys, region).await
    }

    /// SDK configuration calling this emulator with `keys` ([`emulator_sdk_config`]).
    pub async fn sdk_config_as(&self, keys: &iam::Keys, region: &str) -> SdkConfig {
        emulator_sdk_config(&self.endpoint(), keys, region)
    }

    /// Environment for a child process (stack-gen, cargo lambda invoke) that should talk to
    /// this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", self.keys.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.keys.secret_access_key.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
