//! Versioned document tags (`"format": "kiln.<kind>/v<major>"`).
//!
//! Every JSON document Kiln writes carries a format tag. Readers accept any
//! minor revision of the major version they know (`kiln.schema/v1`,
//! `kiln.schema/v1.3`) and ignore unknown fields, so that older readers keep
//! working when a later Kiln adds optional fields; a new major version is
//! rejected with [`Error::UnsupportedFormat`].

use serde::Deserialize;

use crate::{Error, Result};

/// Checks that `found` is the tag `expected` (`"kiln.schema/v1"`) or a minor
/// revision of it (`"kiln.schema/v1.2"`).
///
/// ```
/// use kiln_core::format::check_format;
/// assert!(check_format("kiln.schema/v1", "kiln.schema/v1").is_ok());
/// assert!(check_format("kiln.schema/v1.4", "kiln.schema/v1").is_ok());
/// assert!(check_format("kiln.schema/v2", "kiln.schema/v1").is_err());
/// assert!(check_format("kiln.pipeline/v1", "kiln.schema/v1").is_err());
/// ```
pub fn check_format(found: &str, expected: &str) -> Result<()> {
    let ok = match found.strip_prefix(expected) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::UnsupportedFormat {
            found: found.chars().take(80).collect(),
            expected: expected.to_owned(),
        })
    }
}

#[derive(Deserialize)]
struct Tag {
    format: Option<String>,
}

/// Parses a versioned JSON document: reads its `format` tag first, checks it
/// against `expected`, then deserializes the whole document.
///
/// Reading the tag first means a document of another kind or a future major
/// version fails with [`Error::UnsupportedFormat`] rather than a confusing
/// "missing field" error.
pub fn from_json_slice<T: serde::de::DeserializeOwned>(bytes: &[u8], expected: &str, what: &'static str) -> Result<T> {
    let tag: Tag = serde_json::from_slice(bytes).map_err(|source| Error::Json { what, source })?;
    match tag.format {
        Some(found) => check_format(&found, expected)?,
        None => {
            return Err(Error::UnsupportedFormat {
                found: "<no format tag>".to_owned(),
                expected: expected.to_owned(),
            });
        }
    }
    serde_json::from_slice(bytes).map_err(|source| Error::Json { what, source })
}
