//! `stack-ops package` against the emulator, with the real cargo-lambda zips (built once per
//! test binary): keys are content hashes, a second run uploads nothing, the template references
//! exactly the uploaded keys, a missing bucket or zip fails before anything is written.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use stack_gen::Options;
use stack_gen::options::FUNCTIONS;
use stack_ops::package::{self, Packaged, content_key, normalise_zip, sha256_hex, zip_path};
use test_harness::Moto;
use zip::write::{ExtendedFileOptions, FileOptions};
use zip::{DateTime, ZipArchive, ZipWriter};

/// The arm64 zips of every function (profile `lambda`), built once for all tests of this binary (a no-op
/// rebuild when CI or tests/bench built them already).
fn lambda_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = package::default_lambda_dir();
        package::build(&dir).expect("cargo lambda build of every function");
        dir
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn s3(moto: &Moto) -> aws_sdk_s3::Client {
    aws_clients::s3_client(&moto.sdk_config().await)
}

async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
}

/// Every key in `bucket` with its LastModified.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    listed
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap().to_owned(),
                format!("{:?}", o.last_modified()),
            )
        })
        .collect()
}

async fn run_package(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    dir: &Path,
) -> anyhow::Result<(Packaged, String)> {
    let mut log = Vec::new();
    let packaged = package::package(&Options::default(), bucket, dir, s3, &mut log).await?;
    Ok((packaged, String::from_utf8(log).unwrap()))
}

/// `FunctionCode` keys and the `LambdaCodeBucket` default of a rendered template.
fn code_location(template: &str) -> (BTreeMap<String, String>, Option<String>) {
    let t: Value = serde_json::from_str(template).expect("template is JSON");
    let keys = t["Mappings"]["FunctionCode"]
        .as_object()
        .expect("FunctionCode mapping")
        .iter()
        .map(|(name, v)| (name.clone(), v["S3Key"].as_str().unwrap().to_owned()))
        .collect();
    let bucket = t["Parameters"]["LambdaCodeBucket"]["Default"]
        .as_str()
        .map(str::to_owned);
    (keys, bucket)
}

#[test]
fn keys_are_content_hashes_and_the_template_points_at_exactly_the_uploaded_keys() {
    let dir = lambda_dir();
    let moto = Moto::start();
    runtime().block_on(async {
        let s3 = s3(&moto).await;
        create_bucket(&s3, "code-hashes").await;
        let (packaged, log) = run_package(&s3, "code-hashes", dir).await.unwrap();

        assert_eq!(packaged.functions.len(), FUNCTIONS.len());
        for f in &packaged.functions {
            let local = normalise_zip(&std::fs::read(zip_path(dir, &f.package)).unwrap()).unwrap();
            assert_eq!(
                f.key,
                content_key(&f.package, &sha256_hex(&local)),
                "{}",
                f.name
            );
            assert!(f.key.starts_with(&format!("lambda/{}/", f.package)));
            assert!(f.uploaded, "{} not uploaded on the first run", f.name);
            // What is in the bucket hashes to its key: the key is the content's address.
            let stored = s3
                .get_object()
                .bucket("code-hashes")
                .key(&f.key)
                .send()
                .await
                .unwrap();
            let bytes = stored.body.collect().await.unwrap().into_bytes();
            assert_eq!(bytes.len() as u64, f.size);
            assert_eq!(
                format!("lambda/{}/{}.zip", f.package, sha256_hex(&bytes)),
                f.key
            );
            assert!(log.contains(&format!("{}  uploaded", f.key)), "{log}");
        }
        let uploaded: Vec<String> = objects(&s3, "code-hashes").await.into_keys().collect();
        let (keys, bucket) = code_location(&packaged.template);
        assert_eq!(bucket.as_deref(), Some("code-hashes"));
        assert_eq!(keys, packaged.keys());
        let mut referenced: Vec<String> = keys.into_values().collect();
        // The drill template and the application bundle, uploaded beside the zips.
        referenced.push(packaged.drill_template.key.clone());
        referenced.push(packaged.bundle.key.clone());
        let template: Value = serde_json::from_str(&packaged.template).unwrap();
        assert_eq!(
            template["Parameters"]["BeanstalkBundleKey"]["Default"],
            packaged.bundle.key.as_str(),
            "the template's bundle is the one uploaded"
        );
        assert!(packaged.bundle.key.starts_with("beanstalk/") && packaged.bundle.uploaded);
        referenced.sort();
        assert_eq!(
            referenced, uploaded,
            "the template references exactly the uploaded keys"
        );
        assert!(
            log.contains(&format!("{} uploaded, 0 already present", FUNCTIONS.len())),
            "{log}"
        );
    });
}

