//! EC2 instances of the stack (certificate writer, NFS backup agent, CouchDB, bastion): images
//! from SSM public parameters resolved at launch (never behind the administrator's back),
//! encrypted root volumes, IMDSv2 only, scripts from `stack-gen/scripts/` filled in with `Fn::Sub`.

use serde_json::{Value, json};

use crate::cfn::{name_tag, ref_};
use crate::options::Options;
use crate::template::Template;

/// The shell function the scripts that keep a secret use to tell an absent object from a
/// failed read (a whole-line `${ObjectState}` in those scripts).
pub const OBJECT_STATE: &str = include_str!("../scripts/lib/object-state.sh");

/// The shell function that installs and configures the CloudWatch agent (a whole-line
/// `${CloudWatchAgent}` in the Ubuntu instances' scripts).
pub const CLOUDWATCH_AGENT: &str = include_str!("../scripts/lib/cloudwatch-agent.sh");

/// The shell functions that install cfn-signal and signal a CreationPolicy (a whole-line
/// `${CfnSignal}` in the Ubuntu instances' scripts whose resource waits for a signal).
pub const CFN_SIGNAL: &str = include_str!("../scripts/lib/cfn-signal.sh");

/// CloudWatch namespace of what the instances' agents publish (disk use), the only one their
/// roles may publish to (`cloudwatch:namespace`), and the one the disk alarms read.
pub const METRICS_NAMESPACE: &str = "OpenEMR/Instances";

/// The agent's disk metric: used space of one mount point, in percent.
pub const DISK_USED_METRIC: &str = "disk_used_percent";

/// The dimensions of [`DISK_USED_METRIC`]: the stack's name, the instance's logical ID (both
/// stable when an instance is replaced, unlike its id) and the mount point.
pub const STACK_DIMENSION: &str = "Stack";
pub const NODE_DIMENSION: &str = "Node";
pub const PATH_DIMENSION: &str = "path";

/// Where an Ubuntu instance downloads the agent: AWS's bucket in the stack's region.
pub fn agent_package() -> Value {
    crate::cfn::sub(
        "https://amazoncloudwatch-agent-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb",
    )
}

/// The agent's configuration for instance `node` (its logical ID): the used percentage of each
/// of `paths`, every minute, under [`METRICS_NAMESPACE`] with exactly the dimensions Stack,
/// Node and path (what the alarms name). The agent's disk metric also carries `fstype` (and
/// `device`, dropped here), which would tie the alarms to the file system type: the metric is
/// published rolled up on Stack, Node and path instead, without the original.
pub fn agent_config(node: &str, paths: &[&str]) -> Value {
    let config = json!({
        "agent": { "metrics_collection_interval": 60, "omit_hostname": true },
        "metrics": {
            "namespace": METRICS_NAMESPACE,
            "aggregation_dimensions": [[STACK_DIMENSION, NODE_DIMENSION, PATH_DIMENSION]],
            "metrics_collected": {
                "disk": {
                    "resources": paths,
                    "measurement": ["used_percent"],
                    "drop_device": true,
                    "append_dimensions": { STACK_DIMENSION: "${AWS::StackName}", NODE_DIMENSION: node },
                    "drop_original_metrics": [DISK_USED_METRIC]
                }
            }
        }
    });
    crate::cfn::sub(&config.to_string())
}

/// What an instance's agent needs: PutMetricData (which has no resource-level permissions)
/// into [`METRICS_NAMESPACE`] only.
pub fn put_metrics_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Action": ["cloudwatch:PutMetricData"],
        "Resource": ["*"],
        "Condition": { "StringEquals": { "cloudwatch:namespace": METRICS_NAMESPACE } }
    })
}

/// The operating systems the stack's instances run, each with its image parameter and launch
/// template.
#[derive(Clone, Copy)]
pub enum Os {
    /// Amazon Linux 2023 (arm64): certificate writer, bastion.
    AmazonLinux2023,
    /// Ubuntu 24.04 LTS (amd64): NFS backup agent (duplicity), CouchDB.
    Ubuntu2404,
}

