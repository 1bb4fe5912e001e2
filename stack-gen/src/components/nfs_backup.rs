//! NFS backup agent: an instance that mounts EFS and backs it up nightly with duplicity to
//! `s3://<stack bucket>/Backup/` (in the stack's backup window), and in a recovery stack first
//! restores EFS from the original bucket.

use serde_json::json;
use stack_contract::bucket::{BACKUP_PREFIX, PASSPHRASE_KEY};

use crate::cfn::{allow, get_att, ingress_from_group, security_group, sub_with};
use crate::components::backup_schedule::nfs_cron_hour;
use crate::components::network::private_egress;
use crate::instance::{Instance, Os, add_instance_role};
use crate::options::Options;
use crate::stack::dns_record;
use crate::stack::{
    ZONE, bucket, bucket_arn, bucket_objects, key_arn, list_bucket, recovery_bucket,
    recovery_bucket_arn, recovery_bucket_objects,
};
use crate::template::Template;

/// The logical ID of the agent's instance.
pub const INSTANCE: &str = "NFSBackupInstance";

/// The mount points whose use the agent's CloudWatch agent publishes: the root volume, where
/// duplicity keeps its cache and temporary files. EFS (/mnt/efs) reports a size of 8 EiB: its
/// used percentage never moves.
pub const MONITORED_PATHS: [&str; 1] = ["/"];

/// How long a recovery's agent may take to restore EFS before CloudFormation gives up.
pub const RECOVERY_SIGNAL_MINUTES: u32 = 120;

pub fn add(t: &mut Template, o: &Options) {
    t.add_resource(
        "NFSBackupSecurityGroup",
        security_group("OpenEMR NFS backup agent", "nfs-backup"),
    );
    t.add_resource(
        "NFSSGIngress",
        ingress_from_group(
            "EFSSecurityGroup",
            2049,
            "NFSBackupSecurityGroup",
            "NFS from the backup agent",
        ),
    );
    if o.bastion() {
        t.add_resource(
            "NFSBackupSGIngress",
            ingress_from_group(
                "NFSBackupSecurityGroup",
                22,
                "SSHSecurityGroup",
                "SSH from the developer bastion",
            ),
        );
    }
    // duplicity's boto3 backend sends HeadBucket on connect, and the set-up tells a missing
    // passphrase (404) from a failed read: both need ListBucket without a prefix.
    let listing = backup_listing();
    let mut statements = list_bucket(bucket_arn(), &[&listing]);
    statements.extend([
        allow(
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            json!([bucket_objects(&listing)]),
        ),
        allow(&["kms:Decrypt", "kms:GenerateDataKey"], json!([key_arn(o)])),
        crate::instance::put_metrics_statement(),
    ]);
    if o.recovery {
        statements.extend(list_bucket(recovery_bucket_arn(), &[&listing]));
        statements.push(allow(
            &["s3:GetObject"],
            json!([recovery_bucket_objects(&listing)]),
        ));
    }
    add_instance_role(
        t,
        "NFSBackupRole",
        "NFSBackupPolicy",
        "NFSInstanceProfile",
        statements,
    );
    let agent = Instance {
        os: Os::Ubuntu2404,
        instance_type: "t3.small",
        subnet: "PrivateSubnet1",
        security_group: "NFSBackupSecurityGroup",
        profile: Some("NFSInstanceProfile"),
        user_data: sub_with(
            include_str!("../../scripts/nfs_backup/user-data.sh"),
            json!({
                "Bucket": bucket(),
                "KeyArn": key_arn(o),
                "BackupPrefix": BACKUP_PREFIX,
                "PassphraseKey": PASSPHRASE_KEY,
                "CronHour": nfs_cron_hour(),
                "RecoveryBucket": if o.recovery { recovery_bucket() } else { json!("") },
                "ObjectState": crate::instance::OBJECT_STATE,
                "CfnSignal": crate::instance::CFN_SIGNAL,
                "SignalResource": INSTANCE,
                "BackupScript": include_str!("../../scripts/nfs_backup/backup.sh"),
                "CloudWatchAgent": crate::instance::CLOUDWATCH_AGENT,
                "AgentPackage": crate::instance::agent_package(),
                "AgentConfig": crate::instance::agent_config(INSTANCE, &MONITORED_PATHS),
            }),
        ),
        name: "nfs-backup",
        public_ip: false,
    };
    // apt-get, pip and S3 need the NAT route from the first boot step on.
    let mut depends_on = vec![
        crate::components::efs::MOUNT_TARGETS[0].to_owned(),
        "NFSBackupPolicy".to_owned(),
    ];
    depends_on.extend(private_egress(o, "PrivateSubnet1"));
    t.add_resource(
        INSTANCE,
        json!({
            "Type": "AWS::EC2::Instance",
            "DependsOn": depends_on,
            // A restore of a large file system takes a while.
            "CreationPolicy": { "ResourceSignal": { "Count": 1, "Timeout": format!("PT{}M", if o.recovery { RECOVERY_SIGNAL_MINUTES } else { 30 }) } },
            "Properties": agent.properties(o, key_arn(o))
        }),
    );
    t.add_resource(
        "DNSBackupAgent",
        dns_record(
            &format!("backup.{ZONE}"),
            "A",
            get_att(INSTANCE, "PrivateIp"),
        ),
    );
}

/// What the agent lists, reads and writes: its chains (and the passphrase) under `Backup/`.
fn backup_listing() -> String {
    format!("{BACKUP_PREFIX}*")
}
