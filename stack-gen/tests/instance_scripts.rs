//! Every instance script under `stack-gen/scripts/`, taken from the generated template, filled
//! in as CloudFormation would, and run for real in a sandbox (bubblewrap) that gives it its own
//! root volume and data volumes, against a moto server, as an IAM user holding only the
//! instance role's policy as generated. See `instance_scripts/sandbox.rs` for what is real and
//! what is a recording stub.

#[path = "instance_scripts/sandbox.rs"]
mod sandbox;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use sandbox::{Boot, Machine, Os, Resolver, World, cloud_init_env, sha256_hex, tree};
use serde_json::{Value, json};
use stack_gen::instance::{
    DISK_USED_METRIC, METRICS_NAMESPACE, NODE_DIMENSION, PATH_DIMENSION, STACK_DIMENSION,
};
use stack_gen::{Options, generate};
use test_harness::fake_couchdb::FakeCouchdb;

const STACK: &str = "openemr-test";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-test/5a3c1f00-0000-4000-8000-000000000001";
const EFS_ID: &str = "fs-0123456789abcdef0";

fn template(options: &Options) -> Value {
    generate(options).expect("valid options").to_json()
}

fn recovery() -> Options {
    Options {
        recovery: true,
        ..Options::default()
    }
}

/// Names of a stack whose bucket is `bucket` (and, in a recovery stack, whose original's
/// bucket is `recovery_bucket`).
fn names<'a>(
    world: &'a World,
    bucket: &'a str,
    recovery_bucket: &'a str,
) -> Vec<(&'static str, String)> {
    vec![
        ("S3Bucket", bucket.to_owned()),
        ("S3Bucket.Arn", format!("arn:aws:s3:::{bucket}")),
        ("OpenEMRKey.Arn", world.key_arn.clone()),
        ("RecoveryKMSKey", world.key_arn.clone()),
        ("RecoveryS3Bucket", recovery_bucket.to_owned()),
        ("AWS::StackName", STACK.to_owned()),
        ("AWS::StackId", STACK_ID.to_owned()),
        ("ElasticFileSystem", EFS_ID.to_owned()),
        ("CouchDBVolume", "vol-0aaaabbbbccccdddd".to_owned()),
        ("RCouchDBVolume", "vol-0eeeeffff00001111".to_owned()),
    ]
}

fn resolver<'a>(template: &'a Value, names: &'a [(&'static str, String)]) -> Resolver<'a> {
    let pairs: Vec<(&str, &str)> = names.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Resolver::new(template, &pairs)
}

/// Runs the job of a cron.d file the way cron does: the command through the file's SHELL
/// (default /bin/sh) with cron's environment (PATH=/usr/bin:/bin, HOME, LOGNAME) plus the
/// file's own variable lines, and nothing else.
fn run_cron_job(machine: &Machine, boot: &Boot, cron_file: &str) -> std::process::Output {
    let mut env: Vec<(String, String)> = vec![
        ("SHELL".into(), "/bin/sh".into()),
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("HOME".into(), "/root".into()),
        ("LOGNAME".into(), "root".into()),
    ];
    let mut command = None;
    for line in cron_file
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let first = line.split_whitespace().next().unwrap();
        if let Some((name, value)) = first
            .split_once('=')
            .filter(|_| line.split_whitespace().count() == 1)
        {
            env.retain(|(k, _)| k != name);
            env.push((name.to_owned(), value.to_owned()));
        } else {
            let fields: Vec<&str> = line.splitn(7, char::is_whitespace).collect();
            assert_eq!(fields.len(), 7, "cron line: {line}");
            assert_eq!(fields[5], "root", "the job runs as root: {line}");
            command = Some(fields[6].to_owned());
        }
    }
    let command = command.expect("a job line");
    let shell = env.iter().find(|(k, _)| k == "SHELL").unwrap().1.clone();
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    machine
        .run(boot.dir(), &[&shell, "-c", &command], &env_ref)
        .output()
        .unwrap()
}

/// Some of OpenEMR's sites/ tree, binary files included.
fn seed_sites(efs: &std::path::Path) {
    fs::create_dir_all(efs.join("sites/default/documents/1")).unwrap();
    fs::write(
        efs.join("sites/default/sqlconf.php"),
        "<?php $host = 'mysql';\n",
    )
    .unwrap();
    fs::write(
        efs.join("sites/default/documents/1/scan.pdf"),
        (0..=255u8).cycle().take(300_000).collect::<Vec<u8>>(),
    )
    .unwrap();
    fs::write(efs.join("sites/default/documents/1/empty.txt"), b"").unwrap();
}

struct NfsStack {
    world: World,
    bucket: String,
    user: String,
    machine: Machine,
    script: String,
}

/// A fresh (non-recovery) stack's NFS backup agent, not booted yet.
fn nfs_stack(bucket: &str) -> NfsStack {
    let world = World::new();
    world.create_bucket(bucket);
    let t = template(&Options::default());
    let n = names(&world, bucket, "");
    let r = resolver(&t, &n);
    let user = format!("{bucket}-nfs");
    let credentials = world.role_user(&user, &r.policy("NFSBackupPolicy"));
    let script = r.user_data("NFSBackupInstance");
    let machine = Machine::new(Os::Ubuntu2404, &world, credentials);
    NfsStack {
        world,
        bucket: bucket.to_owned(),
        user,
        machine,
        script,
    }
}

const PASSPHRASE: &str = "Backup/passphrase.txt";

/// Where the scripts write the CloudWatch agent's configuration (on the root volume).
const AGENT_CONFIG: &str = "opt/aws/amazon-cloudwatch-agent/etc/openemr.json";

/// The agent's package downloads of this boot.
fn agent_downloads(boot: &Boot) -> Vec<String> {
    boot.called("curl")
        .into_iter()
        .filter(|c| c.contains("amazon-cloudwatch-agent.deb"))
        .collect()
}

/// The boot installed the CloudWatch agent from AWS's package in the stack's region and
/// started it on a configuration publishing the used percentage of `paths` of instance `node`,
/// under the namespace and with exactly the dimensions the disk alarms read.
fn assert_agent(boot: &Boot, node: &str, paths: &[&str]) {
    let region = test_harness::REGION;
    let downloads = agent_downloads(boot);
    assert_eq!(downloads.len(), 1, "{}", boot.report());
    assert!(
        downloads[0].ends_with(&format!(
            " https://amazoncloudwatch-agent-{region}.s3.{region}.amazonaws.com/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb"
        )),
        "{}",
        downloads[0]
    );
    let installs = boot.called("dpkg");
    assert_eq!(installs.len(), 1, "{}", boot.report());
    assert!(installs[0].starts_with("dpkg -i -E "), "{}", installs[0]);
    assert_eq!(
        boot.called("amazon-cloudwatch-agent-ctl"),
        [format!(
            "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/{AGENT_CONFIG}"
        )],
        "{}",
        boot.report()
    );
    let config: Value = serde_json::from_str(
        &boot
            .file(AGENT_CONFIG)
            .expect("agent configuration written"),
    )
    .expect("the agent's configuration is JSON");
    let metrics = &config["metrics"];
    assert_eq!(metrics["namespace"], METRICS_NAMESPACE);
    let disk = &metrics["metrics_collected"]["disk"];
    assert_eq!(disk["resources"], json!(paths));
    assert_eq!(disk["measurement"], json!(["used_percent"]));
    assert_eq!(
        disk["append_dimensions"],
        json!({ STACK_DIMENSION: STACK, NODE_DIMENSION: node })
    );
    // Published on exactly Stack, Node and path: rolled up without fstype, original dropped.
    assert_eq!(
        metrics["aggregation_dimensions"],
        json!([[STACK_DIMENSION, NODE_DIMENSION, PATH_DIMENSION]])
    );
    assert_eq!(disk["drop_original_metrics"], json!([DISK_USED_METRIC]));
    assert_eq!(disk["drop_device"], true);
    assert_eq!(config["agent"]["omit_hostname"], true);
}

fn assert_chain(keys: &[String], full: usize) {
    let count = |pred: &dyn Fn(&str) -> bool| {
        keys.iter()
            .filter(|k| pred(k.strip_prefix("Backup/").unwrap()))
            .count()
    };
    assert_eq!(
        count(&|k| k.starts_with("duplicity-full.") && k.ends_with(".manifest.gpg")),
        full,
        "{keys:?}"
    );
    assert_eq!(
        count(&|k| k.starts_with("duplicity-full.") && k.ends_with(".vol1.difftar.gpg")),
        full,
        "{keys:?}"
    );
    assert_eq!(
        count(&|k| k.starts_with("duplicity-full-signatures.") && k.ends_with(".sigtar.gpg")),
        full,
        "{keys:?}"
    );
}

