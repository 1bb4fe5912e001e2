//! Document store: CouchDB on its own encrypted sc1 volume (patient documents), one node, or
//! two replicating both ways with `--dual-az`. A recovery stack makes the volume(s) from
//! `RecoveryCouchDBSnapshot`, sized as recorded.

use serde_json::{Value, json};
use stack_contract::recovery_params::resolve as recovery_inputs;
use stack_contract::volumes::{PRIMARY, REPLICA};

use crate::cfn::{
    allow, az, get_att, ingress_from_group, ref_, resource, security_group, sub, sub_with,
};
use crate::components::network::private_egress;
use crate::instance::{Instance, Os, add_instance_role};
use crate::options::Options;
use crate::stack::dns_record;
use crate::stack::{
    ZONE, bucket, bucket_arn, bucket_objects, keep_policy, key_arn, list_bucket, recovery_bucket,
    recovery_bucket_arn, recovery_bucket_objects,
};
use crate::template::Template;

/// Where the CouchDB admin password is kept (SSE-KMS), in the stack bucket.
pub use stack_contract::bucket::COUCHDB_ADMIN_PASSWORD_KEY as ADMIN_PASSWORD_KEY;

/// CouchDB's TLS port.
pub const COUCHDB_PORT: u16 = 6984;

/// The mount points whose use each node's CloudWatch agent publishes: the document volume, and
/// the root volume (the CouchDB image, logs).
pub const MONITORED_PATHS: [&str; 2] = ["/", "/srv/couchdb"];

/// The first CouchDB node (logical ID): it makes the admin password; a replica waits for it.
pub const PRIMARY_NODE: &str = "CouchDBInstance";
/// The dual-AZ replica (logical ID).
const REPLICA_NODE: &str = "CouchReplicatedDBInstance";

/// The CouchDB instances of a stack (logical IDs), in the order [`volumes`] lists their volumes.
pub fn nodes(o: &Options) -> Vec<&'static str> {
    match (o.document_store(), o.dual_az) {
        (false, _) => vec![],
        (true, false) => vec![PRIMARY_NODE],
        (true, true) => vec![PRIMARY_NODE, REPLICA_NODE],
    }
}

/// The attachment of `volume` (a document volume's logical ID) to its node: what needs the
/// documents on line depends on it.
pub fn attachment(volume: &str) -> String {
    format!("{volume}Attachment")
}

/// The document volumes of a stack: (logical ID, availability zone index).
pub fn volumes(o: &Options) -> Vec<(&'static str, usize)> {
    match (o.document_store(), o.dual_az) {
        (false, _) => vec![],
        (true, false) => vec![(PRIMARY, 0)],
        (true, true) => vec![(PRIMARY, 0), (REPLICA, 1)],
    }
}

/// The ARNs of the stack's document volumes (for IAM statements).
pub fn volume_arns(o: &Options) -> Vec<Value> {
    volumes(o)
        .iter()
        .map(|(volume, _)| {
            sub(&format!(
                "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:volume/${{{volume}}}"
            ))
        })
        .collect()
}

pub fn add(t: &mut Template, o: &Options) {
    t.add_resource(
        "CouchDBSecurityGroup",
        security_group("OpenEMR document store (CouchDB)", "couchdb"),
    );
    t.add_resource(
        "CouchDBSGIngress",
        ingress_from_group(
            "CouchDBSecurityGroup",
            COUCHDB_PORT,
            "ApplicationSecurityGroup",
            "CouchDB (TLS) from the application servers",
        ),
    );
    if o.dual_az {
        t.add_resource(
            "CouchDBSGIngress2",
            ingress_from_group(
                "CouchDBSecurityGroup",
                COUCHDB_PORT,
                "CouchDBSecurityGroup",
                "CouchDB replication between the two nodes",
            ),
        );
    }
    if o.bastion() {
        t.add_resource(
            "CouchDBBastionIngress",
            ingress_from_group(
                "CouchDBSecurityGroup",
                22,
                "SSHSecurityGroup",
                "SSH from the developer bastion",
            ),
        );
    }
    // A node tells "no admin password yet" (404: it makes one) from a failed read (it stops):
    // the 404 needs ListBucket.
    let mut statements = list_bucket(bucket_arn(), &["CouchDB/*"]);
    statements.extend([
        allow(
            &["s3:GetObject"],
            json!([
                bucket_objects(crate::components::certs::COUCH_CERT_KEY),
                bucket_objects("CA/certs/ca.crt"),
                bucket_objects("CA/keys/couch.key"),
                bucket_objects("CouchDB/*")
            ]),
        ),
        allow(&["s3:PutObject"], json!([bucket_objects("CouchDB/*")])),
        allow(&["kms:Decrypt", "kms:GenerateDataKey"], json!([key_arn(o)])),
        crate::instance::put_metrics_statement(),
    ]);
    statements.extend(take_over_statements(o));
    if o.recovery {
        // The restored volume's CouchDB has the original stack's admin password.
        statements.extend(list_bucket(recovery_bucket_arn(), &["CouchDB/*"]));
        statements.push(allow(
            &["s3:GetObject"],
            json!([recovery_bucket_objects(ADMIN_PASSWORD_KEY)]),
        ));
    }
    add_instance_role(
        t,
        "CouchDBRole",
        "CouchDBPolicy",
        "CouchDBInstanceProfile",
        statements,
    );
    let size = if o.recovery {
        get_att(crate::components::recovery::PARAMETERS, "DocumentStorage")
    } else {
        ref_("DocumentStorage")
    };
    for (volume, zone) in volumes(o) {
        let mut p = json!({
            "AvailabilityZone": az(zone),
            "VolumeType": "sc1",
            "Size": size,
            "Encrypted": true,
            "KmsKeyId": crate::stack::key_id(o),
            "Tags": [crate::cfn::name_tag(&format!("documents-az{}", zone + 1))]
        });
        if o.recovery {
            // Encrypted with the snapshot's key, as the snapshot is: the original's recovery
            // stacks named no key, and naming one now would replace their volumes on update.
            let props = p.as_object_mut().expect("object");
            props.remove("Encrypted");
            props.remove("KmsKeyId");
            p["SnapshotId"] = ref_(recovery_inputs::COUCHDB_SNAPSHOT);
        }
        t.add_resource(
            volume,
            json!({ "Type": "AWS::EC2::Volume", "DeletionPolicy": keep_policy(o, "Snapshot"), "UpdateReplacePolicy": keep_policy(o, "Snapshot"), "Properties": p }),
        );
    }
    add_node(t, o, PRIMARY_NODE, PRIMARY, "PrivateSubnet1", json!(""));
    t.add_resource(
        "DNSCouchDB",
        dns_record(
            &format!("couchdb.{ZONE}"),
            "A",
            get_att(PRIMARY_NODE, "PrivateIp"),
        ),
    );
    if o.dual_az {
        add_node(
            t,
            o,
            REPLICA_NODE,
            REPLICA,
            "PrivateSubnet2",
            json!(format!("couchdb-az1.{ZONE}")),
        );
        t.add_resource(
            "DNSCouchDBAZ1",
            dns_record(
                &format!("couchdb-az1.{ZONE}"),
                "A",
                get_att(PRIMARY_NODE, "PrivateIp"),
            ),
        );
        t.add_resource(
            "DNSCouchDBAZ2",
            dns_record(
                &format!("couchdb-az2.{ZONE}"),
                "A",
                get_att(REPLICA_NODE, "PrivateIp"),
            ),
        );
    }
}

