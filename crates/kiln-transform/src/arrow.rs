//! Applying fitted pipelines to Arrow record batches (feature `arrow`).

use arrow_array::RecordBatch;
use kiln_core::Batch;

use crate::matrix::{Matrix, OutputFloat};
use crate::{Error, FittedPipeline, Result};

impl FittedPipeline {
    /// Transforms an Arrow record batch into an `f32` row-major matrix.
    ///
    /// The columns the pipeline reads are converted with
    /// [`Batch::from_arrow`] against the [input schema](Self::input_schema)
    /// (other columns are ignored), then go through the same kernel as
    /// [`transform_batch`](Self::transform_batch). Since the record batch is
    /// borrowed, its buffers are shared and those columns are copied once;
    /// see [`Batch::from_arrow`] for the types accepted.
    pub fn transform_arrow(&self, batch: &RecordBatch) -> Result<Matrix<f32>> {
        self.transform_arrow_as(batch)
    }

    /// Transforms an Arrow record batch into an `f64` row-major matrix.
    pub fn transform_arrow_f64(&self, batch: &RecordBatch) -> Result<Matrix<f64>> {
        self.transform_arrow_as(batch)
    }

    /// Transforms an Arrow record batch into `out` (`rows * n_outputs()` long).
    pub fn transform_arrow_into<T: OutputFloat>(&self, batch: &RecordBatch, out: &mut [T]) -> Result<()> {
        self.transform_batch_into(&self.arrow_batch(batch)?, out)
    }

    fn transform_arrow_as<T: OutputFloat + kiln_core::buffer::Zeroed>(&self, batch: &RecordBatch) -> Result<Matrix<T>> {
        self.transform_batch_as(&self.arrow_batch(batch)?)
    }

    fn arrow_batch(&self, batch: &RecordBatch) -> Result<Batch> {
        let arrow_schema = batch.schema_ref();
        // `from_arrow` turns a missing nullable column into nulls; a pipeline
        // input that is absent is an error, as for batches and records.
        if let Some(f) = self
            .input_schema()
            .features()
            .iter()
            .find(|f| arrow_schema.index_of(&f.name).is_err())
        {
            return Err(Error::MissingFeature {
                feature: f.name.clone(),
                row: None,
            });
        }
        Ok(Batch::from_arrow(batch.clone(), Some(self.input_schema().clone()))?)
    }
}