#[test]
fn nfs_agent_fresh_stack_makes_passphrase_and_cron_job_that_backs_up_under_crons_environment() {
    let s = nfs_stack("fresh-nfs");
    seed_sites(&s.machine.efs());
    let boot = s.machine.boot(&s.script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    // Installs ran after the ERR trap was set: order of the stub calls is apt-get first.
    assert!(boot.calls()[0].starts_with("apt-get "), "{}", boot.report());
    assert_agent(&boot, "NFSBackupInstance", &["/"]);

    let head = s
        .world
        .head(&s.bucket, PASSPHRASE)
        .expect("passphrase stored");
    assert_eq!(head.encryption.as_deref(), Some("aws:kms"));
    assert_eq!(head.kms_key.as_deref(), Some(s.world.key_arn.as_str()));
    assert!(
        s.world.get(&s.bucket, PASSPHRASE).len() >= 32,
        "a long passphrase"
    );
    assert!(!s.machine.efs().join("../../root/passphrase").exists());

    let cron = boot
        .file("etc/cron.d/openemr-backup")
        .expect("cron job written");
    let job = run_cron_job(&s.machine, &boot, &cron);
    assert!(
        job.status.success(),
        "cron job: {}",
        String::from_utf8_lossy(&job.stderr)
    );
    let keys = s.world.list(&s.bucket, "Backup/duplicity-");
    assert!(
        !keys.is_empty(),
        "no chain; the job's log:\n{}",
        boot.logger()
    );
    assert_chain(&keys, 1);
    assert!(
        boot.logger()
            .contains("--------------[ Backup Statistics ]--------------"),
        "duplicity ran under cron: {}",
        boot.logger()
    );

    // backup.sh on its own with cron's bare PATH (and nothing else) works too: an incremental.
    let direct = s
        .machine
        .run(
            boot.dir(),
            &["/root/backup.sh"],
            &[("PATH", "/usr/bin:/bin")],
        )
        .output()
        .unwrap();
    assert!(
        direct.status.success(),
        "env -i PATH=/usr/bin:/bin /root/backup.sh: {}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let keys = s.world.list(&s.bucket, "Backup/duplicity-");
    assert_chain(&keys, 1);
    assert!(
        keys.iter()
            .any(|k| k.starts_with("Backup/duplicity-inc.") && k.ends_with(".manifest.gpg")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("Backup/duplicity-new-signatures.")),
        "{keys:?}"
    );
}

#[test]
fn nfs_agent_installs_the_cloudwatch_agent_once_and_reconfigures_it_when_run_again() {
    let s = nfs_stack("agent-nfs");
    let boot = s.machine.boot(&s.script, &[]);
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    assert_agent(&boot, "NFSBackupInstance", &["/"]);
    let config = boot.file(AGENT_CONFIG).unwrap();

    // The same script again on the same root volume: the agent is there, so no download and
    // no install; the same configuration, and the agent restarted on it.
    let again = s
        .machine
        .run(
            boot.dir(),
            &["/var/lib/cloud/instance/scripts/part-001"],
            &cloud_init_env(),
        )
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(boot.signals(), ["0", "0"], "{}", boot.report());
    assert_eq!(agent_downloads(&boot).len(), 1, "{}", boot.report());
    assert_eq!(boot.called("dpkg").len(), 1, "{}", boot.report());
    assert_eq!(
        boot.called("amazon-cloudwatch-agent-ctl").len(),
        2,
        "{}",
        boot.report()
    );
    assert!(boot.file(AGENT_CONFIG).unwrap() == config);
}

#[test]
fn nfs_agent_replacement_keeps_the_passphrase() {
    let s = nfs_stack("replaced-nfs");
    seed_sites(&s.machine.efs());
    let first = s.machine.boot(&s.script, &[]);
    assert_eq!(first.signals(), ["0"], "{}", first.report());
    let before = s.world.versions(&s.bucket, PASSPHRASE);
    let passphrase = s.world.get(&s.bucket, PASSPHRASE);
    let efs = tree(&s.machine.efs(), &[]);

    let second = s.machine.boot(&s.script, &[]);
    assert!(second.status.success(), "{}", second.report());
    assert_eq!(second.signals(), ["0"], "{}", second.report());
    assert_eq!(
        s.world.versions(&s.bucket, PASSPHRASE),
        before,
        "the passphrase object was not rewritten"
    );
    assert!(
        s.world.get(&s.bucket, PASSPHRASE) == passphrase,
        "same passphrase"
    );
    assert!(tree(&s.machine.efs(), &[]) == efs, "EFS untouched");
    assert!(second.file("etc/cron.d/openemr-backup").is_some());
}

#[test]
fn nfs_agent_failed_passphrase_read_signals_failure_and_keeps_the_passphrase() {
    let s = nfs_stack("transient-nfs");
    let first = s.machine.boot(&s.script, &[]);
    assert_eq!(first.signals(), ["0"], "{}", first.report());
    let before = s.world.versions(&s.bucket, PASSPHRASE);
    // The read answers 403 (as a throttled, misconfigured or briefly failing S3 would fail it).
    s.world.deny(
        &s.user,
        &["s3:GetObject"],
        &[format!("arn:aws:s3:::{}/{PASSPHRASE}", s.bucket)],
    );

    let second = s.machine.boot(&s.script, &[]);
    assert!(!second.status.success(), "{}", second.report());
    assert_eq!(second.signals(), ["1"], "{}", second.report());
    assert!(
        second.stderr.contains("cannot tell whether"),
        "{}",
        second.report()
    );
    assert_eq!(
        s.world.versions(&s.bucket, PASSPHRASE),
        before,
        "no new passphrase over the stored one"
    );
}

#[test]
fn nfs_agent_install_failure_after_the_trap_signals_failure() {
    let s = nfs_stack("install-fails-nfs");
    // snap runs after cfn-bootstrap is installed: its failure must reach CloudFormation.
    let boot = s.machine.boot(&s.script, &["snap"]);
    assert!(!boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["1"], "{}", boot.report());
    assert!(s.world.head(&s.bucket, PASSPHRASE).is_none());
    assert!(boot.file("etc/cron.d/openemr-backup").is_none());

    // The CloudWatch agent's package cannot be downloaded: the same.
    let boot = s.machine.boot(&s.script, &["curl"]);
    assert!(!boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["1"], "{}", boot.report());
    assert!(boot.called("dpkg").is_empty(), "{}", boot.report());
    assert!(boot.file("etc/cron.d/openemr-backup").is_none());
}

#[test]
fn nfs_agent_recovery_restores_into_empty_efs_and_never_over_data() {
    // The original stack: data, its agent, one nightly backup.
    let original = nfs_stack("original-nfs");
    seed_sites(&original.machine.efs());
    let boot = original.machine.boot(&original.script, &[]);
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    let cron = boot.file("etc/cron.d/openemr-backup").unwrap();
    let job = run_cron_job(&original.machine, &boot, &cron);
    assert!(
        job.status.success(),
        "{}",
        String::from_utf8_lossy(&job.stderr)
    );
    let source = tree(&original.machine.efs(), &[]);

    // The recovery stack, in the same account: its own bucket, the original's as RecoveryS3Bucket.
    let world = &original.world;
    world.create_bucket("recovered-nfs");
    let t = template(&recovery());
    let n = names(world, "recovered-nfs", "original-nfs");
    let r = resolver(&t, &n);
    let credentials = world.role_user("recovered-nfs-agent", &r.policy("NFSBackupPolicy"));
    let script = r.user_data("NFSBackupInstance");
    let machine = Machine::new(Os::Ubuntu2404, world, credentials.clone());
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    let marker = ".openemr-restore-complete";
    let restored = tree(&machine.efs(), &[marker]);
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>()
    );
    assert!(restored == source, "restored files are byte-identical");
    assert!(machine.efs().join(marker).exists());
    assert!(
        world.get("recovered-nfs", PASSPHRASE) == world.get("original-nfs", PASSPHRASE),
        "the original's passphrase, kept"
    );

    // Live data changes; the agent is replaced: no restore over it.
    let live = machine.efs().join("sites/default/sqlconf.php");
    fs::write(&live, "changed after the recovery\n").unwrap();
    let versions = world.versions("recovered-nfs", PASSPHRASE);
    let boot = machine.boot(&script, &[]);
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    assert_eq!(
        fs::read_to_string(&live).unwrap(),
        "changed after the recovery\n",
        "live data kept"
    );
    assert_eq!(world.versions("recovered-nfs", PASSPHRASE), versions);

    // An EFS with files but no completed restore: refuse, and tell CloudFormation.
    let other = Machine::new(Os::Ubuntu2404, world, credentials);
    fs::write(other.efs().join("someone's.file"), "keep me").unwrap();
    let boot = other.boot(&script, &[]);
    assert_eq!(boot.signals(), ["1"], "{}", boot.report());
    assert_eq!(tree(&other.efs(), &[]).len(), 1);
    assert_eq!(
        fs::read_to_string(other.efs().join("someone's.file")).unwrap(),
        "keep me"
    );
}

#[test]
fn scripts_do_not_hard_code_the_zone() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    for dir in fs::read_dir(&root).unwrap() {
        for file in fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            for zone in ["openemr.local", "openemr.internal"] {
                assert!(
                    !text.contains(zone),
                    "{} names the zone {zone}: take it from the Zone variable",
                    path.display()
                );
            }
        }
    }
}

