//! Certificates: a short-lived instance makes the stack's private CA and the certificates of
//! the application servers and CouchDB, stores them SSE-KMS under `CA/` in the stack bucket,
//! signals and shuts down. `EBCert` (the cert-reader Lambda) then reads the application
//! certificate through the SDK for the load balancer's backend authentication — no public ACL.

use serde_json::json;
use stack_contract::bucket::BEANSTALK_CERT_KEY;
use stack_contract::cert_reader::properties;

use crate::cfn::{allow, get_att, sub_with};
use crate::components::foundation::{
    ZONE, bucket, bucket_arn, bucket_objects, key_arn, list_bucket,
};
use crate::components::network::private_egress;
use crate::instance::{Instance, Os, add_instance_role};
use crate::lambda::{RustFunction, add_function, add_role};
use crate::options::Options;
use crate::template::Template;

/// The stack CA's certificate: its presence means the CA exists.
pub const CA_CERT_KEY: &str = "CA/certs/ca.crt";

pub fn add(t: &mut Template, o: &Options) {
    // A replacement writer finds the CA already there (HeadObject: GetObject, and ListBucket
    // so that a first boot sees 404, not 403) and leaves it alone.
    let mut statements = list_bucket(bucket_arn(), &["CA/*"]);
    statements.extend([
        allow(&["s3:GetObject"], json!([bucket_objects(CA_CERT_KEY)])),
        allow(&["s3:PutObject"], json!([bucket_objects("CA/*")])),
        allow(&["kms:GenerateDataKey", "kms:Encrypt"], json!([key_arn(o)])),
    ]);
    add_instance_role(
        t,
        "CertWriterRole",
        "CertWriterPolicy",
        "CertWriterInstanceProfile",
        statements,
    );
    crate::instance::add_launch_templates(t);
    let writer = Instance {
        os: Os::AmazonLinux2023,
        instance_type: "t4g.micro",
        subnet: "PrivateSubnet1",
        security_group: "ApplicationSecurityGroup",
        profile: Some("CertWriterInstanceProfile"),
        user_data: sub_with(
            include_str!("../../scripts/certs/cert-writer.sh"),
            json!({ "KeyArn": key_arn(o), "Zone": ZONE }),
        ),
        name: "cert-writer",
        public_ip: false,
    };
    let mut depends_on = private_egress(o, "PrivateSubnet1");
    depends_on.push("CertWriterPolicy".to_owned());
    t.add_resource(
        "CertWriterInstance",
        json!({
            "Type": "AWS::EC2::Instance",
            // Needs its way out (NAT route, subnet association) to reach S3 and CloudFormation.
            "DependsOn": depends_on,
            "CreationPolicy": { "ResourceSignal": { "Count": 1, "Timeout": "PT20M" } },
            "Properties": writer.properties(o, key_arn(o))
        }),
    );
    add_role(
        t,
        "BarebonesLambdaRole",
        "CertGrabberFunction",
        vec![
            allow(
                &["s3:GetObject"],
                json!([bucket_objects(BEANSTALK_CERT_KEY)]),
            ),
            allow(&["kms:Decrypt"], json!([key_arn(o)])),
        ],
    );
    add_function(
        t,
        RustFunction {
            id: "CertGrabberFunction",
            code: "CertReader",
            role: "BarebonesLambdaRole",
            description: "Returns the application servers' certificate body to CloudFormation (EBCert)",
            environment: json!({}),
            timeout_seconds: 30,
            memory_mb: 128,
            reserved_concurrency: 2,
        },
    );
    t.add_resource(
        "EBCert",
        json!({
            "Type": "AWS::CloudFormation::CustomResource",
            "DependsOn": "CertWriterInstance",
            "Properties": {
                "ServiceToken": get_att("CertGrabberFunction", "Arn"),
                properties::BUCKET: bucket(),
                properties::KEY: BEANSTALK_CERT_KEY
            }
        }),
    );
}
