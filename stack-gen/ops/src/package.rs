//! `stack-ops package`: builds the Lambda zips, uploads them under content-addressed keys and
//! returns the template that points at exactly those keys.
//!
//! 1. Build: `cargo lambda build --release --arm64 --output-format zip` for every package in
//!    [`FUNCTIONS`] (skipped with `--skip-build`), into `<lambda dir>/<package>/bootstrap.zip`.
//! 2. Normalise each zip (see [`normalise_zip`]): cargo-lambda stores the binary's modification
//!    time in the zip, so a rebuild of unchanged code (a fresh clone, a `touch`) would give other
//!    bytes, another key, and a needless function update. With the timestamps fixed, the zip's
//!    bytes depend only on the binary, and the bytes uploaded are the bytes hashed.
//! 3. Key = `lambda/<package>/<sha256 of the normalised zip>.zip`: a code change changes the key,
//!    so CloudFormation updates the function; unchanged code keeps its key.
//! 4. Upload only the keys the bucket does not have yet (HeadObject first).
//! 5. Generate the template with `LambdaCodeBucket` defaulting to the bucket and the
//!    `FunctionCode` mapping naming the keys. The caller writes it (atomically with `--output`);
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
    /// Key in the template's `FunctionCode` mapping (e.g. `CertReader`).
    pub name: String,
    /// Cargo package (e.g. `cert-reader`).
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
        write!(
            f,
            "{:<20} {:>8}  {}  {}",
            self.name,
            human_size(self.size),
            self.key,
            if self.uploaded {
                "uploaded"
            } else {
                "already present"
            }
        )
    }
}

/// The packaging result: what each function's zip became, and the template pointing at them.
#[derive(Debug)]
pub struct Packaged {
    pub bucket: String,
    pub functions: Vec<PackagedFunction>,
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
        let mut bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read the {package} zip {}: build it first (stack-ops package without --skip-build, or `cargo lambda build --release --arm64 --output-format zip --lambda-dir {}`)",
                path.display(),
                lambda_dir.display()
            )
        })?;
        normalise_zip(&mut bytes)
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
        let uploaded = match existing_size(s3, bucket, &key).await? {
            Some(existing) if existing == size => false,
            _ => {
                s3.put_object()
                    .bucket(bucket)
                    .key(&key)
                    .content_type("application/zip")
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .map_err(aws_sdk_s3::Error::from)
                    .with_context(|| format!("cannot upload s3://{bucket}/{key}"))?;
                true
            }
        };
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
    let uploaded = functions.iter().filter(|f| f.uploaded).count();
    writeln!(
        log,
        "stack-ops package: {uploaded} uploaded, {} already present; LambdaCodeBucket defaults to {bucket}",
        functions.len() - uploaded
    )?;

    let mut options = options.clone();
    options.code = CodeLocation {
        bucket: Some(bucket.to_owned()),
        keys: functions
            .iter()
            .map(|f| (f.name.clone(), f.key.clone()))
            .collect(),
    };
    let template = stack_gen::generate(&options)?.render();
    Ok(Packaged {
        bucket: bucket.to_owned(),
        functions,
        template,
    })
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

