//! `stack-ops package`: builds the Lambda zips, uploads them under content-addressed keys and
//! returns the template that points at exactly those keys.
//!
//! 1. Build: `cargo lambda build --profile lambda --arm64 --output-format zip` for every package in
//!    [`FUNCTIONS`] (skipped with `--skip-build`), into `<lambda dir>/<package>/bootstrap.zip`.
//! 2. Normalise each zip (see [`normalise_zip`]): cargo-lambda stores the binary's modification
//!    time in the zip, so a rebuild of unchanged code (a fresh clone, a `touch`) would give other
//!    bytes, another key, and a needless function update. With the timestamps fixed, the zip's
//!    bytes depend only on the binary, and the bytes uploaded are the bytes hashed.
//! 3. Key = `lambda/<package>/<sha256 of the normalised zip>.zip`: a code change changes the key,
//!    so CloudFormation updates the function; unchanged code keeps its key.
//! 4. Upload only the keys the bucket does not have yet (HeadObject first).
//! 5. Write the application bundle ([`bundle_zip`]: compose file, hooks, CA file; the same bytes
//!    on every machine) and upload it the same way, under `beanstalk/<sha256>.zip`.
//! 6. Generate the restore drill's template (the same flags in drill mode, the same code) and
//!    upload it the same way, under `templates/recovery-drill/<sha256 of its text>.json`.
//! 7. Generate the template with `LambdaCodeBucket` defaulting to the bucket, the
//!    `FunctionCode` mapping naming the keys, `BeanstalkBundleKey` the bundle's and the
//!    `DrillTemplate` mapping the drill's. The caller writes it (atomically with `--output`);
//!    nothing is written when any step fails.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use stack_gen::options::{CodeLocation, FUNCTIONS, Options};

/// `stack-ops package` arguments (the stack flags and `--output` are the top-level ones).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PackageArgs {
    /// S3 bucket to upload the Lambda zips to; it must exist, in the stack's region. Becomes the
    /// default of the template's LambdaCodeBucket parameter.
    #[arg(long, value_name = "BUCKET")]
    pub bucket: String,
    /// Do not build: package the zips already in --lambda-dir (built once by CI or tests/bench).
    #[arg(long)]
    pub skip_build: bool,
    /// Where the zips are (or are built to): <DIR>/<package>/bootstrap.zip.
    /// Default: <cargo target dir>/lambda.
    #[arg(long, value_name = "DIR")]
    pub lambda_dir: Option<PathBuf>,
}

/// What happened to one function's zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedFunction {
    /// Key in the template's `FunctionCode` mapping (e.g. `BackupChecker`).
    pub name: String,
    /// Cargo package (e.g. `backup-checker`).
    pub package: String,
    /// Size of the uploaded zip in bytes.
    pub size: u64,
    /// Hex SHA-256 of the uploaded zip.
    pub sha256: String,
    /// S3 key the zip is stored under.
    pub key: String,
    pub uploaded: bool,
}

impl fmt::Display for PackagedFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report_line(f, &self.name, self.size, &self.key, self.uploaded)
    }
}

/// One line of `stack-ops package`'s report: what, its size, its key, whether it went up now.
fn report_line(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    size: u64,
    key: &str,
    uploaded: bool,
) -> fmt::Result {
    let done = if uploaded {
        "uploaded"
    } else {
        "already present"
    };
    write!(f, "{what:<20} {:>8}  {key}  {done}", human_size(size))
}

/// The packaging result: what each function's zip became, and the template pointing at them.
#[derive(Debug)]
pub struct Packaged {
    pub bucket: String,
    pub functions: Vec<PackagedFunction>,
    /// The application bundle, uploaded beside the zips (`BeanstalkBundleKey` defaults to its
    /// key).
    pub bundle: PackagedBundle,
    /// The restore drill's template, uploaded beside the zips (the template's `DrillTemplate`
    /// mapping names its key).
    pub drill_template: PackagedTemplate,
    /// The rendered template (what `stack-ops package` writes).
    pub template: String,
}

impl Packaged {
    /// The `FunctionCode` keys, by mapping key.
    pub fn keys(&self) -> BTreeMap<String, String> {
        self.functions
            .iter()
            .map(|f| (f.name.clone(), f.key.clone()))
            .collect()
    }
}

