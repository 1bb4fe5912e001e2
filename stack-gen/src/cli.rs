//! What the two command-line tools share: the original generator's flags, the HIPAA warnings
//! on stderr, and writing the result to stdout or (atomically) to a file. `stack-gen` (pure,
//! no AWS) and `stack-ops` (the AWS-facing subcommands) both use it, so a flag means the same
//! in both.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::Options;

/// The original generator's flags.
#[derive(Args, Clone, Debug, Default)]
pub struct StackFlags {
    /// Run in two availability zones (two NAT gateways, Multi-AZ RDS, replicated Redis, a
    /// second CouchDB).
    #[arg(long, global = true)]
    pub dual_az: bool,
    /// Build a recovery stack from an earlier stack's backups.
    #[arg(long, global = true)]
    pub recovery: bool,
    /// Developer mode: Delete policies and a world-reachable bastion. Breaches HIPAA.
    #[arg(long, global = true)]
    pub dev: bool,
    /// Add the developer bastion without the rest of --dev. Breaches HIPAA.
    #[arg(long, global = true)]
    pub force_bastion: bool,
    /// No CouchDB: patient documents are kept on EFS.
    #[arg(long, global = true)]
    pub skip_document_store: bool,
    /// S3 key of the application bundle (default: the project's, which `stack-ops package`
    /// uploads; see README).
    #[arg(long, value_name = "KEY", global = true)]
    pub beanstalk_key: Option<String>,
    /// Pin an Elastic Beanstalk solution stack (a Docker platform on Amazon Linux 2023); without
    /// it, the newest version of the branch when the environment is created.
    #[arg(long, value_name = "NAME", global = true)]
    pub beanstalk_version: Option<String>,
    /// ACM certificate (ARN, in the stack's region) of the public HTTPS endpoint: the default
    /// of the CertificateArn parameter (without it, creating the stack asks for one).
    #[arg(long, value_name = "ARN", global = true)]
    pub certificate_arn: Option<String>,
    /// The clinic's DNS name of OpenEMR, the certificate's (e.g. openemr.clinic.example): the
    /// default of the DomainName parameter (without it, creating the stack asks for one).
    #[arg(long, value_name = "NAME", global = true)]
    pub domain_name: Option<String>,
}

impl StackFlags {
    pub fn options(&self) -> Options {
        Options {
            dual_az: self.dual_az,
            recovery: self.recovery,
            dev: self.dev,
            force_bastion: self.force_bastion,
            skip_document_store: self.skip_document_store,
            beanstalk_key: self.beanstalk_key.clone(),
            beanstalk_version: self.beanstalk_version.clone(),
            certificate_arn: self.certificate_arn.clone(),
            domain_name: self.domain_name.clone(),
            ..Options::default()
        }
    }
}

/// Prints the HIPAA warnings of the chosen options on stderr, prefixed with the tool's name.
pub fn warn(tool: &str, options: &Options) {
    for warning in options.warnings() {
        eprintln!("{tool}: WARNING: {warning}");
    }
}

/// Writes `text` to the output file (atomically) or stdout.
pub fn emit(path: Option<&Path>, text: &str) -> Result<(), crate::output::WriteError> {
    match path {
        Some(path) => crate::output::write_atomically(path, text),
        None => crate::output::print(text),
    }
}

/// The exit status of a run: success, or the error on stderr (formatted with `{:#}`, which
/// for an `anyhow::Error` is the error and its causes) and status 1.
pub fn exit_code<E: std::fmt::Display>(tool: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{tool}: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
