//! stack-ops: what the OpenEMR stack's tooling does against AWS, kept out of the generator so
//! that `stack-gen` builds without the AWS SDK.
//!
//! - [`package`]: build the Lambda zips, upload them under content-addressed keys, and generate
//!   the template pointing at them.
//! - [`recovery_lookup`]: read an existing stack and its snapshots, and write the parameters of
//!   its recovery stack.

pub mod package;
pub mod recovery_lookup;
