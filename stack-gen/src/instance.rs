//! EC2 instances of the stack (certificate writer, NFS backup agent, CouchDB, bastion): current
//! AMIs from SSM public parameters, encrypted root volumes, IMDSv2 only, scripts from
//! `stack-gen/scripts/` filled in with `Fn::Sub`.

use serde_json::{Value, json};

use crate::cfn::{name_tag, ref_};
use crate::options::Options;
use crate::template::Template;

/// The operating systems the stack's instances run, each an AMI parameter resolved by SSM.
#[derive(Clone, Copy)]
pub enum Os {
    /// Amazon Linux 2023 (arm64): certificate writer, bastion.
    AmazonLinux2023,
    /// Ubuntu 24.04 LTS (amd64): NFS backup agent (duplicity), CouchDB.
    Ubuntu2404,
}

impl Os {
    fn parameter(self) -> &'static str {
        match self {
            Os::AmazonLinux2023 => "AmazonLinuxAMI",
            Os::Ubuntu2404 => "UbuntuAMI",
        }
    }
}

/// Adds the two AMI parameters (SSM public parameters: always the current image).
pub fn add_ami_parameters(t: &mut Template) {
    t.add_parameter(
        "AmazonLinuxAMI",
        json!({
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
            "Description": "SSM public parameter of the Amazon Linux 2023 (arm64) image for the certificate writer and the bastion."
        }),
    );
    t.add_parameter(
        "UbuntuAMI",
        json!({
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
            "Description": "SSM public parameter of the Ubuntu 24.04 (amd64) image for the NFS backup agent and CouchDB."
        }),
    );
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
            "ImageId": ref_(self.os.parameter()),
            "InstanceType": self.instance_type,
            "KeyName": ref_("EC2KeyPair"),
            "IamInstanceProfile": self.profile.map_or(Value::Null, ref_),
            "InstanceInitiatedShutdownBehavior": if o.dev { "stop" } else { "terminate" },
            "LaunchTemplate": { "LaunchTemplateId": ref_("InstanceLaunchTemplate"), "Version": crate::cfn::get_att("InstanceLaunchTemplate", "LatestVersionNumber") },
            "BlockDeviceMappings": [{
                "DeviceName": match self.os { Os::AmazonLinux2023 => "/dev/xvda", Os::Ubuntu2404 => "/dev/sda1" },
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

/// The launch template every instance starts from: IMDSv2 only (AWS::EC2::Instance has no
/// metadata options of its own).
pub fn add_launch_template(t: &mut Template) {
    t.add_resource(
        "InstanceLaunchTemplate",
        crate::cfn::resource(
            "AWS::EC2::LaunchTemplate",
            json!({
                "LaunchTemplateData": {
                    "MetadataOptions": { "HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled" }
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