#[test]
fn a_second_run_uploads_nothing_and_a_deleted_zip_is_uploaded_again() {
    let dir = lambda_dir();
    let moto = Moto::start();
    runtime().block_on(async {
        let s3 = s3(&moto).await;
        create_bucket(&s3, "code-rerun").await;
        let (first, _) = run_package(&s3, "code-rerun", dir).await.unwrap();
        let before = objects(&s3, "code-rerun").await;

        let (second, log) = run_package(&s3, "code-rerun", dir).await.unwrap();
        assert!(second.functions.iter().all(|f| !f.uploaded), "{log}");
        assert!(
            first.drill_template.uploaded && !second.drill_template.uploaded,
            "{log}"
        );
        assert_eq!(second.drill_template.key, first.drill_template.key);
        assert!(first.bundle.uploaded && !second.bundle.uploaded, "{log}");
        assert_eq!(second.bundle.key, first.bundle.key);
        assert_eq!(second.keys(), first.keys());
        assert_eq!(second.template, first.template);
        assert_eq!(
            objects(&s3, "code-rerun").await,
            before,
            "nothing rewritten"
        );
        assert!(
            log.contains(&format!("0 uploaded, {} already present", FUNCTIONS.len())),
            "{log}"
        );
        // Every zip, the summary line, the bundle and the drill template.
        assert_eq!(
            log.matches("already present").count(),
            FUNCTIONS.len() + 3,
            "{log}"
        );

        let gone = &first.functions[0];
        s3.delete_object()
            .bucket("code-rerun")
            .key(&gone.key)
            .send()
            .await
            .unwrap();
        let (third, _) = run_package(&s3, "code-rerun", dir).await.unwrap();
        let uploaded: Vec<&str> = third
            .functions
            .iter()
            .filter(|f| f.uploaded)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(uploaded, vec![gone.name.as_str()]);
    });
}

/// The zip a rebuild of the same code at another time would give: the same entries, modified
/// at `modified` with an extended-timestamp (`UT`) extra field saying so, compressed at another
/// level (another cargo-lambda may compress differently).
fn rebuilt_at(zip: &[u8], modified: DateTime, unix_time: u32) -> Vec<u8> {
    let mut source = ZipArchive::new(Cursor::new(zip)).expect("cargo-lambda's zip");
    let mut rebuilt = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..source.len() {
        let mut entry = source.by_index(index).unwrap();
        let mut options: FileOptions<'_, ExtendedFileOptions> = FileOptions::default()
            .compression_method(entry.compression())
            .compression_level(Some(1))
            .last_modified_time(modified)
            .unix_permissions(entry.unix_mode().unwrap_or(0o755));
        let mut ut = vec![1u8];
        ut.extend_from_slice(&unix_time.to_le_bytes());
        options.add_extra_data(0x5455, ut, false).unwrap();
        rebuilt.start_file(entry.name(), options).unwrap();
        std::io::copy(&mut entry, &mut rebuilt).unwrap();
    }
    rebuilt.finish().unwrap().into_inner()
}

#[test]
fn a_rebuild_of_unchanged_code_at_another_time_keeps_every_key() {
    let dir = lambda_dir();
    let rebuilt = tempfile::tempdir().unwrap();
    for (_, package) in FUNCTIONS {
        let original = std::fs::read(zip_path(dir, package)).unwrap();
        let when = DateTime::from_date_and_time(2033, 9, 1, 15, 30, 38).unwrap();
        let zip = rebuilt_at(&original, when, 2_008_683_038);
        assert_ne!(zip, original);
        // Byte-identical once normalised: timestamps and extra fields included.
        assert_eq!(
            normalise_zip(&zip).unwrap(),
            normalise_zip(&original).unwrap(),
            "{package}"
        );
        std::fs::create_dir_all(rebuilt.path().join(package)).unwrap();
        std::fs::write(zip_path(rebuilt.path(), package), zip).unwrap();
    }
    let moto = Moto::start();
    runtime().block_on(async {
        let s3 = s3(&moto).await;
        create_bucket(&s3, "code-rebuilt").await;
        let (first, _) = run_package(&s3, "code-rebuilt", dir).await.unwrap();
        let (second, log) = run_package(&s3, "code-rebuilt", rebuilt.path())
            .await
            .unwrap();
        assert_eq!(second.keys(), first.keys());
        assert!(second.functions.iter().all(|f| !f.uploaded), "{log}");
    });
}