/// How long CloudFormation waits for a node's signal: package installs, then a predecessor's
/// clean stop (CouchDB and the file system closed) and the volume's detachment.
pub const TAKE_OVER_SIGNAL_MINUTES: u32 = 30;

/// What a replacement node needs to take its volume from its predecessor: stop the instance
/// that holds it — only this stack's CouchDB nodes, by the tags CloudFormation puts on every
/// instance it creates, the original generator's included — and detach the stack's document
/// volumes from it. (The describe calls authorise on `*` only.)
fn take_over_statements(o: &Options) -> Vec<Value> {
    let ours = json!({ "StringEquals": {
        "aws:ResourceTag/aws:cloudformation:stack-id": ref_("AWS::StackId"),
        "aws:ResourceTag/aws:cloudformation:logical-id": nodes(o),
    } });
    let instances = sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*");
    let mut stop = allow(
        &["ec2:StopInstances", "ec2:DetachVolume"],
        json!([instances]),
    );
    stop["Condition"] = ours;
    vec![
        allow(
            &["ec2:DescribeVolumes", "ec2:DescribeInstances"],
            json!("*"),
        ),
        stop,
        allow(&["ec2:DetachVolume"], json!(volume_arns(o))),
    ]
}

fn add_node(t: &mut Template, o: &Options, id: &str, volume: &str, subnet: &str, peer: Value) {
    let node = Instance {
        os: Os::Ubuntu2404,
        instance_type: "t3.medium",
        subnet,
        security_group: "CouchDBSecurityGroup",
        profile: Some("CouchDBInstanceProfile"),
        user_data: sub_with(
            include_str!("../../scripts/document_store/user-data.sh"),
            json!({
                "Bucket": bucket(),
                "KeyArn": key_arn(o),
                "AdminPasswordKey": ADMIN_PASSWORD_KEY,
                "Volume": ref_(volume),
                "Peer": peer,
                "RecoveryBucket": if o.recovery { recovery_bucket() } else { json!("") },
                "ObjectState": crate::instance::OBJECT_STATE,
                "CfnSignal": crate::instance::CFN_SIGNAL,
                "SignalResource": id,
                "CertificatesScript": include_str!("../../scripts/document_store/certificates.sh"),
                "LocalAPI": format!("https://127.0.0.1:{COUCHDB_PORT}"),
                "CloudWatchAgent": crate::instance::CLOUDWATCH_AGENT,
                "AgentPackage": crate::instance::agent_package(),
                "AgentConfig": crate::instance::agent_config(id, &MONITORED_PATHS),
            }),
        ),
        name: if volume == PRIMARY {
            "couchdb-az1"
        } else {
            "couchdb-az2"
        },
        public_ip: false,
    };
    let mut depends_on = vec!["CertWriterInstance".to_owned(), "CouchDBPolicy".to_owned()];
    depends_on.extend(private_egress(o, subnet));
    if id != PRIMARY_NODE {
        // The first node makes the admin password; the replica boots after it and waits for
        // the password to be stored, so the two never make different ones.
        depends_on.push(PRIMARY_NODE.to_owned());
    }
    t.add_resource(
        id,
        json!({
            "Type": "AWS::EC2::Instance",
            "DependsOn": depends_on,
            // The node signals once its volume is free (a replacement's predecessor stopped and
            // detached), and only then does CloudFormation create its attachment.
            "CreationPolicy": { "ResourceSignal": { "Count": 1, "Timeout": format!("PT{TAKE_OVER_SIGNAL_MINUTES}M") } },
            "Properties": node.properties(o, key_arn(o))
        }),
    );
    // Attached by its own resource, not the instance's `Volumes`: the volume is not part of the
    // instance's definition, and the boot script waits for the device to appear.
    t.add_resource(
        &attachment(volume),
        resource(
            "AWS::EC2::VolumeAttachment",
            json!({ "InstanceId": ref_(id), "VolumeId": ref_(volume), "Device": "/dev/sdh" }),
        ),
    );
}
