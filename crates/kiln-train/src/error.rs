//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building, training, evaluating or
/// recording a model.
///
/// Where an error wraps another (I/O, kiln-core), the inner error is its
/// [`source`](std::error::Error::source) and not repeated in the message:
/// print the whole chain (e.g. `anyhow`'s `{:#}`) to see both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyperparameter is out of range (`batch_size` 0, a NaN learning rate, ...).
    #[error("hyperparameter {name}: {reason}")]
    InvalidHyperparameter {
        /// The hyperparameter, as named in [`Hyperparameters`](crate::Hyperparameters).
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// A model specification cannot describe a model (no inputs, a zero-width
    /// hidden layer, dropout of 1, ...).
    #[error("model spec: {0}")]
    InvalidModelSpec(String),

    /// The training or evaluation data do not fit together (rows x cols does
    /// not match the buffer, a non-finite feature, targets of another length).
    #[error("data: {0}")]
    InvalidData(String),

    /// There are no rows to train or evaluate on.
    #[error("data: {0} has no rows")]
    EmptyData(&'static str),

    /// The label is not a column of the schema or batch.
    #[error("label {label:?} is not in the schema")]
    LabelNotInSchema {
        /// The label name asked for.
        label: String,
    },

    /// The batch's schema marks no feature with the label role.
    #[error("the schema has no label: give one feature the role `label`")]
    NoLabel,

    /// A label value cannot be used (null, unknown class, not a number).
    #[error("label {label:?}, row {row}: {reason}")]
    InvalidLabel {
        /// The label name.
        label: String,
        /// The row (0-based).
        row: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// The slice feature is not in the batch, or its values cannot name a slice.
    #[error("slice feature {feature:?}: {reason}")]
    InvalidSlice {
        /// The feature asked for.
        feature: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A metric is undefined for these inputs (mismatched lengths, a class
    /// index out of range, a probability outside [0, 1]).
    #[error("metric {metric}: {reason}")]
    Metric {
        /// The metric.
        metric: &'static str,
        /// Why it cannot be computed.
        reason: String,
    },

    /// The backend is not compiled in, failed to start, or failed while running.
    #[error("backend {backend}: {reason}")]
    Backend {
        /// The backend (`flex`, `wgpu`, `cuda:0`).
        backend: String,
        /// What went wrong.
        reason: String,
    },

    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: loss is {loss}; lower the learning rate")]
    Diverged {
        /// The 1-based epoch.
        epoch: usize,
        /// The non-finite loss.
        loss: f64,
    },

    /// A weights file does not match the model it is loaded into, or cannot be written.
    #[error("weights {what}: {reason}")]
    Weights {
        /// The file or buffer.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A run id names no stored run, or is not a valid run id.
    #[error("run {run_id:?}: {reason}")]
    Run {
        /// The run id.
        run_id: String,
        /// What is wrong.
        reason: String,
    },

    /// A file could not be read or written. The operating system's error is
    /// the [`source`](std::error::Error::source), not repeated here.
    #[error("I/O error on {path}", path = path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An error from kiln-core (JSON document versions, digests, schemas).
    #[error(transparent)]
    Core(#[from] kiln_core::Error),

    /// An error from kiln-transform (applying a fitted pipeline to a batch).
    #[error(transparent)]
    Transform(#[from] kiln_transform::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn hyper(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidHyperparameter {
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn metric(metric: &'static str, reason: impl Into<String>) -> Self {
        Self::Metric {
            metric,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_do_not_repeat_their_source() {
        let cause = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no entry for you");
        let e = Error::io("/runs/a.json", cause);
        let message = e.to_string();
        assert!(message.contains("/runs/a.json"), "{message}");
        assert!(!message.contains("no entry for you"), "{message}");
        assert_eq!(e.source().map(ToString::to_string).as_deref(), Some("no entry for you"));
    }
}
