//! The training benchmark's data: a dense `f32` matrix of 20 standardised
//! features and a binary label, and its NumPy (`.npy`) form for the
//! comparison script `benches/compare/train_epoch.py`.
//!
//! Features are bell-shaped (Irwin-Hall of 4 uniforms, scaled to unit
//! variance), as a fitted pipeline's standard-scaled outputs are. The label
//! follows a fixed noisy rule with a linear part and an interaction, so that
//! both a logistic regression and an MLP have something to learn:
//! `y = 1` when `w . x + 0.5 * x0 * x1 + e > 0`, `e` uniform in [-1, 1).
//!
//! ```
//! use kiln_benches::train_data;
//! let (x, y) = train_data::matrix(1_000);
//! assert_eq!((x.len(), y.len()), (1_000 * train_data::COLS, 1_000));
//! let positives = y.iter().filter(|&&c| c == 1).count();
//! assert!((300..700).contains(&positives), "{positives}");
//!
//! let mut npy = Vec::new();
//! train_data::write_npy_f32(&mut npy, &x, &[1_000, train_data::COLS])?;
//! assert_eq!(&npy[..6], b"\x93NUMPY");
//! let header = npy.len() - 1_000 * train_data::COLS * 4;
//! assert_eq!(header % 64, 0); // .npy headers are padded to 64 bytes
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

use crate::{SEED, SplitMix64};

/// Rows of the training benchmark data.
pub const ROWS: usize = 1_000_000;

/// Feature columns.
pub const COLS: usize = 20;

/// Rows per gradient step in the training benches and the comparison script.
pub const BATCH_SIZE: usize = 256;

/// The first `rows` rows: the row-major `rows x COLS` features and one class
/// (0 or 1) per row.
#[must_use]
pub fn matrix(rows: usize) -> (Vec<f32>, Vec<usize>) {
    let mut rng = SplitMix64::new(SEED ^ 0x7472_6169_6e00_0000); // "train"
    let weights: Vec<f64> = (0..COLS).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    let mut x = Vec::with_capacity(rows * COLS);
    let mut y = Vec::with_capacity(rows);
    let mut row = [0.0f64; COLS];
    for _ in 0..rows {
        for v in &mut row {
            let u = rng.next_f64() + rng.next_f64() + rng.next_f64() + rng.next_f64();
            *v = (u - 2.0) * 3f64.sqrt();
        }
        let z: f64 = row.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>()
            + 0.5 * row[0] * row[1]
            + (rng.next_f64() * 2.0 - 1.0);
        x.extend(row.iter().map(|&v| v as f32));
        y.push(usize::from(z > 0.0));
    }
    (x, y)
}

/// Writes `data` (row-major, of the given shape) as a NumPy `.npy` file
/// (format 1.0, little-endian `float32`).
pub fn write_npy_f32<W: Write>(out: W, data: &[f32], shape: &[usize]) -> io::Result<()> {
    write_npy(out, "<f4", shape, data.iter().map(|v| v.to_le_bytes()))
}

/// Writes `data` as a NumPy `.npy` file of little-endian `int64`.
pub fn write_npy_i64<W: Write>(out: W, data: &[i64], shape: &[usize]) -> io::Result<()> {
    write_npy(out, "<i8", shape, data.iter().map(|v| v.to_le_bytes()))
}

fn write_npy<W: Write, const N: usize>(
    out: W,
    descr: &str,
    shape: &[usize],
    values: impl ExactSizeIterator<Item = [u8; N]>,
) -> io::Result<()> {
    let count: usize = shape.iter().product();
    if values.len() != count {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} values for shape {shape:?}", values.len()),
        ));
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let len = u16::try_from(header.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "shape too long for a .npy header"))?;
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for v in values {
        out.write_all(&v)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let (x, _) = matrix(3);
        let mut bytes = Vec::new();
        write_npy_f32(&mut bytes, &x, &[3, COLS]).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(
            header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 20), }"),
            "{header}"
        );
        assert!(header.ends_with('\n'));
        let data: Vec<f32> = bytes[10 + header_len..]
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(data, x);

        let mut labels = Vec::new();
        write_npy_i64(&mut labels, &[0, 1, 1], &[3]).unwrap();
        let header_len = usize::from(u16::from_le_bytes([labels[8], labels[9]]));
        assert!(
            std::str::from_utf8(&labels[10..10 + header_len])
                .unwrap()
                .contains("'shape': (3,)")
        );
        assert_eq!(labels.len(), 10 + header_len + 24);
        assert!(write_npy_i64(&mut Vec::new(), &[1, 2], &[3]).is_err());
    }

    #[test]
    fn data_is_deterministic_and_standardised() {
        let (x, y) = matrix(20_000);
        assert_eq!(matrix(20_000), (x.clone(), y));
        for c in 0..COLS {
            let col: Vec<f64> = x.iter().skip(c).step_by(COLS).map(|&v| f64::from(v)).collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!(
                mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
                "column {c}: {mean} {var}"
            );
        }
    }
}