/// Builds every function of [`FUNCTIONS`] with cargo-lambda (release, arm64, zip) into
/// `lambda_dir`. Uses the project's `.venv` (cargo-lambda and zig, installed by `tests/setup`)
/// when present, else `cargo-lambda` from PATH. Cargo's output goes to stderr.
pub fn build(lambda_dir: &Path) -> anyhow::Result<()> {
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
        .args([
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
            "--lambda-dir",
        ])
        .arg(lambda_dir);
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
        "stack-ops package: building {} functions with cargo-lambda (release, arm64, zip) into {}",
        FUNCTIONS.len(),
        lambda_dir.display()
    );
    let status = command.status().with_context(|| {
        format!(
            "cannot run {}: run tests/setup to install cargo-lambda",
            cargo_lambda.display()
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
    #[error("no end-of-central-directory record (not a zip file, or truncated)")]
    NoEndRecord,
    #[error("zip64 and multi-disk archives are not supported")]
    Unsupported,
    #[error("corrupt zip: {0}")]
    Corrupt(&'static str),
    #[error(
        "no `bootstrap` entry: a provided.al2023 Lambda zip must hold its executable as `bootstrap`"
    )]
    NoBootstrap,
}

/// The DOS date written into every entry: 1980-01-01 (the earliest a zip can say), time 00:00.
const FIXED_DOS_DATE: u16 = (1 << 5) | 1;
const FIXED_DOS_TIME: u16 = 0;

/// Makes a zip's bytes a function of its contents only: sets every entry's modification time to
/// 1980-01-01 00:00 (local and central headers) and zeroes extended-timestamp (`UT`, 0x5455)
/// and NTFS (0x000a) time fields. Nothing else changes: the compressed data, CRCs and the file
/// mode (`bootstrap` stays executable) are kept, so the zip is still the one cargo-lambda built.
/// Also checks that the zip holds a `bootstrap` entry.
pub fn normalise_zip(zip: &mut [u8]) -> Result<(), ZipError> {
    const EOCD_SIG: u32 = 0x0605_4b50;
    const CENTRAL_SIG: u32 = 0x0201_4b50;
    const LOCAL_SIG: u32 = 0x0403_4b50;
    if zip.len() < 22 {
        return Err(ZipError::NoEndRecord);
    }
    // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
    let lowest = zip.len().saturating_sub(22 + 0xffff);
    let eocd = (lowest..=zip.len() - 22)
        .rev()
        .find(|&at| {
            u32_at(zip, at) == Some(EOCD_SIG)
                && 22 + usize::from(u16_at(zip, at + 20).unwrap_or(0)) == zip.len() - at
        })
        .ok_or(ZipError::NoEndRecord)?;
    let entries = u16_at(zip, eocd + 10).ok_or(ZipError::NoEndRecord)?;
    let central_offset = u32_at(zip, eocd + 16).ok_or(ZipError::NoEndRecord)?;
    if u16_at(zip, eocd + 4) != Some(0) || entries == 0xffff || central_offset == 0xffff_ffff {
        return Err(ZipError::Unsupported);
    }
    let mut at = central_offset as usize;
    let mut has_bootstrap = false;
    for _ in 0..entries {
        if u32_at(zip, at) != Some(CENTRAL_SIG) {
            return Err(ZipError::Corrupt("central directory entry signature"));
        }
        let name_len = usize::from(u16_at(zip, at + 28).ok_or(ZipError::Corrupt("central entry"))?);
        let extra_len =
            usize::from(u16_at(zip, at + 30).ok_or(ZipError::Corrupt("central entry"))?);
        let comment_len =
            usize::from(u16_at(zip, at + 32).ok_or(ZipError::Corrupt("central entry"))?);
        let local = u32_at(zip, at + 42).ok_or(ZipError::Corrupt("central entry"))? as usize;
        let name = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or(ZipError::Corrupt("entry name"))?;
        has_bootstrap |= name == b"bootstrap";
        set_u16(zip, at + 12, FIXED_DOS_TIME);
        set_u16(zip, at + 14, FIXED_DOS_DATE);
        let extra = at + 46 + name_len;
        clear_extra_times(
            zip.get_mut(extra..extra + extra_len)
                .ok_or(ZipError::Corrupt("extra field"))?,
        )?;

        if u32_at(zip, local) != Some(LOCAL_SIG) {
            return Err(ZipError::Corrupt("local header signature"));
        }
        let local_name_len =
            usize::from(u16_at(zip, local + 26).ok_or(ZipError::Corrupt("local header"))?);
        let local_extra_len =
            usize::from(u16_at(zip, local + 28).ok_or(ZipError::Corrupt("local header"))?);
        set_u16(zip, local + 10, FIXED_DOS_TIME);
        set_u16(zip, local + 12, FIXED_DOS_DATE);
        let local_extra = local + 30 + local_name_len;
        clear_extra_times(
            zip.get_mut(local_extra..local_extra + local_extra_len)
                .ok_or(ZipError::Corrupt("local extra field"))?,
        )?;
        at += 46 + name_len + extra_len + comment_len;
    }
    if has_bootstrap {
        Ok(())
    } else {
        Err(ZipError::NoBootstrap)
    }
}

/// Zeroes the time values in an entry's extra fields.
fn clear_extra_times(extra: &mut [u8]) -> Result<(), ZipError> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at).unwrap_or(0);
        let len = usize::from(u16_at(extra, at + 2).unwrap_or(0));
        let data = extra
            .get_mut(at + 4..at + 4 + len)
            .ok_or(ZipError::Corrupt("extra field length"))?;
        match id {
            // Extended timestamp: one flags byte, then 4-byte Unix times.
            0x5455 => data.iter_mut().skip(1).for_each(|b| *b = 0),
            // NTFS: 4 reserved bytes, then tagged attributes holding FILETIMEs.
            0x000a => data.iter_mut().skip(4).for_each(|b| *b = 0),
            _ => {}
        }
        at += 4 + len;
    }
    Ok(())
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-entry stored zip, as `zip -X` would write it, with the given DOS time/date and a
    /// `UT` extra field holding `unix_time`.
    fn stored_zip(
        name: &str,
        content: &[u8],
        dos_time: u16,
        dos_date: u16,
        unix_time: u32,
    ) -> Vec<u8> {
        let crc = crc32(content);
        let mut extra = Vec::new();
        extra.extend_from_slice(&0x5455u16.to_le_bytes());
        extra.extend_from_slice(&5u16.to_le_bytes());
        extra.push(1);
        extra.extend_from_slice(&unix_time.to_le_bytes());
        let mut zip = Vec::new();
        // local header
        zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        zip.extend_from_slice(&20u16.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes()); // stored
        zip.extend_from_slice(&dos_time.to_le_bytes());
        zip.extend_from_slice(&dos_date.to_le_bytes());
        zip.extend_from_slice(&crc.to_le_bytes());
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(&extra);
        zip.extend_from_slice(content);
        let central = zip.len();
        zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        zip.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes());
        zip.extend_from_slice(&20u16.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&dos_time.to_le_bytes());
        zip.extend_from_slice(&dos_date.to_le_bytes());
        zip.extend_from_slice(&crc.to_le_bytes());
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes()); // comment
        zip.extend_from_slice(&0u16.to_le_bytes()); // disk
        zip.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        zip.extend_from_slice(&(0o100755u32 << 16).to_le_bytes());
        zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(&extra);
        let central_len = zip.len() - central;
        zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&(central_len as u32).to_le_bytes());
        zip.extend_from_slice(&(central as u32).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn same_content_at_other_times_normalises_to_the_same_bytes() {
        let mut a = stored_zip(
            "bootstrap",
            b"\x7fELF binary",
            0x6b3a,
            0x5b79,
            1_764_000_000,
        );
        let mut b = stored_zip(
            "bootstrap",
            b"\x7fELF binary",
            0x1234,
            0x5b7a,
            1_764_100_000,
        );
        assert_ne!(a, b);
        normalise_zip(&mut a).unwrap();
        normalise_zip(&mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(u16_at(&a, 10), Some(FIXED_DOS_TIME));
        assert_eq!(u16_at(&a, 12), Some(FIXED_DOS_DATE));
    }

    #[test]
    fn other_content_still_differs_after_normalising() {
        let mut a = stored_zip("bootstrap", b"\x7fELF one", 1, 0x21, 7);
        let mut b = stored_zip("bootstrap", b"\x7fELF two", 1, 0x21, 7);
        normalise_zip(&mut a).unwrap();
        normalise_zip(&mut b).unwrap();
        assert_ne!(sha256_hex(&a), sha256_hex(&b));
    }

    #[test]
    fn normalising_keeps_content_crc_and_mode() {
        let original = stored_zip(
            "bootstrap",
            b"\x7fELF binary",
            0x6b3a,
            0x5b79,
            1_764_000_000,
        );
        let mut zip = original.clone();
        normalise_zip(&mut zip).unwrap();
        let differing: Vec<usize> = (0..zip.len()).filter(|&i| zip[i] != original[i]).collect();
        // Only times change: local time/date (10..14), the UT time in both extra fields and the
        // central time/date.
        assert!(!differing.is_empty());
        let central = original.len() - 22 - (46 + 9 + 9);
        for i in differing {
            let local_extra_time = 30 + 9 + 5..30 + 9 + 9;
            let central_extra_time = central + 46 + 9 + 5..central + 46 + 9 + 9;
            assert!(
                (10..14).contains(&i)
                    || local_extra_time.contains(&i)
                    || (central + 12..central + 16).contains(&i)
                    || central_extra_time.contains(&i),
                "byte {i} changed"
            );
        }
    }

    #[test]
    fn a_zip_without_bootstrap_is_refused() {
        let mut zip = stored_zip("main", b"x", 0, 0x21, 0);
        assert_eq!(normalise_zip(&mut zip), Err(ZipError::NoBootstrap));
    }

    #[test]
    fn not_a_zip_is_refused() {
        assert_eq!(
            normalise_zip(&mut b"#!/bin/sh\necho hi\n".to_vec()),
            Err(ZipError::NoEndRecord)
        );
        let mut truncated = stored_zip("bootstrap", b"x", 0, 0x21, 0);
        truncated.truncate(truncated.len() - 5);
        assert_eq!(normalise_zip(&mut truncated), Err(ZipError::NoEndRecord));
    }

    #[test]
    fn keys_are_per_package_content_hashes() {
        assert_eq!(
            content_key("cert-reader", &sha256_hex(b"abc")),
            "lambda/cert-reader/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.zip"
        );
    }

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(human_size(3_412_345), "3.4 MB");
        assert_eq!(human_size(812_000), "812 KB");
        assert_eq!(human_size(17), "17 B");
    }
}