/// The CLI entry point: builds (unless `--skip-build`), uploads with the SDK configured from the
/// environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for the emulator), prints what it
/// did on stderr and returns the template text for the caller to write.
pub fn run(options: &Options, args: &PackageArgs) -> anyhow::Result<String> {
    options.validate()?;
    let lambda_dir = args.lambda_dir.clone().unwrap_or_else(default_lambda_dir);
    if !args.skip_build {
        build(&lambda_dir)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let packaged = runtime.block_on(async {
        let config = aws_clients::sdk_config().await;
        let s3 = aws_clients::s3_client(&config);
        package(
            options,
            &args.bucket,
            &lambda_dir,
            &s3,
            &mut std::io::stderr(),
        )
        .await
    })?;
    Ok(packaged.template)
}

/// Uploads the zips in `lambda_dir` that `bucket` does not have yet and generates the template
/// for them. Progress goes to `log` (one line per function). Fails, before generating anything,
/// when a zip is missing or malformed or the bucket is missing or unreachable.
pub async fn package(
    options: &Options,
    bucket: &str,
    lambda_dir: &Path,
    s3: &aws_sdk_s3::Client,
    log: &mut dyn Write,
) -> anyhow::Result<Packaged> {
    options.validate()?;
    // Read and check every zip before touching the bucket: a missing one fails without uploads.
    let mut zips = Vec::new();
    for (name, package) in FUNCTIONS {
        let path = zip_path(lambda_dir, package);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read the {package} zip {}: build it first (stack-ops package without --skip-build, or `cargo lambda build --profile lambda --arm64 --output-format zip --lambda-dir {}`)",
                path.display(),
                lambda_dir.display()
            )
        })?;
        let bytes = normalise_zip(&bytes)
            .with_context(|| format!("{} is not a Lambda zip", path.display()))?;
        zips.push((name, package, bytes));
    }

    check_bucket(s3, bucket).await?;
    writeln!(log, "stack-ops package: s3://{bucket}")?;
    let mut functions = Vec::new();
    for (name, package, bytes) in zips {
        let sha256 = sha256_hex(&bytes);
        let key = content_key(package, &sha256);
        let size = bytes.len() as u64;
        let uploaded = upload_if_absent(s3, bucket, &key, bytes, "application/zip").await?;
        let function = PackagedFunction {
            name: name.to_owned(),
            package: package.to_owned(),
            size,
            sha256,
            key,
            uploaded,
        };
        writeln!(log, "  {function}")?;
        functions.push(function);
    }
    // The application bundle, beside the zips.
    let bundle = bundle_zip().context("cannot write the application bundle")?;
    let sha256 = sha256_hex(&bundle);
    let key = bundle_key(&sha256);
    let size = bundle.len() as u64;
    let uploaded = upload_if_absent(s3, bucket, &key, bundle, "application/zip").await?;
    let bundle = PackagedBundle {
        size,
        sha256,
        key,
        uploaded,
    };
    writeln!(log, "  {bundle}")?;
    let code = CodeLocation {
        bucket: Some(bucket.to_owned()),
        keys: functions
            .iter()
            .map(|f| (f.name.clone(), f.key.clone()))
            .collect(),
        drill_template: None,
        bundle: Some(bundle.key.clone()),
    };
    // The restore drill's template, from the same flags and code, beside the zips.
    let drill = drill_template(options, &code)?;
    let drill_uploaded = upload_if_absent(
        s3,
        bucket,
        &drill.key,
        drill.text.clone().into_bytes(),
        "application/json",
    )
    .await?;
    let drill = PackagedTemplate {
        uploaded: drill_uploaded,
        ..drill
    };
    writeln!(log, "  {drill}")?;
    let uploaded = functions.iter().filter(|f| f.uploaded).count();
    writeln!(
        log,
        "stack-ops package: {uploaded} uploaded, {} already present; LambdaCodeBucket defaults to {bucket}",
        functions.len() - uploaded
    )?;
    let template = main_template(options, code, &drill.key)?;
    Ok(Packaged {
        bucket: bucket.to_owned(),
        functions,
        bundle,
        drill_template: drill,
        template,
    })
}

