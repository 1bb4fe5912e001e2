//! The machinery of `instance_scripts.rs`: an emulator account with the instance's role as
//! generated, the instance's script as generated, and a bubblewrap sandbox that looks enough
//! like the instance for the script to run for real.
//!
//! - [`World`]: a moto server of its own with IAM enforced (`Moto::start_with_iam`): its admin
//!   user is the test's identity for set-up and checks; every script runs as an IAM user
//!   holding only its role's `AWS::IAM::ManagedPolicy`, resolved.
//! - [`Resolver`]: the template's intrinsics with concrete values (the harness's one resolver,
//!   with the template's parameter defaults and the test's overrides).
//! - [`Machine`]: one instance. Its data (EFS at /mnt/efs, the CouchDB volume at /srv/couchdb
//!   and its block device) outlives a boot; every [`Machine::boot`] starts from a fresh root
//!   volume (/etc, /root, /opt, /var, /snap), as a replaced instance does.
//!
//! Real in the sandbox: bash and coreutils, openssl, curl, gpg, duplicity 2.1.4 and the AWS CLI
//! (PyPI, from .venv; /snap/bin/aws once "snap install" ran, /usr/bin/aws on Amazon Linux).
//! Recording stubs: apt-get, snap, dnf, python3 (venv + pip of cfn-bootstrap), cfn-signal,
//! mount/mountpoint, blkid/mkfs.ext4, docker, systemctl, shutdown, logger; on Ubuntu the
//! CloudWatch agent's installation: curl of its package (any other URL goes to the real curl),
//! dpkg -i (which installs a recording amazon-cloudwatch-agent-ctl).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tempfile::TempDir;
use test_harness::intrinsics::{Resolver as Intrinsics, Unknown};
use test_harness::{Moto, REGION, tool, workspace_root};

pub const ACCOUNT: &str = "123456789012";

/// An emulator of its own, IAM enforced, and an admin identity for the test's own calls: the
/// SDK's clients (in-process: the AWS CLI's start-up costs half a second of CPU a call, and
/// the set-up and checks make some two hundred), the CLI for what the workspace has no SDK
/// crate for (IAM, Secrets Manager) and for calls as a role's user.
pub struct World {
    pub moto: Moto,
    admin: (String, String),
    pub key_arn: String,
    runtime: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
}

/// What HeadObject says of an object's encryption.
pub struct Head {
    pub encryption: Option<String>,
    pub kms_key: Option<String>,
}