struct CertStack {
    world: World,
    bucket: String,
    user: String,
    machine: Machine,
    script: String,
    zone: String,
}

fn cert_stack(bucket: &str) -> CertStack {
    let world = World::new();
    world.create_bucket(bucket);
    let t = template(&Options::default());
    let n = names(&world, bucket, "");
    let r = resolver(&t, &n);
    let user = format!("{bucket}-writer");
    let credentials = world.role_user(&user, &r.policy("CertWriterPolicy"));
    let script = r.user_data("CertWriterInstance");
    let vars = &sandbox::boot_script(&t, "CertWriterInstance")["Fn::Base64"]["Fn::Sub"][1];
    let zone = vars["Zone"]
        .as_str()
        .expect("the zone is a variable of the script")
        .to_owned();
    let machine = Machine::new(Os::AmazonLinux2023, &world, credentials);
    CertStack {
        world,
        bucket: bucket.to_owned(),
        user,
        machine,
        script,
        zone,
    }
}

const CA_OBJECTS: [&str; 7] = [
    "CA/certs/beanstalk.crt",
    "CA/certs/ca.crt",
    "CA/certs/couch.crt",
    "CA/keys/beanstalk.key",
    "CA/keys/ca.key",
    "CA/keys/couch.key",
    "CA/web/beanstalk.key",
];

fn openssl(args: &[&str], dir: &std::path::Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cert_writer_makes_a_ca_and_certificates_with_the_names_clients_use() {
    let s = cert_stack("fresh-certs");
    let boot = s.machine.boot(&s.script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    // cfn-signal was missing: installed with dnf; the instance shuts down after signalling.
    assert_eq!(boot.called("dnf"), ["dnf install -y aws-cfn-bootstrap"]);
    assert!(
        boot.calls().last().unwrap().starts_with("shutdown"),
        "{}",
        boot.report()
    );

    assert_eq!(s.world.list(&s.bucket, "CA/"), CA_OBJECTS);
    for object in CA_OBJECTS {
        let head = s.world.head(&s.bucket, object).unwrap();
        assert_eq!(head.encryption.as_deref(), Some("aws:kms"), "{object}");
        assert_eq!(
            head.kms_key.as_deref(),
            Some(s.world.key_arn.as_str()),
            "{object}"
        );
    }
    let dir = tempfile::TempDir::new().unwrap();
    for name in ["ca.crt", "couch.crt", "beanstalk.crt"] {
        fs::write(
            dir.path().join(name),
            s.world.get(&s.bucket, &format!("CA/certs/{name}")),
        )
        .unwrap();
    }
    for (name, cn, sans) in [
        (
            "couch.crt",
            format!("couchdb.{}", s.zone),
            vec![
                format!("couchdb.{}", s.zone),
                format!("couchdb-az1.{}", s.zone),
                format!("couchdb-az2.{}", s.zone),
            ],
        ),
        (
            "beanstalk.crt",
            format!("beanstalk.{}", s.zone),
            vec![format!("beanstalk.{}", s.zone)],
        ),
    ] {
        assert_eq!(
            openssl(&["verify", "-CAfile", "ca.crt", name], dir.path()).trim(),
            format!("{name}: OK")
        );
        let text = openssl(
            &[
                "x509",
                "-in",
                name,
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName,extendedKeyUsage",
            ],
            dir.path(),
        );
        assert!(
            text.contains(&format!("CN = {cn}")) || text.contains(&format!("CN={cn}")),
            "{name}: {text}"
        );
        for san in sans {
            assert!(
                text.contains(&format!("DNS:{san}")),
                "{name} lacks {san}: {text}"
            );
        }
        assert!(
            text.contains("TLS Web Server Authentication"),
            "{name}: {text}"
        );
        // The name a client checks: openssl's own hostname check.
        let host = if name == "couch.crt" {
            format!("couchdb.{}", s.zone)
        } else {
            format!("beanstalk.{}", s.zone)
        };
        assert!(
            openssl(
                &["x509", "-in", name, "-noout", "-checkhost", &host],
                dir.path()
            )
            .contains("does match"),
            "{name}"
        );
    }
    // The private key matches the certificate.
    fs::write(
        dir.path().join("couch.key"),
        s.world.get(&s.bucket, "CA/keys/couch.key"),
    )
    .unwrap();
    assert_eq!(
        openssl(
            &["x509", "-in", "couch.crt", "-noout", "-pubkey"],
            dir.path()
        ),
        openssl(&["pkey", "-in", "couch.key", "-pubout"], dir.path())
    );
}

#[test]
fn cert_writer_replacement_keeps_the_ca() {
    let s = cert_stack("replaced-certs");
    let first = s.machine.boot(&s.script, &[]);
    assert_eq!(first.signals(), ["0"], "{}", first.report());
    let before = s.world.versions(&s.bucket, "CA/");
    assert_eq!(before.len(), CA_OBJECTS.len());

    let second = s.machine.boot(&s.script, &[]);
    assert!(second.status.success(), "{}", second.report());
    assert_eq!(second.signals(), ["0"], "{}", second.report());
    assert_eq!(
        s.world.versions(&s.bucket, "CA/"),
        before,
        "no CA object rewritten"
    );
    assert!(
        second.stdout.contains("keeping the stack's CA"),
        "{}",
        second.report()
    );
    assert!(
        second.calls().last().unwrap().starts_with("shutdown"),
        "{}",
        second.report()
    );
}

/// A stack made before the web tier's key had its own place: the replacement writer copies the
/// key there once, and touches nothing else.
#[test]
fn cert_writer_replacement_gives_an_older_stack_the_web_tier_key() {
    let s = cert_stack("older-certs");
    let first = s.machine.boot(&s.script, &[]);
    assert_eq!(first.signals(), ["0"], "{}", first.report());
    s.world.delete(&s.bucket, "CA/web/beanstalk.key");
    let before: Vec<_> = s
        .world
        .versions(&s.bucket, "CA/")
        .into_iter()
        .filter(|(key, _)| !key.starts_with("CA/web/"))
        .collect();
    let second = s.machine.boot(&s.script, &[]);
    assert_eq!(second.signals(), ["0"], "{}", second.report());
    assert_eq!(
        s.world.get(&s.bucket, "CA/web/beanstalk.key"),
        s.world.get(&s.bucket, "CA/keys/beanstalk.key")
    );
    let head = s.world.head(&s.bucket, "CA/web/beanstalk.key").unwrap();
    assert_eq!(head.encryption.as_deref(), Some("aws:kms"));
    let after: Vec<_> = s
        .world
        .versions(&s.bucket, "CA/")
        .into_iter()
        .filter(|(key, _)| !key.starts_with("CA/web/"))
        .collect();
    assert_eq!(after, before, "nothing else rewritten");
}

/// A CA written by the original generator (or this project's first versions): certificates with
/// a CN in `openemr.local` and no subjectAltName, which TLS clients (the fingerprint recorder's
/// rustls) refuse. The writer reissues both server certificates under the same CA, stores key
/// before certificate, and leaves the CA alone; once right, nothing is rewritten.
#[test]
fn cert_writer_reissues_certificates_without_their_clients_names_under_the_same_ca() {
    let s = cert_stack("original-certs");
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    // The original generator's commands (its CertWriterInstance's user data), smaller keys.
    openssl(&["genrsa", "-out", "ca.key", "2048"], d);
    openssl(
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=OpenEMR Backend CA",
        ],
        d,
    );
    for (name, cn) in [
        ("beanstalk", "beanstalk.openemr.local"),
        ("couch", "couchdb.openemr.local"),
    ] {
        openssl(
            &[
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
            d,
        );
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-out",
                &format!("{name}.crt"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
            ],
            d,
        );
    }
    for object in CA_OBJECTS {
        let file = object.rsplit('/').next().unwrap();
        s.world
            .put(&s.bucket, object, &std::fs::read(d.join(file)).unwrap());
    }
    let ca_before: Vec<_> = s
        .world
        .versions(&s.bucket, "CA/")
        .into_iter()
        .filter(|(k, _)| k.contains("/ca."))
        .collect();

    let boot = s.machine.boot(&s.script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    let ca_after: Vec<_> = s
        .world
        .versions(&s.bucket, "CA/")
        .into_iter()
        .filter(|(k, _)| k.contains("/ca."))
        .collect();
    assert_eq!(ca_after, ca_before, "the CA is never remade");
    for (name, names) in [
        ("beanstalk", vec![format!("beanstalk.{}", s.zone)]),
        (
            "couch",
            vec![
                format!("couchdb.{}", s.zone),
                format!("couchdb-az1.{}", s.zone),
                format!("couchdb-az2.{}", s.zone),
            ],
        ),
    ] {
        let cert = d.join(format!("new-{name}.crt"));
        std::fs::write(
            &cert,
            s.world.get(&s.bucket, &format!("CA/certs/{name}.crt")),
        )
        .unwrap();
        let key = d.join(format!("new-{name}.key"));
        std::fs::write(&key, s.world.get(&s.bucket, &format!("CA/keys/{name}.key"))).unwrap();
        let listed = openssl(
            &[
                "x509",
                "-in",
                cert.to_str().unwrap(),
                "-noout",
                "-ext",
                "subjectAltName",
            ],
            d,
        );
        for n in &names {
            assert!(listed.contains(&format!("DNS:{n}")), "{name}: {listed}");
        }
        // Signed by the CA every client already trusts, and the stored key is its key.
        openssl(&["verify", "-CAfile", "ca.crt", cert.to_str().unwrap()], d);
        assert_eq!(
            openssl(
                &["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"],
                d
            ),
            openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"], d),
            "{name}: key and certificate belong together"
        );
        let head = s
            .world
            .head(&s.bucket, &format!("CA/keys/{name}.key"))
            .unwrap();
        assert_eq!(head.encryption.as_deref(), Some("aws:kms"));
    }
    assert_eq!(
        s.world.get(&s.bucket, "CA/web/beanstalk.key"),
        s.world.get(&s.bucket, "CA/keys/beanstalk.key"),
        "the web tier reads the new key"
    );

    let before = s.world.versions(&s.bucket, "CA/");
    let again = s.machine.boot(&s.script, &[]);
    assert_eq!(again.signals(), ["0"], "{}", again.report());
    assert_eq!(
        s.world.versions(&s.bucket, "CA/"),
        before,
        "right names: nothing reissued"
    );
}

#[test]
fn cert_writer_failed_read_signals_failure_and_keeps_the_ca() {
    let s = cert_stack("transient-certs");
    let first = s.machine.boot(&s.script, &[]);
    assert_eq!(first.signals(), ["0"], "{}", first.report());
    let before = s.world.versions(&s.bucket, "CA/");
    s.world.deny(
        &s.user,
        &["s3:GetObject"],
        &[format!("arn:aws:s3:::{}/CA/certs/ca.crt", s.bucket)],
    );
    let second = s.machine.boot(&s.script, &[]);
    assert!(!second.status.success(), "{}", second.report());
    assert_eq!(second.signals(), ["1"], "{}", second.report());
    assert_eq!(
        s.world.versions(&s.bucket, "CA/"),
        before,
        "no new CA over the stored one"
    );
    assert!(
        second.calls().last().unwrap().starts_with("shutdown"),
        "{}",
        second.report()
    );
}

/// The CouchDB stand-in, serving a self-signed certificate (the node's set-up does not check
/// it, as on the instance, where the certificate names the node, not 127.0.0.1); `faults`:
/// (method, path, status) answered instead of CouchDB's answer.
fn fake_couch(faults: &[(&str, &str, u16)]) -> FakeCouchdb {
    let dir = tempfile::TempDir::new().unwrap();
    self_signed(dir.path(), "/CN=127.0.0.1", "key.pem", "cert.pem");
    let read = |name: &str| fs::read(dir.path().join(name)).unwrap();
    FakeCouchdb::start(&read("cert.pem"), &read("key.pem"), faults)
}

/// A self-signed certificate for `subject` in `dir`: the files `key` and `cert`.
fn self_signed(dir: &std::path::Path, subject: &str, key: &str, cert: &str) {
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", subject,
            "-keyout", key, "-out", cert,
        ],
        dir,
    );
}

