//! The error type of `kiln-validate`.

use crate::violation::Violations;

/// Everything that can go wrong in `kiln-validate`.
///
/// Messages name the thing at fault (feature, row, file) so that a user can
/// act on them without reading Kiln's source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record broke a rule whose policy is reject; every violation of the
    /// record is listed (flagged ones included).
    #[error("record rejected: {0}")]
    Rejected(Violations),
    /// A [`ValidatorConfig`](crate::ValidatorConfig) names a feature the
    /// schema does not have.
    #[error("validator config sets a policy for feature {0:?}, which is not in the schema")]
    UnknownFeature(String),
    /// Reading input (CSV) or a JSON document failed in `kiln-core`.
    #[error(transparent)]
    Core(#[from] kiln_core::Error),
}

impl Error {
    /// The violations of a rejected record; `None` for other errors.
    #[must_use]
    pub fn violations(&self) -> Option<&Violations> {
        match self {
            Self::Rejected(v) => Some(v),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