#[test]
fn a_missing_bucket_fails_naming_it_and_uploads_nothing() {
    let dir = lambda_dir();
    let moto = Moto::start();
    runtime().block_on(async {
        let s3 = s3(&moto).await;
        let error = run_package(&s3, "no-such-code-bucket", dir)
            .await
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("bucket no-such-code-bucket does not exist"),
            "{message}"
        );
        let buckets = s3.list_buckets().send().await.unwrap();
        assert!(buckets.buckets().is_empty());
    });
}

#[test]
fn a_missing_zip_fails_naming_it_before_any_upload() {
    let empty = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    runtime().block_on(async {
        let s3 = s3(&moto).await;
        create_bucket(&s3, "code-no-zips").await;
        let error = run_package(&s3, "code-no-zips", empty.path())
            .await
            .unwrap_err();
        let message = format!("{error:#}");
        let expected = zip_path(empty.path(), FUNCTIONS[0].1);
        assert!(
            message.contains(&expected.display().to_string()),
            "{message}"
        );
        assert!(message.contains("build it first"), "{message}");
        assert!(objects(&s3, "code-no-zips").await.is_empty());
    });
}

/// `stack-ops [flags] package --bucket B --skip-build --lambda-dir D [more]` against `moto`.
fn stack_ops(moto: &Moto, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stack-ops"));
    command.args(args).env_remove("AWS_PROFILE");
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    command.output().expect("run stack-ops")
}

#[test]
fn the_cli_writes_the_packaged_template_and_says_what_it_uploaded() {
    let dir = lambda_dir().to_str().unwrap();
    let moto = Moto::start();
    runtime().block_on(async { create_bucket(&s3(&moto).await, "code-cli").await });
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("OpenEMR.json");
    let output_arg = output.to_str().unwrap();
    let args = [
        "--dual-az",
        "package",
        "--bucket",
        "code-cli",
        "--skip-build",
        "--lambda-dir",
        dir,
        "--output",
        output_arg,
    ];

    let first = stack_ops(&moto, &args);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        first.stdout.is_empty(),
        "the template goes to --output only"
    );
    // Every zip, the bundle and the drill template.
    assert_eq!(
        stderr.matches(" uploaded\n").count(),
        FUNCTIONS.len() + 2,
        "{stderr}"
    );
    let template = std::fs::read_to_string(&output).unwrap();
    let (keys, bucket) = code_location(&template);
    assert_eq!(bucket.as_deref(), Some("code-cli"));
    for (name, package) in FUNCTIONS {
        assert!(
            keys[name].starts_with(&format!("lambda/{package}/")),
            "{keys:?}"
        );
        assert!(stderr.contains(&keys[name]), "{stderr}");
    }
    // The stack flags apply to the packaged template as to the plain one.
    let plain = stack_gen::generate(&Options {
        dual_az: true,
        ..Options::default()
    })
    .unwrap()
    .render();
    assert_ne!(template, plain);
    assert_eq!(
        template.matches("RCouchDBVolume").count() > 0,
        plain.matches("RCouchDBVolume").count() > 0
    );

    let second = stack_ops(&moto, &args);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    // Every zip, the bundle and the drill template.
    assert_eq!(
        stderr.matches(" already present\n").count(),
        FUNCTIONS.len() + 2,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("0 uploaded, {} already present", FUNCTIONS.len())),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), template);
}

