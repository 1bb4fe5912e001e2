//! What the stack is built with: the original generator's flags, checked.

use std::collections::BTreeMap;

/// The Rust Lambdas the template deploys: (mapping key in `FunctionCode`, cargo package).
/// `RestoreDrill` is one zip deployed as three functions: the drill's orchestrator and the
/// fingerprint recorder (source stack), the verifier (drill stack).
pub const FUNCTIONS: [(&str, &str); 6] = [
    ("LogGroupKeeper", "log-group-keeper"),
    ("PlatformResolver", "platform-resolver"),
    ("DocumentSnapshotter", "document-snapshotter"),
    ("BackupChecker", "backup-checker"),
    ("RecoveryParams", "recovery-params"),
    ("RestoreDrill", "restore-drill"),
];

/// S3 key (in `LambdaCodeBucket`) of the drill template in the unpackaged layout; `stack-ops
/// package` uploads it content-addressed under [`DRILL_TEMPLATE_PREFIX`] instead.
pub const DEFAULT_DRILL_TEMPLATE_KEY: &str = "templates/recovery-drill.json";
/// Where `stack-ops package` puts the drill template: `<prefix><sha256>.json`.
pub const DRILL_TEMPLATE_PREFIX: &str = "templates/recovery-drill/";

/// S3 key (in `LambdaCodeBucket`) of the project's application bundle in the unpackaged
/// layout; `stack-ops package` uploads it content-addressed under [`BUNDLE_PREFIX`] instead.
pub const DEFAULT_BEANSTALK_KEY: &str = "beanstalk/openemr-bundle.zip";
/// Where `stack-ops package` puts the application bundle: `<prefix><sha256>.zip`.
pub const BUNDLE_PREFIX: &str = "beanstalk/";

/// The flags of the original `stack.py`, with the same meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub dual_az: bool,
    pub recovery: bool,
    pub dev: bool,
    pub force_bastion: bool,
    pub skip_document_store: bool,
    /// S3 key of the OpenEMR application bundle; `None` = [`DEFAULT_BEANSTALK_KEY`].
    pub beanstalk_key: Option<String>,
    /// Elastic Beanstalk solution stack name (a Docker platform on Amazon Linux 2023); `None` =
    /// the newest version of the branch when the environment is created.
    pub beanstalk_version: Option<String>,
    /// ACM certificate of the public HTTPS endpoint: the `CertificateArn` parameter's default.
    /// `None`: the parameter has no default and CloudFormation asks for it at create.
    pub certificate_arn: Option<String>,
    /// The clinic's name of OpenEMR (the certificate's): the `DomainName` parameter's default.
    /// `None`: the parameter has no default and CloudFormation asks for it at create.
    pub domain_name: Option<String>,
    /// Where the Lambda zips are: S3 key per `FUNCTIONS` mapping key, and the bucket's default.
    /// Empty = the unpackaged layout (`lambda/<package>.zip`, bucket given at deploy time).
    pub code: CodeLocation,
    /// The restore drill's stack (see `components::restore_drill`): a recovery stack, single AZ,
    /// no bastion, Delete policies everywhere, nothing reachable from the internet, no backups,
    /// alarms or trail, plus the verifier. Not a flag of stack-gen: `stack-ops package`
    /// generates it with [`Options::drill_options`]. Implies `recovery`.
    pub drill: bool,
}

/// The Lambda code location written into the template (see README, "Lambda code").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeLocation {
    pub bucket: Option<String>,
    pub keys: BTreeMap<String, String>,
    /// S3 key of the drill template; `None` = [`DEFAULT_DRILL_TEMPLATE_KEY`].
    pub drill_template: Option<String>,
    /// S3 key of the application bundle; `None` = [`DEFAULT_BEANSTALK_KEY`].
    pub bundle: Option<String>,
}

impl CodeLocation {
    /// The S3 key of `function` (a `FUNCTIONS` mapping key).
    pub fn key(&self, function: &str) -> String {
        if let Some(key) = self.keys.get(function) {
            return key.clone();
        }
        let package = FUNCTIONS
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, package)| *package)
            .unwrap_or_else(|| panic!("{function} is not in FUNCTIONS"));
        format!("lambda/{package}.zip")
    }

    /// The S3 key of the drill template.
    pub fn drill_template_key(&self) -> &str {
        self.drill_template
            .as_deref()
            .unwrap_or(DEFAULT_DRILL_TEMPLATE_KEY)
    }
}