/// The application bundle as packaged: its size, hash, S3 key and whether it was uploaded now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedBundle {
    pub size: u64,
    pub sha256: String,
    pub key: String,
    pub uploaded: bool,
}

impl fmt::Display for PackagedBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report_line(f, "application bundle", self.size, &self.key, self.uploaded)
    }
}

/// The drill template as packaged: its text, size, S3 key and whether it was uploaded now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedTemplate {
    pub text: String,
    pub size: u64,
    pub sha256: String,
    pub key: String,
    pub uploaded: bool,
}

impl fmt::Display for PackagedTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report_line(f, "drill template", self.size, &self.key, self.uploaded)
    }
}

/// The restore drill's template for a stack of `options` whose functions are at `code`
/// ([`Options::drill_options`]), and its content-addressed key ([`drill_template_key`]).
/// `uploaded` is false: the caller uploads it.
pub fn drill_template(options: &Options, code: &CodeLocation) -> anyhow::Result<PackagedTemplate> {
    let mut drill = options.drill_options();
    drill.code = code.clone();
    let text = stack_gen::generate(&drill)?.render();
    let sha256 = sha256_hex(text.as_bytes());
    Ok(PackagedTemplate {
        size: text.len() as u64,
        key: drill_template_key(&sha256),
        sha256,
        text,
        uploaded: false,
    })
}

/// The stack's template with its functions at `code` and its drill template at `drill_key`.
pub fn main_template(
    options: &Options,
    code: CodeLocation,
    drill_key: &str,
) -> anyhow::Result<String> {
    let mut options = options.clone();
    options.code = CodeLocation {
        drill_template: Some(drill_key.to_owned()),
        ..code
    };
    Ok(stack_gen::generate(&options)?.render())
}

/// `templates/recovery-drill/<sha256>.json`.
pub fn drill_template_key(sha256_hex: &str) -> String {
    format!(
        "{}{sha256_hex}.json",
        stack_gen::options::DRILL_TEMPLATE_PREFIX
    )
}

