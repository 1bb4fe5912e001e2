//! One nightly backup window for the whole stack.
//!
//! The original ran the RDS snapshot, the document snapshot and the EFS backup at unrelated
//! times, so a restore could pair records and documents from different days. Here one
//! parameter, `BackupHour` (UTC), sets all three and runs the backup checker after them. The
//! times derived from it live in the `BackupWindow` mapping (CloudFormation has no arithmetic).

use serde_json::{Map, Value, json};

use crate::cfn::{find_in_map, ref_};
use crate::options::Options;
use crate::template::Template;

/// Hours after the window opens that the monthly restore drill starts (the backup checker has
/// seen the night's backups by then).
pub const DRILL_DELAY_HOURS: u32 = 5;

/// Hours after the window opens that the backup checker runs: the RDS window is 30 minutes,
/// the EFS backup of a typical clinic well under two hours.
pub const CHECK_DELAY_HOURS: u32 = 3;

pub fn add(t: &mut Template, _o: &Options) {
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    t.add_parameter(
        "BackupHour",
        json!({
            "Type": "String",
            "Default": "07",
            "AllowedValues": hours,
            "Description": "Hour (UTC) at which the database snapshot, the document snapshots and the EFS backup all start; the backup checker runs 3 hours later. Pick a quiet hour for the clinic."
        }),
    );
    let mut window = Map::new();
    for h in 0..24u32 {
        let check = (h + CHECK_DELAY_HOURS) % 24;
        let drill = (h + DRILL_DELAY_HOURS) % 24;
        window.insert(
            format!("{h:02}"),
            json!({
                "RdsWindow": format!("{h:02}:00-{h:02}:30"),
                // RDS maintenance must not overlap the backup window: a day later, 4 hours on.
                "RdsMaintenance": format!("sun:{:02}:00-sun:{:02}:30", (h + 4) % 24, (h + 4) % 24),
                // Elastic Beanstalk's managed platform updates: the same hour (instances are
                // replaced one by one, so OpenEMR stays up).
                "PlatformUpdate": format!("Sun:{:02}:00", (h + 4) % 24),
                "CronHour": h.to_string(),
                "SnapshotSchedule": format!("cron(0 {h} * * ? *)"),
                "CheckerSchedule": format!("cron(0 {check} * * ? *)"),
                "FingerprintSchedule": format!("cron(0 {h} * * ? *)"),
                "DrillSchedule": format!("cron(0 {drill} ? * SUN#1 *)"),
            }),
        );
    }
    t.add_mapping("BackupWindow", Value::Object(window));
}

fn window(attribute: &str) -> Value {
    find_in_map("BackupWindow", ref_("BackupHour"), attribute)
}

/// RDS `PreferredBackupWindow` (`hh:00-hh:30`).
pub fn rds_backup_window() -> Value {
    window("RdsWindow")
}

/// RDS `PreferredMaintenanceWindow`, clear of the backup window.
pub fn rds_maintenance_window() -> Value {
    window("RdsMaintenance")
}

/// Elastic Beanstalk's `PreferredStartTime` of managed updates (`Sun:hh:00`), with RDS's.
pub fn platform_update_window() -> Value {
    window("PlatformUpdate")
}

/// The hour field of the NFS backup agent's cron line (`0 <hour> * * *`, UTC).
pub fn nfs_cron_hour() -> Value {
    window("CronHour")
}

/// EventBridge `ScheduleExpression` of the document snapshotter.
pub fn snapshot_schedule() -> Value {
    window("SnapshotSchedule")
}

/// EventBridge `ScheduleExpression` of the backup checker (after the three backups).
pub fn checker_schedule() -> Value {
    window("CheckerSchedule")
}

/// EventBridge `ScheduleExpression` of the restore drill's fingerprint recorder (in the window).
pub fn fingerprint_schedule() -> Value {
    window("FingerprintSchedule")
}

/// EventBridge `ScheduleExpression` of the restore drill: the first Sunday of each month.
pub fn drill_schedule() -> Value {
    window("DrillSchedule")
}
