//! Network: the VPC, two public and two private subnets in two availability zones, the
//! internet gateway, and NAT (one gateway, or one per AZ with `--dual-az`).

use serde_json::json;

use crate::cfn::{az, name_tag, ref_, resource};
use crate::options::Options;
use crate::template::Template;

pub const VPC_CIDR: &str = "10.0.0.0/16";

pub fn add(t: &mut Template, o: &Options) {
    t.add_resource(
        "VPC",
        resource(
            "AWS::EC2::VPC",
            json!({
                "CidrBlock": VPC_CIDR,
                "EnableDnsSupport": true,
                "EnableDnsHostnames": true,
                "Tags": [name_tag("vpc")]
            }),
        ),
    );
    // The original's CIDRs, subnet by subnet: a subnet whose CIDR changes is replaced, and
    // its replacement is created while the old one (or the one holding that CIDR) still exists.
    for (id, cidr, zone) in [
        ("PublicSubnet1", "10.0.1.0/24", 0),
        ("PublicSubnet2", "10.0.3.0/24", 1),
        ("PrivateSubnet1", "10.0.2.0/24", 0),
        ("PrivateSubnet2", "10.0.4.0/24", 1),
    ] {
        t.add_resource(
            id,
            resource(
                "AWS::EC2::Subnet",
                json!({
                    "VpcId": ref_("VPC"),
                    "CidrBlock": cidr,
                    "AvailabilityZone": az(zone),
                    // Nothing gets a public address by accident; the bastion asks for one.
                    "MapPublicIpOnLaunch": false,
                    "Tags": [name_tag(&id.to_lowercase())]
                }),
            ),
        );
    }
    t.add_resource(
        "ig",
        resource(
            "AWS::EC2::InternetGateway",
            json!({ "Tags": [name_tag("igw")] }),
        ),
    );
    t.add_resource(
        "igAttach",
        resource(
            "AWS::EC2::VPCGatewayAttachment",
            json!({ "VpcId": ref_("VPC"), "InternetGatewayId": ref_("ig") }),
        ),
    );
    t.add_resource("rtTablePublic", route_table("public"));
    t.add_resource(
        "rtPublic",
        json!({
            "Type": "AWS::EC2::Route",
            "DependsOn": "igAttach",
            "Properties": { "RouteTableId": ref_("rtTablePublic"), "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": ref_("ig") }
        }),
    );
    t.add_resource(
        "rtPublic1Attach",
        association("PublicSubnet1", "rtTablePublic"),
    );
    t.add_resource(
        "rtPublic2Attach",
        association("PublicSubnet2", "rtTablePublic"),
    );

    if o.dual_az {
        for n in ["1", "2"] {
            add_nat(
                t,
                &format!("natIp{n}"),
                &format!("nat{n}"),
                &format!("PublicSubnet{n}"),
            );
            let table = format!("rtTablePrivate{n}");
            t.add_resource(&table, route_table(&format!("private{n}")));
            t.add_resource(
                &format!("rtPrivate{n}"),
                nat_route(&table, &format!("nat{n}")),
            );
        }
        t.add_resource(
            "rtPrivate1Attach",
            association("PrivateSubnet1", "rtTablePrivate1"),
        );
        t.add_resource(
            "rtPrivate2Attach",
            association("PrivateSubnet2", "rtTablePrivate2"),
        );
    } else {
        add_nat(t, "natIp", "nat", "PublicSubnet1");
        t.add_resource("rtTablePrivate", route_table("private"));
        t.add_resource("rtPrivate", nat_route("rtTablePrivate", "nat"));
        t.add_resource(
            "rtPrivate1Attach",
            association("PrivateSubnet1", "rtTablePrivate"),
        );
        t.add_resource(
            "rtPrivate2Attach",
            association("PrivateSubnet2", "rtTablePrivate"),
        );
    }
}

fn route_table(name: &str) -> serde_json::Value {
    resource(
        "AWS::EC2::RouteTable",
        json!({ "VpcId": ref_("VPC"), "Tags": [name_tag(&format!("rt-{name}"))] }),
    )
}

fn association(subnet: &str, table: &str) -> serde_json::Value {
    resource(
        "AWS::EC2::SubnetRouteTableAssociation",
        json!({ "SubnetId": ref_(subnet), "RouteTableId": ref_(table) }),
    )
}

fn add_nat(t: &mut Template, ip: &str, nat: &str, subnet: &str) {
    t.add_resource(
        ip,
        json!({ "Type": "AWS::EC2::EIP", "DependsOn": "igAttach", "Properties": { "Domain": "vpc", "Tags": [name_tag(nat)] } }),
    );
    t.add_resource(
        nat,
        resource(
            "AWS::EC2::NatGateway",
            json!({ "AllocationId": crate::cfn::get_att(ip, "AllocationId"), "SubnetId": ref_(subnet), "Tags": [name_tag(nat)] }),
        ),
    );
}

fn nat_route(table: &str, nat: &str) -> serde_json::Value {
    resource(
        "AWS::EC2::Route",
        json!({ "RouteTableId": ref_(table), "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": ref_(nat) }),
    )
}

/// What an instance in `subnet` (`PrivateSubnet1` or `PrivateSubnet2`) must wait for before it
/// boots: its subnet's route table association and the NAT route in that table. Without both,
/// its first apt-get, pip or S3 call finds no way out and the stack waits for a signal that
/// never comes.
pub fn private_egress(o: &Options, subnet: &str) -> Vec<String> {
    let n = subnet
        .strip_prefix("PrivateSubnet")
        .expect("a private subnet");
    let route = if o.dual_az {
        format!("rtPrivate{n}")
    } else {
        "rtPrivate".to_owned()
    };
    vec![route, format!("rtPrivate{n}Attach")]
}
