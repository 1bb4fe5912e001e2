//! The template and the function agree: in every generated template, `RecoveryManifest` and
//! `RecoveryParameters` (their `Ref`s and `GetAtt`s replaced by plausible values, as
//! CloudFormation would pass them) parse with the function's own parser and pass its format
//! checks, and every attribute the template reads of them is one the function returns.

use std::collections::BTreeSet;

use recovery_params::manifest::Secret;
use recovery_params::properties::{self, Request};
use recovery_params::resolve::{self, Resolved, Source};
use serde_json::{Value, json};
use stack_contract::recovery_params::{attributes, record_attributes};
use stack_gen::Options;
use test_harness::intrinsics;

const MANIFEST: &str = "RecoveryManifest";
const PARAMETERS: &str = "RecoveryParameters";
const REGION: &str = "us-east-1";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a";

/// What CloudFormation would pass for each `Ref` / `GetAtt` the two resources use.
fn plausible(name: &str) -> Option<Value> {
    let value = match name {
        "RecoveryParamsFunction.Arn" => {
            "arn:aws:lambda:us-east-1:123456789012:function:RecoveryParams"
        }
        "S3Bucket" => "openemr-c49525c0-82e5-11e7-bcf4-50faeaa96461",
        "RecoveryS3Bucket" => "openemr-original-bucket",
        "OpenEMRKey.Arn" | "RecoveryKMSKey" => KEY_ARN,
        "RecoveryRDSSnapshotARN" => {
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:openemr-2026-11-25-07-00"
        }
        "RecoveryCouchDBSnapshot" => "snap-0ebb4f155ff27040c",
        "TimeZone" | "RecoveryParameters.TimeZone" => "America/Chicago",
        "PatientRecords" | "RecoveryParameters.PatientRecords" => "20",
        "DocumentStorage" | "RecoveryParameters.DocumentStorage" => "200",
        "MySQLVersion" | "RecoveryParameters.EngineVersion" => "8.0",
        "RecoveryParameters.MasterUsername" => "openemr",
        "RDSPassword" | "RecoveryParameters.Password" => "a-password",
        _ => return None,
    };
    Some(json!(value))
}

/// Every reference template, and the one combination they leave out that changes these
/// resources (a recovery stack without a document store).
fn templates() -> Vec<(String, Options, Value)> {
    let mut combinations: Vec<(String, Options)> = stack_gen::reference_combinations()
        .into_iter()
        .map(|(name, options)| (name.to_owned(), options))
        .collect();
    combinations.push((
        "recovery_skip-document-store".into(),
        Options {
            recovery: true,
            skip_document_store: true,
            ..Options::default()
        },
    ));
    combinations
        .into_iter()
        .map(|(name, options)| {
            let template = stack_gen::generate(&options).unwrap().to_json();
            (name, options, template)
        })
        .collect()
}

fn properties_of(template: &Value, logical_id: &str) -> Option<Value> {
    let properties = template["Resources"].get(logical_id)?["Properties"].clone();
    Some(intrinsics::resolve(&properties, &plausible))
}

#[test]
fn every_templates_properties_parse_with_the_functions_parser() {
    for (name, options, template) in templates() {
        let record = properties_of(&template, MANIFEST).expect("every stack records");
        match properties::parse(&record) {
            Ok(Request::Record(request)) => {
                assert_eq!(request.manifest.kms_key_arn, KEY_ARN, "{name}");
                assert_eq!(request.manifest.time_zone, "America/Chicago", "{name}");
                assert_eq!(
                    request.manifest.document_storage_gb.is_some(),
                    options.document_store(),
                    "{name}"
                );
                assert_eq!(
                    request
                        .manifest
                        .database
                        .password
                        .as_ref()
                        .map(Secret::expose),
                    Some("a-password"),
                    "{name}"
                );
            }
            other => panic!("{name}: {MANIFEST} does not parse as record mode: {other:?}"),
        }

        let resolve_properties = properties_of(&template, PARAMETERS);
        assert_eq!(resolve_properties.is_some(), options.recovery, "{name}");
        let Some(resolve_properties) = resolve_properties else {
            continue;
        };
        let raw = match properties::parse(&resolve_properties) {
            Ok(Request::Resolve(raw)) => raw,
            other => panic!("{name}: {PARAMETERS} does not parse as resolve mode: {other:?}"),
        };
        let inputs = resolve::check_inputs(&raw, REGION)
            .unwrap_or_else(|errors| panic!("{name}: the inputs fail their checks: {errors:?}"));
        assert_eq!(
            inputs.couchdb_snapshot.is_some(),
            options.document_store(),
            "{name}"
        );
    }
}

/// What the function answers for a resolve with a document store (every attribute it has).
fn resolve_answer_attributes() -> BTreeSet<String> {
    let resolved = Resolved {
        time_zone: "America/Chicago".into(),
        patient_records_gb: 20,
        document_storage_gb: Some(200),
        master_username: "openemr".into(),
        engine_version: "8.0".into(),
        password: Secret::new("a-password"),
        source: Source::Manifest,
        notes: Vec::new(),
    };
    recovery_params::resolved_answer(resolved, None)
        .data
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_attribute_the_templates_read_is_one_the_function_returns() {
    let returned = resolve_answer_attributes();
    let contract: BTreeSet<String> = attributes::ALL.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        returned, contract,
        "the answer carries exactly the contract's attributes"
    );
    let mut read_anywhere = BTreeSet::new();
    for (name, _, template) in templates() {
        for attribute in intrinsics::attributes_read(&template, PARAMETERS) {
            assert!(
                returned.contains(&attribute),
                "{name}: {PARAMETERS}.{attribute} is not returned by recovery-params"
            );
            read_anywhere.insert(attribute);
        }
        for attribute in intrinsics::attributes_read(&template, MANIFEST) {
            assert!(
                record_attributes::ALL.contains(&attribute.as_str()),
                "{name}: {MANIFEST}.{attribute} is not returned by recovery-params"
            );
        }
    }
    assert!(
        read_anywhere.contains(attributes::TIME_ZONE)
            && read_anywhere.contains(attributes::PASSWORD),
        "the recovery templates read the resolved values: {read_anywhere:?}"
    );
}
