//! Validated identifiers.
//!
//! Identifiers end up in file paths and object-store keys, so they are checked
//! once, when they are made ("parse, don't validate"): a [`ModelName`] can never
//! hold `../`, a slash, or an empty string.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// The longest accepted model name.
pub const MAX_MODEL_NAME_LEN: usize = 128;

/// A model's name: 1 to 128 characters of ASCII letters, digits, `-`, `_`
/// and `.`, starting with a letter or digit, with no `..`.
///
/// ```
/// use kiln_core::ModelName;
/// assert!(ModelName::new("penguin-species").is_ok());
/// assert!(ModelName::new("../etc/passwd").is_err());
/// assert!(ModelName::new("").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelName(String);

impl ModelName {
    /// Checks and wraps a model name.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let reject = |reason| Error::InvalidId {
            kind: "model name",
            value: name.chars().take(80).collect(),
            reason,
        };
        let first = name.bytes().next().ok_or_else(|| reject("must not be empty"))?;
        if name.len() > MAX_MODEL_NAME_LEN {
            return Err(reject("longer than 128 characters"));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(reject("must start with a letter or digit"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(reject("only ASCII letters, digits, '-', '_' and '.' are allowed"));
        }
        if name.contains("..") {
            return Err(reject("must not contain \"..\""));
        }
        Ok(Self(name))
    }

    /// The name as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A model version number: 1, 2, 3, ... (written `3` or `v3`).
///
/// ```
/// use kiln_core::Version;
/// let v: Version = "v3".parse().unwrap();
/// assert_eq!(v.get(), 3);
/// assert_eq!(v.next().unwrap().to_string(), "4");
/// assert!("0".parse::<Version>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(NonZeroU64);

impl Version {
    /// The first version.
    pub const FIRST: Self = Self(NonZeroU64::MIN);

    /// Wraps a version number; zero is rejected.
    pub fn new(n: u64) -> Result<Self> {
        NonZeroU64::new(n).map(Self).ok_or(Error::InvalidId {
            kind: "version",
            value: "0".to_owned(),
            reason: "versions start at 1",
        })
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0.get()
    }

    /// The following version, or `None` at `u64::MAX`.
    #[must_use]
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ModelName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl FromStr for Version {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        let n: u64 = digits.parse().map_err(|_| Error::InvalidId {
            kind: "version",
            value: s.chars().take(80).collect(),
            reason: "expected a positive integer such as 3 or v3",
        })?;
        Self::new(n)
    }
}

impl AsRef<str> for ModelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for ModelName {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ModelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        for bad in ["", "a/b", "..", "a..b", "-x", ".hidden", "a b", "é"] {
            assert!(ModelName::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ModelName::new("x".repeat(129)).is_err());
        assert!(ModelName::new("x".repeat(128)).is_ok());
        for good in ["a", "churn_v2", "penguins.species-1"] {
            assert!(ModelName::new(good).is_ok(), "{good:?} rejected");
        }
        assert!(serde_json::from_str::<ModelName>("\"../x\"").is_err());
    }

    #[test]
    fn versions() {
        assert!("v0".parse::<Version>().is_err());
        assert!("-1".parse::<Version>().is_err());
        assert_eq!("17".parse::<Version>().ok().map(Version::get), Some(17));
        assert!(serde_json::from_str::<Version>("0").is_err());
    }
}