/// Uploads `bytes` to `key` unless an object of that size is there (the key is the content's
/// hash). Whether it uploaded.
async fn upload_if_absent(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> anyhow::Result<bool> {
    if existing_size(s3, bucket, key).await? == Some(bytes.len() as u64) {
        return Ok(false);
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(aws_sdk_s3::Error::from)
        .with_context(|| format!("cannot upload s3://{bucket}/{key}"))?;
    Ok(true)
}

/// `lambda/<package>/<sha256>.zip`.
pub fn content_key(package: &str, sha256_hex: &str) -> String {
    format!("lambda/{package}/{sha256_hex}.zip")
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `<lambda_dir>/<package>/bootstrap.zip`, where cargo-lambda's `--lambda-dir` puts it.
pub fn zip_path(lambda_dir: &Path, package: &str) -> PathBuf {
    lambda_dir.join(package).join("bootstrap.zip")
}

/// The workspace this stack-ops was built from (where `.venv` and the functions are):
/// two levels above this crate (`stack-gen/ops`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// The cargo target dir (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target"),
    }
}

/// `<target dir>/lambda`.
pub fn default_lambda_dir() -> PathBuf {
    target_dir().join("lambda")
}

/// The cargo profile the Lambdas are built with (root Cargo.toml): `release` optimised for
/// size (opt-level "s", fat LTO, one codegen unit, stripped), still `panic = "unwind"`.
pub const LAMBDA_PROFILE: &str = "lambda";

/// `cargo lambda build --profile lambda --arm64 --lambda-dir <lambda_dir>` in the workspace,
/// with the project's `.venv` (cargo-lambda and zig, installed by `tests/setup`) first on PATH,
/// else `cargo-lambda` from PATH. The caller adds what to build and the output format.
/// cargo-lambda's own defaults (`--config profile.release.panic="abort"`, thin LTO ...) only
/// ever touch `profile.release`, for keys it does not set; `profile.lambda` sets strip, lto,
/// codegen-units and panic itself, so what it inherits from them cannot make it abort.
pub fn cargo_lambda_build(lambda_dir: &Path) -> anyhow::Result<Command> {
    let root = workspace_root();
    let venv_bin = root.join(".venv/bin");
    let cargo_lambda = if venv_bin.join("cargo-lambda").exists() {
        venv_bin.join("cargo-lambda")
    } else {
        PathBuf::from("cargo-lambda")
    };
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    path.insert(0, venv_bin);
    let mut command = Command::new(&cargo_lambda);
    command
        .current_dir(&root)
        .env("PATH", std::env::join_paths(path).context("PATH")?)
        .args(["lambda", "build", "--profile", LAMBDA_PROFILE, "--arm64"])
        .arg("--lambda-dir")
        .arg(lambda_dir);
    Ok(command)
}

/// Builds every function of [`FUNCTIONS`] with cargo-lambda (profile `lambda`, arm64, zip)
/// into `lambda_dir` (see [`cargo_lambda_build`]). Cargo's output goes to stderr.
pub fn build(lambda_dir: &Path) -> anyhow::Result<()> {
    let mut command = cargo_lambda_build(lambda_dir)?;
    command.args(["--output-format", "zip"]);
    for (_, package) in FUNCTIONS {
        command.args(["--package", package]);
    }
    // cargo writes to stderr; keep stdout free for the template.
    {
        use std::os::fd::AsFd;
        let stderr = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .context("cannot duplicate stderr")?;
        command.stdout(Stdio::from(stderr));
    }
    let _ = writeln!(
        std::io::stderr(),
        "stack-ops package: building {} functions with cargo-lambda (profile {LAMBDA_PROFILE}, arm64, zip) into {}",
        FUNCTIONS.len(),
        lambda_dir.display()
    );
    let status = command.status().with_context(|| {
        format!(
            "cannot run {}: run tests/setup to install cargo-lambda",
            command.get_program().to_string_lossy()
        )
    })?;
    if !status.success() {
        bail!("cargo lambda build failed ({status}); see its output above");
    }
    Ok(())
}

/// Fails unless `bucket` exists and we may use it, with a message that says which.
async fn check_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<()> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => bail!(
                    "bucket {bucket} does not exist: create it in the stack's region first (aws s3 mb s3://{bucket}), or pass another --bucket"
                ),
                Some(403) => bail!(
                    "access to bucket {bucket} denied: the credentials in use may not read and write it"
                ),
                Some(301) => bail!(
                    "bucket {bucket} is in another region than {}: use a bucket in the stack's region",
                    region(s3)
                ),
                _ => Err(anyhow::Error::from(aws_sdk_s3::Error::from(error)))
                    .with_context(|| format!("cannot reach bucket {bucket}")),
            }
        }
    }
}

fn region(s3: &aws_sdk_s3::Client) -> String {
    s3.config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "the configured region".to_owned())
}

/// The size of `key` in `bucket`, or `None` when there is no such object.
async fn existing_size(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<u64>> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(None)
        }
        Err(error) => Err(anyhow::Error::from(aws_sdk_s3::Error::from(error)))
            .with_context(|| format!("cannot look up s3://{bucket}/{key}")),
    }
}

/// `3.4 MB`, `812 KB`, `17 B`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} B"),
    }
}

/// Why a zip could not be normalised.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZipError {
    /// Not a zip the `zip` crate can read (no end record, truncated, corrupt, encrypted ...).
    #[error("not a readable zip: {0}")]
    Unreadable(String),
    #[error(
        "no `bootstrap` entry: a provided.al2023 Lambda zip must hold its executable as `bootstrap`"
    )]
    NoBootstrap,
}

impl From<zip::result::ZipError> for ZipError {
    fn from(error: zip::result::ZipError) -> ZipError {
        ZipError::Unreadable(error.to_string())
    }
}

impl From<std::io::Error> for ZipError {
    fn from(error: std::io::Error) -> ZipError {
        ZipError::Unreadable(error.to_string())
    }
}

/// The entry Lambda's provided.al2023 runtime executes.
pub const BOOTSTRAP: &str = "bootstrap";

/// The mode of `bootstrap` and of every other executable entry (Lambda runs `bootstrap`, so it
/// must be executable); other entries get 0o644.
pub const EXECUTABLE_MODE: u32 = 0o755;
const REGULAR_MODE: u32 = 0o644;

