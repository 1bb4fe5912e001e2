//! Stack updates, modelled: an update with the same template and parameters must replace
//! nothing, whatever AWS published meanwhile.
//!
//! CloudFormation replaces a resource when a create-only property changes (the resource type
//! schemas' `createOnlyProperties`, read from the schemas cfn-lint ships). Such a property
//! may only depend on values that change when the administrator changes the template or a
//! parameter. Values that change on their own: parameters of an `AWS::SSM::Parameter::Value<…>`
//! type (CloudFormation re-reads them at every update) and unversioned `{{resolve:ssm:…}}`
//! dynamic references; and, transitively, the attributes of a resource whose properties
//! depend on one (a launch template fed an SSM-typed image gets a new `LatestVersionNumber`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{read_json, schemas_dir};
use serde_json::{Value, json};

/// `createOnlyProperties` of every resource type the templates use, as top-level property
/// names (a nested create-only path counts as its top-level property: conservative).
fn create_only_properties(types: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let schemas = schemas_dir();
    let providers: Value = read_json(&schemas.join("providers/us-east-1.json"));
    types
        .iter()
        .filter(|t| !t.starts_with("Custom::") && *t != "AWS::CloudFormation::CustomResource")
        .map(|type_| {
            let file = providers[type_.as_str()]
                .as_str()
                .unwrap_or_else(|| panic!("no schema for {type_} in cfn-lint's data"));
            let schema = read_json(&schemas.join("resources").join(format!("{file}.json")));
            let create_only: BTreeSet<String> = schema["createOnlyProperties"]
                .as_array()
                .map(|paths| {
                    paths
                        .iter()
                        .filter_map(|p| {
                            p.as_str()?
                                .strip_prefix("/properties/")?
                                .split('/')
                                .next()
                                .map(str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut create_only: BTreeSet<String> = create_only;
            create_only.extend(
                NOT_IN_THE_SCHEMAS
                    .iter()
                    .filter(|(t, _)| t == type_)
                    .map(|(_, p)| (*p).to_owned()),
            );
            (type_.clone(), create_only)
        })
        .collect()
}

/// Replacing properties the registry schemas leave out (legacy types documented as "Update
/// requires: Replacement" in the CloudFormation reference).
const NOT_IN_THE_SCHEMAS: [(&str, &str); 4] = [
    ("AWS::EC2::Volume", "AvailabilityZone"),
    ("AWS::EC2::Volume", "SnapshotId"),
    ("AWS::EC2::Volume", "Encrypted"),
    ("AWS::EC2::Volume", "KmsKeyId"),
];

/// Why `value` can change without the administrator: the first volatile source it uses.
fn volatile_source(
    value: &Value,
    volatile_parameters: &BTreeSet<String>,
    volatile_resources: &BTreeSet<String>,
) -> Option<String> {
    match value {
        Value::String(s) if s.contains("{{resolve:ssm:") && !has_version(s) => {
            Some(format!("dynamic reference {s}"))
        }
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => None,
        Value::Array(items) => items
            .iter()
            .find_map(|v| volatile_source(v, volatile_parameters, volatile_resources)),
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("Ref") {
                return referenced(name, volatile_parameters, volatile_resources);
            }
            if let Some(att) = map.get("Fn::GetAtt") {
                let name = match att {
                    Value::Array(parts) => parts[0].as_str().unwrap_or_default().to_owned(),
                    Value::String(dotted) => {
                        dotted.split('.').next().unwrap_or_default().to_owned()
                    }
                    _ => String::new(),
                };
                return referenced(&name, volatile_parameters, volatile_resources);
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let (text, variables) = match sub {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(parts) => (parts[0].as_str().unwrap_or_default(), parts.get(1)),
                    _ => ("", None),
                };
                if let Some(found) =
                    volatile_source(&json!(text), volatile_parameters, volatile_resources)
                {
                    return Some(found);
                }
                for name in sub_references(text) {
                    let explicit = variables.and_then(|v| v.get(&name)).is_some();
                    if !explicit
                        && let Some(found) = referenced(
                            name.split('.').next().unwrap_or_default(),
                            volatile_parameters,
                            volatile_resources,
                        )
                    {
                        return Some(found);
                    }
                }
                return variables
                    .and_then(|v| volatile_source(v, volatile_parameters, volatile_resources));
            }
            map.values()
                .find_map(|v| volatile_source(v, volatile_parameters, volatile_resources))
        }
    }
}

fn referenced(
    name: &str,
    volatile_parameters: &BTreeSet<String>,
    volatile_resources: &BTreeSet<String>,
) -> Option<String> {
    if volatile_parameters.contains(name) {
        Some(format!(
            "parameter {name} (an SSM parameter type: re-read at every update)"
        ))
    } else if volatile_resources.contains(name) {
        Some(format!(
            "resource {name} (its properties use a value re-read at every update)"
        ))
    } else {
        None
    }
}

fn has_version(reference: &str) -> bool {
    // {{resolve:ssm:name:version}}: the part after the name is a number.
    reference.split("{{resolve:ssm:").skip(1).all(|rest| {
        let inner = rest.split("}}").next().unwrap_or_default();
        inner
            .rsplit_once(':')
            .is_some_and(|(_, v)| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The `${Name}` / `${Name.Attr}` references of an Fn::Sub text (`${!…}` is a literal).
fn sub_references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') {
            found.push(name.to_owned());
        }
        rest = &rest[end..];
    }
    found
}

/// Each (resource, create-only property, volatile source) of `template`.
fn replacements_without_a_change(template: &Value) -> Vec<String> {
    let parameters = template["Parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let volatile_parameters: BTreeSet<String> = parameters
        .iter()
        .filter(|(_, p)| {
            p["Type"]
                .as_str()
                .is_some_and(|t| t.starts_with("AWS::SSM::Parameter::Value"))
        })
        .map(|(name, _)| name.clone())
        .collect();
    let resources = template["Resources"].as_object().expect("Resources");
    // Resources whose properties (any of them) change on their own, to a fixpoint.
    let mut volatile_resources = BTreeSet::new();
    loop {
        let before = volatile_resources.len();
        for (id, r) in resources {
            if !volatile_resources.contains(id)
                && volatile_source(&r["Properties"], &volatile_parameters, &volatile_resources)
                    .is_some()
            {
                volatile_resources.insert(id.clone());
            }
        }
        if volatile_resources.len() == before {
            break;
        }
    }
    let types: BTreeSet<String> = resources
        .values()
        .map(|r| r["Type"].as_str().unwrap().to_owned())
        .collect();
    let create_only = create_only_properties(&types);
    let mut found = Vec::new();
    for (id, r) in resources {
        let Some(properties) = create_only.get(r["Type"].as_str().unwrap()) else {
            continue;
        };
        for property in properties {
            if let Some(value) = r["Properties"].get(property)
                && let Some(source) =
                    volatile_source(value, &volatile_parameters, &volatile_resources)
            {
                found.push(format!("{id}.{property} <- {source}"));
            }
        }
    }
    found
}

#[test]
fn no_update_replaces_a_resource_unless_the_administrator_changed_something() {
    for (name, _, template) in common::all_templates() {
        let found = replacements_without_a_change(&template);
        assert!(
            found.is_empty(),
            "{name}: an update with the same parameters would replace: {found:#?}"
        );
    }
}

#[test]
fn images_resolve_at_launch_not_at_every_update() {
    for (name, _, template) in common::all_templates() {
        for (id, r) in common::resources_of(&template, "AWS::EC2::Instance") {
            assert!(
                r["Properties"].get("ImageId").is_none(),
                "{name}: {id} names its image itself"
            );
            let lt = r["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {id} has no launch template"));
            // resolve:ssm:<name> is resolved by EC2 at launch; CloudFormation sees a fixed string.
            let image =
                template["Resources"][lt]["Properties"]["LaunchTemplateData"]["ImageId"]["Fn::Sub"]
                    .as_str()
                    .expect("resolve:ssm:${Parameter}");
            let parameter_name = image
                .strip_prefix("resolve:ssm:${")
                .and_then(|p| p.strip_suffix('}'))
                .expect("resolve:ssm:${Parameter}");
            let parameter = &template["Parameters"][parameter_name];
            assert_eq!(parameter["Type"], "String", "{name}: {lt}");
            assert!(
                parameter["Default"]
                    .as_str()
                    .unwrap()
                    .starts_with("/aws/service/"),
                "{name}: {lt}"
            );
        }
    }
}

/// The check itself finds what it is for: the previous design (SSM-typed image parameter into
/// ImageId, or through a launch template) and an unversioned dynamic reference.
#[test]
fn the_model_catches_values_re_read_at_every_update() {
    let ssm_image = json!({
        "Parameters": { "Image": { "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", "Default": "/aws/service/x" } },
        "Resources": {
            "Direct": { "Type": "AWS::EC2::Instance", "Properties": { "ImageId": { "Ref": "Image" } } },
            "LT": { "Type": "AWS::EC2::LaunchTemplate", "Properties": { "LaunchTemplateData": { "ImageId": { "Ref": "Image" } } } },
            "ViaLT": { "Type": "AWS::EC2::Instance", "Properties": { "LaunchTemplate": { "LaunchTemplateId": { "Ref": "LT" }, "Version": { "Fn::GetAtt": ["LT", "LatestVersionNumber"] } } } },
            "Dynamic": { "Type": "AWS::EC2::Instance", "Properties": { "ImageId": "{{resolve:ssm:/aws/service/x}}" } },
            "Pinned": { "Type": "AWS::EC2::Instance", "Properties": { "ImageId": "{{resolve:ssm:/aws/service/x:12}}" } },
            "Volume": { "Type": "AWS::EC2::Volume", "Properties": { "AvailabilityZone": { "Fn::Sub": "${Image}" }, "Size": 1 } }
        }
    });
    let found = replacements_without_a_change(&ssm_image);
    let ids: BTreeSet<&str> = found.iter().map(|f| f.split('.').next().unwrap()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["Direct", "ViaLT", "Dynamic", "Volume"]),
        "{found:#?}"
    );
}

/// CloudFormation replaces an instance by creating the new one, then the resources whose
/// create-only properties name it (the attachment: `InstanceId`), and deletes the old ones
/// last: the new attachment meets a volume the old instance still holds, unless the instance's
/// creation completes only once its volume is free. So every attached instance waits for its
/// signal, which its boot script sends after taking the volume over
/// (`instance_scripts.rs` `couchdb_replacement_takes_its_volume_from_its_predecessor`).
#[test]
fn the_couchdb_volume_is_attached_by_its_own_resource() {
    for (name, options, template) in common::all_templates() {
        for (id, r) in common::resources_of(&template, "AWS::EC2::Instance") {
            assert!(
                r["Properties"].get("Volumes").is_none(),
                "{name}: {id} attaches a volume through Volumes"
            );
        }
        let attachments = common::resources_of(&template, "AWS::EC2::VolumeAttachment");
        let volumes = common::resources_of(&template, "AWS::EC2::Volume");
        assert_eq!(attachments.len(), volumes.len(), "{name}");
        if options.skip_document_store {
            assert!(volumes.is_empty(), "{name}");
        }
        for (volume, _) in volumes {
            let (_, a) = attachments
                .iter()
                .find(|(_, a)| a["Properties"]["VolumeId"]["Ref"] == volume.as_str())
                .unwrap_or_else(|| panic!("{name}: {volume} unattached"));
            assert_eq!(a["Properties"]["Device"], "/dev/sdh", "{name}");
            let node = a["Properties"]["InstanceId"]["Ref"].as_str().unwrap();
            let signal = &template["Resources"][node]["CreationPolicy"]["ResourceSignal"];
            assert_eq!(
                signal["Count"], 1,
                "{name}: {node} does not wait for its signal"
            );
            let script = template["Resources"][node]["Properties"]["UserData"].to_string();
            assert!(
                script.contains("ec2 detach-volume") && script.contains("SignalResource"),
                "{name}: {node} does not take its volume over before it signals"
            );
        }
    }
}

/// The resources an administrator's change of a parameter may replace, each with the
/// parameter or resource that replaces it: a create-only property uses a parameter, a
/// replaceable resource (a new id and new attributes) or a launch template's version (which a
/// parameter in its data moves), to a fixpoint.
fn replaceable(template: &Value) -> BTreeMap<String, String> {
    let parameters: BTreeSet<String> = template["Parameters"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let resources = template["Resources"].as_object().expect("Resources");
    let types: BTreeSet<String> = resources
        .values()
        .map(|r| r["Type"].as_str().unwrap().to_owned())
        .collect();
    let create_only = create_only_properties(&types);
    // Launch templates whose data uses a parameter: a new version, a new LatestVersionNumber.
    let mut moving: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::EC2::LaunchTemplate")
        .filter(|(_, r)| volatile_source(&r["Properties"], &parameters, &BTreeSet::new()).is_some())
        .map(|(id, _)| id.clone())
        .collect();
    let mut found = BTreeMap::new();
    loop {
        let before = found.len();
        for (id, r) in resources {
            let Some(properties) = create_only.get(r["Type"].as_str().unwrap()) else {
                continue;
            };
            if found.contains_key(id) {
                continue;
            }
            if let Some(source) = properties.iter().find_map(|p| {
                r["Properties"]
                    .get(p)
                    .and_then(|v| volatile_source(v, &parameters, &moving))
                    .map(|why| {
                        // (volatile_source's words are about values re-read at every update.)
                        let what = why.split(" (").next().unwrap_or_default();
                        format!("{p} <- {what}")
                    })
            }) {
                found.insert(id.clone(), source);
                moving.insert(id.clone());
            }
        }
        if found.len() == before {
            break;
        }
    }
    found
}

/// What a resource holds that its replacement cannot hold at the same time, while
/// CloudFormation creates the replacement before it deletes the old one: an attachment's
/// volume, or a name given in the template (CloudFormation refuses to replace a resource with
/// a custom name).
fn exclusive_claim(type_: &str, properties: &Value) -> Option<String> {
    if type_ == "AWS::EC2::VolumeAttachment" {
        return Some(format!("the volume {}", properties["VolumeId"]));
    }
    // (type, the property that names it): other types' properties of these names refer to
    // another resource (a Lambda permission's FunctionName, an environment's ApplicationName).
    const NAMES: [(&str, &str); 13] = [
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
        ("AWS::IAM::InstanceProfile", "InstanceProfileName"),
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::RDS::DBInstance", "DBInstanceIdentifier"),
        ("AWS::RDS::DBSubnetGroup", "DBSubnetGroupName"),
        ("AWS::ElastiCache::ReplicationGroup", "ReplicationGroupId"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::ElasticBeanstalk::Environment", "EnvironmentName"),
        ("AWS::ElasticBeanstalk::Application", "ApplicationName"),
        ("AWS::EC2::LaunchTemplate", "LaunchTemplateName"),
    ];
    NAMES
        .iter()
        .find(|(t, n)| *t == type_ && properties.get(*n).is_some())
        .map(|(_, n)| format!("its {n} {}", properties[*n]))
}

/// Claims that replacement does not break, each with the design that hands the claim over.
const CLAIMS_HANDED_OVER: [(&str, &str); 2] = [
    (
        "CouchDBVolumeAttachment",
        "the replacement node stops its predecessor and detaches the volume before it signals; the attachment waits for the signal (the_couchdb_volume_is_attached_by_its_own_resource)",
    ),
    ("RCouchDBVolumeAttachment", "as CouchDBVolumeAttachment"),
];

/// Each exclusive claim on a replacement path: (resource, what replaces it, its claim).
fn claims_on_replacement_paths(template: &Value) -> Vec<String> {
    let resources = template["Resources"].as_object().expect("Resources");
    let parameters: BTreeSet<String> = template["Parameters"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let replaced = replaceable(template);
    let mut found = Vec::new();
    for (id, why) in &replaced {
        let r = &resources[id];
        let Some(claim) = exclusive_claim(r["Type"].as_str().unwrap(), &r["Properties"]) else {
            continue;
        };
        // A name that moves with whatever replaces the resource is a new name: no collision.
        let moving: BTreeSet<String> = replaced.keys().cloned().collect();
        let name_moves = claim.starts_with("its ")
            && claim
                .split_once(' ')
                .and_then(|(_, rest)| rest.split_once(' '))
                .map(|(property, _)| &r["Properties"][property])
                .is_some_and(|v| volatile_source(v, &parameters, &moving).is_some());
        if !name_moves {
            found.push(format!("{id} ({why}) holds {claim}"));
        }
    }
    found
}

/// Replacement order: CloudFormation creates a replacement before it deletes the resource it
/// replaces, so nothing on a path an administrator's change may replace holds what its
/// replacement needs at once (an attachment's volume, a fixed name), unless the design hands
/// the claim over.
#[test]
fn no_replacement_meets_a_claim_its_predecessor_still_holds() {
    for (name, options, template) in common::all_templates() {
        if options.drill {
            // A drill stack is created and deleted, never updated.
            continue;
        }
        let claims = claims_on_replacement_paths(&template);
        if !options.skip_document_store {
            // The CouchDB nodes' images are parameters: their attachments are on the path.
            assert!(
                claims
                    .iter()
                    .any(|c| c.starts_with("CouchDBVolumeAttachment ")),
                "{name}: {claims:#?}"
            );
        }
        for claim in claims {
            let id = claim.split(' ').next().unwrap();
            assert!(
                CLAIMS_HANDED_OVER.iter().any(|(handed, _)| *handed == id),
                "{name}: {claim}"
            );
        }
    }
}

/// The check finds what it is for: a named topic whose FIFO-ness a parameter picks, and
/// an attachment to an instance a parameter's image replaces; a name that moves with its
/// replacement is no claim.
#[test]
fn the_replacement_model_catches_claims_on_replacement_paths() {
    let t = json!({
        "Parameters": { "Image": { "Type": "String" }, "Suffix": { "Type": "String" } },
        "Resources": {
            "Named": { "Type": "AWS::SNS::Topic", "Properties": { "TopicName": "fixed", "FifoTopic": { "Ref": "Suffix" } } },
            "Moving": { "Type": "AWS::SNS::Topic", "Properties": { "TopicName": { "Fn::Sub": "t-${Suffix}" }, "FifoTopic": { "Ref": "Suffix" } } },
            "LT": { "Type": "AWS::EC2::LaunchTemplate", "Properties": { "LaunchTemplateData": { "ImageId": { "Ref": "Image" } } } },
            "Node": { "Type": "AWS::EC2::Instance", "Properties": { "LaunchTemplate": { "LaunchTemplateId": { "Ref": "LT" }, "Version": { "Fn::GetAtt": ["LT", "LatestVersionNumber"] } } } },
            "Volume": { "Type": "AWS::EC2::Volume", "Properties": { "AvailabilityZone": "us-east-1a", "Size": 1 } },
            "Attached": { "Type": "AWS::EC2::VolumeAttachment", "Properties": { "InstanceId": { "Ref": "Node" }, "VolumeId": { "Ref": "Volume" }, "Device": "/dev/sdh" } }
        }
    });
    let found = claims_on_replacement_paths(&t);
    let ids: BTreeSet<&str> = found.iter().map(|f| f.split(' ').next().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["Named", "Attached"]), "{found:#?}");
}

/// The certificate writer terminates after its first boot. CloudFormation applies a changed
/// `UserData` to the existing instance (stop, modify, start), which fails on a terminated one;
/// so its script lives in its own launch template, whose new version is a new value of the
/// instance's create-only `LaunchTemplate`: a changed script replaces the writer (a new one
/// boots, finds the CA, adds what is missing, terminates).
#[test]
fn a_one_shot_instance_is_replaced_not_modified_when_its_script_changes() {
    for (name, _, template) in common::all_templates() {
        let writer = &template["Resources"]["CertWriterInstance"]["Properties"];
        assert!(
            writer.get("UserData").is_none(),
            "{name}: the writer's script is updated in place"
        );
        let lt = writer["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
            .as_str()
            .expect("its own launch template");
        assert_eq!(
            writer["LaunchTemplate"]["Version"],
            json!({ "Fn::GetAtt": [lt, "LatestVersionNumber"] }),
            "{name}: follows the template's versions"
        );
        let data = &template["Resources"][lt]["Properties"]["LaunchTemplateData"];
        assert!(
            data["UserData"]["Fn::Base64"].is_object(),
            "{name}: {lt} carries the script"
        );
        let create_only =
            create_only_properties(&BTreeSet::from(["AWS::EC2::Instance".to_owned()]));
        assert!(
            create_only["AWS::EC2::Instance"].contains("LaunchTemplate"),
            "LaunchTemplate is no longer create-only: a new version would not replace the writer"
        );
    }
}

/// `value` with every scalar as a string: troposphere wrote `"0"` where stack-gen writes `0`,
/// and CloudFormation passes both to the resource as the same string.
fn normalised(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.to_string()),
        Value::Bool(b) => json!(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalised(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the update from an original stack must never replace: what holds the clinic's data
/// (a replacement starts empty) and what holds an exclusive claim its replacement would
/// collide with (a CIDR, one EFS mount target per zone).
const NEVER_REPLACED: [&str; 14] = [
    "RDSInstance",
    "ElasticFileSystem",
    "EFSMountPrivate1",
    "EFSMountPrivate2",
    "CouchDBVolume",
    "RCouchDBVolume",
    "S3Bucket",
    "OpenEMRKey",
    "VPC",
    "PublicSubnet1",
    "PublicSubnet2",
    "PrivateSubnet1",
    "PrivateSubnet2",
    "RDSSubnetGroup",
];

/// The update of a stack the original generator made (its 8 templates are fixtures): no kept
/// logical ID changes type (CloudFormation refuses it), and no create-only property (the
/// registry schemas' `createOnlyProperties`) of what holds data or an exclusive claim changes,
/// not even in form (the key's id written as its ARN is another value to CloudFormation).
/// Other replacements (instances on new images, roles, security groups) are printed.
#[test]
fn the_update_from_an_original_stack_keeps_the_data_and_the_network() {
    let dir = test_harness::workspace_root().join("stack-gen/tests/data/original-templates");
    for (name, options) in stack_gen::reference_combinations() {
        let original = read_json(&dir.join(format!("{name}.json")));
        let ours = stack_gen::generate(&options).unwrap().to_json();
        let types: BTreeSet<String> = ours["Resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["Type"].as_str().unwrap().to_owned())
            .collect();
        let create_only = create_only_properties(&types);
        let mut replaced = BTreeMap::new();
        for (id, old) in original["Resources"].as_object().unwrap() {
            let Some(new) = ours["Resources"].get(id) else {
                continue; // removed: CloudFormation deletes it
            };
            assert_eq!(
                new["Type"], old["Type"],
                "{name}: {id} changes type, which CloudFormation refuses"
            );
            let Some(properties) = create_only.get(old["Type"].as_str().unwrap()) else {
                continue;
            };
            for property in properties {
                let before = normalised(&old["Properties"][property]);
                let after = normalised(&new["Properties"][property]);
                if before != after {
                    replaced
                        .entry(id.clone())
                        .or_insert_with(Vec::new)
                        .push(format!("{property}: {before} -> {after}"));
                }
            }
        }
        for id in NEVER_REPLACED {
            assert!(
                !replaced.contains_key(id),
                "{name}: the update from the original replaces {id}: {:?}",
                replaced[id]
            );
        }
        println!(
            "{name}: replaced on the update from the original: {:?}",
            replaced.keys().collect::<Vec<_>>()
        );
    }
}

/// The comparison itself: a key written as its ARN where the original wrote its id is a change.
#[test]
fn a_create_only_value_in_another_form_is_a_change() {
    let id = json!({ "Ref": "OpenEMRKey" });
    let arn = json!({ "Fn::GetAtt": ["OpenEMRKey", "Arn"] });
    assert_ne!(normalised(&id), normalised(&arn));
    assert_eq!(normalised(&json!("0")), normalised(&json!(0)));
}

/// RDS upgrades MySQL one major version at a time (5.7 -> 8.0 -> 8.4) and the original's
/// databases run 5.7 (5.6 in its template, upgraded by RDS at 5.6's end of life): every step
/// of that path is a MySQLVersion a stack may take, in order, so the update from the original
/// keeps 5.7 and each later update takes one step.
#[test]
fn every_step_of_the_mysql_upgrade_path_is_allowed() {
    const RDS_PATH_FROM_THE_ORIGINAL: [&str; 3] = ["5.7", "8.0", "8.4"];
    for (name, options, t) in common::all_templates() {
        if options.recovery {
            continue; // a recovery runs its snapshot's version
        }
        let p = &t["Parameters"]["MySQLVersion"];
        let allowed: Vec<&str> = p["AllowedValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(allowed, RDS_PATH_FROM_THE_ORIGINAL, "{name}");
        assert_eq!(p["Default"], "8.4", "{name}: a new stack runs the newest");
        let db = &t["Resources"]["RDSInstance"]["Properties"];
        assert_eq!(db["AllowMajorVersionUpgrade"], true, "{name}");
    }
}
