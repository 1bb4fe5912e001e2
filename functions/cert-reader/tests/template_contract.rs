//! The template and the function agree: in every generated template, `EBCert`'s properties
//! (their `Ref`s replaced by plausible values) parse into the function's own `Props`, and every
//! attribute the template reads of `EBCert` is the one the function returns.

use cert_reader::{PUBLIC_KEY, Props, check_props};
use serde_json::{Value, json};
use stack_contract::bucket::BEANSTALK_CERT_KEY;
use test_harness::intrinsics;

const BUCKET: &str = "openemr-c49525c0-82e5-11e7-bcf4-50faeaa96461";

fn plausible(name: &str) -> Option<Value> {
    match name {
        "CertGrabberFunction.Arn" => Some(json!(
            "arn:aws:lambda:us-east-1:123456789012:function:CertReader"
        )),
        "S3Bucket" => Some(json!(BUCKET)),
        _ => None,
    }
}

#[test]
fn every_templates_ebcert_parses_and_reads_only_public_key() {
    for (name, options) in stack_gen::reference_combinations() {
        let template = stack_gen::generate(&options).unwrap().to_json();
        let properties =
            intrinsics::resolve(&template["Resources"]["EBCert"]["Properties"], &plausible);
        let props: Props = serde_json::from_value(properties)
            .unwrap_or_else(|e| panic!("{name}: EBCert's properties do not parse: {e}"));
        assert_eq!(
            props,
            Props {
                bucket: BUCKET.into(),
                key: BEANSTALK_CERT_KEY.into()
            },
            "{name}"
        );
        assert_eq!(check_props(&props), Ok(()), "{name}");

        let read = intrinsics::attributes_read(&template, "EBCert");
        assert_eq!(
            read.into_iter().collect::<Vec<_>>(),
            [PUBLIC_KEY],
            "{name}: the template reads EBCert.PublicKey, which the function returns, and nothing else"
        );
    }
}
