//! The samples in events/restore-drill (for `cargo lambda invoke --data-file`) are inputs the
//! function takes: a known task and, where given, a state it reads.

use restore_drill::state::DrillState;
use stack_contract::restore_drill::{
    STATE, TASK, TASK_GATHER, TASK_RECORD_FINGERPRINT, TASK_REPORT,
};

#[test]
fn every_sample_names_a_task_and_carries_a_readable_state() {
    let dir = test_harness::workspace_root().join("events/restore-drill");
    let mut tasks = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("events/restore-drill") {
        let path = entry.unwrap().path();
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let task = event[TASK].as_str().unwrap_or_default().to_owned();
        assert!(
            [TASK_GATHER, TASK_RECORD_FINGERPRINT, TASK_REPORT].contains(&task.as_str()),
            "{}: task {task:?}",
            path.display()
        );
        if let Some(state) = event.get(STATE) {
            let state: DrillState = serde_json::from_value(state.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(state.started.is_some(), "{}", path.display());
        }
        tasks.push(task);
    }
    tasks.sort();
    assert_eq!(tasks, [TASK_GATHER, TASK_RECORD_FINGERPRINT, TASK_REPORT]);
}
