//! The batch path's fast lane: a chunk of rows is transformed step by step,
//! column at a time over the typed column slices, calling the kernel's
//! per-value functions ([`read_cell`], the [`LaneOp`] kernels, one-hot and
//! ordinal lookups) and writing the row-major output with a stride.
//!
//! Steps it does not specialize run through the per-row kernel
//! ([`StepPlan::run`]). Anything unusual in a chunk (a fault of any kind)
//! makes it give up ([`Bail`]); the caller then runs the chunk through the
//! per-row path, which reports exactly the error the record path would.

use kiln_core::{Bitmap, Column, ColumnData, DType, Value, ValueRef};

use crate::kernel::{
    Cell, ColumnsRow, Expander, LaneOp, LanePlan, OutSink, Plan, StepPlan, clip, log1p, mul_add, read_cell, sub_div,
    walk,
};
use crate::matrix::OutputFloat;

/// Rows per chunk of the fast lane (its scratch buffer lives on the stack).
pub(crate) const FAST_ROWS: usize = 1024;

/// The fast lane gave up on a chunk: rerun it through the per-row path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bail;

/// Transforms rows `first..first + out.len() / n` into `out` (`n` outputs a row).
pub(crate) fn run_chunk<T: OutputFloat>(
    plan: &Plan,
    cols: &[&Column],
    first: usize,
    out: &mut [T],
) -> Result<(), Bail> {
    let n = plan.n_outputs;
    if n == 0 {
        return Ok(());
    }
    let rows = out.len() / n;
    let mut start = 0;
    while start < rows {
        let m = (rows - start).min(FAST_ROWS);
        let seg = out.get_mut(start * n..(start + m) * n).ok_or(Bail)?;
        for step in &plan.steps {
            run_step(step, cols, first + start, m, n, seg)?;
        }
        start += m;
    }
    Ok(())
}

