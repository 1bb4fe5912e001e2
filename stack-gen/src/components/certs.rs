//! Certificates: a short-lived instance makes the stack's private CA and the certificates of
//! the application servers and CouchDB, stores them SSE-KMS under `CA/` in the stack bucket,
//! signals and shuts down. The original's `EBCert`/`CertGrabberFunction` (the certificate
//! body for the Classic Load Balancer's backend authentication) are gone with that balancer:
//! an Application Load Balancer has no such policy (docs/endpoint.md).

use serde_json::json;

use crate::cfn::{allow, sub_with};
use crate::components::network::private_egress;
use crate::instance::{Instance, Os, add_instance_role};
use crate::options::Options;
use crate::stack::{ZONE, bucket, bucket_arn, bucket_objects, key_arn, list_bucket};
use crate::template::Template;

/// The stack CA's certificate: its presence means the CA exists.
pub use stack_contract::bucket::CA_CERT_KEY;
/// The CA's private key: read only by the writer, to reissue a server certificate.
const CA_KEY: &str = "CA/keys/ca.key";
/// CouchDB's certificate (its TLS port).
pub const COUCH_CERT_KEY: &str = "CA/certs/couch.crt";
/// The application servers' certificate (their HTTPS, behind the load balancer).
pub const BEANSTALK_CERT_KEY: &str = "CA/certs/beanstalk.crt";
/// The application servers' private key, where the web tier may read it: not under `CA/keys/`.
pub const WEB_TIER_KEY: &str = "CA/web/beanstalk.key";
/// Where the writer first stored that key (with the CA's): the source of its one-time copy to
/// [`WEB_TIER_KEY`] in a stack made before the key had its own place.
const WEB_TIER_KEY_ORIGINAL: &str = "CA/keys/beanstalk.key";

pub fn add(t: &mut Template, o: &Options) {
    // A replacement writer finds the CA already there (HeadObject: GetObject, and ListBucket
    // so that a first boot sees 404, not 403) and leaves it alone, but for the one-time copy
    // of the web tier's key (a read of the original, Decrypt for the copy) and the reissue of
    // a server certificate without the names its clients use (it reads the certificates, and
    // the CA's key to sign).
    let mut statements = list_bucket(bucket_arn(), &["CA/*"]);
    statements.extend([
        allow(
            &["s3:GetObject"],
            json!([
                bucket_objects(CA_CERT_KEY),
                bucket_objects(CA_KEY),
                bucket_objects(BEANSTALK_CERT_KEY),
                bucket_objects(COUCH_CERT_KEY),
                bucket_objects(WEB_TIER_KEY),
                bucket_objects(WEB_TIER_KEY_ORIGINAL)
            ]),
        ),
        allow(&["s3:PutObject"], json!([bucket_objects("CA/*")])),
        allow(
            &["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
            json!([key_arn(o)]),
        ),
    ]);
    add_instance_role(
        t,
        "CertWriterRole",
        "CertWriterPolicy",
        "CertWriterInstanceProfile",
        statements,
    );
    crate::instance::add_launch_templates(t);
    let script = sub_with(
        include_str!("../../scripts/certs/cert-writer.sh"),
        json!({
            "Bucket": bucket(),
            "KeyArn": key_arn(o),
            "CaCertKey": CA_CERT_KEY,
            "WebTierKey": WEB_TIER_KEY,
            "Zone": ZONE
        }),
    );
    crate::instance::add_one_shot_launch_template(
        t,
        "CertWriterLaunchTemplate",
        Os::AmazonLinux2023,
        script.clone(),
    );
    let writer = Instance {
        os: Os::AmazonLinux2023,
        instance_type: "t4g.micro",
        subnet: "PrivateSubnet1",
        security_group: "ApplicationSecurityGroup",
        profile: Some("CertWriterInstanceProfile"),
        user_data: script,
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
            "Properties": writer.one_shot_properties(o, key_arn(o), "CertWriterLaunchTemplate")
        }),
    );
}
