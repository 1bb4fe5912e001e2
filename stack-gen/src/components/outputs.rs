//! Outputs: the original's (OpenEMR, OpenEMRVPC, DeveloperKeyhole) and what a recovery needs
//! (`stack-ops recovery-params` reads them).

use serde_json::json;

use crate::cfn::{get_att, ref_, sub};
use crate::components::document_store::volumes;
use crate::options::Options;
use crate::stack::key_arn;
use crate::template::Template;

pub fn add(t: &mut Template, o: &Options) {
    if o.drill {
        // A drill's application is reached by its verifier alone (DrillApplicationURL).
        t.add_output("OpenEMR", json!({
            "Description": "OpenEMR inside the drill network (internal load balancer, plain HTTP)",
            "Value": sub("http://${ApplicationLoadBalancer.DNSName}/")
        }));
    } else {
        t.add_output("OpenEMR", json!({
            "Description": "OpenEMR: the clinic's address (DomainName, served with CertificateArn). Point DomainName's DNS record at LoadBalancerDNSName first.",
            "Value": sub(&format!("https://${{{}}}/", crate::components::application::DOMAIN_NAME))
        }));
    }
    if !o.recovery {
        t.add_output("OpenEMRAdminSecret", json!({
            "Description": "Secrets Manager secret holding the initial password of OpenEMR's administrator (user admin): read it once for the first login, then change it in OpenEMR (README, \"First login\")",
            "Value": ref_(crate::components::application::ADMIN_SECRET)
        }));
    }
    t.add_output("LoadBalancerDNSName", json!({ "Description": "The load balancer's DNS name: the target of the clinic's CNAME (or Route 53 alias) record", "Value": get_att(crate::components::application::LOAD_BALANCER, "DNSName") }));
    t.add_output(
        "OpenEMRVPC",
        json!({ "Description": "The stack's VPC (for the VPN, chapter 4)", "Value": ref_("VPC") }),
    );
    if o.bastion() {
        t.add_output("DeveloperKeyhole", json!({ "Description": "Public IP of the developer bastion (not HIPAA-safe)", "Value": get_att("DeveloperBastion", "PublicIp") }));
    }
    t.add_output("StackBucket", json!({ "Description": "Bucket with backups (Backup/) and the recovery manifest: RecoveryS3Bucket of a recovery stack", "Value": ref_("S3Bucket") }));
    t.add_output("StackKMSKey", json!({ "Description": "KMS key of the stack's data: RecoveryKMSKey of a recovery stack", "Value": key_arn(o) }));
    t.add_output("DatabaseInstance", json!({ "Description": "RDS instance whose snapshots recover the database", "Value": ref_(crate::components::database::DB_INSTANCE) }));
    for (volume, _) in volumes(o) {
        t.add_output(&format!("{volume}Id"), json!({ "Description": format!("Document volume {volume}, whose snapshots recover the documents"), "Value": ref_(volume) }));
    }
}