/// Runs one step over `m` rows starting at batch row `first`.
fn run_step<T: OutputFloat>(
    step: &StepPlan,
    cols: &[&Column],
    first: usize,
    m: usize,
    n: usize,
    out: &mut [T],
) -> Result<(), Bail> {
    if step.offset + step.width() > n {
        return Err(Bail);
    }
    match &step.expander {
        None => {
            let mut buf = [0.0f64; FAST_ROWS];
            let buf = buf.get_mut(..m).ok_or(Bail)?;
            for (i, lane) in step.lanes.iter().enumerate() {
                if !numeric_lane(lane, cols, first, buf)? {
                    return per_row(step, cols, first, m, n, out);
                }
                let indicator = step.offset + step.main_width + i;
                for op in &lane.ops {
                    apply_op(op, buf, indicator, n, out)?;
                }
                write_numbers(buf, step.offset + i, n, out)?;
            }
            Ok(())
        }
        Some(Expander::OneHot(enc)) if step.post.is_empty() => {
            for (i, (lane, e)) in step.lanes.iter().zip(enc).enumerate() {
                let width = e.width();
                let block = step.offset + lane.block;
                if block + width > n {
                    return Err(Bail);
                }
                let mut last: Option<(Cell<'_>, Option<usize>)> = None;
                categorical_lane(step, i, lane, cols, first, m, n, out, |c, row| {
                    let hot = match last {
                        Some((prev, hot)) if prev == c => hot,
                        _ => {
                            let hot = e.hot(c, lane.slot).map_err(|_| Bail)?;
                            last = Some((c, hot));
                            hot
                        }
                    };
                    let dst = row.get_mut(block..block + width).ok_or(Bail)?;
                    for (k, o) in dst.iter_mut().enumerate() {
                        *o = if hot == Some(k) { T::ONE } else { T::ZERO };
                    }
                    Ok(())
                })?;
            }
            Ok(())
        }
        Some(Expander::Ordinal(enc)) if step.post.is_empty() => {
            for (i, (lane, e)) in step.lanes.iter().zip(enc).enumerate() {
                let col = step.offset + lane.block;
                let mut last: Option<(Cell<'_>, T)> = None;
                categorical_lane(step, i, lane, cols, first, m, n, out, |c, row| {
                    let t = match last {
                        Some((prev, t)) if prev == c => t,
                        _ => {
                            let t = match e.code(c, lane.slot).map_err(|_| Bail)? {
                                Cell::Num(x) => T::from_f64(x),
                                _ => return Err(Bail),
                            };
                            if !t.is_finite() {
                                return Err(Bail);
                            }
                            last = Some((c, t));
                            t
                        }
                    };
                    *row.get_mut(col).ok_or(Bail)? = t;
                    Ok(())
                })?;
            }
            Ok(())
        }
        _ => per_row(step, cols, first, m, n, out),
    }
}

/// Runs a step the fast lane does not specialize through the per-row kernel.
fn per_row<T: OutputFloat>(
    step: &StepPlan,
    cols: &[&Column],
    first: usize,
    m: usize,
    n: usize,
    out: &mut [T],
) -> Result<(), Bail> {
    for (k, row) in out.chunks_exact_mut(n).take(m).enumerate() {
        let src = ColumnsRow { cols, row: first + k };
        let seg = row.get_mut(step.offset..step.offset + step.width()).ok_or(Bail)?;
        let mut sink = OutSink {
            out: seg,
            main: step.main_width,
            offset: step.offset,
        };
        step.run(&src, &mut sink).map_err(|_| Bail)?;
    }
    Ok(())
}

/// A read value as a number, NaN for missing (a cell is never NaN).
#[inline(always)]
#[allow(clippy::cast_precision_loss)]
fn as_number(c: Result<Cell<'_>, crate::kernel::ReadFault>) -> (f64, bool) {
    match c {
        Ok(Cell::Num(x)) => (x, true),
        Ok(Cell::Null) => (f64::NAN, true),
        Ok(Cell::Int(i)) => (i as f64, true),
        Ok(Cell::Bool(b)) => (if b { 1.0 } else { 0.0 }, true),
        _ => (f64::NAN, false),
    }
}

/// Reads `vals` as type `dtype` (constant after inlining) into `buf`.
#[inline(always)]
fn read_typed<X: Copy>(
    dtype: DType,
    vals: &[X],
    validity: Option<&Bitmap>,
    first: usize,
    buf: &mut [f64],
    value: impl Fn(X) -> ValueRef<'static>,
) -> Result<(), Bail> {
    let mut ok = true;
    match validity {
        None => {
            for (b, &x) in buf.iter_mut().zip(vals) {
                let (y, good) = as_number(read_cell(dtype, value(x)));
                *b = y;
                ok &= good;
            }
        }
        Some(bits) => {
            for (k, (b, &x)) in buf.iter_mut().zip(vals).enumerate() {
                let v = if bits.get(first + k) { value(x) } else { ValueRef::Null };
                let (y, good) = as_number(read_cell(dtype, v));
                *b = y;
                ok &= good;
            }
        }
    }
    if ok { Ok(()) } else { Err(Bail) }
}

#[inline(always)]
fn read_values<X: Copy>(
    dtype: DType,
    vals: &[X],
    validity: Option<&Bitmap>,
    first: usize,
    buf: &mut [f64],
    value: impl Fn(X) -> ValueRef<'static>,
) -> Result<bool, Bail> {
    let vals = vals.get(first..first + buf.len()).ok_or(Bail)?;
    match dtype {
        DType::Float64 => read_typed(DType::Float64, vals, validity, first, buf, value)?,
        DType::Float32 => read_typed(DType::Float32, vals, validity, first, buf, value)?,
        DType::Int64 => read_typed(DType::Int64, vals, validity, first, buf, value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads a numeric lane's values (NaN for missing) into `buf`; `false` when
/// the lane is not numeric.
fn numeric_lane(lane: &LanePlan, cols: &[&Column], first: usize, buf: &mut [f64]) -> Result<bool, Bail> {
    let col = cols.get(lane.slot).ok_or(Bail)?;
    let validity = col.validity();
    match col.data() {
        ColumnData::Float64(v) => read_values(lane.dtype, v, validity, first, buf, ValueRef::Float),
        ColumnData::Float32(v) => read_values(lane.dtype, v, validity, first, buf, |x| ValueRef::Float(f64::from(x))),
        ColumnData::Int64(v) => read_values(lane.dtype, v, validity, first, buf, ValueRef::Int),
        _ => Ok(false),
    }
}

/// Applies `kernel` to the present values of `buf`; a non-finite result bails.
#[inline(always)]
fn map_present(buf: &mut [f64], kernel: impl Fn(f64) -> f64) -> Result<(), Bail> {
    let mut ok = true;
    for b in buf.iter_mut() {
        let x = *b;
        let y = kernel(x);
        ok &= x.is_nan() || y.is_finite();
        *b = if x.is_nan() { x } else { y };
    }
    if ok { Ok(()) } else { Err(Bail) }
}

/// Applies one element-wise operation to a numeric lane (missing = NaN).
#[allow(clippy::cast_precision_loss)]
fn apply_op<T: OutputFloat>(
    op: &LaneOp,
    buf: &mut [f64],
    indicator: usize,
    n: usize,
    out: &mut [T],
) -> Result<(), Bail> {
    match op {
        LaneOp::Fill { value, indicator: ind } => {
            let fill = match value {
                Value::Float(x) => *x,
                Value::Int(i) => *i as f64,
                Value::Bool(b) => {
                    if *b {
                        1.0
                    } else {
                        0.0
                    }
                }
                _ => {
                    if buf.iter().any(|x| x.is_nan()) {
                        return Err(Bail);
                    }
                    f64::NAN
                }
            };
            if *ind {
                if indicator >= n {
                    return Err(Bail);
                }
                for (row, x) in out.chunks_exact_mut(n).zip(buf.iter()) {
                    row[indicator] = if x.is_nan() { T::ONE } else { T::ZERO };
                }
            }
            if fill.is_nan() {
                return Ok(());
            }
            for b in buf.iter_mut() {
                if b.is_nan() {
                    *b = fill;
                }
            }
            Ok(())
        }
        LaneOp::SubDiv { sub, div } => map_present(buf, |x| sub_div(x, *sub, *div)),
        LaneOp::MulAdd { mul, add, clip } => map_present(buf, |x| mul_add(x, *mul, *add, *clip)),
        LaneOp::Log1p => map_present(buf, log1p),
        LaneOp::Clip { lo, hi } => map_present(buf, |x| clip(x, *lo, *hi)),
    }
}

/// Writes a numeric lane to output column `col`; a missing or non-finite value bails.
fn write_numbers<T: OutputFloat>(buf: &[f64], col: usize, n: usize, out: &mut [T]) -> Result<(), Bail> {
    if col >= n {
        return Err(Bail);
    }
    let mut ok = true;
    for (row, &x) in out.chunks_exact_mut(n).zip(buf) {
        let t = T::from_f64(x);
        ok &= t.is_finite();
        row[col] = t;
    }
    if ok { Ok(()) } else { Err(Bail) }
}

/// Reads a categorical lane row by row (the kernel's read and element-wise
/// operations) and hands each cell and output row to `encode`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn categorical_lane<'a, T: OutputFloat>(
    step: &'a StepPlan,
    i: usize,
    lane: &'a LanePlan,
    cols: &[&'a Column],
    first: usize,
    m: usize,
    n: usize,
    out: &mut [T],
    mut encode: impl FnMut(Cell<'a>, &mut [T]) -> Result<(), Bail>,
) -> Result<(), Bail> {
    let col: &'a Column = cols.get(lane.slot).ok_or(Bail)?;
    if col.len() < first + m {
        return Err(Bail);
    }
    let validity = col.validity();
    let data = col.data();
    for (k, row) in out.chunks_exact_mut(n).take(m).enumerate() {
        let r = first + k;
        let v = if validity.is_some_and(|b| !b.get(r)) {
            ValueRef::Null
        } else {
            match data {
                ColumnData::Utf8(s) => ValueRef::Str(s.get(r)),
                ColumnData::Int64(v) => ValueRef::Int(*v.get(r).ok_or(Bail)?),
                ColumnData::Float64(v) => ValueRef::Float(*v.get(r).ok_or(Bail)?),
                ColumnData::Float32(v) => ValueRef::Float(f64::from(*v.get(r).ok_or(Bail)?)),
                ColumnData::Bool(v) => ValueRef::Bool(v.get(r)),
                _ => return Err(Bail),
            }
        };
        let mut c = read_cell(lane.dtype, v).map_err(|_| Bail)?;
        if !lane.ops.is_empty() {
            let seg = row.get_mut(step.offset..step.offset + step.width()).ok_or(Bail)?;
            let mut sink = OutSink {
                out: seg,
                main: step.main_width,
                offset: step.offset,
            };
            walk(&lane.ops, &mut c, i, &mut sink).map_err(|_| Bail)?;
        }
        encode(c, row)?;
    }
    Ok(())
}
