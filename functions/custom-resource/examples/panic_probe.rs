//! A custom resource whose handler panics on Create: built with cargo-lambda exactly like the
//! functions, it shows that the shipped release profile unwinds, so a panic still answers
//! CloudFormation (FAILED "the handler panicked: ...") instead of killing the process.
//! `cargo test -p stack-ops --test package` builds and runs it that way; by hand:
//!
//! ```text
//! PATH=$PWD/.venv/bin:$PATH cargo lambda build --profile lambda --arm64 -p custom-resource \
//!     --example panic_probe --lambda-dir /tmp/probe
//! python3 functions/custom-resource/scripts/run_bootstrap.py /tmp/probe/panic_probe/bootstrap --expect-panic
//! ```

use custom_resource::{Context, Request, Success};

#[tokio::main]
async fn main() -> Result<(), custom_resource::Error> {
    custom_resource::run(|request: Request, _context: Context| async move {
        if let Request::Create(_) = request {
            panic!("panic_probe: deliberate panic on Create");
        }
        Ok::<_, String>(Success::new())
    })
    .await
}
