//! The data readers: the fingerprint recorder (source stack, nightly) and the verifier (drill
//! stack), one deployment shape in the private subnets with EFS through their access point.

use serde_json::{Value, json};
use stack_contract::restore_drill::{
    FINGERPRINT_KEY, TASK, TASK_RECORD_FINGERPRINT, VERIFIER_OUTPUT, VERIFIER_SUFFIX, data,
};

use super::names::*;
use crate::cfn::{allow, get_att, ingress_from_group, ref_, resource, security_group, sub};
use crate::components::document_store::{ADMIN_PASSWORD_KEY, COUCHDB_PORT};
use crate::lambda::{RustFunction, Schedule, add_function, add_role, add_schedule};
use crate::options::Options;
use crate::stack::{DATA_SECURITY_GROUP, ZONE, drill_resource_name, key_arn};
use crate::template::Template;
/// The recorder's and the verifier's deployment: the same zip in the stack's private subnets,
/// allowed into the database, CouchDB and EFS, mounting EFS read-only through an access point.
pub(super) struct DataReader<'a> {
    id: &'a str,
    role: &'a str,
    description: &'a str,
    environment: Value,
    /// Statements besides the shared ones (the recorder's fingerprint write).
    statements: Vec<Value>,
}

pub(super) fn add_data_reader_network(t: &mut Template, o: &Options) {
    t.add_resource(
        DATA_SECURITY_GROUP,
        security_group(
            if o.drill {
                "OpenEMR drill verifier (Lambda): reads the restored database, CouchDB and EFS, asks the load balancer for the login page"
            } else {
                "OpenEMR fingerprint recorder (Lambda): reads the database, CouchDB and EFS"
            },
            "data-reader",
        ),
    );
    t.add_resource(
        "DBDataReaderIngress",
        ingress_from_group(
            "DBSecurityGroup",
            3306,
            DATA_SECURITY_GROUP,
            "MySQL from the fingerprint recorder / drill verifier (counts only)",
        ),
    );
    if o.document_store() {
        t.add_resource(
            "CouchDBDataReaderIngress",
            ingress_from_group(
                "CouchDBSecurityGroup",
                COUCHDB_PORT,
                DATA_SECURITY_GROUP,
                "CouchDB (TLS) from the fingerprint recorder / drill verifier (counts only)",
            ),
        );
    }
    t.add_resource(
        "EFSDataReaderIngress",
        ingress_from_group(
            "EFSSecurityGroup",
            2049,
            DATA_SECURITY_GROUP,
            "NFS from the fingerprint recorder / drill verifier (read-only mount)",
        ),
    );
    t.add_resource(
        ACCESS_POINT,
        resource(
            "AWS::EFS::AccessPoint",
            json!({
                "FileSystemId": ref_("ElasticFileSystem"),
                // Root, to read every file of the site whatever its owner; read-only through
                // IAM (ClientMount without ClientWrite).
                "PosixUser": { "Uid": "0", "Gid": "0" },
                "RootDirectory": { "Path": "/" },
                "AccessPointTags": [crate::cfn::name_tag("data-reader")]
            }),
        ),
    );
}

pub(super) fn data_reader_statements(o: &Options) -> Vec<Value> {
    use crate::components::certs::CA_CERT_KEY;
    let mut objects = vec![
        crate::stack::bucket_objects(stack_contract::bucket::MANIFEST_KEY),
        crate::stack::bucket_objects(CA_CERT_KEY),
    ];
    if o.document_store() {
        objects.push(crate::stack::bucket_objects(ADMIN_PASSWORD_KEY));
    }
    vec![
        allow(&["s3:GetObject"], json!(objects)),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn(o)],
            "Condition": { "StringEquals": { "kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com") } }
        }),
        // Lambda mounts EFS with the function's role: read-only (no ClientWrite), as root
        // (the access point's user), through the access point only.
        json!({
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"],
            "Resource": [get_att("ElasticFileSystem", "Arn")],
            "Condition": { "StringEquals": { "elasticfilesystem:AccessPointArn": get_att(ACCESS_POINT, "Arn") } }
        }),
        // AWSLambdaVPCAccessExecutionRole's network-interface actions, in its form: on "*"
        // without conditions. Lambda checks them with the execution role when it creates the
        // function, with no subnet, VPC or interface in the request; a statement scoped to
        // ARNs or by `ec2:Vpc` fails that check (tests/lambda_create.rs).
        allow(
            &[
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            json!(["*"]),
        ),
    ]
}