impl World {
    pub fn new() -> World {
        // IAM enforced; the harness's admin user is the test's own identity.
        let moto = Moto::start_with_iam();
        let admin = moto.keys();
        let admin = (admin.access_key_id.clone(), admin.secret_access_key.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(moto.sdk_config());
        let key_arn = runtime.block_on(async {
            let created = aws_sdk_kms::Client::new(&config)
                .create_key()
                .description("stack key")
                .send()
                .await
                .expect("kms create-key");
            created.key_metadata().unwrap().arn().unwrap().to_owned()
        });
        World {
            admin,
            key_arn,
            s3: aws_clients::s3_client(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            runtime,
            moto,
        }
    }

    fn aws_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(tool("aws"));
        c.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", &self.admin.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.admin.1)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    /// Runs the AWS CLI as the holder of `keys` (an instance role's user); its output.
    pub fn aws_as(&self, keys: &(String, String), args: &[&str]) -> std::process::Output {
        self.aws_command(args)
            .env("AWS_ACCESS_KEY_ID", &keys.0)
            .env("AWS_SECRET_ACCESS_KEY", &keys.1)
            .output()
            .expect("run aws")
    }

    /// Runs the AWS CLI as the admin; panics (with its stderr) unless it succeeds.
    pub fn aws(&self, args: &[&str]) -> String {
        let out = self.aws_command(args).output().expect("run aws");
        assert!(
            out.status.success(),
            "aws {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn aws_json(&self, args: &[&str]) -> Value {
        let text = self.aws(args);
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// An EBS volume in the sandbox's first zone: its id.
    pub fn create_volume(&self) -> String {
        let created = self.runtime.block_on(
            self.ec2
                .create_volume()
                .availability_zone(format!("{REGION}a"))
                .size(10)
                .send(),
        );
        created
            .expect("create-volume")
            .volume_id()
            .unwrap()
            .to_owned()
    }

    /// A running instance with `tags` (as CloudFormation tags what it creates), holding
    /// `volume`: its id.
    pub fn run_instance_with(&self, tags: &[(&str, &str)], volume: &str) -> String {
        use aws_sdk_ec2::types::{Placement, ResourceType, Tag, TagSpecification};
        self.runtime.block_on(async {
            // (The emulator starts without images: one of our own.)
            let image = self.ec2.register_image().name("sandbox").send().await;
            let image = image
                .expect("register-image")
                .image_id()
                .unwrap()
                .to_owned();
            let tags = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build());
            let run = self
                .ec2
                .run_instances()
                .image_id(image)
                .min_count(1)
                .max_count(1)
                .placement(
                    Placement::builder()
                        .availability_zone(format!("{REGION}a"))
                        .build(),
                )
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Instance)
                        .set_tags(Some(tags.collect()))
                        .build(),
                )
                .send()
                .await
                .expect("run-instances");
            let instance = run.instances()[0].instance_id().unwrap().to_owned();
            self.ec2
                .attach_volume()
                .volume_id(volume)
                .instance_id(&instance)
                .device("/dev/sdh")
                .send()
                .await
                .expect("attach-volume");
            instance
        })
    }

    /// The state of `instance` (running, stopped, ...) and the instances holding `volume`.
    pub fn instance_state(&self, instance: &str) -> String {
        let found = self
            .runtime
            .block_on(self.ec2.describe_instances().instance_ids(instance).send())
            .expect("describe-instances");
        let instance = &found.reservations()[0].instances()[0];
        let state = instance.state().and_then(|s| s.name()).unwrap();
        state.as_str().to_owned()
    }

    pub fn volume_holders(&self, volume: &str) -> Vec<String> {
        let found = self
            .runtime
            .block_on(self.ec2.describe_volumes().volume_ids(volume).send())
            .expect("describe-volumes");
        found.volumes()[0]
            .attachments()
            .iter()
            .map(|a| a.instance_id().unwrap().to_owned())
            .collect()
    }

    pub fn create_bucket(&self, name: &str) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        self.runtime.block_on(async {
            self.s3
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .expect("create-bucket");
            let versioning = VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build();
            self.s3
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(versioning)
                .send()
                .await
                .expect("put-bucket-versioning");
        });
    }

    /// An IAM user holding exactly `policy` (the instance role's, resolved): its access key.
    pub fn role_user(&self, name: &str, policy: &Value) -> (String, String) {
        let keys = self
            .moto
            .user(name, policy["Statement"].as_array().expect("statements"));
        (keys.access_key_id, keys.secret_access_key)
    }

    /// Adds a policy to `user` that denies `actions` on `resources` (a fault: S3 answers 403).
    pub fn deny(&self, user: &str, actions: &[&str], resources: &[String]) {
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": actions, "Resource": resources}]});
        self.aws(&[
            "iam",
            "put-user-policy",
            "--user-name",
            user,
            "--policy-name",
            "injected-deny",
            "--policy-document",
            &policy.to_string(),
        ]);
    }

    /// HeadObject as the admin: None for a missing object.
    pub fn head(&self, bucket: &str, key: &str) -> Option<Head> {
        let found = self
            .runtime
            .block_on(self.s3.head_object().bucket(bucket).key(key).send());
        match found {
            Ok(head) => Some(Head {
                encryption: head.server_side_encryption().map(|e| e.as_str().to_owned()),
                kms_key: head.ssekms_key_id().map(str::to_owned),
            }),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => None,
            Err(e) => panic!("head-object s3://{bucket}/{key}: {e:?}"),
        }
    }

