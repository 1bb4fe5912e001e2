//! The command line as a user meets it: output, atomic files, and bad input.

use std::path::Path;
use std::process::{Command, Output};

fn stack_gen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stack-gen"))
        .args(args)
        .output()
        .expect("run stack-gen")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const CERTIFICATE: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-4567-89ef-0123-456789abcdef";

#[test]
fn prints_the_default_template_on_stdout() {
    let out = stack_gen(&[
        "--certificate-arn",
        CERTIFICATE,
        "--domain-name",
        "emr.clinic.example",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let template: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(template["Description"], "OpenEMR cloud deployment");
    assert_eq!(
        template["Parameters"]["CertificateArn"]["Default"],
        CERTIFICATE
    );
    assert_eq!(
        template["Parameters"]["DomainName"]["Default"],
        "emr.clinic.example"
    );
    assert!(
        stderr(&out).is_empty(),
        "no warnings for the default stack with a certificate and a name: {}",
        stderr(&out)
    );
}

#[test]
fn without_a_certificate_or_a_name_the_stack_asks_for_them() {
    for args in [
        &[][..],
        &["--certificate-arn", CERTIFICATE],
        &["--domain-name", "emr.clinic.example"],
    ] {
        let out = stack_gen(args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(
                "WARNING: no --certificate-arn or --domain-name: the template has no default"
            ),
            "{args:?}: {}",
            stderr(&out)
        );
        let template: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let defaults = ["CertificateArn", "DomainName"]
            .map(|p| template["Parameters"][p].get("Default").is_some());
        assert_eq!(
            defaults,
            [
                args.contains(&"--certificate-arn"),
                args.contains(&"--domain-name")
            ]
        );
    }
}

#[test]
fn a_domain_name_of_the_wrong_shape_is_refused() {
    for name in [
        "https://emr.clinic.example",
        "emr.clinic.example/openemr",
        "emr.clinic.example:443",
        "localhost",
        "emr-.clinic.example",
        "emr..clinic.example",
        "emr.clinic.3xample9",
    ] {
        assert_rejected(&["--domain-name", name], "--domain-name");
    }
}

#[test]
fn a_certificate_arn_of_the_wrong_shape_is_refused() {
    for arn in [
        "arn:aws:iam::123456789012:server-certificate/clinic",
        "arn:aws:acm:us-east-1:1234:certificate/0123abcd-4567-89ef-0123-456789abcdef",
        "clinic.example.org",
    ] {
        assert_rejected(&["--certificate-arn", arn], "--certificate-arn");
    }
}

#[test]
fn output_file_holds_the_same_bytes_as_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.json");
    let out = stack_gen(&["--dual-az", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        stack_gen(&["--dual-az"]).stdout
    );
}

#[test]
fn same_input_same_bytes() {
    for flags in [&[][..], &["--dev", "--dual-az", "--recovery"]] {
        assert_eq!(stack_gen(flags).stdout, stack_gen(flags).stdout);
    }
}

#[test]
fn dev_and_bastion_warn_on_stderr() {
    for flag in ["--dev", "--force-bastion"] {
        let out = stack_gen(&[flag]);
        assert!(out.status.success());
        assert!(
            stderr(&out).contains("WARNING") && stderr(&out).contains("HIPAA"),
            "{flag}: {}",
            stderr(&out)
        );
    }
}

/// A bad invocation: non-zero exit, a message naming `needle`, nothing on stdout, and the
/// output file (which held `previous`) untouched.
fn assert_rejected(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.json");
    std::fs::write(&file, "previous").unwrap();
    let mut with_output = args.to_vec();
    let file_arg = file.to_str().unwrap().to_owned();
    with_output.extend(["--output", &file_arg]);
    let out = stack_gen(&with_output);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(
        stderr(&out).contains(needle),
        "{args:?}: stderr does not name {needle:?}: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{args:?}: printed a template");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "previous",
        "{args:?}: output file changed"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "{args:?}: left a temporary file"
    );
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    assert_rejected(&["--dual-azz"], "--dual-azz");
    assert_rejected(
        &["--beanstalk-key", ""],
        "--beanstalk-key must not be empty",
    );
    assert_rejected(
        &["--beanstalk-key", "  "],
        "--beanstalk-key must not be empty",
    );
    assert_rejected(&["--beanstalk-key", "/abs/key.zip"], "--beanstalk-key");
    assert_rejected(
        &["--beanstalk-version", ""],
        "--beanstalk-version must not be empty",
    );
    assert_rejected(
        &[
            "--beanstalk-version",
            "64bit Amazon Linux 2023 v6.1.0 running Node.js 20",
        ],
        "not a Docker platform on Amazon Linux 2023",
    );
    assert_rejected(
        &[
            "--beanstalk-version",
            "64bit Amazon Linux 2 v4.1.0 running Docker",
        ],
        "not a Docker platform on Amazon Linux 2023",
    );
    assert_rejected(&["--recovery", "--recovery"], "--recovery");
}

#[test]
fn unwritable_output_is_an_error_naming_the_path() {
    let out = stack_gen(&["--output", "/nonexistent-dir/stack.json"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent-dir/stack.json"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("/nonexistent-dir").exists());
}

#[test]
fn graph_is_a_mermaid_flowchart_of_the_stack() {
    let out = stack_gen(&["graph"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("flowchart"));
    assert!(
        text.contains("  WebACLAssociation --> WebACL\n"),
        "GetAtt edge"
    );
    assert!(
        text.contains("  CloudTrail --> CloudTrailBucketPolicy\n"),
        "DependsOn edge"
    );
    assert!(text.contains("  nat --> natIp\n"), "GetAtt edge");
    assert!(
        !text.contains("DeveloperBastion"),
        "no bastion without --dev"
    );
    assert!(
        String::from_utf8(stack_gen(&["graph", "--dev"]).stdout)
            .unwrap()
            .contains("DeveloperBastion")
    );
}
