//! `stack-ops`: the subcommands that call AWS, beside the pure generator `stack-gen`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stack_gen::cli::{StackFlags, emit, exit_code, warn};

#[derive(Parser)]
#[command(
    version,
    about = "The OpenEMR stack's AWS-facing commands: upload the Lambda zips, find a stack's recovery inputs.",
    after_help = "Examples:\n  stack-ops package --bucket my-code-bucket -o OpenEMR.json\n  stack-ops --dual-az recovery-params --stack openemr -o params.json"
)]
struct Cli {
    #[command(flatten)]
    stack: StackFlags,
    /// Write the result to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE", global = true)]
    output: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read an existing stack (its bucket, key, newest completed database and document
    /// snapshots) and write the parameters file of its recovery stack. Give the flags the stack
    /// was built with: `stack-ops --dual-az recovery-params --stack openemr -o params.json`.
    RecoveryParams {
        /// Name (or id) of the existing stack, in the region of AWS_REGION.
        #[arg(long, value_name = "NAME")]
        stack: String,
    },
    /// Build the Lambda zips (cargo-lambda, profile `lambda`, arm64), upload the new ones to BUCKET under
    /// content-addressed keys and write the template pointing at them:
    /// `stack-ops package --bucket my-code-bucket -o OpenEMR.json`.
    Package(stack_ops::package::PackageArgs),
}

fn main() -> ExitCode {
    exit_code("stack-ops", run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let options = cli.stack.options();
    let text = match cli.command {
        Command::RecoveryParams { stack } => stack_ops::recovery_lookup::run(&options, &stack)?,
        Command::Package(args) => {
            let text = stack_ops::package::run(&options, &args)?;
            warn("stack-ops", &options);
            text
        }
    };
    Ok(emit(cli.output.as_deref(), &text)?)
}
