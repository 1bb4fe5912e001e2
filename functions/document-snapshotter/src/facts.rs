//! What the run learns from EC2 and what it asks EC2 to make, as plain structs: the decisions
//! in [`crate::plan`] take and return these, never SDK types.

use std::collections::BTreeMap;

use aws_clients::ApiError;
use serde::Serialize;
use time::OffsetDateTime;

/// A volume as described: its id and its `Name` tag, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub id: String,
    pub name: Option<String>,
}

/// A snapshot as described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub id: String,
    pub volume_id: String,
    pub state: State,
    /// EC2's StartTime.
    pub start_time: Option<OffsetDateTime>,
    pub tags: BTreeMap<String, String>,
}

/// One page of `DescribeSnapshots`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub snapshots: Vec<SnapshotInfo>,
    pub next_token: Option<String>,
}

/// What `CreateSnapshot` / `CopySnapshot` are asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSnapshot {
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// A `CopySnapshot` into the copy region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCopy {
    pub source_region: String,
    pub source_id: String,
    pub kms_key_id: String,
    pub new: NewSnapshot,
}

/// This stack's snapshots in one region, by volume role (only configured roles).
pub type Ours = BTreeMap<String, Vec<SnapshotInfo>>;

/// Everything the run knows about the stack's region before it decides anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub ours: Ours,
    /// The configured volumes that exist (a missing one is absent).
    pub volumes: Vec<VolumeInfo>,
}

impl Facts {
    /// Our snapshots of the volume `role`.
    pub fn of(&self, role: &str) -> &[SnapshotInfo] {
        self.ours.get(role).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn volume(&self, id: &str) -> Option<&VolumeInfo> {
        self.volumes.iter().find(|v| v.id == id)
    }
}

/// The state of an EBS snapshot as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Completed,
    Pending,
    Error,
    /// A state this code does not know (e.g. `recoverable`, `recovering`): never counted, never
    /// deleted.
    Other(String),
}

impl State {
    pub fn parse(text: &str) -> State {
        match text {
            "completed" => State::Completed,
            "pending" => State::Pending,
            "error" => State::Error,
            other => State::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            State::Completed => "completed",
            State::Pending => "pending",
            State::Error => "error",
            State::Other(s) => s,
        }
    }
}

/// EC2's code for a snapshot that does not exist (any more).
pub const SNAPSHOT_NOT_FOUND: &str = "InvalidSnapshot.NotFound";
/// EC2's code for a snapshot that backs an AMI (not deletable until it is deregistered).
pub const SNAPSHOT_IN_USE: &str = "InvalidSnapshot.InUse";

/// The snapshot does not exist (any more).
pub fn is_not_found(e: &ApiError) -> bool {
    e.is(SNAPSHOT_NOT_FOUND)
}

/// The snapshot backs an AMI and cannot be deleted until the AMI is deregistered.
pub fn is_in_use(e: &ApiError) -> bool {
    e.is(SNAPSHOT_IN_USE)
}
