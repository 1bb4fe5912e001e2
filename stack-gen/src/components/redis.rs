//! Redis: OpenEMR's session store. Encrypted at rest and in transit: TLS is required unless the
//! administrator relaxes it to "preferred" for a bundle whose session handler cannot speak TLS
//! yet (README, "The application bundle"); the switch is an in-place change either way.
//! A replication group in every stack (the original's single-AZ CacheCluster cannot encrypt
//! at rest): one node, or two with automatic fail-over in `--dual-az`. It has a logical ID of
//! its own, [`REPLICATION_GROUP`]: CloudFormation refuses an update that changes the type of a
//! logical ID, so a stack made by the original keeps its `RedisCluster` (CacheCluster) until
//! the update removes it, and gets this group beside it (sessions only: users log in again).

use serde_json::json;

use crate::cfn::{get_att, ingress_from_group, ref_, resource, security_group};
use crate::options::Options;
use crate::stack::dns_record;
use crate::stack::{ZONE, key_arn};
use crate::template::Template;

/// Logical ID of the replication group (not the original's `RedisCluster`, a CacheCluster).
pub const REPLICATION_GROUP: &str = "RedisReplicationGroup";

/// The parameter that makes Redis refuse plain connections.
pub const REQUIRE_TLS_PARAMETER: &str = "RedisRequireTLS";

pub fn add(t: &mut Template, o: &Options) {
    t.add_switch(
        REQUIRE_TLS_PARAMETER,
        "RedisRequiresTLS",
        "true: Redis accepts TLS connections only (TransitEncryptionMode required); the bundle's session handler must use tls:// (README, \"The application bundle\"). false: TLS preferred, plain connections accepted too.",
    );
    t.add_resource(
        "RedisSecurityGroup",
        security_group("OpenEMR session store (Redis)", "redis"),
    );
    t.add_resource(
        "RedisSGIngress",
        ingress_from_group(
            "RedisSecurityGroup",
            6379,
            "ApplicationSecurityGroup",
            "Redis from the application servers",
        ),
    );
    t.add_resource(
        "RedisSubnets",
        resource(
            "AWS::ElastiCache::SubnetGroup",
            json!({ "Description": "OpenEMR Redis private subnets", "SubnetIds": [ref_("PrivateSubnet1"), ref_("PrivateSubnet2")] }),
        ),
    );
    t.add_resource(
        REPLICATION_GROUP,
        json!({
            "Type": "AWS::ElastiCache::ReplicationGroup",
            // Sessions only: nothing to keep when it goes.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "ReplicationGroupDescription": "OpenEMR sessions",
                "Engine": "redis",
                "EngineVersion": "7.1",
                "CacheNodeType": "cache.t4g.micro",
                "NumCacheClusters": if o.dual_az { 2 } else { 1 },
                "AutomaticFailoverEnabled": o.dual_az,
                "MultiAZEnabled": o.dual_az,
                "CacheSubnetGroupName": ref_("RedisSubnets"),
                "SecurityGroupIds": [ref_("RedisSecurityGroup")],
                "AtRestEncryptionEnabled": true,
                "KmsKeyId": key_arn(o),
                "TransitEncryptionEnabled": true,
                "TransitEncryptionMode": crate::cfn::if_("RedisRequiresTLS", json!("required"), json!("preferred")),
                "AutoMinorVersionUpgrade": true
            }
        }),
    );
    t.add_resource(
        "DNSRedis",
        dns_record(
            &format!("redis.{ZONE}"),
            "CNAME",
            get_att(REPLICATION_GROUP, "PrimaryEndPoint.Address"),
        ),
    );
}