/// (method, path) of every request `couch` had as admin, and whether each used `password`.
fn admin_calls(couch: &FakeCouchdb, password: &[u8]) -> Vec<(String, String, bool)> {
    couch
        .requests()
        .into_iter()
        .filter(|r| r.user.as_deref() == Some("admin"))
        .map(|r| {
            let used = r.used_password(password);
            (r.method, r.path, used)
        })
        .collect()
}

const ADMIN_PASSWORD: &str = "CouchDB/admin-password.txt";

/// A CA and a CouchDB certificate for `name` as the certificate writer stores them:
/// (object key, content).
fn couch_certificates(name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    self_signed(d, "/CN=test CA", "ca.key", "ca.crt");
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            "couch.key",
            "-out",
            "couch.csr",
        ],
        d,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "couch.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "couch.crt",
        ],
        d,
    );
    [
        ("CA/certs/couch.crt", "couch.crt"),
        ("CA/keys/couch.key", "couch.key"),
        ("CA/certs/ca.crt", "ca.crt"),
    ]
    .into_iter()
    .map(|(object, file)| (object, std::fs::read(d.join(file)).unwrap()))
    .collect()
}

struct CouchStack {
    world: World,
    bucket: String,
    template: Value,
    /// The document volumes, in the emulator: (logical ID, volume id).
    volumes: Vec<(&'static str, String)>,
}

fn couch_stack(bucket: &str, options: &Options) -> CouchStack {
    let world = World::new();
    world.create_bucket(bucket);
    // What the certificate writer left.
    for (object, body) in couch_certificates("couchdb.openemr.internal") {
        world.put(bucket, object, &body);
    }
    let volumes = ["CouchDBVolume", "RCouchDBVolume"]
        .into_iter()
        .map(|id| (id, world.create_volume()))
        .collect();
    CouchStack {
        world,
        bucket: bucket.to_owned(),
        template: template(options),
        volumes,
    }
}

impl CouchStack {
    /// The emulator's id of document volume `id` (a logical ID).
    fn volume(&self, id: &str) -> String {
        self.volumes
            .iter()
            .find(|(k, _)| *k == id)
            .unwrap()
            .1
            .clone()
    }

