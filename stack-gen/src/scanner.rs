//! The security scanner's accepted findings: every checkov check the stack does not satisfy
//! on purpose, the resources it concerns and why, in one table a reviewer reads at once.
//!
//! [`apply`] writes each suppression into the Metadata of its resources
//! (`Metadata.checkov.skip: [{id, comment}]`, which checkov reads), so the template itself
//! says why. `stack-gen/tests/scan.rs` runs checkov over every combination: a finding not in
//! this table fails it, and so does an entry checkov no longer reports as skipped (stale).
//! docs/scanner.md shows the table by rule ([`markdown`], kept current by
//! `stack-gen/tests/template_sync.rs`).

use serde_json::{Value, json};

use crate::components::database::DB_INSTANCE;
use crate::components::{
    application, backup_checker, document_backups, logs, recovery, restore_drill,
};
use crate::options::Options;
use crate::template::Template;

/// Why a recovery stack's database and document volumes name no encryption.
const RESTORED_ENCRYPTED: &str = "Restored from a snapshot of the source stack's encrypted database or volume, so encrypted with the snapshot's key: CloudFormation's reference says not to specify the encryption properties beside a snapshot (the value is inherited), and the original's recovery stacks named none, so naming them now would replace the restored data on update.";

/// One accepted finding: checkov's `check` on each of `resources`, in the stacks `stacks`.
pub struct Suppression {
    /// checkov's check id, e.g. `CKV_AWS_117`.
    pub check: &'static str,
    /// checkov's name of the check, as it reports it (the scan test compares).
    pub title: &'static str,
    /// Logical IDs. A resource absent from a combination is skipped there.
    pub resources: &'static [&'static str],
    pub stacks: Stacks,
    /// Why the stack does not do what the check asks: the comment in the template.
    pub reason: &'static str,
}

/// Which combinations a suppression is written into (where the check fires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stacks {
    All,
    /// Without `--dual-az`.
    SingleAz,
    /// The stacks clinicians use, not the restore drill's (whose endpoint is internal).
    NotDrill,
    /// The restore drill's stacks only.
    Drill,
    /// Recovery stacks (`--recovery`, the restore drill's among them).
    Recovery,
}

impl Stacks {
    pub fn includes(self, o: &Options) -> bool {
        match self {
            Stacks::All => true,
            Stacks::SingleAz => !o.dual_az,
            Stacks::NotDrill => !o.drill,
            Stacks::Drill => o.drill,
            Stacks::Recovery => o.recovery,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Stacks::All => "every one with the resource",
            Stacks::SingleAz => "single-AZ ones (no `--dual-az`)",
            Stacks::NotDrill => "every one with the resource but the restore drill's",
            Stacks::Drill => "the restore drill's",
            Stacks::Recovery => "recovery ones (`--recovery`, the restore drill's too)",
        }
    }
}

/// Every function of the stack (the document snapshotter only with the document store).
const FUNCTIONS: &[&str] = &[
    logs::KEEPER_FUNCTION,
    application::platform::RESOLVER,
    document_backups::FUNCTION,
    backup_checker::FUNCTION,
    recovery::FUNCTION,
    restore_drill::ORCHESTRATOR,
];

/// Why the drill stack's CloudFormation service role is broad.
const DRILL_STACK_ROLE_REASON: &str = "CloudFormation's service role for the restore drill's stack: it creates and deletes a whole recovery stack (VPC, database, cache, file system, instances, Elastic Beanstalk, which builds its own stack with this role), whose resource ids do not exist before it makes them, so its service actions cannot be scoped by ARN; IAM roles and instance profiles are limited to the drill's names. Only CloudFormation may assume it, only the orchestrator may pass it, only with the drill template. Explicit Deny statements keep it off everything the source stack or its Elastic Beanstalk environment tagged (the environment's `awseb-*` stack included), the source stack, its application, key and database, and every bucket but the drill's own and Elastic Beanstalk's storage (stack-gen/tests/iam_conditions.rs proves each refusal).";

