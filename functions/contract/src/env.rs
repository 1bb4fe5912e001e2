//! The one way a function reads its configuration from the environment the template sets:
//! values are trimmed, an empty value counts as unset, and every error names the variable and
//! what it must be.

use std::str::FromStr;

use thiserror::Error;

use crate::volumes::{self, Volume};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} = {value:?}: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

/// Reads variables through a lookup (the process environment in Lambda, a table in tests).
pub struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

/// The process environment.
pub fn process() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|name: &str| std::env::var(name).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Env { lookup }
    }

    /// The trimmed value, `None` when unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing(name))
    }

    /// A number within `range` (inclusive), `default` when unset.
    pub fn number_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        what: &str,
    ) -> Result<T, EnvError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => match value.parse::<T>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(EnvError::Invalid {
                    name,
                    value,
                    why: format!(
                        "must be a whole number of {what} from {} to {}",
                        range.start(),
                        range.end()
                    ),
                }),
            },
        }
    }

    /// A number of at least `min` (no upper bound), `default` when unset.
    pub fn number_at_least<T>(&self, name: &'static str, default: T, min: T) -> Result<T, EnvError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => match value.parse::<T>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(EnvError::Invalid {
                    name,
                    value,
                    why: format!("must be a whole number of at least {min}"),
                }),
            },
        }
    }

    /// A [`crate::volumes`] list (`Role=vol-id,...`), empty when unset.
    pub fn volumes(&self, name: &'static str) -> Result<Vec<Volume>, EnvError> {
        let text = self.optional(name).unwrap_or_default();
        volumes::parse(&text)
            .map_err(|e| invalid(name, &text, format!("{e} (each item must be Role=vol-id)")))
    }

    /// `true`/`1` or `false`/`0`, `false` when unset.
    pub fn flag(&self, name: &'static str) -> Result<bool, EnvError> {
        match self.optional(name).as_deref() {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(invalid(name, other, "must be true or false")),
        }
    }
}

/// An [`EnvError::Invalid`] for `name`.
pub fn invalid(name: &'static str, value: &str, why: impl Into<String>) -> EnvError {
    EnvError::Invalid {
        name,
        value: value.to_owned(),
        why: why.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        let e = env(&[("A", "  x "), ("B", "   ")]);
        assert_eq!(e.optional("A").as_deref(), Some("x"));
        assert_eq!(e.optional("B"), None);
        assert_eq!(e.required("B"), Err(EnvError::Missing("B")));
    }

    #[test]
    fn numbers_are_checked_against_their_range() {
        let e = env(&[("N", "7"), ("BAD", "0"), ("WORD", "three")]);
        assert_eq!(e.number_in("N", 3, 1..=10, "days"), Ok(7));
        assert_eq!(e.number_in("UNSET", 3, 1..=10, "days"), Ok(3));
        let err = e
            .number_in("BAD", 3, 1..=10, "days")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "BAD = \"0\": must be a whole number of days from 1 to 10"
        );
        assert!(e.number_in("WORD", 3u32, 1..=10, "days").is_err());
    }

    #[test]
    fn lower_bounds_and_volume_lists_name_the_variable() {
        let e = env(&[("R", "0"), ("V", "A=vol-1,B=vol-2"), ("BADV", "A=snap-1")]);
        assert_eq!(e.number_at_least("UNSET", 3usize, 1), Ok(3));
        assert_eq!(
            e.number_at_least("R", 3usize, 1).unwrap_err().to_string(),
            "R = \"0\": must be a whole number of at least 1"
        );
        assert_eq!(e.volumes("V").unwrap().len(), 2);
        assert!(e.volumes("UNSET").unwrap().is_empty());
        let err = e.volumes("BADV").unwrap_err().to_string();
        assert!(err.starts_with("BADV = \"A=snap-1\": "), "{err}");
        assert!(err.ends_with("(each item must be Role=vol-id)"), "{err}");
    }

    #[test]
    fn flags_are_true_or_false() {
        let e = env(&[("T", "true"), ("O", "1"), ("F", "false"), ("Y", "yes")]);
        assert_eq!(e.flag("T"), Ok(true));
        assert_eq!(e.flag("O"), Ok(true));
        assert_eq!(e.flag("F"), Ok(false));
        assert_eq!(e.flag("UNSET"), Ok(false));
        assert_eq!(
            e.flag("Y").unwrap_err().to_string(),
            "Y = \"yes\": must be true or false"
        );
    }
}