/// Deflate level of the rewritten entries: the best zlib has (the zips are written once per
/// code change and downloaded at every cold start of a new version).
const DEFLATE_LEVEL: i64 = 9;

/// Makes a zip's bytes a function of its contents only: rewrites the archive entry by entry with
/// the same names, contents and compression method, but the modification time fixed at
/// 1980-01-01 00:00 (the zip epoch), the unix mode fixed (0o755 for `bootstrap` and executables,
/// else 0o644) and no extra fields (cargo-lambda's extended-timestamp fields hold the binary's
/// mtime). Deflated entries are recompressed at [`DEFLATE_LEVEL`], so the bytes do not depend on
/// how cargo-lambda compressed either. Fails unless the zip holds a `bootstrap` entry.
pub fn normalise_zip(zip: &[u8]) -> Result<Vec<u8>, ZipError> {
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(zip))?;
    if source.index_for_name(BOOTSTRAP).is_none() {
        return Err(ZipError::NoBootstrap);
    }
    let mut normalised = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(zip.len())));
    for index in 0..source.len() {
        let mut entry = source.by_index(index)?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(entry.compression())
            .compression_level(
                (entry.compression() == zip::CompressionMethod::Deflated).then_some(DEFLATE_LEVEL),
            )
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(fixed_mode(entry.name(), entry.unix_mode()))
            .large_file(entry.size() > u64::from(u32::MAX));
        if entry.is_dir() {
            normalised.add_directory(entry.name(), options)?;
        } else {
            normalised.start_file(entry.name(), options)?;
            std::io::copy(&mut entry, &mut normalised)?;
        }
    }
    Ok(normalised.finish()?.into_inner())
}

/// The application bundle's zip (`stack_gen::bundle::files`), deterministic like the Lambda
/// zips: entries in the files' order, the zip epoch as their time, 0o755 for hooks and 0o644
/// for the rest (Elastic Beanstalk runs only executable hooks), deflated at [`DEFLATE_LEVEL`].
pub fn bundle_zip() -> Result<Vec<u8>, ZipError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for file in stack_gen::bundle::files() {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if file.executable {
                EXECUTABLE_MODE
            } else {
                REGULAR_MODE
            });
        zip.start_file(file.path, options)?;
        zip.write_all(file.content)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// `beanstalk/<sha256>.zip`.
pub fn bundle_key(sha256_hex: &str) -> String {
    format!("{}{sha256_hex}.zip", stack_gen::options::BUNDLE_PREFIX)
}

