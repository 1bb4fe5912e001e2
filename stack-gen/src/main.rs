//! `stack-gen`: prints the OpenEMR CloudFormation template for the original generator's flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use stack_gen::{Options, generate, output};

#[derive(Parser)]
#[command(
    version,
    about = "Generates the OpenEMR CloudFormation stack (same flags as the original stack.py).",
    after_help = "Examples:\n  stack-gen > OpenEMR.json\n  stack-gen --dual-az --output OpenEMR.json\n  stack-gen --recovery > OpenEMR-Recovery.json\n  stack-gen graph > stack.mmd"
)]
struct Cli {
    #[command(flatten)]
    stack: StackFlags,
    /// Write the template to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE", global = true)]
    output: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The original generator's flags.
#[derive(Args, Clone)]
struct StackFlags {
    /// Run in two availability zones (two NAT gateways, Multi-AZ RDS, replicated Redis, a
    /// second CouchDB).
    #[arg(long, global = true)]
    dual_az: bool,
    /// Build a recovery stack from an earlier stack's backups.
    #[arg(long, global = true)]
    recovery: bool,
    /// Developer mode: Delete policies and a world-reachable bastion. Breaches HIPAA.
    #[arg(long, global = true)]
    dev: bool,
    /// Add the developer bastion without the rest of --dev. Breaches HIPAA.
    #[arg(long, global = true)]
    force_bastion: bool,
    /// No CouchDB: patient documents are kept on EFS.
    #[arg(long, global = true)]
    skip_document_store: bool,
    /// S3 key of the OpenEMR application bundle (default: see README).
    #[arg(long, value_name = "KEY", global = true)]
    beanstalk_key: Option<String>,
    /// Elastic Beanstalk solution stack name (a PHP platform).
    #[arg(long, value_name = "NAME", global = true)]
    beanstalk_version: Option<String>,
}

impl StackFlags {
    fn options(&self) -> Options {
        Options {
            dual_az: self.dual_az,
            recovery: self.recovery,
            dev: self.dev,
            force_bastion: self.force_bastion,
            skip_document_store: self.skip_document_store,
            beanstalk_key: self.beanstalk_key.clone(),
            beanstalk_version: self.beanstalk_version.clone(),
            ..Options::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the stack as a Mermaid flowchart of resources and their references.
    Graph,
    /// Read an existing stack (its bucket, key, newest completed database and document
    /// snapshots) and write the parameters file of its recovery stack. Give the flags the stack
    /// was built with: `stack-gen --dual-az recovery-params --stack openemr -o params.json`.
    RecoveryParams {
        /// Name (or id) of the existing stack, in the region of AWS_REGION.
        #[arg(long, value_name = "NAME")]
        stack: String,
    },
    /// Build the Lambda zips (cargo-lambda, release, arm64), upload the new ones to BUCKET under
    /// content-addressed keys and write the template pointing at them:
    /// `stack-gen package --bucket my-code-bucket -o OpenEMR.json`.
    Package(stack_gen::package::PackageArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stack-gen: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let options = cli.stack.options();
    let text = match cli.command {
        None => {
            let template = generate(&options)?;
            warn(&options);
            template.render()
        }
        Some(Command::Graph) => stack_gen::graph::mermaid(&generate(&options)?),
        Some(Command::RecoveryParams { stack }) => {
            stack_gen::recovery_lookup::run(&options, &stack)?
        }
        Some(Command::Package(args)) => {
            let text = stack_gen::package::run(&options, &args)?;
            warn(&options);
            text
        }
    };
    emit(cli.output.as_deref(), &text)
}

/// Prints the HIPAA warnings of the chosen options on stderr.
fn warn(options: &Options) {
    for warning in options.warnings() {
        eprintln!("stack-gen: WARNING: {warning}");
    }
}

/// Writes `text` to the output file (atomically) or stdout.
fn emit(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => output::write_atomically(path, text),
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}
