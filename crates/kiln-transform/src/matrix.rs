//! Dense row-major output matrices and the output float trait.

use std::fmt::Debug;

/// A float type pipelines write: `f32` (what Burn trains on) or `f64`.
///
/// Every value is computed in `f64` and converted once, when written, so an
/// `f32` output is the `f64` output rounded to nearest.
pub trait OutputFloat: Copy + Default + PartialEq + Debug + Send + Sync + 'static {
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Converts (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

impl OutputFloat for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    #[allow(clippy::cast_possible_truncation)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl OutputFloat for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// A dense row-major matrix: `data[row * cols + col]`.
///
/// ```
/// use kiln_transform::Matrix;
/// let m = Matrix { rows: 2, cols: 3, data: vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0] };
/// assert_eq!(m.row(1), Some(&[4.0, 5.0, 6.0][..]));
/// assert_eq!(m.get(0, 2), Some(3.0));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix<T = f32> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<T>,
}

impl<T: Copy> Matrix<T> {
    /// Row `i`.
    #[must_use]
    pub fn row(&self, i: usize) -> Option<&[T]> {
        if i >= self.rows {
            return None;
        }
        self.data.get(i * self.cols..(i + 1) * self.cols)
    }

    /// The value at (`row`, `col`).
    #[must_use]
    pub fn get(&self, row: usize, col: usize) -> Option<T> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        self.data.get(row * self.cols + col).copied()
    }

    /// The rows in order (a row missing from a too-short `data` is empty).
    pub fn iter_rows(&self) -> impl ExactSizeIterator<Item = &[T]> + '_ {
        (0..self.rows).map(move |i| self.data.get(i * self.cols..(i + 1) * self.cols).unwrap_or(&[]))
    }

    /// Gives up the values.
    #[must_use]
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
}