/// An option, or a combination of options, that cannot make a valid stack.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    #[error(
        "--beanstalk-key must not be empty: give the S3 key of the OpenEMR bundle, or leave the flag out for {DEFAULT_BEANSTALK_KEY}"
    )]
    EmptyBeanstalkKey,
    #[error(
        "--beanstalk-key {0:?} is not an S3 key: it must not start with '/' or contain whitespace"
    )]
    BadBeanstalkKey(String),
    #[error(
        "--beanstalk-version must not be empty: give an Elastic Beanstalk solution stack name, or leave the flag out for the newest Docker platform on Amazon Linux 2023"
    )]
    EmptyBeanstalkVersion,
    #[error(
        "--beanstalk-version {0:?} is not a Docker platform on Amazon Linux 2023: OpenEMR's image needs a solution stack name like \"64bit Amazon Linux 2023 v4.7.3 running Docker\" (or leave the flag out for the newest)"
    )]
    NotDockerPlatform(String),
    #[error(
        "--certificate-arn {0:?} is not an ACM certificate ARN: give arn:aws:acm:<region>:<account>:certificate/<id> of a certificate in the stack's region"
    )]
    BadCertificateArn(String),
    #[error(
        "--domain-name {0:?} is not a DNS name: give the name clinicians type, e.g. openemr.clinic.example (the certificate's name), without scheme, port or path"
    )]
    BadDomainName(String),
    #[error(
        "a drill stack is a single-AZ recovery stack without bastion or certificate: make it with Options::drill_options"
    )]
    DrillShape,
}

/// The shape of an ACM certificate ARN (the `CertificateArn` parameter's pattern, without the
/// empty alternative).
pub const CERTIFICATE_ARN_PATTERN: &str =
    "arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}";

/// The shape of a DNS name (the `DomainName` parameter's pattern): labels of letters, digits
/// and inner hyphens, at least two, the last alphabetic.
pub const DOMAIN_NAME_PATTERN: &str =
    "([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}";

/// `name` matches [`DOMAIN_NAME_PATTERN`] (by hand, as [`is_certificate_arn`]).
fn is_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let (last, rest) = labels.split_last().expect("split yields one part at least");
    labels.len() >= 2
        && name.len() <= 253
        && rest.iter().all(|l| label_ok(l))
        && (2..=63).contains(&last.len())
        && last.chars().all(|c| c.is_ascii_alphabetic())
}

/// `arn` matches [`CERTIFICATE_ARN_PATTERN`] (checked by hand: the generator has no regex crate).
fn is_certificate_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let id = resource.strip_prefix("certificate/").unwrap_or("");
    arn_ == "arn"
        && partition.starts_with("aws")
        && partition[3..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && service == "acm"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && id.len() == 36
        && id
            .chars()
            .all(|c| (c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) || c == '-')
}