/// The accepted findings, grouped by reason.
pub const SUPPRESSIONS: &[Suppression] = &[
    // The Lambdas talk only to AWS APIs.
    Suppression {
        check: "CKV_AWS_117",
        title: "Ensure that AWS Lambda function is configured inside a VPC",
        resources: FUNCTIONS,
        stacks: Stacks::All,
        reason: "Calls only AWS service APIs (S3, EC2, RDS, SNS, CloudWatch Logs, Elastic Beanstalk) and CloudFormation's pre-signed response URL; it reaches nothing inside the VPC. In the VPC it would need ENIs and the NAT for the same public endpoints, and gain no isolation: its reach is its IAM role.",
    },
    // How a failed invocation is noticed.
    Suppression {
        check: "CKV_AWS_116",
        title: "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
        resources: &[
            document_backups::FUNCTION,
            backup_checker::FUNCTION,
            restore_drill::RECORDER,
        ],
        stacks: Stacks::All,
        reason: "Runs on an EventBridge schedule; its EventInvokeConfig sends every failed invocation (after its retries) to the OperatorAlerts topic as an on-failure destination, the successor of a DLQ that also carries the error. A DLQ as well would report each failure twice.",
    },
    Suppression {
        check: "CKV_AWS_116",
        title: "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
        resources: &[
            recovery::FUNCTION,
            logs::KEEPER_FUNCTION,
            application::platform::RESOLVER,
        ],
        stacks: Stacks::All,
        reason: "A custom resource: CloudFormation invokes it and waits for its answer on the response URL, which the function always sends (also on failure); a failure shows as the stack event and in its log group. A queued event would have no consumer: CloudFormation never replays it.",
    },
    Suppression {
        check: "CKV_AWS_116",
        title: "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
        resources: &[restore_drill::ORCHESTRATOR, restore_drill::VERIFIER],
        stacks: Stacks::All,
        reason: "A step of the restore drill's state machine, which invokes it synchronously: a failure comes back to the state machine, whose Retry and Catch retry it, tear the drill stack down and report it (recovery/drills/ and OperatorAlerts). Nothing is invoked asynchronously, so a DLQ would never receive anything.",
    },
    // What the environment holds.
    Suppression {
        check: "CKV_AWS_173",
        title: "Check encryption settings for Lambda environment variable",
        resources: &[
            document_backups::FUNCTION,
            backup_checker::FUNCTION,
            restore_drill::ORCHESTRATOR,
            restore_drill::RECORDER,
            restore_drill::VERIFIER,
        ],
        stacks: Stacks::All,
        reason: "Its environment holds resource names, IDs, ARNs and numbers, no secret (the stack's secrets are read from S3 and Secrets Manager at run time); Lambda encrypts it at rest with its AWS managed key. A customer key would add a key grant and a KMS call per cold start for nothing to protect.",
    },
    // The alerts key, as AWS's own aws/sns key.
    Suppression {
        check: "CKV_AWS_33",
        title: "Ensure KMS key policy does not contain wildcard (*) principal",
        resources: &["OperatorAlertsKey"],
        stacks: Stacks::All,
        reason: "The one wildcard statement is limited by kms:CallerAccount = this account and kms:ViaService = SNS in this region (the statement AWS's own aws/sns key carries): any publisher the account allows can send to the encrypted topic, nobody can use the key outside SNS or from another account.",
    },
    // The developer bastion (--dev, --force-bastion): what the flags ask for.
    Suppression {
        check: "CKV_AWS_24",
        title: "Ensure no security groups allow ingress from 0.0.0.0:0 to port 22",
        resources: &["SSHSGIngress"],
        stacks: Stacks::All,
        reason: "Only with --dev or --force-bastion, whose meaning is SSH to a bastion from anywhere (key pair only); the Description and stack-gen's stderr say it is not HIPAA-safe and for testing without patient data. Production stacks have no bastion.",
    },
    Suppression {
        check: "CKV_AWS_88",
        title: "EC2 instance should not have public IP.",
        resources: &["DeveloperBastion"],
        stacks: Stacks::All,
        reason: "The bastion of --dev / --force-bastion is reached from the internet by design, so it has a public IP in a public subnet; every other instance is in a private subnet without one.",
    },
    // The public endpoint.
    Suppression {
        check: "CKV_AWS_260",
        title: "Ensure no security groups allow ingress from 0.0.0.0:0 to port 80",
        resources: &["LoadBalancerHTTPIngress"],
        stacks: Stacks::NotDrill,
        reason: "Port 80 of the load balancer answers every request with a redirect to HTTPS and forwards nothing (HTTPListener's only action); closing it would turn a typed http:// address into a timeout instead of the secure page.",
    },
    Suppression {
        check: "CKV_AWS_192",
        title: "Ensure WAF prevents message lookup in Log4j2. See CVE-2021-44228 aka log4jshell",
        resources: &["WebACL"],
        stacks: Stacks::All,
        reason: "AWSManagedRulesKnownBadInputsRuleSet (with its Log4JRCE rules) is in the web ACL and blocks; the scanner cannot read its Fn::If override, which counts instead only while the administrator sets WebFirewallMode=count to try the rules on live traffic.",
    },
    Suppression {
        check: "CKV_AWS_91",
        title: "Ensure the ELBv2 (Application/Network) has access logging enabled",
        resources: &["ApplicationLoadBalancer"],
        stacks: Stacks::All,
        reason: "Every request the load balancer receives is logged by the web ACL's logging configuration (client IP, method, URI, rule matched, action) into WebACLLogGroup, kept LogRetentionDays under the stack's log key, with cookies, Authorization and query strings (patient ids) redacted. ALB access logs would duplicate it unredacted in an SSE-S3 bucket.",
    },
    // The restore drill's internal endpoint.
    Suppression {
        check: "CKV_AWS_2",
        title: "Ensure ALB protocol is HTTPS",
        resources: &["HTTPListener"],
        stacks: Stacks::Drill,
        reason: "The restore drill's load balancer is internal (private subnets), open only to the drill's verifier's security group, lives for the length of a drill and has no domain name a certificate could name; the verifier asks it for the login page over HTTP. From it to the instances the traffic is HTTPS, as in every stack.",
    },
    Suppression {
        check: "CKV_AWS_103",
        title: "Ensure that Load Balancer Listener is using at least TLS v1.2",
        resources: &["HTTPListener"],
        stacks: Stacks::Drill,
        reason: "The restore drill's internal HTTP listener (see CKV_AWS_2 on it): reachable only by the drill's verifier inside the drill's VPC, for the length of a drill; no TLS to configure.",
    },
    // The drill stack's service role.
    Suppression {
        check: "CKV_AWS_107",
        title: "Ensure IAM policies does not allow credentials exposure",
        resources: &[restore_drill::STACK_ROLE],
        stacks: Stacks::All,
        reason: DRILL_STACK_ROLE_REASON,
    },
    Suppression {
        check: "CKV_AWS_108",
        title: "Ensure IAM policies does not allow data exfiltration",
        resources: &[restore_drill::STACK_ROLE],
        stacks: Stacks::All,
        reason: DRILL_STACK_ROLE_REASON,
    },
    Suppression {
        check: "CKV_AWS_109",
        title: "Ensure IAM policies does not allow permissions management without constraints",
        resources: &[restore_drill::STACK_ROLE],
        stacks: Stacks::All,
        reason: DRILL_STACK_ROLE_REASON,
    },
    Suppression {
        check: "CKV_AWS_111",
        title: "Ensure IAM policies does not allow write access without constraints",
        resources: &[restore_drill::STACK_ROLE],
        stacks: Stacks::All,
        reason: DRILL_STACK_ROLE_REASON,
    },
    Suppression {
        check: "CKV_AWS_111",
        title: "Ensure IAM policies does not allow write access without constraints",
        resources: &[restore_drill::RECORDER_ROLE, restore_drill::VERIFIER_ROLE],
        stacks: Stacks::All,
        reason: "A Lambda function in the VPC: its role holds AWSLambdaVPCAccessExecutionRole's network-interface actions in that policy's form, on \"*\" without conditions, because Lambda checks them with the role when it creates the function and has no subnet, VPC or interface in that request; a scoped statement fails the check and the stack rolls back.",
    },
    Suppression {
        check: "CKV_AWS_16",
        title: "Ensure all data stored in the RDS is securely encrypted at rest",
        resources: &[DB_INSTANCE],
        stacks: Stacks::Recovery,
        reason: RESTORED_ENCRYPTED,
    },
    Suppression {
        check: "CKV_AWS_3",
        title: "Ensure all data stored in the EBS is securely encrypted",
        resources: &stack_contract::volumes::ROLES,
        stacks: Stacks::Recovery,
        reason: RESTORED_ENCRYPTED,
    },
    // Where logs end.
    Suppression {
        check: "CKV_AWS_18",
        title: "Ensure the S3 bucket has access logging enabled",
        resources: &["AccessLogBucket"],
        stacks: Stacks::All,
        reason: "It is the access-log bucket itself: the stack bucket, the trail bucket and its own writers log into it; logging it into another bucket would only move the question one bucket further. Versioned, private, TLS-only, and only S3's log delivery may write to it.",
    },
    Suppression {
        check: "CKV_AWS_18",
        title: "Ensure the S3 bucket has access logging enabled",
        resources: &["S3Bucket"],
        stacks: Stacks::Drill,
        reason: "The restore drill's bucket: it holds, for the hour of a drill, what the recovery copies from the source bucket, and the drill empties it for its deletion. An access-log bucket would keep receiving log files (delivered hours late) after that and stop the deletion; the drill's reads of the source bucket are logged in the source's access log.",
    },
    // The session store.
    Suppression {
        check: "CKV_AWS_31",
        title: "Ensure all data stored in the ElastiCache Replication Group is securely encrypted at transit and has auth token",
        resources: &[crate::components::redis::REPLICATION_GROUP],
        stacks: Stacks::All,
        reason: "Encrypted in transit (TLS required by default, RedisRequireTLS) and at rest with the stack key; reachable only from the application servers' security group in private subnets. No AUTH token yet: OpenEMR's PHP session handler would need it in the bundle's session.save_path, and adding one to a running group is a two-step rotation; it is the next step for the session store.",
    },
    // The database.
    Suppression {
        check: "CKV_AWS_118",
        title: "Ensure that enhanced monitoring is enabled for Amazon RDS instances",
        resources: &[DB_INSTANCE],
        stacks: Stacks::All,
        reason: "Enhanced monitoring writes into the account-wide RDSOSMetrics log group, which RDS creates outside the stack: no stack retention, no stack key. CPU, storage, memory and connection metrics come from CloudWatch's standard RDS metrics, which the stack's alarms watch.",
    },
    Suppression {
        check: "CKV_AWS_157",
        title: "Ensure that RDS instances have Multi-AZ enabled",
        resources: &[DB_INSTANCE],
        stacks: Stacks::SingleAz,
        reason: "Single-AZ is the administrator's choice of the original's low-cost layout (every tier in one AZ); --dual-az makes the database Multi-AZ with the rest of the stack. An AZ outage costs downtime; the data is restorable to within minutes (point-in-time restore, 35 days of automated backups).",
    },
    Suppression {
        check: "CKV_AWS_161",
        title: "Ensure RDS database has IAM authentication enabled",
        resources: &[DB_INSTANCE],
        stacks: Stacks::All,
        reason: "OpenEMR connects with a MySQL user and password (sqlconf.php) and cannot fetch 15-minute IAM tokens; the password (a NoEcho parameter) is kept in Secrets Manager, and the database is reachable only from the application's security group.",
    },
];