#[test]
fn the_cli_with_a_missing_bucket_exits_non_zero_and_writes_no_file() {
    let dir = lambda_dir().to_str().unwrap();
    let moto = Moto::start();
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("OpenEMR.json");
    let run = stack_ops(
        &moto,
        &[
            "package",
            "--bucket",
            "no-such-code-bucket",
            "--skip-build",
            "--lambda-dir",
            dir,
            "-o",
            output.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("stack-ops: error: bucket no-such-code-bucket does not exist"),
        "{stderr}"
    );
    assert!(!output.exists(), "no template written");
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}

#[test]
fn the_normalised_zips_hold_what_lambda_runs() {
    let dir = lambda_dir();
    for (_, package) in FUNCTIONS {
        let zip = normalise_zip(&std::fs::read(zip_path(dir, package)).unwrap()).unwrap();
        let mut archive = ZipArchive::new(Cursor::new(&zip)).unwrap();
        let mut bootstrap = archive.by_name("bootstrap").expect(package);
        // provided.al2023 executes `bootstrap`: a regular file, mode 0o755 in the external
        // attributes (the unix mode is their upper 16 bits).
        assert_eq!(bootstrap.unix_mode(), Some(0o100755), "{package}");
        assert_eq!(bootstrap.last_modified(), Some(DateTime::default()));
        assert!(bootstrap.extra_data().is_none_or(|e| e.is_empty()));
        let mut elf = [0u8; 20];
        std::io::Read::read_exact(&mut bootstrap, &mut elf).unwrap();
        assert_eq!(&elf[..4], b"\x7fELF", "{package}");
        assert_eq!(
            u16::from_le_bytes([elf[18], elf[19]]),
            0xb7,
            "{package}: aarch64"
        );
    }
}

/// The custom resources among the shipped functions (their `main` runs
/// `custom_resource::run`), each with a Create request it accepts (`events/`), so that the
/// request reaches the handler.
const CUSTOM_RESOURCES: [(&str, &str); 3] = [
    (
        "recovery-params",
        "events/recovery-params/record-create.json",
    ),
    ("log-group-keeper", "events/log-group-keeper/create.json"),
    ("platform-resolver", "events/platform-resolver/create.json"),
];

/// The shipped zips of the custom resources, run once each against a fake Runtime API
/// (qemu-user on x86_64) with [`custom_resource::PANIC_PROBE_VAR`] set so that their handler
/// panics: the process survives and answers CloudFormation exactly once, FAILED. With
/// `panic = "abort"` it would die silently and the stack would hang for an hour. The very
/// bootstrap `stack-ops package` uploads, so no second build with another profile or features.
#[test]
fn a_panicking_shipped_custom_resource_still_answers_failed() {
    let dir = lambda_dir();
    if std::env::consts::ARCH != "aarch64" {
        let qemu = std::process::Command::new("qemu-aarch64")
            .arg("--version")
            .output();
        assert!(
            qemu.is_ok_and(|o| o.status.success()),
            "qemu-aarch64 is missing: run tests/setup (it installs qemu-user and libc6-arm64-cross)"
        );
    }
    assert!(
        CUSTOM_RESOURCES
            .iter()
            .all(|(p, _)| FUNCTIONS.iter().any(|(_, f)| f == p)),
        "every probed package is shipped"
    );
    let script =
        package::workspace_root().join("functions/custom-resource/scripts/run_bootstrap.py");
    let unpacked = tempfile::tempdir().unwrap();
    for (package, event) in CUSTOM_RESOURCES {
        // The bootstrap as Lambda unpacks it from the zip that is uploaded.
        let zip = normalise_zip(&std::fs::read(zip_path(dir, package)).unwrap()).unwrap();
        let mut archive = ZipArchive::new(Cursor::new(&zip)).unwrap();
        let mut bootstrap = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("bootstrap").unwrap(), &mut bootstrap)
            .unwrap();
        let path = unpacked.path().join(package);
        std::fs::write(&path, bootstrap).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let run = std::process::Command::new("python3")
            .arg(&script)
            .arg(&path)
            .arg(package::workspace_root().join(event))
            .arg("--expect-panic")
            .env(custom_resource::PANIC_PROBE_VAR, "1")
            .output()
            .expect("run python3 run_bootstrap.py");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success() && stdout.contains("PANIC CHECK: PASS"),
            "{package}: {stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