/// [`EXECUTABLE_MODE`] for `bootstrap` and for entries with any execute bit, else 0o644.
fn fixed_mode(name: &str, mode: Option<u32>) -> u32 {
    if name == BOOTSTRAP || mode.is_some_and(|m| m & 0o111 != 0) {
        EXECUTABLE_MODE
    } else {
        REGULAR_MODE
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use zip::write::{ExtendedFileOptions, FileOptions};
    use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

    use super::*;

    /// A one-entry zip as cargo-lambda or `zip` would write it: modified at `modified`, with an
    /// extended-timestamp (`UT`, 0x5455) extra field holding `unix_time`, and `mode`.
    fn zip_of(
        name: &str,
        content: &[u8],
        compression: CompressionMethod,
        modified: DateTime,
        unix_time: u32,
        mode: u32,
    ) -> Vec<u8> {
        let mut options: FileOptions<'_, ExtendedFileOptions> = FileOptions::default()
            .compression_method(compression)
            .last_modified_time(modified)
            .unix_permissions(mode);
        let mut ut = vec![1u8];
        ut.extend_from_slice(&unix_time.to_le_bytes());
        options.add_extra_data(0x5455, ut, false).unwrap();
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file(name, options).unwrap();
        zip.write_all(content).unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn bootstrap_at(content: &[u8], modified: DateTime, unix_time: u32) -> Vec<u8> {
        zip_of(
            "bootstrap",
            content,
            CompressionMethod::Deflated,
            modified,
            unix_time,
            0o755,
        )
    }

    fn at(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap()
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    /// The DOS time and date of 1980-01-01 00:00, the zip epoch every entry is set to.
    const FIXED_DOS_TIME: u16 = 0;
    const FIXED_DOS_DATE: u16 = (1 << 5) | 1;

    #[test]
    fn same_content_at_other_times_normalises_to_the_same_bytes() {
        let binary = b"\x7fELF binary".repeat(100);
        let a = bootstrap_at(&binary, at(2025, 11, 24, 13, 25, 52), 1_764_000_000);
        let b = bootstrap_at(&binary, at(2025, 11, 26, 2, 17, 40), 1_764_100_000);
        assert_ne!(a, b);
        let a = normalise_zip(&a).unwrap();
        let b = normalise_zip(&b).unwrap();
        assert_eq!(a, b);
        // The first local header's time and date (offsets 10 and 12).
        assert_eq!(u16_at(&a, 10), FIXED_DOS_TIME);
        assert_eq!(u16_at(&a, 12), FIXED_DOS_DATE);
    }

    #[test]
    fn other_content_still_differs_after_normalising() {
        let when = at(2025, 1, 1, 0, 0, 2);
        let a = normalise_zip(&bootstrap_at(b"\x7fELF one", when, 7)).unwrap();
        let b = normalise_zip(&bootstrap_at(b"\x7fELF two", when, 7)).unwrap();
        assert_ne!(sha256_hex(&a), sha256_hex(&b));
    }

    #[test]
    fn normalising_keeps_content_crc_compression_and_mode_and_drops_times_and_extras() {
        for compression in [CompressionMethod::Stored, CompressionMethod::Deflated] {
            let binary = b"\x7fELF binary".repeat(100);
            let original = zip_of(
                "bootstrap",
                &binary,
                compression,
                at(2025, 11, 24, 13, 25, 52),
                1_764_000_000,
                0o755,
            );
            let normalised = normalise_zip(&original).unwrap();
            let mut before = ZipArchive::new(Cursor::new(&original)).unwrap();
            let mut after = ZipArchive::new(Cursor::new(&normalised)).unwrap();
            assert_eq!(after.len(), 1);
            let (crc, compressed) = {
                let b = before.by_index_raw(0).unwrap();
                assert!(b.extra_data().is_some_and(|e| !e.is_empty()), "UT field");
                (b.crc32(), b.compressed_size())
            };
            let mut entry = after.by_index(0).unwrap();
            assert_eq!(entry.name(), "bootstrap");
            assert_eq!(entry.compression(), compression);
            assert_eq!(entry.crc32(), crc);
            if compression == CompressionMethod::Stored {
                assert_eq!(entry.compressed_size(), compressed);
            }
            assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
            assert_eq!(entry.last_modified(), Some(DateTime::default()));
            assert!(
                entry.extra_data().is_none_or(|e| e.is_empty()),
                "no extra fields (no timestamps)"
            );
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            assert_eq!(content, binary);
            // No extra field in the local header either (its length at offset 28).
            assert_eq!(u16_at(&normalised, 28), 0);
        }
    }

    #[test]
    fn bootstrap_is_made_executable_and_other_entries_get_fixed_modes() {
        let when = at(2025, 1, 1, 0, 0, 0);
        let not_executable = zip_of("bootstrap", b"x", CompressionMethod::Stored, when, 0, 0o600);
        let normalised = normalise_zip(&not_executable).unwrap();
        let mut zip = ZipArchive::new(Cursor::new(&normalised)).unwrap();
        // Lambda's requirement: unix mode 0o755 (regular file) in the external attributes.
        assert_eq!(zip.by_index(0).unwrap().unix_mode(), Some(0o100755));
        assert_eq!(fixed_mode("config.json", Some(0o100600)), 0o644);
        assert_eq!(fixed_mode("helper", Some(0o100700)), 0o755);
        assert_eq!(fixed_mode("bootstrap", None), 0o755);
    }

    #[test]
    fn a_zip_without_bootstrap_is_refused() {
        let zip = zip_of(
            "main",
            b"x",
            CompressionMethod::Stored,
            DateTime::default(),
            0,
            0o755,
        );
        assert_eq!(normalise_zip(&zip), Err(ZipError::NoBootstrap));
    }

    #[test]
    fn not_a_zip_is_refused() {
        assert!(matches!(
            normalise_zip(b"#!/bin/sh\necho hi\n"),
            Err(ZipError::Unreadable(_))
        ));
        let mut truncated = bootstrap_at(b"x", DateTime::default(), 0);
        truncated.truncate(truncated.len() - 5);
        assert!(matches!(
            normalise_zip(&truncated),
            Err(ZipError::Unreadable(_))
        ));
    }

    #[test]
    fn the_bundle_is_the_same_bytes_every_time_with_executable_hooks_only() {
        let bundle = bundle_zip().unwrap();
        assert_eq!(bundle, bundle_zip().unwrap());
        let mut archive = ZipArchive::new(Cursor::new(&bundle)).unwrap();
        let mut seen = Vec::new();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            let file = stack_gen::bundle::files()
                .into_iter()
                .find(|f| f.path == entry.name())
                .unwrap_or_else(|| panic!("{} is not a bundle file", entry.name()));
            assert_eq!(content, file.content, "{}", file.path);
            let mode = entry.unix_mode().unwrap() & 0o777;
            assert_eq!(
                mode,
                if file.executable { 0o755 } else { 0o644 },
                "{}",
                file.path
            );
            assert_eq!(entry.last_modified(), Some(DateTime::default()));
            seen.push(entry.name().to_owned());
        }
        assert!(seen.contains(&"docker-compose.yml".to_owned()));
        assert!(
            !seen.iter().any(|name| name == ".env"),
            "Elastic Beanstalk writes .env only when the bundle has none"
        );
        assert!(bundle_key(&sha256_hex(&bundle)).starts_with("beanstalk/"));
    }

    #[test]
    fn keys_are_per_package_content_hashes() {
        assert_eq!(
            content_key("backup-checker", &sha256_hex(b"abc")),
            "lambda/backup-checker/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.zip"
        );
    }

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(human_size(3_412_345), "3.4 MB");
        assert_eq!(human_size(812_000), "812 KB");
        assert_eq!(human_size(17), "17 B");
    }

    fn packaged_code() -> CodeLocation {
        CodeLocation {
            bucket: Some("code".to_owned()),
            keys: FUNCTIONS
                .iter()
                .map(|(name, package)| (name.to_string(), content_key(package, &"ab".repeat(32))))
                .collect(),
            drill_template: None,
            bundle: Some(bundle_key(&"cd".repeat(32))),
        }
    }

    #[test]
    fn the_drill_template_is_content_addressed_and_in_drill_mode() {
        let options = Options::default();
        let drill = drill_template(&options, &packaged_code()).unwrap();
        assert_eq!(drill.sha256, sha256_hex(drill.text.as_bytes()));
        assert_eq!(
            drill.key,
            format!("templates/recovery-drill/{}.json", drill.sha256)
        );
        assert_eq!(drill.size, drill.text.len() as u64);
        let template: serde_json::Value = serde_json::from_str(&drill.text).unwrap();
        assert!(
            template["Resources"]["DrillVerifierFunction"].is_object(),
            "not a drill template"
        );
        // Its functions run the packaged zips too.
        assert_eq!(
            template["Mappings"]["FunctionCode"]["RestoreDrill"]["S3Key"],
            packaged_code().key("RestoreDrill")
        );
        // Other flags, other template, other key; the same flags, the same key.
        let other = drill_template(
            &Options {
                skip_document_store: true,
                ..Options::default()
            },
            &packaged_code(),
        )
        .unwrap();
        assert_ne!(other.key, drill.key);
        assert_eq!(drill_template(&options, &packaged_code()).unwrap(), drill);
    }

    #[test]
    fn the_main_template_points_at_the_drill_template() {
        let options = Options::default();
        let drill = drill_template(&options, &packaged_code()).unwrap();
        let text = main_template(&options, packaged_code(), &drill.key).unwrap();
        let template: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            template["Mappings"]["DrillTemplate"]["Recovery"]["S3Key"],
            drill.key.as_str()
        );
        assert_eq!(
            template["Parameters"]["LambdaCodeBucket"]["Default"],
            "code"
        );
        // Unpackaged, the checked-in layout.
        let unpackaged = stack_gen::generate(&options).unwrap().to_json();
        assert_eq!(
            unpackaged["Mappings"]["DrillTemplate"]["Recovery"]["S3Key"],
            stack_gen::options::DEFAULT_DRILL_TEMPLATE_KEY
        );
    }
}