    /// The object's bytes (never printed: some are secrets).
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.runtime.block_on(async {
            let object = self.s3.get_object().bucket(bucket).key(key).send().await;
            let object = object.unwrap_or_else(|e| panic!("get-object s3://{bucket}/{key}: {e}"));
            object.body.collect().await.unwrap().to_vec()
        })
    }

    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let put = self.s3.put_object().bucket(bucket).key(key);
        let put = put
            .body(body.to_vec().into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.key_arn);
        let put = self.runtime.block_on(put.send());
        put.unwrap_or_else(|e| panic!("put-object s3://{bucket}/{key}: {e:?}"));
    }

    pub fn delete(&self, bucket: &str, key: &str) {
        let deleted = self
            .runtime
            .block_on(self.s3.delete_object().bucket(bucket).key(key).send());
        deleted.unwrap_or_else(|e| panic!("delete-object s3://{bucket}/{key}: {e:?}"));
    }

    /// Keys under `prefix`, sorted.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listed = self.runtime.block_on(
            self.s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send(),
        );
        let listed = listed.expect("list-objects-v2");
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .map(|o| o.key().unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    }

    /// (key, version id) of every version under `prefix`: any overwrite shows as a new version.
    pub fn versions(&self, bucket: &str, prefix: &str) -> Vec<(String, String)> {
        let listed = self.runtime.block_on(
            self.s3
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .send(),
        );
        let listed = listed.expect("list-object-versions");
        let mut all: Vec<(String, String)> = listed
            .versions()
            .iter()
            .map(|o| {
                (
                    o.key().unwrap().to_owned(),
                    o.version_id().unwrap().to_owned(),
                )
            })
            .collect();
        all.sort();
        all
    }
}

/// Concrete values for a template's intrinsics.
pub struct Resolver<'a> {
    pub template: &'a Value,
    /// `Ref` names and `GetAtt` as "Resource.Attribute".
    pub names: BTreeMap<String, String>,
    /// Fn::Sub variables to replace whatever the template gives them (e.g. LocalAPI).
    pub overrides: BTreeMap<String, String>,
}

