//! Foundation: the stack's parameters, private DNS zone, KMS key, bucket, audit trail, the
//! operators' alert topic and the application security group.

use serde_json::{Value, json};

use crate::cfn::{get_att, ref_};
use crate::options::Options;
use crate::template::Template;

/// Logical ID of the SNS topic every alarm and failed asynchronous invocation reports to.
pub const ALERT_TOPIC: &str = "OperatorAlerts";

/// The stack bucket's name.
pub fn bucket() -> Value {
    ref_("S3Bucket")
}

/// The stack bucket's ARN.
pub fn bucket_arn() -> Value {
    get_att("S3Bucket", "Arn")
}

/// ARN of the KMS key protecting the stack's data: the stack's own, or in a recovery stack
/// the original stack's (`RecoveryKMSKey`), since every snapshot and backup is encrypted with it.
pub fn key_arn(o: &Options) -> Value {
    if o.recovery { ref_("RecoveryKMSKey") } else { get_att("OpenEMRKey", "Arn") }
}

pub fn add_parameters(_t: &mut Template, _o: &Options) {}

pub fn add(_t: &mut Template, _o: &Options) {}