    /// A node (`instance`, on `volume`) whose API is `fake`, as IAM user `user`.
    fn node(
        &self,
        instance: &str,
        volume: &str,
        user: &str,
        fake: &FakeCouchdb,
        recovery_bucket: &str,
    ) -> (Machine, String) {
        let mut n = names(&self.world, &self.bucket, recovery_bucket);
        n.retain(|(k, _)| !k.ends_with("Volume"));
        n.extend(self.volumes.iter().cloned());
        let mut r = resolver(&self.template, &n);
        r.overrides.insert("LocalAPI".into(), fake.url());
        let credentials = self.world.role_user(user, &r.policy("CouchDBPolicy"));
        let mut machine = Machine::new(Os::Ubuntu2404, &self.world, credentials);
        machine.attach_volume(&self.volume(volume));
        (machine, r.user_data(instance))
    }
}

fn docker_password_hash(boot: &Boot) -> String {
    let runs = boot.called("docker");
    assert_eq!(runs.len(), 1, "{}", boot.report());
    runs[0]
        .split_whitespace()
        .find_map(|a| a.strip_prefix("COUCHDB_PASSWORD=sha256:"))
        .expect("docker run gets the password")
        .to_owned()
}

#[test]
fn couchdb_node_creates_system_databases_and_keeps_its_password_on_replacement() {
    let s = couch_stack("single-couch", &Options::default());
    let fake = fake_couch(&[]);
    let (machine, script) = s.node("CouchDBInstance", "CouchDBVolume", "couch-node", &fake, "");
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(
        boot.called("mkfs.ext4").len(),
        1,
        "a blank volume is formatted: {}",
        boot.report()
    );
    let head = s
        .world
        .head(&s.bucket, ADMIN_PASSWORD)
        .expect("password stored");
    assert_eq!(head.encryption.as_deref(), Some("aws:kms"));
    assert_eq!(head.kms_key.as_deref(), Some(s.world.key_arn.as_str()));
    let password = s.world.get(&s.bucket, ADMIN_PASSWORD);
    let password = String::from_utf8(password).unwrap();
    let password = password.trim_end().as_bytes();
    assert!(password.len() >= 32);
    assert_eq!(
        docker_password_hash(&boot),
        sha256_hex(password),
        "CouchDB runs with the stored password"
    );
    let calls = admin_calls(&fake, password);
    for db in ["/_users", "/_replicator", "/openemr"] {
        assert!(
            calls.contains(&("PUT".into(), db.into(), true)),
            "PUT {db} as admin: {calls:?}"
        );
    }
    assert!(
        machine.srv().join("certs/couch.key").exists()
            && machine.srv().join("etc/10-tls.ini").exists()
    );
    assert_agent(&boot, "CouchDBInstance", &["/", "/srv/couchdb"]);
    assert!(!machine.srv().join("../../root/couchdb-admin").exists());

    // Replaced: same volume, same stored password; the file system and databases are kept.
    let versions = s.world.versions(&s.bucket, ADMIN_PASSWORD);
    let second = machine.boot(&script, &[]);
    assert!(second.status.success(), "{}", second.report());
    assert!(
        second.called("mkfs.ext4").is_empty(),
        "no format over the data: {}",
        second.report()
    );
    assert_eq!(
        s.world.versions(&s.bucket, ADMIN_PASSWORD),
        versions,
        "password object not rewritten"
    );
    assert_eq!(docker_password_hash(&second), sha256_hex(password));
    assert_eq!(
        admin_calls(&fake, password)
            .iter()
            .filter(|c| c.0 == "PUT")
            .count(),
        6,
        "412 (exists) is fine"
    );
}

/// The node keeps CouchDB's certificate the one the writer stores: hourly, a changed set whose
/// key belongs to its certificate is swapped in and CouchDB restarted; an unchanged one, or a
/// key stored before its certificate (the writer mid-way), changes nothing.
#[test]
fn couchdb_node_takes_a_reissued_certificate_and_restarts_couchdb() {
    let s = couch_stack("reissued-couch", &Options::default());
    let fake = fake_couch(&[]);
    let (machine, script) = s.node("CouchDBInstance", "CouchDBVolume", "couch-node", &fake, "");
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(
        std::fs::read(machine.srv().join("certs/couch.crt")).unwrap(),
        s.world.get(&s.bucket, "CA/certs/couch.crt")
    );
    let cron = boot
        .file("etc/cron.d/couchdb-certificates")
        .expect("cron job");
    let restarts = |b: &Boot| {
        b.called("docker")
            .iter()
            .filter(|c| c.starts_with("docker restart"))
            .count()
    };

    run_cron_job(&machine, &boot, &cron);
    assert_eq!(boot.logger(), "", "an unchanged set: nothing to say");
    assert_eq!(restarts(&boot), 0, "{}", boot.report());

    let reissued = couch_certificates("couchdb.openemr.internal");
    // The writer stored the new key but not yet its certificate: keep the installed pair.
    s.world.put(&s.bucket, reissued[1].0, &reissued[1].1);
    run_cron_job(&machine, &boot, &cron);
    // (cron's job sends what it says to syslog.)
    assert!(
        boot.logger().contains("does not belong"),
        "{}",
        boot.logger()
    );
    assert_ne!(
        std::fs::read(machine.srv().join("certs/couch.key")).unwrap(),
        reissued[1].1
    );
    assert_eq!(restarts(&boot), 0, "{}", boot.report());

    for (object, body) in &reissued {
        s.world.put(&s.bucket, object, body);
    }
    run_cron_job(&machine, &boot, &cron);
    assert!(
        boot.logger().contains("restarted CouchDB"),
        "{}",
        boot.logger()
    );
    for (object, body) in &reissued {
        let file = object.rsplit('/').next().unwrap();
        assert_eq!(
            &std::fs::read(machine.srv().join("certs").join(file)).unwrap(),
            body,
            "{file}"
        );
    }
    assert_eq!(restarts(&boot), 1, "{}", boot.report());
}

#[test]
fn couchdb_node_fails_loudly() {
    let s = couch_stack("failing-couch", &Options::default());
    // CouchDB refuses a system database: the set-up fails (before: ignored).
    let fake = fake_couch(&[("PUT", "/_users", 401)]);
    let (machine, script) = s.node("CouchDBInstance", "CouchDBVolume", "couch-node", &fake, "");
    let boot = machine.boot(&script, &[]);
    assert!(!boot.status.success(), "{}", boot.report());
    assert!(
        boot.stderr.contains("creating database _users: HTTP 401"),
        "{}",
        boot.report()
    );

    // The stored password cannot be read (403): fail, and never make a new one over it.
    let versions = s.world.versions(&s.bucket, ADMIN_PASSWORD);
    assert_eq!(versions.len(), 1);
    s.world.deny(
        "couch-node",
        &["s3:GetObject"],
        &[format!("arn:aws:s3:::{}/{ADMIN_PASSWORD}", s.bucket)],
    );
    let fake = fake_couch(&[]);
    let boot = machine.boot(&script, &[]);
    assert!(!boot.status.success(), "{}", boot.report());
    assert!(boot.called("docker").is_empty(), "{}", boot.report());
    assert_eq!(s.world.versions(&s.bucket, ADMIN_PASSWORD), versions);
    assert!(fake.requests().is_empty());
}

#[test]
fn couchdb_replica_waits_for_the_first_nodes_password() {
    let s = couch_stack(
        "dual-couch",
        &Options {
            dual_az: true,
            ..Options::default()
        },
    );
    let (fake1, fake2) = (fake_couch(&[]), fake_couch(&[]));
    let (first, first_script) = s.node("CouchDBInstance", "CouchDBVolume", "couch-az1", &fake1, "");
    let (replica, replica_script) = s.node(
        "CouchReplicatedDBInstance",
        "RCouchDBVolume",
        "couch-az2",
        &fake2,
        "",
    );
    std::thread::scope(|scope| {
        // The replica boots first and finds no password.
        let waiting = scope.spawn(|| replica.boot(&replica_script, &[]));
        std::thread::sleep(std::time::Duration::from_secs(8));
        assert!(
            s.world.head(&s.bucket, ADMIN_PASSWORD).is_none(),
            "the replica made no password"
        );
        let boot = first.boot(&first_script, &[]);
        assert!(boot.status.success(), "{}", boot.report());
        let replica_boot = waiting.join().unwrap();
        assert!(replica_boot.status.success(), "{}", replica_boot.report());
        assert_agent(&boot, "CouchDBInstance", &["/", "/srv/couchdb"]);
        assert_agent(
            &replica_boot,
            "CouchReplicatedDBInstance",
            &["/", "/srv/couchdb"],
        );
        let password = String::from_utf8(s.world.get(&s.bucket, ADMIN_PASSWORD)).unwrap();
        let password = password.trim_end().as_bytes();
        assert_eq!(docker_password_hash(&boot), sha256_hex(password));
        assert_eq!(
            docker_password_hash(&replica_boot),
            sha256_hex(password),
            "one password for both nodes"
        );
        assert_eq!(
            s.world.versions(&s.bucket, ADMIN_PASSWORD).len(),
            1,
            "made once"
        );
        // The replica sets up replication both ways with the first node, by its zone name.
        let replications: Vec<_> = fake2
            .requests()
            .into_iter()
            .filter(|r| r.path == "/_replicator" && r.method == "POST")
            .collect();
        assert_eq!(replications.len(), 2, "{replications:?}");
        let vars = &s.template["Resources"]["CouchReplicatedDBInstance"]["Properties"]["UserData"]
            ["Fn::Base64"]["Fn::Sub"][1];
        let peer = vars["Peer"].as_str().unwrap();
        for r in &replications {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["continuous"], true);
            assert!(
                body["source"].as_str().unwrap().contains(peer)
                    || body["target"].as_str().unwrap().contains(peer),
                "{body}"
            );
            assert!(
                body["source"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://admin:<password>@"),
                "{body}"
            );
        }
        assert!(
            admin_calls(&fake2, password).iter().all(|c| c.2),
            "the replica uses the shared password"
        );
    });
}

/// A replaced node takes its volume over from its predecessor, which CloudFormation deletes
/// only after the replacement and its attachment exist: it stops the predecessor and detaches
/// the volume before it signals (the attachment waits for the signal); a node that already
/// holds its volume stops nothing; a refused stop leaves the volume where it is and fails.
#[test]
fn couchdb_replacement_takes_its_volume_from_its_predecessor() {
    let s = couch_stack("replaced-couch", &Options::default());
    let volume = s.volume("CouchDBVolume");
    let cloudformation_tags = [
        (
            "aws:cloudformation:stack-id",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/1",
        ),
        ("aws:cloudformation:logical-id", "CouchDBInstance"),
    ];
    let predecessor = s.world.run_instance_with(&cloudformation_tags, &volume);
    let fake = fake_couch(&[]);

    // The node's own volume (its user data run again): nothing to take.
    let (mut machine, script) = s.node("CouchDBInstance", "CouchDBVolume", "couch-node", &fake, "");
    machine.set_device_content("ext4 with the clinic's documents");
    machine.instance_id = predecessor.clone();
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(s.world.instance_state(&predecessor), "running");
    assert_eq!(s.world.volume_holders(&volume), vec![predecessor.clone()]);

    // The stop is refused (in AWS: the holder is not this stack's node): the volume stays
    // where it is, and CloudFormation hears of the failure at once.
    machine.instance_id = "i-0000000000000000b".to_owned();
    s.world
        .deny("couch-node", &["ec2:StopInstances"], &["*".to_owned()]);
    let refused = machine.boot(&script, &[]);
    assert!(!refused.status.success(), "{}", refused.report());
    assert_eq!(refused.signals(), ["1"], "{}", refused.report());
    assert_eq!(s.world.volume_holders(&volume), vec![predecessor.clone()]);
    assert!(refused.called("docker").is_empty(), "{}", refused.report());

    // The replacement: the predecessor stopped, the volume free, then the signal.
    s.world.aws(&[
        "iam",
        "delete-user-policy",
        "--user-name",
        "couch-node",
        "--policy-name",
        "injected-deny",
    ]);
    machine.instance_id = "i-0000000000000000c".to_owned();
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    assert_eq!(s.world.instance_state(&predecessor), "stopped");
    assert!(
        s.world.volume_holders(&volume).is_empty(),
        "{}",
        boot.report()
    );
    assert!(boot.called("mkfs.ext4").is_empty(), "{}", boot.report());
    assert!(
        boot.stdout.contains(&format!("attached to {predecessor}")),
        "{}",
        boot.report()
    );
}

#[test]
fn couchdb_recovery_node_uses_the_original_stacks_password() {
    let s = couch_stack("recovered-couch", &recovery());
    s.world.create_bucket("original-couch");
    s.world.put(
        "original-couch",
        ADMIN_PASSWORD,
        b"the-original-stacks-password\n",
    );
    let fake = fake_couch(&[]);
    let (machine, script) = s.node(
        "CouchDBInstance",
        "CouchDBVolume",
        "couch-recovered",
        &fake,
        "original-couch",
    );
    // The recovery volume, made from the original's snapshot, holds a file system.
    machine.set_device_content("ext4 from the snapshot");
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert!(boot.called("mkfs.ext4").is_empty(), "{}", boot.report());
    assert!(
        s.world.get(&s.bucket, ADMIN_PASSWORD) == b"the-original-stacks-password\n",
        "copied into the recovery stack's bucket"
    );
    assert_eq!(
        docker_password_hash(&boot),
        sha256_hex(b"the-original-stacks-password")
    );
    assert!(
        admin_calls(&fake, b"the-original-stacks-password")
            .iter()
            .all(|c| c.2)
    );
}

#[test]
fn bastion_applies_security_updates_and_says_what_it_is() {
    let world = World::new();
    let t = template(&Options {
        force_bastion: true,
        ..Options::default()
    });
    let n = names(&world, "bastion-stack", "");
    let r = resolver(&t, &n);
    assert!(
        t["Resources"]["DeveloperBastion"]["Properties"]["IamInstanceProfile"].is_null(),
        "the bastion has no role"
    );
    let script = r.user_data("DeveloperBastion");
    let machine = Machine::new(Os::AmazonLinux2023, &world, ("none".into(), "none".into()));
    let boot = machine.boot(&script, &[]);
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(boot.called("dnf"), ["dnf upgrade -y --security"]);
    let motd = boot.file("etc/motd").unwrap();
    assert!(
        motd.contains(STACK) && motd.contains("not HIPAA-safe"),
        "{motd}"
    );
    // A failed update stops the script.
    let boot = machine.boot(&script, &["dnf"]);
    assert!(!boot.status.success(), "{}", boot.report());
    assert!(!boot.file("etc/motd").unwrap_or_default().contains(STACK));
}

/// What moto cannot show: on AWS, HeadObject of a missing key answers 403 (not 404) unless the
/// caller may ListBucket the bucket, and a HeadObject request carries no `s3:prefix`, so a
/// ListBucket limited by an `s3:prefix` Condition does not count. Every script that tells
/// "absent" (404: make the secret or CA) from "failed" (anything else: stop) needs it.
#[test]
fn roles_that_tell_absent_from_failed_may_list_their_buckets() {
    let world_names = |bucket: &str| {
        vec![
            ("S3Bucket".to_owned(), bucket.to_owned()),
            ("S3Bucket.Arn".to_owned(), format!("arn:aws:s3:::{bucket}")),
            (
                "OpenEMRKey.Arn".to_owned(),
                "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
            ),
            (
                "RecoveryKMSKey".to_owned(),
                "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
            ),
            ("RecoveryS3Bucket".to_owned(), "original".to_owned()),
            ("AWS::StackId".to_owned(), STACK_ID.to_owned()),
            ("CouchDBVolume".to_owned(), "vol-1".to_owned()),
            ("RCouchDBVolume".to_owned(), "vol-2".to_owned()),
        ]
    };
    // (options, policy, buckets whose objects the script heads)
    let cases = [
        (Options::default(), "NFSBackupPolicy", vec!["stack"]),
        (Options::default(), "CertWriterPolicy", vec!["stack"]),
        (Options::default(), "CouchDBPolicy", vec!["stack"]),
        (recovery(), "NFSBackupPolicy", vec!["stack"]),
        (recovery(), "CouchDBPolicy", vec!["stack"]),
    ];
    let mut missing = Vec::new();
    for (options, policy, buckets) in cases {
        let t = template(&options);
        let n = world_names("stack");
        let pairs: Vec<(&str, &str)> = n.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = Resolver::new(&t, &pairs);
        let doc = r.resolve(&t["Resources"][policy]["Properties"]["PolicyDocument"]);
        for bucket in buckets {
            let arn = format!("arn:aws:s3:::{bucket}");
            let granted = doc["Statement"].as_array().unwrap().iter().any(|s| {
                let listed = |v: &Value| {
                    v.as_str() == Some("s3:ListBucket")
                        || v.as_array()
                            .is_some_and(|a| a.iter().any(|a| a == "s3:ListBucket"))
                };
                let on_bucket = |v: &Value| {
                    v.as_str() == Some(&arn)
                        || v.as_array()
                            .is_some_and(|a| a.iter().any(|r| r == arn.as_str()))
                };
                let unconditional = s
                    .get("Condition")
                    .is_none_or(admits_requests_without_prefix);
                s["Effect"] == "Allow"
                    && listed(&s["Action"])
                    && on_bucket(&s["Resource"])
                    && unconditional
            });
            if !granted {
                missing.push(format!("{policy} (recovery: {}): s3:ListBucket on {arn} without an s3:prefix Condition", options.recovery));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "HeadObject of a missing key would answer 403:\n{}",
        missing.join("\n")
    );
}

/// Whether a ListBucket statement's Condition holds for a request with no `s3:prefix` key
/// (HeadObject's existence check, HeadBucket): `Null: {s3:prefix: true}`, or `...IfExists`.
fn admits_requests_without_prefix(condition: &Value) -> bool {
    condition
        .as_object()
        .unwrap()
        .iter()
        .all(|(operator, tests)| {
            tests.as_object().unwrap().iter().all(|(key, value)| {
                let truthy = value == "true"
                    || value == &serde_json::json!(["true"])
                    || value == &serde_json::json!(true);
                key == "s3:prefix"
                    && ((operator == "Null" && truthy) || operator.ends_with("IfExists"))
            })
        })
}

/// The internet-facing web tier, under its own role as generated (`BeanstalkInstanceRole`),
/// reads what serving OpenEMR needs from what the cert writer made (its certificate and key,
/// the CA certificate, CouchDB's admin password) and is refused every secret beside it: the CA
/// and CouchDB keys, the duplicity passphrase, the backups, the recovery manifest, old trail
/// logs; it writes and deletes nothing.
#[test]
fn the_web_tier_reads_its_own_files_and_is_refused_the_secrets() {
    let s = cert_stack("web-tier");
    let boot = s.machine.boot(&s.script, &[]);
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    for (key, body) in [
        ("CouchDB/admin-password.txt", &b"couch-admin"[..]),
        ("Backup/passphrase.txt", b"duplicity-passphrase"),
        (
            "Backup/duplicity-full.20261201T020000Z.vol1.difftar.gpg",
            b"chain",
        ),
        ("recovery/manifest.json", b"{}"),
        ("AWSLogs/123456789012/CloudTrail/old.json.gz", b"trail"),
    ] {
        s.world.put(&s.bucket, key, body);
    }
    let template = template(&Options::default());
    let certificate_key = s.world.get(&s.bucket, "CA/keys/beanstalk.key");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let env = test_harness::iam::stack_env(&s.bucket);
        let role =
            test_harness::iam::component(&s.world.moto, &template, "BeanstalkInstanceRole", &env)
                .await;
        let s3 = aws_clients::s3_client(&role);
        let get = |key: &'static str| {
            let s3 = s3.clone();
            let bucket = s.bucket.clone();
            async move { s3.get_object().bucket(bucket).key(key).send().await }
        };
        for readable in [
            "CA/certs/beanstalk.crt",
            "CA/web/beanstalk.key",
            "CA/certs/ca.crt",
            "CouchDB/admin-password.txt",
        ] {
            let got = get(readable).await;
            assert!(
                got.is_ok(),
                "{readable}: {:?}",
                got.err().map(|e| aws_clients::ApiError::from_sdk(&e))
            );
        }
        let key = get("CA/web/beanstalk.key")
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(
            key.as_ref(),
            certificate_key.as_slice(),
            "the web tier's key is the certificate's"
        );
        for secret in [
            "CA/keys/ca.key",
            "CA/keys/couch.key",
            "CA/keys/beanstalk.key",
            "Backup/passphrase.txt",
            "Backup/duplicity-full.20261201T020000Z.vol1.difftar.gpg",
            "recovery/manifest.json",
            "AWSLogs/123456789012/CloudTrail/old.json.gz",
        ] {
            let refused = get(secret).await.expect_err(secret);
            assert!(
                aws_clients::ApiError::from_sdk(&refused).is("AccessDenied"),
                "{secret}: {refused:?}"
            );
        }
        let put = s3
            .put_object()
            .bucket(&s.bucket)
            .key("CA/certs/ca.crt")
            .body(b"forged".to_vec().into())
            .send()
            .await;
        assert!(put.is_err(), "the web tier replaced the CA certificate");
        let delete = s3
            .delete_object()
            .bucket(&s.bucket)
            .key("Backup/passphrase.txt")
            .send()
            .await;
        assert!(delete.is_err(), "the web tier deleted the passphrase");
        // Listing is refused too, but moto ignores s3:prefix conditions: iam_conditions.rs
        // (the_web_tier_reads_its_own_files_through_s3_only) judges that part.
    });
    assert_eq!(
        s.world.get(&s.bucket, "Backup/passphrase.txt"),
        b"duplicity-passphrase"
    );
}