impl<'a> Resolver<'a> {
    pub fn new(template: &'a Value, names: &[(&str, &str)]) -> Resolver<'a> {
        let mut map: BTreeMap<String, String> = names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("AWS::Partition".into()).or_insert("aws".into());
        map.entry("AWS::Region".into()).or_insert(REGION.into());
        map.entry("AWS::AccountId".into()).or_insert(ACCOUNT.into());
        map.entry("AWS::URLSuffix".into())
            .or_insert("amazonaws.com".into());
        Resolver {
            template,
            names: map,
            overrides: BTreeMap::new(),
        }
    }

    /// `f` with the tests' one resolver, strict, with this template's parameter defaults and
    /// mappings and these Fn::Sub overrides.
    fn with_intrinsics<T>(&self, f: impl FnOnce(&Intrinsics) -> T) -> T {
        let names = |name: &str| self.names.get(name).map(|v| json!(v));
        f(&Intrinsics::new(&names, Unknown::Panic)
            .with_template(self.template)
            .with_sub_overrides(&self.overrides))
    }

    pub fn resolve(&self, v: &Value) -> Value {
        self.with_intrinsics(|r| r.resolve(v))
    }

    pub fn string(&self, v: &Value) -> String {
        self.with_intrinsics(|r| r.string(v))
    }

    /// The boot script of `instance` as CloudFormation would hand it to the instance.
    pub fn user_data(&self, instance: &str) -> String {
        let user_data = boot_script(self.template, instance);
        assert!(!user_data.is_null(), "{instance} has no UserData");
        let script = self.string(user_data);
        assert!(
            !script.contains("${"),
            "{instance}: an unfilled placeholder remains"
        );
        script
    }

    /// The managed policy `policy` as the emulator can enforce it (resolved, then
    /// [`test_harness::iam::as_moto_enforces`]).
    pub fn policy(&self, policy: &str) -> Value {
        let resource = &self.template["Resources"][policy];
        assert_eq!(resource["Type"], "AWS::IAM::ManagedPolicy", "{policy}");
        let doc = self.resolve(&resource["Properties"]["PolicyDocument"]);
        let statements =
            test_harness::iam::as_moto_enforces(doc["Statement"].as_array().expect("statements"));
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// The operating system a machine imitates: which tools it has where.
#[derive(Clone, Copy, PartialEq)]
pub enum Os {
    Ubuntu2404,
    AmazonLinux2023,
}

/// One instance: data that outlives boots, and what it needs to reach the emulator.
pub struct Machine {
    os: Os,
    data: TempDir,
    endpoint: String,
    credentials: (String, String),
    /// `/dev/disk/by-id/<name>` of the CouchDB volume, if any.
    device: Option<String>,
    /// The EC2 instance id cloud-init records (/var/lib/cloud/data/instance-id): a replaced
    /// instance has a new one.
    pub instance_id: String,
}

/// One boot of a machine (a fresh root volume) and what the boot script did.
pub struct Boot {
    dir: TempDir,
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

const VENV_MARK: &str = "@VENV@";

const STUB_HEAD: &str = r#"#!/bin/bash
name=$(basename "$0")
line="$name $*"
# A secret on a command line (docker run -e COUCHDB_PASSWORD=...) is recorded as its hash.
case $line in
  *COUCHDB_PASSWORD=*)
    pw=$(printf '%s' "$line" | sed -E 's/.*COUCHDB_PASSWORD=([^ ]*).*/\1/')
    line=$(printf '%s' "$line" | sed -E "s/COUCHDB_PASSWORD=[^ ]*/COUCHDB_PASSWORD=sha256:$(printf '%s' "$pw" | sha256sum | cut -d' ' -f1)/")
    ;;
esac
printf '%s\n' "$line" >> /.record/calls
if [ -e "/.record/fail/$name" ]; then echo "$name: failing (injected by the test)" >&2; exit 1; fi
"#;

/// (name, body after STUB_HEAD).
fn stubs(os: Os) -> Vec<(&'static str, String)> {
    let mut s: Vec<(&'static str, String)> = vec![
        (
            "mount",
            "mkdir -p /.record/mounted; touch \"/.record/mounted/$(echo \"$1\" | tr / _)\"\n"
                .into(),
        ),
        (
            "mountpoint",
            "[ \"$1\" = -q ] && shift; [ -e \"/.record/mounted/$(echo \"$1\" | tr / _)\" ]\n"
                .into(),
        ),
        ("systemctl", "exit 0\n".into()),
        ("shutdown", "exit 0\n".into()),
        ("logger", "cat >> /.record/logger\n".into()),
    ];
    match os {
        Os::Ubuntu2404 => {
            s.push(("apt-get", "exit 0\n".into()));
            s.push((
                "snap",
                format!("if [ \"$1 $2\" = 'install aws-cli' ]; then mkdir -p /snap/bin; printf '#!/bin/sh\\nexec {VENV_MARK}/bin/aws \"$@\"\\n' > /snap/bin/aws; chmod 755 /snap/bin/aws; fi\n"),
            ));
            s.push((
                "python3",
                "if [ \"$1 $2\" = '-m venv' ]; then mkdir -p \"$3/bin\"; cp /.stubs/pip \"$3/bin/pip\"; exit 0; fi\necho 'python3 stub: only -m venv' >&2; exit 1\n".into(),
            ));
            s.push(("docker", "exit 0\n".into()));
            s.push((
                "blkid",
                "grep -q '^ext4' \"$1\" && { echo \"$1: TYPE=\\\"ext4\\\"\"; exit 0; }; exit 2\n"
                    .into(),
            ));
            s.push((
                "mkfs.ext4",
                "dev=$(eval echo \"\\$$#\"); echo \"ext4 $*\" > \"$dev\"\n".into(),
            ));
            // The CloudWatch agent's package: a placeholder in place of AWS's .deb.
            s.push((
                "curl",
                "case \"$*\" in\n  *amazoncloudwatch-agent*amazon-cloudwatch-agent.deb*)\n    out=; while [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n    echo 'amazon-cloudwatch-agent (test package)' > \"$out\"; exit 0 ;;\nesac\nexec /.host/usr/bin/curl \"$@\"\n".into(),
            ));
            s.push((
                "dpkg",
                "deb=$(eval echo \"\\$$#\")\n[ \"$1\" = -i ] && [ -s \"$deb\" ] || { echo \"dpkg stub: only -i of a downloaded package\" >&2; exit 1; }\nmkdir -p /opt/aws/amazon-cloudwatch-agent/bin\ncp /.stubs/amazon-cloudwatch-agent-ctl /opt/aws/amazon-cloudwatch-agent/bin/\n".into(),
            ));
        }
        Os::AmazonLinux2023 => {
            s.push(("dnf", "if [ \"$*\" = 'install -y aws-cfn-bootstrap' ]; then mkdir -p /opt/aws/bin; cp /.stubs/cfn-signal /opt/aws/bin/; fi\n".into()));
            // Amazon Linux 2023 comes with the AWS CLI.
            s.push(("aws", format!("exec {VENV_MARK}/bin/aws \"$@\"\n")));
        }
    }
    s
}

/// Stubs that are not on PATH: installed where the scripts expect them.
fn extra_stubs() -> Vec<(&'static str, String)> {
    vec![
        (
            "cfn-signal",
            "code=; while [ $# -gt 0 ]; do [ \"$1\" = --exit-code ] && code=$2; shift; done; echo \"$code\" >> /.record/signals\n".into(),
        ),
        ("pip", "[ \"$1\" = install ] && cp /.stubs/cfn-signal \"$(dirname \"$0\")/cfn-signal\"\nexit 0\n".into()),
        ("amazon-cloudwatch-agent-ctl", "exit 0\n".into()),
    ]
}

fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// `/usr/bin` or `/usr/sbin` of the sandbox: the host's tools (links into /.host), minus the
/// package managers, plus the stubs that live there.
fn farm(dir: &Path, host: &str, stubs_here: &[(&'static str, String)]) {
    fs::create_dir_all(dir).unwrap();
    let excluded = ["apt", "apt-get", "dpkg", "snap", "dnf", "yum", "docker"];
    for entry in fs::read_dir(host).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if excluded.contains(&name.as_str()) || stubs_here.iter().any(|(n, _)| *n == name) {
            continue;
        }
        symlink(format!("/.host{host}/{name}"), dir.join(&name)).unwrap();
    }
}

fn sbin_tool(name: &str) -> bool {
    matches!(name, "blkid" | "mkfs.ext4" | "shutdown")
}

impl Machine {
    pub fn new(os: Os, world: &World, credentials: (String, String)) -> Machine {
        let data = TempDir::new().unwrap();
        fs::create_dir_all(data.path().join("mnt/efs")).unwrap();
        fs::create_dir_all(data.path().join("srv")).unwrap();
        Machine {
            os,
            data,
            endpoint: world.moto.endpoint(),
            credentials,
            device: None,
            instance_id: "i-0000000000000000a".to_owned(),
        }
    }

    /// Gives the machine an (unformatted) EBS volume with id `volume`.
    pub fn attach_volume(&mut self, volume: &str) {
        fs::write(self.data.path().join("device"), b"").unwrap();
        self.device = Some(format!(
            "nvme-Amazon_Elastic_Block_Store_{}",
            volume.replace('-', "")
        ));
    }

    /// The machine's /mnt (EFS is /mnt/efs in it).
    pub fn mnt(&self) -> PathBuf {
        self.data.path().join("mnt")
    }

    /// The machine's EFS (/mnt/efs).
    pub fn efs(&self) -> PathBuf {
        self.data.path().join("mnt/efs")
    }

    /// The CouchDB volume's mount point (/srv/couchdb).
    pub fn srv(&self) -> PathBuf {
        self.data.path().join("srv/couchdb")
    }

    /// Writes the volume's content (as a snapshot-made volume has a file system already).
    pub fn set_device_content(&self, content: &str) {
        fs::write(self.data.path().join("device"), content).unwrap();
    }

    pub fn device_content(&self) -> String {
        fs::read_to_string(self.data.path().join("device")).unwrap()
    }

    /// Boots a fresh root volume and runs `script` as cloud-init runs user data (root, its
    /// usual PATH). `fail`: stubs that fail in this boot.
    pub fn boot(&self, script: &str, fail: &[&str]) -> Boot {
        let dir = self.fresh_root(fail);
        let b = dir.path();
        let part = "/var/lib/cloud/instance/scripts/part-001";
        write_executable(&b.join(part.trim_start_matches('/')), script);
        let out = self
            .run(&dir, &[part], &cloud_init_env())
            .output()
            .expect("run bwrap");
        Boot {
            dir,
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// An Elastic Beanstalk deployment's hook on a fresh root volume: the bundle's `files`
    /// (path, content, executable) unpacked in /var/app/staging, `hook` (a path in it) run as
    /// the platform runs hooks: as root, with the environment's properties and secrets (`env`)
    /// beside PATH and HOME.
    pub fn deploy(&self, files: &[(&str, &[u8], bool)], hook: &str, env: &[(&str, &str)]) -> Boot {
        let dir = self.fresh_root(&[]);
        let staging = dir.path().join("var/app/staging");
        for (path, content, executable) in files {
            let target = staging.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(&target, content).unwrap();
            let mode = if *executable { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
        }
        let mut all: Vec<(&str, &str)> = vec![
            (
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ),
            ("HOME", "/root"),
        ];
        all.extend_from_slice(env);
        let hook = format!("/var/app/staging/{hook}");
        // (From / rather than the staging directory: the hook finds its bundle by its own path.)
        let out = self.run(&dir, &[&hook], &all).output().expect("run bwrap");
        Boot {
            dir,
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A fresh root volume with the stubs and the instance role's credentials.
    fn fresh_root(&self, fail: &[&str]) -> TempDir {
        let dir = TempDir::new().unwrap();
        let b = dir.path();
        let venv = workspace_root().join(".venv");
        let venv_s = venv.to_str().unwrap();
        // The root volume.
        let copied = Command::new("cp")
            .args(["-a", "/etc", b.join("etc").to_str().unwrap()])
            .status()
            .unwrap();
        assert!(copied.success());
        for d in [
            "root/.aws",
            "opt",
            "var/lib/cloud/instance/scripts",
            "var/lib/cloud/data",
            "usr-local/bin",
            "usr-local/sbin",
            "snap",
            "record/fail",
            "stubs",
        ] {
            fs::create_dir_all(b.join(d)).unwrap();
        }
        // The instance role's credentials, as the instance gets them (not in the environment:
        // cron's jobs and cloud-init's scripts both find them).
        fs::write(
            b.join("root/.aws/credentials"),
            format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                self.credentials.0, self.credentials.1
            ),
        )
        .unwrap();
        fs::write(
            b.join("root/.aws/config"),
            format!("[default]\nendpoint_url = {}\n", self.endpoint),
        )
        .unwrap();
        fs::write(b.join("var/lib/cloud/data/instance-id"), &self.instance_id).unwrap();
        for f in fail {
            fs::write(b.join("record/fail").join(f), b"").unwrap();
        }
        let on_path = stubs(self.os);
        let (bin_stubs, sbin_stubs): (Vec<_>, Vec<_>) =
            on_path.iter().cloned().partition(|(n, _)| !sbin_tool(n));
        farm(&b.join("usr-bin"), "/usr/bin", &on_path);
        farm(&b.join("usr-sbin"), "/usr/sbin", &on_path);
        for (name, body) in bin_stubs {
            write_executable(
                &b.join("usr-bin").join(name),
                &format!("{STUB_HEAD}{}", body.replace(VENV_MARK, venv_s)),
            );
        }
        for (name, body) in sbin_stubs {
            write_executable(
                &b.join("usr-sbin").join(name),
                &format!("{STUB_HEAD}{}", body.replace(VENV_MARK, venv_s)),
            );
        }
        for (name, body) in extra_stubs() {
            write_executable(&b.join("stubs").join(name), &format!("{STUB_HEAD}{body}"));
        }
        if self.os == Os::Ubuntu2404 {
            // Ubuntu's duplicity package: /usr/bin/duplicity.
            write_executable(
                &b.join("usr-bin/duplicity"),
                &format!("#!/bin/sh\nexec {venv_s}/bin/duplicity \"$@\"\n"),
            );
        }
        dir
    }

    /// `command` inside the sandbox of `boot`, with exactly `env`.
    pub fn run(&self, boot: &TempDir, command: &[&str], env: &[(&str, &str)]) -> Command {
        let b = boot.path();
        let p = |rel: &str| b.join(rel).to_str().unwrap().to_owned();
        let d = |rel: &str| self.data.path().join(rel).to_str().unwrap().to_owned();
        let venv = workspace_root().join(".venv");
        // The instance's own /tmp and /run first: bwrap applies its arguments in order, and a
        // tmpfs on /tmp after the binds would hide a workspace (.venv) that lives under /tmp.
        let mut args: Vec<String> = vec![
            "--die-with-parent".into(),
            "--unshare-pid".into(),
            "--unshare-ipc".into(),
            "--tmpfs".into(),
            "/tmp".into(),
            "--tmpfs".into(),
            "/run".into(),
        ];
        let mut bind = |kind: &str, src: &str, dst: &str| {
            args.extend([kind.to_owned(), src.to_owned(), dst.to_owned()]);
        };
        bind("--ro-bind", "/usr", "/.host/usr");
        for entry in fs::read_dir("/usr").unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            // Not /usr/local: the host's own tools (docker, say) are no instance's.
            if name != "bin" && name != "sbin" && name != "local" {
                bind(
                    "--ro-bind",
                    &format!("/usr/{name}"),
                    &format!("/usr/{name}"),
                );
            }
        }
        bind("--ro-bind", &p("usr-bin"), "/usr/bin");
        bind("--ro-bind", &p("usr-sbin"), "/usr/sbin");
        // The instance's own /usr/local (empty at first boot), on its root volume.
        bind("--bind", &p("usr-local"), "/usr/local");
        bind("--bind", &p("etc"), "/etc");
        bind("--bind", &p("root"), "/root");
        bind("--bind", &p("opt"), "/opt");
        bind("--bind", &p("var"), "/var");
        bind("--bind", &p("snap"), "/snap");
        bind("--bind", &p("record"), "/.record");
        bind("--ro-bind", &p("stubs"), "/.stubs");
        bind("--bind", &d("mnt"), "/mnt");
        bind("--bind", &d("srv"), "/srv");
        // The AWS CLI and duplicity from .venv, and the Python they run on.
        let python = fs::canonicalize(venv.join("bin/python")).unwrap();
        let prefix = python
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if !prefix.starts_with("/usr") {
            bind("--ro-bind", &prefix, &prefix);
        }
        bind("--ro-bind", venv.to_str().unwrap(), venv.to_str().unwrap());
        // A .venv that is a symlink (a git worktree sharing another's): its scripts' shebangs
        // name the real path.
        let real_venv = fs::canonicalize(&venv).unwrap();
        if real_venv != venv {
            bind(
                "--ro-bind",
                real_venv.to_str().unwrap(),
                real_venv.to_str().unwrap(),
            );
        }
        for (link, target) in [
            ("/bin", "usr/bin"),
            ("/sbin", "usr/sbin"),
            ("/lib", "usr/lib"),
            ("/lib64", "usr/lib64"),
        ] {
            args.extend(["--symlink".into(), target.into(), link.into()]);
        }
        args.extend([
            "--dev".into(),
            "/dev".into(),
            "--proc".into(),
            "/proc".into(),
        ]);
        if let Some(device) = &self.device {
            args.extend(["--dir".into(), "/dev/disk/by-id".into()]);
            args.extend([
                "--bind".into(),
                d("device"),
                format!("/dev/disk/by-id/{device}"),
            ]);
        }
        args.push("--clearenv".into());
        for (k, v) in env {
            args.extend(["--setenv".into(), k.to_string(), v.to_string()]);
        }
        args.extend(["--chdir".into(), "/".into(), "--".into()]);
        args.extend(command.iter().map(|s| s.to_string()));
        let mut c = Command::new("bwrap");
        c.args(args).stdin(Stdio::null());
        c
    }
}

/// The environment cloud-init gives user-data scripts: systemd's PATH for services, which
/// snapd's environment generator extends with /snap/bin on Ubuntu (cron's is not).
pub fn cloud_init_env() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin",
        ),
        ("HOME", "/root"),
        ("LANG", "C.UTF-8"),
    ]
}

impl Boot {
    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.dir.path().join(rel)).unwrap_or_default()
    }

    /// The exit codes the script gave cfn-signal, in order.
    pub fn signals(&self) -> Vec<String> {
        self.read("record/signals")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every stub call of this boot: "name args".
    pub fn calls(&self) -> Vec<String> {
        self.read("record/calls")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn called(&self, name: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.split(' ').next() == Some(name))
            .collect()
    }

    /// A file of the boot's root volume (`etc/cron.d/openemr-backup`).
    pub fn file(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.dir.path().join(rel)).ok()
    }

    pub fn logger(&self) -> String {
        self.read("record/logger")
    }

    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    /// What went wrong, for assertion messages (the scripts print no secrets).
    pub fn report(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- calls\n{}",
            self.status.code(),
            self.stdout,
            self.stderr,
            self.calls().join("\n")
        )
    }
}

/// Files under `root` (relative path -> bytes), skipping `skip`.
pub fn tree(root: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, skip, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, skip, &mut out);
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// An instance's `UserData`: its own, or (a one-shot instance) its launch template's.
pub fn boot_script<'t>(template: &'t Value, instance: &str) -> &'t Value {
    let properties = &template["Resources"][instance]["Properties"];
    if properties.get("UserData").is_some() {
        return &properties["UserData"];
    }
    let launch_template = properties["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{instance}: neither UserData nor a launch template"));
    &template["Resources"][launch_template]["Properties"]["LaunchTemplateData"]["UserData"]
}