impl Options {
    /// Checks values and combinations; every generator entry point calls this first.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if let Some(key) = &self.beanstalk_key {
            if key.trim().is_empty() {
                return Err(OptionsError::EmptyBeanstalkKey);
            }
            if key.starts_with('/') || key.chars().any(char::is_whitespace) {
                return Err(OptionsError::BadBeanstalkKey(key.clone()));
            }
        }
        if let Some(version) = &self.beanstalk_version {
            if version.trim().is_empty() {
                return Err(OptionsError::EmptyBeanstalkVersion);
            }
            if !(version.starts_with("64bit Amazon Linux 2023 ")
                && version.ends_with(" running Docker"))
            {
                return Err(OptionsError::NotDockerPlatform(version.clone()));
            }
        }
        if let Some(arn) = &self.certificate_arn {
            if !is_certificate_arn(arn) {
                return Err(OptionsError::BadCertificateArn(arn.clone()));
            }
        }
        if let Some(name) = &self.domain_name {
            if !is_domain_name(name) {
                return Err(OptionsError::BadDomainName(name.clone()));
            }
        }
        if self.drill && *self != self.drill_options() {
            return Err(OptionsError::DrillShape);
        }
        Ok(())
    }

    /// The developer bastion (`--dev` or `--force-bastion`; never in a drill stack).
    pub fn bastion(&self) -> bool {
        !self.drill && (self.dev || self.force_bastion)
    }

    /// The options of the drill stack of a stack built with `self`: a recovery stack in drill
    /// mode, single AZ, without bastion (so without `--dev`, whose Delete policies drill mode
    /// has anyway), the same document store, bundle, platform and code location. No
    /// certificate: the drill's load balancer is internal and answers plain HTTP.
    pub fn drill_options(&self) -> Options {
        Options {
            dual_az: false,
            recovery: true,
            dev: false,
            force_bastion: false,
            certificate_arn: None,
            domain_name: None,
            drill: true,
            ..self.clone()
        }
    }

    /// CouchDB and its snapshots (not `--skip-document-store`).
    pub fn document_store(&self) -> bool {
        !self.skip_document_store
    }

    /// The bundle's key: `--beanstalk-key`'s, else the one `stack-ops package` uploaded, else
    /// the unpackaged layout's.
    pub fn beanstalk_key(&self) -> &str {
        self.beanstalk_key
            .as_deref()
            .or(self.code.bundle.as_deref())
            .unwrap_or(DEFAULT_BEANSTALK_KEY)
    }

    /// The pinned solution stack, or "" for the newest of the branch at create.
    pub fn beanstalk_platform(&self) -> &str {
        self.beanstalk_version.as_deref().unwrap_or("")
    }

    /// The flags as given on the command line, in a fixed order (recorded in the recovery
    /// manifest and shown by `--help` examples).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for (on, flag) in [
            (self.dual_az, "--dual-az"),
            (self.recovery, "--recovery"),
            (self.dev, "--dev"),
            (self.force_bastion, "--force-bastion"),
            (self.skip_document_store, "--skip-document-store"),
        ] {
            if on {
                flags.push(flag.to_owned());
            }
        }
        if let Some(key) = &self.beanstalk_key {
            flags.push(format!("--beanstalk-key={key}"));
        }
        if let Some(version) = &self.beanstalk_version {
            flags.push(format!("--beanstalk-version={version}"));
        }
        if let Some(arn) = &self.certificate_arn {
            flags.push(format!("--certificate-arn={arn}"));
        }
        if let Some(name) = &self.domain_name {
            flags.push(format!("--domain-name={name}"));
        }
        flags
    }

    /// The template Description: the original's base text and markers, in its order.
    pub fn description(&self) -> String {
        let mut text = String::from("OpenEMR cloud deployment");
        if self.dev {
            text.push_str(" [developer]");
        } else if self.force_bastion {
            text.push_str(" [keyhole]");
        }
        if self.dual_az {
            text.push_str(" [dual-AZ]");
        }
        if self.recovery {
            text.push_str(" [recovery]");
        }
        if self.skip_document_store {
            text.push_str(" [no document store]");
        }
        if self.drill {
            text.push_str(" [restore drill]");
        }
        if let Some(version) = &self.beanstalk_version {
            text.push_str(&format!(" [platform: {version}]"));
        }
        if let Some(key) = &self.beanstalk_key {
            text.push_str(&format!(" [bundle: {key}]"));
        }
        if self.bastion() {
            text.push_str(" WARNING: not HIPAA-safe, a world-reachable SSH bastion");
            if self.dev {
                text.push_str(" and Delete policies that lose data with the stack");
            }
            text.push_str("; for testing without patient data only.");
        }
        if self.drill {
            text.push_str(" Built and deleted by the source stack's restore drill: internal only, deleted with everything it holds.");
        }
        text
    }

    /// Warnings stack-gen prints on stderr for options that breach HIPAA.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.dev {
            warnings.push("--dev: resources are deleted, not snapshotted, with the stack, and a world-reachable SSH bastion is added. This breaches HIPAA with live patient data: use it for testing only.".to_owned());
        } else if self.force_bastion {
            warnings.push("--force-bastion: a world-reachable SSH bastion is added. This breaches HIPAA with live patient data: use it for testing only.".to_owned());
        }
        if !self.drill && (self.certificate_arn.is_none() || self.domain_name.is_none()) {
            warnings.push("no --certificate-arn or --domain-name: the template has no default for CertificateArn or DomainName, so creating the stack asks for them (the load balancer routes only the certificate's name to OpenEMR, and that rule cannot change once the environment exists).".to_owned());
        }
        if self.skip_document_store {
            warnings.push("--skip-document-store: patient documents are kept on EFS, which the original project does not consider HIPAA eligible for documents.".to_owned());
        }
        warnings
    }
}