/// Writes each suppression that applies to `o` into its resources' Metadata, after what the
/// resource already has there.
pub fn apply(t: &mut Template, o: &Options) {
    for s in SUPPRESSIONS.iter().filter(|s| s.stacks.includes(o)) {
        for id in s.resources {
            let Some(resource) = t.resource_mut(id) else {
                continue;
            };
            let resource = resource.as_object_mut().expect("a resource is an object");
            let metadata = resource.entry("Metadata").or_insert_with(|| json!({}));
            let checkov = metadata
                .as_object_mut()
                .expect("Metadata is an object")
                .entry("checkov")
                .or_insert_with(|| json!({}));
            let skip = checkov
                .as_object_mut()
                .expect("Metadata.checkov is an object")
                .entry("skip")
                .or_insert_with(|| json!([]));
            skip.as_array_mut()
                .expect("Metadata.checkov.skip is a list")
                .push(json!({ "id": s.check, "comment": s.reason }));
        }
    }
}

/// The suppressions of a built template: (logical ID, check id, comment).
pub fn suppressions_in(template: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let Some(resources) = template["Resources"].as_object() else {
        return found;
    };
    for (id, resource) in resources {
        if let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() {
            for skip in skips {
                found.push((
                    id.clone(),
                    skip["id"].as_str().unwrap_or_default().to_owned(),
                    skip["comment"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    found
}

/// The table by rule, as docs/scanner.md shows it (rows ordered by check number).
pub fn markdown() -> String {
    let mut rows: Vec<&Suppression> = SUPPRESSIONS.iter().collect();
    rows.sort_by_key(|s| check_number(s.check));
    let mut text = String::from("| check | resources | in stacks | why |\n|---|---|---|---|\n");
    for s in rows {
        let resources: Vec<String> = s.resources.iter().map(|r| format!("`{r}`")).collect();
        text.push_str(&format!(
            "| {} ({}) | {} | {} | {} |\n",
            s.check,
            s.title.trim_end_matches('.'),
            resources.join(", "),
            s.stacks.describe(),
            s.reason
        ));
    }
    text
}

/// `CKV_AWS_33` -> 33, so that rows sort as a reader counts.
fn check_number(check: &str) -> u32 {
    check
        .rsplit('_')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_keeps_existing_metadata_and_skips() {
        let mut t = Template::new(String::new());
        t.add_resource(
            "RDSInstance",
            json!({
                "Type": "AWS::RDS::DBInstance",
                "Metadata": { "Other": 1, "checkov": { "skip": [{ "id": "CKV_AWS_1", "comment": "kept" }] } },
                "Properties": {}
            }),
        );
        apply(&mut t, &Options::default());
        let found = suppressions_in(&t.to_json());
        assert_eq!(t.resources()["RDSInstance"]["Metadata"]["Other"], 1);
        let checks: Vec<&str> = found.iter().map(|(_, c, _)| c.as_str()).collect();
        assert_eq!(
            checks,
            ["CKV_AWS_1", "CKV_AWS_118", "CKV_AWS_157", "CKV_AWS_161"]
        );
    }

    #[test]
    fn stacks_limit_where_a_suppression_is_written() {
        let mut t = Template::new(String::new());
        t.add_resource("RDSInstance", json!({ "Type": "AWS::RDS::DBInstance" }));
        apply(
            &mut t,
            &Options {
                dual_az: true,
                ..Options::default()
            },
        );
        let checks: Vec<String> = suppressions_in(&t.to_json())
            .into_iter()
            .map(|(_, c, _)| c)
            .collect();
        assert_eq!(checks, ["CKV_AWS_118", "CKV_AWS_161"]);
    }

    #[test]
    fn every_suppression_has_a_reason_and_a_checkov_id() {
        for s in SUPPRESSIONS {
            assert!(
                s.check.starts_with("CKV") && check_number(s.check) != u32::MAX,
                "{}",
                s.check
            );
            assert!(
                !s.reason.trim().is_empty() && !s.title.is_empty(),
                "{}",
                s.check
            );
            assert!(!s.resources.is_empty(), "{}", s.check);
        }
    }
}
