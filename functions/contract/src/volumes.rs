//! The document volumes of a stack, as the template lists them for a function:
//! `CouchDBVolume=vol-1,RCouchDBVolume=vol-2`. The role is the volume's logical ID; it is also
//! the value of the snapshot tag [`crate::tags::SNAPSHOT_VOLUME_ROLE`].

use thiserror::Error;

/// The first CouchDB node's volume (every stack with a document store).
pub const PRIMARY: &str = "CouchDBVolume";
/// The second node's (`--dual-az`).
pub const REPLICA: &str = "RCouchDBVolume";
/// Every role, in the order the template lists them.
pub const ROLES: [&str; 2] = [PRIMARY, REPLICA];

/// One document volume: its role and its EC2 volume id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub role: String,
    pub id: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VolumesError {
    #[error("{item:?} is not Role=vol-id")]
    NotAPair { item: String },
    #[error("{item:?}: {id:?} is not a volume id (vol-...)")]
    NotAVolume { item: String, id: String },
    #[error("the role {0} appears twice")]
    DuplicateRole(String),
}

/// Parses `Role=vol-id[,Role=vol-id]` (blanks around items ignored; empty → no volumes).
pub fn parse(text: &str) -> Result<Vec<Volume>, VolumesError> {
    let mut volumes: Vec<Volume> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (role, id) = item
            .split_once('=')
            .map(|(r, i)| (r.trim(), i.trim()))
            .filter(|(r, _)| !r.is_empty())
            .ok_or_else(|| VolumesError::NotAPair {
                item: item.to_owned(),
            })?;
        if !id.starts_with("vol-") {
            return Err(VolumesError::NotAVolume {
                item: item.to_owned(),
                id: id.to_owned(),
            });
        }
        if volumes.iter().any(|v| v.role == role) {
            return Err(VolumesError::DuplicateRole(role.to_owned()));
        }
        volumes.push(Volume {
            role: role.to_owned(),
            id: id.to_owned(),
        });
    }
    Ok(volumes)
}

/// The template side: `CouchDBVolume=${CouchDBVolume}[,RCouchDBVolume=${RCouchDBVolume}]`, a
/// `Fn::Sub` string of the first `count` roles.
pub fn sub_template(count: usize) -> String {
    ROLES[..count]
        .iter()
        .map(|role| format!("{role}=${{{role}}}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_template_writes() {
        let text = sub_template(2)
            .replace("${CouchDBVolume}", "vol-1")
            .replace("${RCouchDBVolume}", "vol-2");
        assert_eq!(
            parse(&text).unwrap(),
            vec![
                Volume {
                    role: PRIMARY.into(),
                    id: "vol-1".into()
                },
                Volume {
                    role: REPLICA.into(),
                    id: "vol-2".into()
                },
            ]
        );
        assert_eq!(sub_template(1), "CouchDBVolume=${CouchDBVolume}");
    }

    #[test]
    fn blanks_and_empty_items_are_ignored() {
        assert_eq!(parse(" A=vol-1 , ,B = vol-2 ").unwrap().len(), 2);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_lists_name_the_item() {
        assert_eq!(
            parse("A").unwrap_err().to_string(),
            "\"A\" is not Role=vol-id"
        );
        assert_eq!(
            parse("=vol-1").unwrap_err(),
            VolumesError::NotAPair {
                item: "=vol-1".into()
            }
        );
        assert!(
            parse("A=snap-1")
                .unwrap_err()
                .to_string()
                .contains("not a volume id")
        );
        assert_eq!(
            parse("A=vol-1,A=vol-2").unwrap_err(),
            VolumesError::DuplicateRole("A".into())
        );
    }
}
