//! Every sample event in `events/document-snapshotter/` parses into the handler's input, and
//! the dry-run sample asks for a dry run.

use std::path::Path;

use document_snapshotter::Request;

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/document-snapshotter")
}

fn load(name: &str) -> Request {
    let text =
        std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} does not parse as the handler input: {e}"))
}

#[test]
fn every_sample_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let e = load(path.file_name().unwrap().to_str().unwrap());
            assert_eq!(e.source, "aws.events", "{}", path.display());
            assert_eq!(e.detail_type, "Scheduled Event", "{}", path.display());
            n += 1;
        }
    }
    assert!(
        n >= 2,
        "expected the scheduled and dry-run samples, found {n}"
    );
}

#[test]
fn scheduled_sample_is_a_real_run() {
    let e = load("scheduled.json");
    assert!(!e.detail.dry_run);
    assert!(e.time.is_some() && e.id.is_some());
}

#[test]
fn dry_run_sample_asks_for_a_dry_run() {
    assert!(load("scheduled-dry-run.json").detail.dry_run);
}

#[test]
fn unknown_detail_fields_are_ignored_and_a_bad_flag_is_rejected() {
    let ok: Request = serde_json::from_str(
        r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{"other":1}}"#,
    )
    .unwrap();
    assert!(!ok.detail.dry_run);
    let bad = serde_json::from_str::<Request>(
        r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{"dry_run":"yes"}}"#,
    );
    assert!(bad.is_err());
}
