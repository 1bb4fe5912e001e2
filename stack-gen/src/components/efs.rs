//! EFS: the shared file system of the application servers (OpenEMR's `sites/` directory).

use serde_json::json;

use crate::cfn::{ingress_from_group, name_tag, ref_, resource, security_group, sub};
use crate::options::Options;
use crate::stack::{ZONE, dns_record, keep_policy};
use crate::template::Template;

/// The file system's mount targets (logical IDs), one per private subnet: what may use EFS
/// depends on them.
pub const MOUNT_TARGETS: [&str; 2] = ["EFSMountPrivate1", "EFSMountPrivate2"];

pub fn add(t: &mut Template, o: &Options) {
    t.add_resource(
        "ElasticFileSystem",
        json!({
            "Type": "AWS::EFS::FileSystem",
            // Retained: it holds the site's configuration; the nightly duplicity backup is the copy.
            "DeletionPolicy": keep_policy(o, "Retain"),
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Encrypted": true,
                "KmsKeyId": crate::stack::key_id(o),
                "ThroughputMode": "elastic",
                "FileSystemTags": [name_tag("efs")]
            }
        }),
    );
    t.add_resource(
        "EFSSecurityGroup",
        security_group("OpenEMR shared file system (EFS mount targets)", "efs"),
    );
    t.add_resource(
        "EFSSGIngress",
        ingress_from_group(
            "EFSSecurityGroup",
            2049,
            "ApplicationSecurityGroup",
            "NFS from the application servers",
        ),
    );
    for (id, subnet) in MOUNT_TARGETS
        .into_iter()
        .zip(["PrivateSubnet1", "PrivateSubnet2"])
    {
        t.add_resource(
            id,
            resource(
                "AWS::EFS::MountTarget",
                json!({ "FileSystemId": ref_("ElasticFileSystem"), "SubnetId": ref_(subnet), "SecurityGroups": [ref_("EFSSecurityGroup")] }),
            ),
        );
    }
    t.add_resource(
        "DNSEFS",
        dns_record(
            &format!("nfs.{ZONE}"),
            "CNAME",
            sub("${ElasticFileSystem}.efs.${AWS::Region}.amazonaws.com"),
        ),
    );
}