// The application bundle's prebuild hook (stack-gen/bundle/openemr-site.sh), as Elastic
// Beanstalk runs it on an application server: the environment's properties from the generated
// template, its secrets read from Secrets Manager with the web tier's role (as Elastic
// Beanstalk reads them with the instance profile), the stack CA's files from the certificate
// writer's run, EFS as the machine's /mnt/efs (the mount itself is a recording stub).

const DB_HOST: &str = "openemr-db.abcdefghijkl.us-east-1.rds.amazonaws.com";
const MASTER_PASSWORD: &str = "Vr3ryLongMasterPassw0rd";
const HOOK: &str = stack_gen::bundle::SITE_HOOK_PATHS[0];

/// OpenEMR's sqlconf.php as its Installer writes it (library/classes/Installer.class.php,
/// write_configuration_file), for a database at `host`.
fn sqlconf(host: &str) -> String {
    format!(
        "<?php\n//  OpenEMR\n//  MySQL Config\n\nglobal $disable_utf8_flag;\n$disable_utf8_flag = false;\n\n$host\t= '{host}';\n$port\t= '3306';\n$login\t= 'openemr';\n$pass\t= 'site-password';\n$dbase\t= 'openemr';\n$db_encoding\t= 'utf8mb4';\n\n$sqlconf = array();\nglobal $sqlconf;\n$sqlconf[\"host\"]= $host;\n$sqlconf[\"port\"] = $port;\n\n//////////////////////////\n//////DO NOT TOUCH THIS///\n$config = 1; /////////////\n//////////////////////////\n"
    )
}

