//! `stack-gen`: prints the OpenEMR CloudFormation template for the original generator's flags.
//! Pure: no AWS call and no AWS SDK in its build; the AWS-facing subcommands are `stack-ops`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stack_gen::cli::{StackFlags, emit, exit_code, warn};
use stack_gen::generate;

#[derive(Parser)]
#[command(
    version,
    about = "Generates the OpenEMR CloudFormation stack (same flags as the original stack.py).",
    after_help = "Examples:\n  stack-gen > OpenEMR.json\n  stack-gen --dual-az --output OpenEMR.json\n  stack-gen --recovery > OpenEMR-Recovery.json\n  stack-gen graph > stack.mmd\n\nUploading the Lambda zips (`package`) and finding a stack's recovery inputs\n(`recovery-params`) call AWS: they are `stack-ops` (cargo run -p stack-ops -- --help)."
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

#[derive(Subcommand)]
enum Command {
    /// Print the stack as a Mermaid flowchart of resources and their references.
    Graph,
}

fn main() -> ExitCode {
    exit_code("stack-gen", run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let options = cli.stack.options();
    let template = generate(&options)?;
    let text = match cli.command {
        None => {
            warn("stack-gen", &options);
            template.render()
        }
        Some(Command::Graph) => stack_gen::graph::mermaid(&template),
    };
    Ok(emit(cli.output.as_deref(), &text)?)
}
