//! Shared by the snapshotter's fake-EC2 tests (`fake.rs`, `logs.rs`): an in-memory [`Ec2`]
//! that filters by tag like EC2, pages, and fails the calls it is told to.

#![allow(dead_code, unused_imports)]

pub use std::collections::{BTreeMap, HashMap};
pub use std::sync::Mutex;

pub use document_snapshotter::config::{Config, Volume};
pub use document_snapshotter::ec2::{ApiError, Ec2, NewSnapshot, Page, SnapshotInfo, VolumeInfo};
pub use document_snapshotter::plan::State;
pub use document_snapshotter::run::run;
pub use document_snapshotter::tags;

pub const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/11111111-2222-3333-4444-555555555555";
pub const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/99999999-2222-3333-4444-555555555555";
pub const NOW: i64 = 1_780_000_000;
pub const DAY: i64 = 86_400;

#[derive(Default)]
pub struct Store {
    pub volumes: Vec<VolumeInfo>,
    pub snapshots: Vec<SnapshotInfo>,
    pub next_id: usize,
    pub calls: Vec<String>,
}

/// An in-memory EC2: filters by tag like EC2, pages `page_size` at a time, and fails the calls
/// named in `fail`.
#[derive(Default)]
pub struct Fake {
    pub state: Mutex<Store>,
    pub page_size: usize,
    /// "create:vol-x", "delete:snap-x", "describe_snapshots", "describe_volumes" → error.
    pub fail: HashMap<String, ApiError>,
}

impl Fake {
    pub fn new(page_size: usize) -> Fake {
        Fake {
            page_size,
            ..Default::default()
        }
    }
    pub fn volume(self, id: &str, name: Option<&str>) -> Fake {
        self.state.lock().unwrap().volumes.push(VolumeInfo {
            id: id.into(),
            name: name.map(Into::into),
        });
        self
    }
    pub fn snap(self, id: &str, volume: &str, state: State, time: i64, t: &[(&str, &str)]) -> Fake {
        let mut tags: BTreeMap<String, String> = t
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !tags.is_empty() && !tags.contains_key(tags::BACKUP_TIME) {
            tags.insert(tags::BACKUP_TIME.into(), tags::format_time(time));
        }
        self.state.lock().unwrap().snapshots.push(SnapshotInfo {
            id: id.into(),
            volume_id: volume.into(),
            state,
            start_time: time,
            tags,
        });
        self
    }
    /// One of ours, `days` ago.
    pub fn ours(self, id: &str, volume: &str, role: &str, state: State, days: i64) -> Fake {
        self.snap(
            id,
            volume,
            state,
            NOW - days * DAY,
            &[(tags::STACK_ID, STACK), (tags::VOLUME_ROLE, role)],
        )
    }
    pub fn fail(mut self, call: &str, code: &str) -> Fake {
        self.fail
            .insert(call.into(), ApiError::new(code, "injected"));
        self
    }
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .state
            .lock()
            .unwrap()
            .snapshots
            .iter()
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }
    pub fn calls(&self, prefix: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
    pub fn check(&self, call: String) -> Result<(), ApiError> {
        let result = self.fail.get(&call).cloned().map_or(Ok(()), Err);
        self.state.lock().unwrap().calls.push(call);
        result
    }
}

impl Ec2 for Fake {
    async fn describe_volumes(&self, ids: &[String]) -> Result<Vec<VolumeInfo>, ApiError> {
        self.check("describe_volumes".into())?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .volumes
            .iter()
            .filter(|v| ids.contains(&v.id))
            .cloned()
            .collect())
    }

    async fn describe_snapshots(
        &self,
        key: &str,
        value: &str,
        token: Option<String>,
    ) -> Result<Page, ApiError> {
        self.check("describe_snapshots".into())?;
        let st = self.state.lock().unwrap();
        let matching: Vec<&SnapshotInfo> = st
            .snapshots
            .iter()
            .filter(|s| s.tags.get(key).map(String::as_str) == Some(value))
            .collect();
        let start: usize = token
            .map(|t| t.parse().expect("our own token"))
            .unwrap_or(0);
        let end = (start + self.page_size).min(matching.len());
        Ok(Page {
            snapshots: matching[start..end].iter().map(|s| (*s).clone()).collect(),
            next_token: (end < matching.len()).then(|| end.to_string()),
        })
    }

    async fn create_snapshot(
        &self,
        volume_id: &str,
        new: &NewSnapshot,
    ) -> Result<String, ApiError> {
        self.check(format!("create:{volume_id}"))?;
        let mut st = self.state.lock().unwrap();
        if !st.volumes.iter().any(|v| v.id == volume_id) {
            return Err(ApiError::new("InvalidVolume.NotFound", "no such volume"));
        }
        st.next_id += 1;
        let id = format!("snap-new{}", st.next_id);
        let tags = new.tags.iter().cloned().collect();
        st.snapshots.push(SnapshotInfo {
            id: id.clone(),
            volume_id: volume_id.into(),
            state: State::Pending,
            start_time: NOW,
            tags,
        });
        Ok(id)
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<(), ApiError> {
        self.check(format!("delete:{snapshot_id}"))?;
        let mut st = self.state.lock().unwrap();
        let before = st.snapshots.len();
        st.snapshots.retain(|s| s.id != snapshot_id);
        if st.snapshots.len() == before {
            return Err(ApiError::new(
                "InvalidSnapshot.NotFound",
                "no such snapshot",
            ));
        }
        Ok(())
    }

    async fn copy_snapshot(
        &self,
        _region: &str,
        source_id: &str,
        _key: &str,
        new: &NewSnapshot,
    ) -> Result<String, ApiError> {
        self.check(format!("copy:{source_id}"))?;
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = format!("snap-copy{}", st.next_id);
        let tags = new.tags.iter().cloned().collect();
        st.snapshots.push(SnapshotInfo {
            id: id.clone(),
            volume_id: "vol-ffffffff".into(),
            state: State::Pending,
            start_time: NOW,
            tags,
        });
        Ok(id)
    }
}

pub fn config(volumes: &[(&str, &str)], retain: usize) -> Config {
    Config {
        stack_id: STACK.into(),
        volumes: volumes
            .iter()
            .map(|(role, id)| Volume {
                role: role.to_string(),
                id: id.to_string(),
            })
            .collect(),
        retain,
        description: "test".into(),
        window_secs: 20 * 3600,
        copy: None,
        dry_run: false,
    }
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub const COUCH: (&str, &str) = ("CouchDBVolume", "vol-a");
