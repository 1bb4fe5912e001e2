//! Every sample event in events/cert-reader parses into the handler's input.

use std::collections::BTreeSet;

use cert_reader::Props;
use custom_resource::Request;

#[test]
fn every_sample_event_parses_into_the_handler_input() {
    let dir = test_harness::workspace_root().join("events/cert-reader");
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let request: Request<Props> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        let (kind, props) = match &request {
            Request::Create(r) => ("Create", &r.resource_properties),
            Request::Update(r) => ("Update", &r.resource_properties),
            Request::Delete(r) => ("Delete", &r.resource_properties),
            _ => panic!("{}: unexpected request type", path.display()),
        };
        assert_eq!(props.key, "CA/certs/beanstalk.crt", "{}", path.display());
        assert!(!props.bucket.is_empty());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The template keeps the original's resource type, so EBCert updates in place.
        assert_eq!(
            value["ResourceType"],
            "AWS::CloudFormation::CustomResource",
            "{}",
            path.display()
        );
        assert_eq!(value["LogicalResourceId"], "EBCert", "{}", path.display());
        assert_eq!(
            path.file_stem().unwrap().to_str().unwrap(),
            kind.to_lowercase(),
            "file name says the request type"
        );
        kinds.insert(kind);
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["Create", "Delete", "Update"]),
        "one sample per request type"
    );
}