impl Os {
    pub const ALL: [Os; 2] = [Os::AmazonLinux2023, Os::Ubuntu2404];

    /// The parameter naming the image.
    pub fn image_parameter(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => "AmazonLinuxImage",
            Os::Ubuntu2404 => "UbuntuImage",
        }
    }

    /// The launch template every instance of this OS starts from.
    pub fn launch_template(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => "AmazonLinuxLaunchTemplate",
            Os::Ubuntu2404 => "UbuntuLaunchTemplate",
        }
    }

    /// AWS's public SSM parameter of the current image.
    fn public_parameter(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => {
                "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
            }
            Os::Ubuntu2404 => {
                "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
            }
        }
    }

    fn description(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => {
                "Amazon Linux 2023 (arm64) image of the certificate writer and the bastion"
            }
            Os::Ubuntu2404 => "Ubuntu 24.04 (amd64) image of the NFS backup agent and CouchDB",
        }
    }

    fn root_device(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => "/dev/xvda",
            Os::Ubuntu2404 => "/dev/sda1",
        }
    }
}

/// Adds the image parameters: the name of the SSM parameter holding each image id (AWS's
/// public one by default, `name:version` to pin one). The launch templates hand it to EC2 as
/// `resolve:ssm:<name>`, which EC2 resolves when it launches an instance, not CloudFormation
/// at every stack update (as it does for `AWS::SSM::Parameter::Value<...>` parameters, where a
/// newly published image replaces every instance on an unrelated update). So the images
/// change only when the administrator changes these values (README: images and stack updates).
pub fn add_image_parameters(t: &mut Template) {
    for os in Os::ALL {
        t.add_parameter(
            os.image_parameter(),
            json!({
                "Type": "String",
                "Default": os.public_parameter(),
                "AllowedPattern": "^/[a-zA-Z0-9_./-]+(:[0-9]+)?$",
                "ConstraintDescription": "an SSM parameter name holding an AMI id, optionally :<version>",
                "Description": format!("{}: SSM parameter name (optionally :version) of the image, resolved when an instance launches. Changing it replaces those instances.", os.description())
            }),
        );
    }
}

/// The launch templates the instances start from, one per OS: the image (see
/// [`add_image_parameters`]) and IMDSv2 only (AWS::EC2::Instance has no metadata options).
pub fn add_launch_templates(t: &mut Template) {
    for os in Os::ALL {
        t.add_resource(
            os.launch_template(),
            crate::cfn::resource(
                "AWS::EC2::LaunchTemplate",
                json!({
                    "LaunchTemplateData": {
                        "ImageId": crate::cfn::sub(&format!("resolve:ssm:${{{}}}", os.image_parameter())),
                        "MetadataOptions": { "HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled" }
                    }
                }),
            ),
        );
    }
}

/// One EC2 instance of the stack.
pub struct Instance<'a> {
    pub os: Os,
    pub instance_type: &'a str,
    pub subnet: &'a str,
    pub security_group: &'a str,
    /// Logical ID of the instance profile, if the instance calls AWS.
    pub profile: Option<&'a str>,
    /// The boot script, already an `Fn::Sub` (or `Fn::Join` of them).
    pub user_data: Value,
    /// `Name` tag suffix.
    pub name: &'a str,
    /// Ask for a public address (the bastion only).
    pub public_ip: bool,
}

