//! Parity with the original generator: for each of its 8 flag combinations, every logical ID
//! it made exists with the same type (CloudFormation refuses an update that changes a logical
//! ID's type) or is listed as removed, and every parameter and output name it had still exists.

use serde_json::Value;
use stack_gen::{generate, reference_combinations};

/// Original IDs gone: the Classic Load Balancer's backend authentication, which they served
/// (an Application Load Balancer has none), and the single-AZ CacheCluster `RedisCluster`,
/// which cannot encrypt at rest (its successor is `RedisReplicationGroup`, a new ID). Each is
/// explained in docs/logical-ids.md.
const REMOVED: [&str; 4] = [
    "EBCert",
    "CertGrabberFunction",
    "BarebonesLambdaRole",
    "RedisCluster",
];

fn inventory() -> Value {
    serde_json::from_str(include_str!("data/original-inventory.json")).expect("inventory JSON")
}

#[test]
fn every_original_logical_id_parameter_and_output_exists() {
    let inventory = inventory();
    for (name, options) in reference_combinations() {
        let original = &inventory[name];
        assert!(original.is_object(), "inventory has no combination {name}");
        let ours = generate(&options).unwrap().to_json();
        for (id, original_type) in original["resources"].as_object().unwrap() {
            if REMOVED.contains(&id.as_str()) {
                assert!(
                    ours["Resources"].get(id).is_none(),
                    "{name}: {id} is listed as removed but exists"
                );
                continue;
            }
            let original_type = original_type.as_str().unwrap();
            let our_type = ours["Resources"][id]["Type"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: resource {id} missing"));
            assert_eq!(
                our_type, original_type,
                "{name}: {id} changes type: CloudFormation refuses the update"
            );
        }
        for section in ["parameters", "outputs"] {
            let ours_section = &ours[if section == "parameters" {
                "Parameters"
            } else {
                "Outputs"
            }];
            for key in original[section].as_array().unwrap() {
                let key = key.as_str().unwrap();
                assert!(
                    ours_section.get(key).is_some(),
                    "{name}: {section} {key} missing"
                );
            }
        }
    }
}

#[test]
fn flags_select_the_same_optional_resources_as_the_original() {
    // Resources the original made only for some combinations must follow the same flags
    // here: e.g. no bastion without --dev/--force-bastion, no CouchDB with --skip-document-store.
    let inventory = inventory();
    let everywhere: std::collections::BTreeSet<String> = inventory
        .as_object()
        .unwrap()
        .values()
        .flat_map(|c| c["resources"].as_object().unwrap().keys().cloned())
        .collect();
    for (name, options) in reference_combinations() {
        let original = inventory[name]["resources"].as_object().unwrap();
        let ours = generate(&options).unwrap().to_json();
        for id in &everywhere {
            if !original.contains_key(id) {
                assert!(
                    ours["Resources"].get(id).is_none(),
                    "{name}: {id} exists, but the original made it only for other flags"
                );
            }
        }
    }
}

#[test]
fn replacements_are_documented() {
    let architecture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/logical-ids.md"
    ))
    .expect("docs/logical-ids.md");
    for id in REMOVED {
        assert!(
            architecture.contains(&format!("`{id}`")),
            "docs/logical-ids.md does not explain the change of {id}"
        );
    }
}

#[test]
fn description_markers_follow_the_original_order() {
    for (name, options) in reference_combinations() {
        let original = inventory()[name]["description"]
            .as_str()
            .unwrap()
            .to_owned();
        let markers: Vec<&str> = original
            .match_indices('[')
            .map(|(i, _)| &original[i..=i + original[i..].find(']').unwrap()])
            .collect();
        let ours = options.description();
        let mut at = 0;
        for marker in markers {
            let found = ours[at..]
                .find(marker)
                .unwrap_or_else(|| panic!("{name}: {marker} missing or out of order in {ours:?}"));
            at += found + marker.len();
        }
    }
}