struct WebServer {
    cert: CertStack,
    /// The IAM user holding the web tier's role.
    user: String,
    machine: Machine,
    env: Vec<(String, String)>,
}

impl WebServer {
    fn deploy(&self, change: impl Fn(&mut Vec<(String, String)>)) -> Boot {
        let mut env = self.env.clone();
        change(&mut env);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let files: Vec<(&str, &[u8], bool)> = stack_gen::bundle::files()
            .iter()
            .map(|f| (f.path, f.content, f.executable))
            .collect();
        self.machine.deploy(&files, HOOK, &env)
    }

    fn efs(&self) -> std::path::PathBuf {
        self.machine.efs()
    }
}

/// An application server of a stack made with `options`, after its certificate writer ran.
fn web_server(bucket: &str, options: &Options) -> WebServer {
    let cert = cert_stack(bucket);
    let boot = cert.machine.boot(&cert.script, &[]);
    assert_eq!(boot.signals(), ["0"], "{}", boot.report());
    let world = &cert.world;
    let t = template(options);
    let mut n = names(world, bucket, "");
    let secret = |name: &str, value: &str| -> String {
        world.aws_json(&[
            "secretsmanager",
            "create-secret",
            "--name",
            name,
            "--secret-string",
            value,
        ])["ARN"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    n.extend([
        ("RDSInstance.Endpoint.Address", DB_HOST.to_owned()),
        ("RDSInstance.Endpoint.Port", "3306".to_owned()),
        (
            "RedisReplicationGroup.PrimaryEndPoint.Address",
            "master.openemr-sessions.abc123.use1.cache.amazonaws.com".to_owned(),
        ),
    ]);
    if !options.recovery {
        n.push((
            "DatabaseSecret",
            secret(
                &format!("{bucket}-db"),
                &json!({ "username": "openemr", "password": MASTER_PASSWORD }).to_string(),
            ),
        ));
        n.push((
            "OpenEMRAdminSecret",
            secret(&format!("{bucket}-admin"), "Adm1nGeneratedPassw0rd"),
        ));
    }
    // The role as generated, as moto enforces it.
    let mut env = test_harness::iam::stack_env(bucket);
    env.extend(n.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let statements = test_harness::iam::as_moto_enforces(&test_harness::iam::role_statements(
        &t,
        "BeanstalkInstanceRole",
        &env,
    ));
    let user = format!("{bucket}-web");
    let keys = world.moto.user(&user, &statements);
    let keys = (keys.access_key_id, keys.secret_access_key);
    let machine = Machine::new(Os::AmazonLinux2023, world, keys.clone());
    // The region's RDS CA bundle, where the machine's curl finds it.
    let truststore = machine.mnt().join("truststore");
    fs::create_dir_all(&truststore).unwrap();
    fs::write(
        truststore.join("bundle.pem"),
        "-----BEGIN CERTIFICATE-----\nrds-ca\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let r = resolver(&t, &n);
    let (_, environment) = common_environment(&t);
    let mut variables = Vec::new();
    for setting in environment["Properties"]["OptionSettings"]
        .as_array()
        .unwrap()
    {
        let name = setting["OptionName"].as_str().unwrap().to_owned();
        match setting["Namespace"].as_str().unwrap() {
            "aws:elasticbeanstalk:application:environment" => {
                let value = if name == stack_gen::bundle::hook::RDS_CA_URL {
                    // The template's URL is AWS's truststore; the sandbox has no internet.
                    assert!(
                        r.string(&setting["Value"])
                            .starts_with("https://truststore.pki.rds.amazonaws.com/")
                    );
                    "file:///mnt/truststore/bundle.pem".to_owned()
                } else {
                    r.string(&setting["Value"])
                };
                variables.push((name, value));
            }
            "aws:elasticbeanstalk:application:environmentsecrets" => {
                // ARN[:json-key], read with the role's keys.
                let reference = r.string(&setting["Value"]);
                let (arn, key) = match reference.rsplit_once(':') {
                    Some((arn, key)) if !key.contains('-') => {
                        (arn.to_owned(), Some(key.to_owned()))
                    }
                    _ => (reference.clone(), None),
                };
                let out = world.aws_as(
                    &keys,
                    &[
                        "secretsmanager",
                        "get-secret-value",
                        "--secret-id",
                        &arn,
                        "--query",
                        "SecretString",
                        "--output",
                        "text",
                    ],
                );
                assert!(
                    out.status.success(),
                    "the web tier cannot read {arn}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
                let value = match key {
                    Some(key) => serde_json::from_str::<Value>(&text).unwrap()[&key]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    None => text,
                };
                variables.push((name, value));
            }
            _ => {}
        }
    }
    WebServer {
        cert,
        user,
        machine,
        env: variables,
    }
}

fn common_environment(t: &Value) -> (String, Value) {
    let (id, resource) = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::ElasticBeanstalk::Environment")
        .unwrap();
    (id.clone(), resource.clone())
}

fn assert_no_secret(boot: &Boot) {
    for secret in [MASTER_PASSWORD, "Adm1nGeneratedPassw0rd", "site-password"] {
        assert!(
            !boot.stdout.contains(secret) && !boot.stderr.contains(secret),
            "a password in the hook's output: {}",
            boot.report()
        );
    }
}

#[test]
fn bundle_hook_prepares_a_first_install_with_the_stacks_certificates() {
    let web = web_server("hook-fresh", &Options::default());
    assert!(
        web.env
            .iter()
            .any(|(k, v)| k == "MYSQL_ROOT_PASS" && v == MASTER_PASSWORD)
    );
    let boot = web.deploy(|_| {});
    assert!(boot.status.success(), "{}", boot.report());
    assert_no_secret(&boot);
    assert_eq!(boot.called("dnf"), ["dnf install -y -q amazon-efs-utils"]);
    assert_eq!(
        boot.called("mount"),
        [format!("mount -t efs -o tls {EFS_ID}:/ /mnt/efs")]
    );
    let state = |rel: &str| fs::read(boot.dir().path().join("var/lib/openemr").join(rel)).unwrap();
    assert_eq!(
        state("tls/webserver.cert.pem"),
        web.cert
            .world
            .get(&web.cert.bucket, "CA/certs/beanstalk.crt")
    );
    assert_eq!(
        state("tls/webserver.key.pem"),
        web.cert.world.get(&web.cert.bucket, "CA/web/beanstalk.key")
    );
    let key_mode = fs::metadata(
        boot.dir()
            .path()
            .join("var/lib/openemr/tls/webserver.key.pem"),
    )
    .unwrap()
    .permissions()
    .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600);
    assert!(
        String::from_utf8(state("ca/mysql-ca"))
            .unwrap()
            .contains("rds-ca")
    );
    assert_eq!(
        state("ca/redis-ca"),
        stack_gen::bundle::files()
            .iter()
            .find(|f| f.path == "amazon-root-cas.pem")
            .unwrap()
            .content
    );
    // Every file the compose file binds exists (the EFS mount aside).
    for source in stack_gen::bundle::COMPOSE_FILE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("source: /var/lib/openemr/"))
    {
        assert!(
            boot.dir()
                .path()
                .join("var/lib/openemr")
                .join(source)
                .exists(),
            "{source}"
        );
    }
    // The image makes the site; the hook leaves an empty EFS as it found it.
    assert!(!web.efs().join("default").exists());
}

#[test]
fn bundle_hook_points_a_restored_site_at_this_stacks_database_once() {
    let web = web_server("hook-restored", &recovery());
    assert!(
        !web.env.iter().any(|(k, _)| k.ends_with("_PASS")),
        "no install secrets in recovery"
    );
    let site = web.efs().join("default");
    fs::create_dir_all(site.join("documents/certificates")).unwrap();
    fs::write(site.join("sqlconf.php"), sqlconf("mysql.openemr.local")).unwrap();
    fs::write(site.join("documents/certificates/mysql-ca"), "old bundle").unwrap();
    let first = web.deploy(|_| {});
    assert!(first.status.success(), "{}", first.report());
    assert_no_secret(&first);
    assert_eq!(
        fs::read_to_string(site.join("sqlconf.php")).unwrap(),
        sqlconf(DB_HOST)
    );
    assert!(
        first
            .stdout
            .contains(&format!("now names the database at {DB_HOST}:3306"))
    );
    assert!(
        fs::read_to_string(site.join("documents/certificates/mysql-ca"))
            .unwrap()
            .contains("rds-ca")
    );
    let before = tree(&web.efs(), &[]);
    let second = web.deploy(|_| {});
    assert!(second.status.success(), "{}", second.report());
    assert_eq!(
        tree(&web.efs(), &[]),
        before,
        "a second run changed the site"
    );
    assert!(!second.stdout.contains("now names"));
}

#[test]
fn bundle_hook_moves_the_original_generators_site_under_default() {
    let web = web_server("hook-original", &recovery());
    // The original's bundle mounted EFS at sites/default.
    fs::create_dir_all(web.efs().join("documents/1")).unwrap();
    fs::write(web.efs().join("documents/1/scan.pdf"), b"%PDF").unwrap();
    fs::write(
        web.efs().join("sqlconf.php"),
        sqlconf("mysql.openemr.local"),
    )
    .unwrap();
    let boot = web.deploy(|_| {});
    assert!(boot.status.success(), "{}", boot.report());
    assert_eq!(
        fs::read(web.efs().join("default/documents/1/scan.pdf")).unwrap(),
        b"%PDF"
    );
    assert_eq!(
        fs::read_to_string(web.efs().join("default/sqlconf.php")).unwrap(),
        sqlconf(DB_HOST)
    );
    assert!(!web.efs().join("sqlconf.php").exists() && !web.efs().join("documents").exists());
}

#[test]
fn bundle_hook_fails_loudly_and_leaks_nothing() {
    // A recovery whose file system has no configured site: OpenEMR must not offer its setup.
    let web = web_server("hook-failures", &recovery());
    let boot = web.deploy(|_| {});
    assert!(!boot.status.success());
    assert!(
        boot.stderr.contains("no configured site"),
        "{}",
        boot.report()
    );
    assert!(!web.efs().join("default").exists());

    // A first install whose master password the image's installer would split.
    let web = web_server("hook-password", &Options::default());
    let boot = web.deploy(|env| {
        for (k, v) in env.iter_mut() {
            if k == "MYSQL_ROOT_PASS" {
                *v = "pass=word$1".to_owned();
            }
        }
    });
    assert!(!boot.status.success());
    assert!(boot.stderr.contains("RDSPassword"), "{}", boot.report());
    assert!(!boot.stdout.contains("pass=word$1") && !boot.stderr.contains("pass=word$1"));

    // A failed read of the server's key: the deployment stops naming it.
    web.cert.world.deny(
        &web.user,
        &["s3:GetObject"],
        &[format!(
            "arn:aws:s3:::{}/CA/web/beanstalk.key",
            web.cert.bucket
        )],
    );
    let boot = web.deploy(|_| {});
    assert!(!boot.status.success());
    assert!(
        boot.stderr.contains("CA/web/beanstalk.key"),
        "{}",
        boot.report()
    );
    assert_no_secret(&boot);
}
