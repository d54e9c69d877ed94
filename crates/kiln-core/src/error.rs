//! The error type of `kiln-core`.

use std::path::PathBuf;

/// Everything that can go wrong in `kiln-core`.
///
/// Messages name the thing at fault (feature, file, line, column) so that a
/// user can act on them without reading Kiln's source. Where an error wraps
/// another (I/O, JSON), the inner error is its
/// [`source`](std::error::Error::source) and not repeated in the message:
/// print the whole chain (e.g. `anyhow`'s `{:#}`) to see both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An identifier (model name, version) was rejected.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId {
        /// What kind of identifier (`"model name"`, `"version"`).
        kind: &'static str,
        /// The rejected input (truncated to 80 characters).
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A digest string was not `sha256:` followed by 64 hex digits.
    #[error("invalid digest {0:?}: expected 64 hex characters, optionally prefixed with \"sha256:\"")]
    InvalidDigest(String),
    /// A JSON document could not be parsed.
    #[error("{what}: invalid JSON")]
    Json {
        /// Which document (`"schema"`, ...).
        what: &'static str,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A versioned document has a format tag this version of Kiln cannot read.
    #[error("unsupported format {found:?}: this version of Kiln reads {expected:?}")]
    UnsupportedFormat {
        /// The tag found in the document.
        found: String,
        /// The tag (kind and major version) this reader understands.
        expected: String,
    },
    /// A schema broke one of its own rules (duplicate names, min > max, ...).
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// A feature name that the schema does not have.
    #[error("unknown feature {0:?}")]
    UnknownFeature(String),
    /// A value does not fit the type of its feature.
    #[error("feature {feature:?}{}: expected {expected}, got {got}", row_suffix(*row))]
    TypeMismatch {
        /// The feature.
        feature: String,
        /// The row (record index) when known.
        row: Option<usize>,
        /// The expected type.
        expected: String,
        /// A description of the value found.
        got: String,
    },
    /// Columns handed to [`Batch::new`](crate::Batch::new) do not fit the schema.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// A CSV file could not be read into a batch.
    #[error("{source_name}: line {line}{}: {message}", column_suffix(column.as_deref()))]
    Csv {
        /// File path or source name.
        source_name: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// The column (header name) when the problem is in one cell.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The input holds no data rows where some are needed.
    #[error("{0}: no data rows")]
    Empty(String),
    /// Reading a file failed.
    #[error("cannot read {path}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Converting to or from Arrow failed.
    #[cfg(feature = "arrow")]
    #[error("arrow: {0}")]
    Arrow(String),
}

fn row_suffix(row: Option<usize>) -> String {
    row.map(|r| format!(" (row {r})")).unwrap_or_default()
}

fn column_suffix(column: Option<&str>) -> String {
    column.map(|c| format!(", column {c:?}")).unwrap_or_default()
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