impl Instance<'_> {
    /// The instance's resource JSON (`Properties` only, wrapped by the caller when it needs
    /// DependsOn or a CreationPolicy).
    pub fn properties(&self, o: &Options, key_arn: Value) -> Value {
        let mut p = json!({
            "InstanceType": self.instance_type,
            "KeyName": ref_("EC2KeyPair"),
            "IamInstanceProfile": self.profile.map_or(Value::Null, ref_),
            "InstanceInitiatedShutdownBehavior": if o.dev { "stop" } else { "terminate" },
            // No ImageId: the launch template's, resolved by EC2 at launch.
            "LaunchTemplate": { "LaunchTemplateId": ref_(self.os.launch_template()), "Version": crate::cfn::get_att(self.os.launch_template(), "LatestVersionNumber") },
            "BlockDeviceMappings": [{
                "DeviceName": self.os.root_device(),
                "Ebs": { "VolumeType": "gp3", "VolumeSize": 16, "Encrypted": true, "KmsKeyId": key_arn, "DeleteOnTermination": true }
            }],
            "UserData": { "Fn::Base64": self.user_data },
            "Tags": [name_tag(self.name)]
        });
        if self.public_ip {
            p["NetworkInterfaces"] = json!([{
                "DeviceIndex": "0",
                "AssociatePublicIpAddress": true,
                "SubnetId": ref_(self.subnet),
                "GroupSet": [ref_(self.security_group)]
            }]);
        } else {
            p["SubnetId"] = ref_(self.subnet);
            p["SecurityGroupIds"] = json!([ref_(self.security_group)]);
        }
        if self.profile.is_none() {
            p.as_object_mut()
                .expect("object")
                .remove("IamInstanceProfile");
        }
        p
    }
}

impl Instance<'_> {
    /// The properties of a one-shot instance (it does its work at first boot and terminates):
    /// its boot script lives in its own launch template ([`add_one_shot_launch_template`]), not
    /// in `UserData`. CloudFormation updates a changed `UserData` in place, which fails on an
    /// instance that terminated long ago; a changed launch template version replaces the
    /// instance instead: a new one boots with the new script.
    pub fn one_shot_properties(&self, o: &Options, key_arn: Value, launch_template: &str) -> Value {
        let mut p = self.properties(o, key_arn);
        let p_map = p.as_object_mut().expect("object");
        p_map.remove("UserData");
        p_map.insert(
            "LaunchTemplate".into(),
            json!({ "LaunchTemplateId": ref_(launch_template), "Version": crate::cfn::get_att(launch_template, "LatestVersionNumber") }),
        );
        p
    }
}

/// The launch template of a one-shot instance: its OS's (image resolved at launch, IMDSv2
/// only) plus the boot script.
pub fn add_one_shot_launch_template(t: &mut Template, id: &str, os: Os, user_data: Value) {
    t.add_resource(
        id,
        crate::cfn::resource(
            "AWS::EC2::LaunchTemplate",
            json!({
                "LaunchTemplateData": {
                    "ImageId": crate::cfn::sub(&format!("resolve:ssm:${{{}}}", os.image_parameter())),
                    "MetadataOptions": { "HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled" },
                    "UserData": { "Fn::Base64": user_data }
                }
            }),
        ),
    );
}

/// An EC2 role (`role`), its managed policy (`policy`, with `statements`) and the instance
/// profile (`profile`) — the original's three-resource shape, kept for its logical IDs.
pub fn add_instance_role(
    t: &mut Template,
    role: &str,
    policy: &str,
    profile: &str,
    statements: Vec<Value>,
) {
    use crate::cfn::{assume_role_policy, policy_document, resource};
    t.add_resource(
        role,
        resource(
            "AWS::IAM::Role",
            json!({ "AssumeRolePolicyDocument": assume_role_policy("ec2.amazonaws.com") }),
        ),
    );
    t.add_resource(
        policy,
        resource(
            "AWS::IAM::ManagedPolicy",
            json!({ "Description": format!("What {role}'s instance may do"), "PolicyDocument": policy_document(statements), "Roles": [ref_(role)] }),
        ),
    );
    t.add_resource(
        profile,
        resource(
            "AWS::IAM::InstanceProfile",
            json!({ "Roles": [ref_(role)] }),
        ),
    );
}