pub(super) fn data_environment(o: &Options) -> Value {
    let mut env = json!({
        (data::STACK_NAME): ref_("AWS::StackName"),
        (data::BUCKET): crate::stack::bucket(),
        (data::KMS_KEY_ARN): key_arn(o),
        (data::DB_HOST): get_att(crate::components::database::DB_INSTANCE, "Endpoint.Address"),
        (data::DB_PORT): get_att(crate::components::database::DB_INSTANCE, "Endpoint.Port"),
        (data::DB_TLS): ref_(crate::components::database::REQUIRE_TLS_PARAMETER),
        (data::EFS_MOUNT): data::DEFAULT_EFS_MOUNT,
    });
    if o.document_store() {
        env[data::COUCHDB_URL] = json!(format!("https://couchdb.{ZONE}:{COUCHDB_PORT}"));
    }
    env
}

pub(super) fn add_data_reader(t: &mut Template, o: &Options, r: DataReader) {
    let mut statements = data_reader_statements(o);
    statements.extend(r.statements);
    add_role(t, r.role, r.id, statements);
    add_function(
        t,
        RustFunction {
            id: r.id,
            code: "RestoreDrill",
            role: r.role,
            description: r.description,
            environment: r.environment,
            timeout_seconds: DATA_READER_TIMEOUT,
            memory_mb: 512,
            reserved_concurrency: 1,
        },
    );
    let mut depends_on: Vec<Value> = crate::components::efs::MOUNT_TARGETS
        .iter()
        .map(|id| json!(id))
        .collect();
    for subnet in ["PrivateSubnet1", "PrivateSubnet2"] {
        for id in crate::components::network::private_egress(o, subnet) {
            if !depends_on.contains(&json!(id)) {
                depends_on.push(json!(id));
            }
        }
    }
    let function = t.resource_mut(r.id).expect("just added");
    function["DependsOn"] = json!(depends_on);
    let p = &mut function["Properties"];
    p["VpcConfig"] = json!({
        "SubnetIds": [ref_("PrivateSubnet1"), ref_("PrivateSubnet2")],
        "SecurityGroupIds": [ref_(DATA_SECURITY_GROUP)]
    });
    p["FileSystemConfigs"] =
        json!([{ "Arn": get_att(ACCESS_POINT, "Arn"), "LocalMountPath": data::DEFAULT_EFS_MOUNT }]);
}

pub(super) fn add_recorder(t: &mut Template, o: &Options) {
    add_data_reader_network(t, o);
    add_data_reader(
        t,
        o,
        DataReader {
            id: RECORDER,
            role: RECORDER_ROLE,
            description: "Records the restore drill's fingerprint every night: row counts of the main tables, CouchDB document counts, EFS file count and bytes (no patient data)",
            environment: data_environment(o),
            statements: vec![
                allow(
                    &["s3:PutObject"],
                    json!([crate::stack::bucket_objects(FINGERPRINT_KEY)]),
                ),
                // Its invoke configuration's on-failure destination: Lambda checks at create
                // that the role may publish there (tests/lambda_create.rs).
                allow(&["sns:Publish"], json!([ref_(crate::stack::ALERT_TOPIC)])),
            ],
        },
    );
    add_schedule(
        t,
        Schedule {
            rule: RECORDER_SCHEDULE,
            permission: "FingerprintRecorderSchedulePermission",
            invoke_config: "FingerprintRecorderInvokeConfig",
            function: RECORDER,
            description: "Records the restore drill's fingerprint in the nightly backup window (BackupHour, UTC)",
            expression: crate::components::backup_schedule::fingerprint_schedule(),
            target: "FingerprintRecorder",
            max_retries: 1,
        },
    );
    let rule = t.resource_mut(RECORDER_SCHEDULE).expect("just added");
    rule["Properties"]["Targets"][0]["Input"] =
        json!(json!({ (TASK): TASK_RECORD_FINGERPRINT }).to_string());
}

pub(super) fn add_verifier(t: &mut Template, o: &Options) {
    add_data_reader_network(t, o);
    let mut environment = data_environment(o);
    environment[data::APPLICATION_URL] = crate::components::application::drill_application_url();
    add_data_reader(
        t,
        o,
        DataReader {
            id: VERIFIER,
            role: VERIFIER_ROLE,
            description: "Verifies the restore drill from inside its stack: the login page answers, and the database, CouchDB and EFS match the source's fingerprint",
            environment,
            statements: vec![],
        },
    );
    let function = t.resource_mut(VERIFIER).expect("just added");
    function["Properties"]["FunctionName"] =
        drill_resource_name(Some(VERIFIER_SUFFIX.trim_start_matches('-')));
    t.add_output(
        VERIFIER_OUTPUT,
        json!({ "Description": "The drill's verifier function (the state machine invokes it by name)", "Value": ref_(VERIFIER) }),
    );
    t.add_output(
        stack_contract::restore_drill::APPLICATION_URL_OUTPUT,
        json!({ "Description": "OpenEMR's login page inside the drill network (internal load balancer, plain HTTP)", "Value": crate::components::application::drill_application_url() }),
    );
}
