//! The developer bastion (`--dev`, `--force-bastion`): SSH open to the world. It breaches
//! HIPAA with live patient data, which the Description and stack-gen's stderr say.

use serde_json::json;

use crate::cfn::{ref_, resource, security_group};
use crate::instance::{Instance, Os};
use crate::options::Options;
use crate::template::Template;

pub fn add(t: &mut Template, o: &Options) {
    t.add_resource(
        "SSHSecurityGroup",
        security_group(
            "Developer bastion: SSH from anywhere (--dev / --force-bastion only)",
            "bastion",
        ),
    );
    t.add_resource(
        "SSHSGIngress",
        resource(
            "AWS::EC2::SecurityGroupIngress",
            json!({
                "GroupId": ref_("SSHSecurityGroup"),
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "CidrIp": "0.0.0.0/0",
                "Description": "SSH from anywhere to the developer bastion: not HIPAA-safe, testing only"
            }),
        ),
    );
    let bastion = Instance {
        os: Os::AmazonLinux2023,
        instance_type: "t4g.micro",
        subnet: "PublicSubnet2",
        security_group: "SSHSecurityGroup",
        profile: None,
        user_data: crate::cfn::sub(include_str!("../../scripts/bastion/user-data.sh")),
        name: "developer-bastion",
        public_ip: true,
    };
    t.add_resource(
        "DeveloperBastion",
        json!({ "Type": "AWS::EC2::Instance", "DependsOn": "igAttach", "Properties": bastion.properties(o, crate::stack::key_arn(o)) }),
    );
}
