//! The batch path's fast lane: a tile of rows is transformed step by step,
//! column at a time over the typed column slices, calling the kernel's
//! per-value functions ([`read_cell`]'s rules, the [`LaneOp`] kernels,
//! one-hot and ordinal lookups) into a column-major tile, which is then
//! stored as the rows of the row-major output.
//!
//! A tile is [`tile_rows`] rows (128 for 32 `f32` outputs), so that its
//! outputs stay in the L1 cache while written column by column, and its
//! numeric scratch lives on the stack. Numeric lanes run as passes over a
//! tile of `f64` (read, each operation, conversion), loops the compiler
//! vectorizes; failures are collected as flags, not branches. Category
//! lookups go through [`CategoryIndex`](crate::category::CategoryIndex),
//! the record path's lookup, once per value (strings read straight from
//! the column's buffer).
//!
//! Steps it does not specialize run through the per-row kernel
//! ([`StepPlan::run`]). Anything unusual in a tile (a fault of any kind)
//! makes it give up ([`Bail`]); the caller then runs the tile through the
//! per-row path, which reports exactly the error the record path would.
//! Giving up is always safe; succeeding promises the per-row path's exact
//! bits, which the property tests check.

use kiln_core::{Bitmap, Column, ColumnData, DType, Value, ValueRef};

use crate::kernel::{
    Cell, ColumnsRow, Expander, LaneOp, LanePlan, OneHotLane, OutSink, Plan, StepPlan, clip, log1p, mul_add, read_cell,
    sub_div, walk,
};
use crate::matrix::OutputFloat;

/// Most rows per tile of the fast lane (the size of the stack scratch).
pub(crate) const TILE_ROWS: usize = 128;

/// A tile's column-major outputs are kept about this size, so that they
/// stay in the L1 cache while written column by column.
const TILE_BYTES: usize = 16 << 10;

/// Fewest rows per tile (very wide outputs).
const MIN_TILE_ROWS: usize = 8;

/// Rows per tile for `n` outputs of type `T`: a power of two from
/// [`MIN_TILE_ROWS`] to [`TILE_ROWS`], so that it divides a chunk.
pub(crate) fn tile_rows<T>(n: usize) -> usize {
    let fit = (TILE_BYTES / (n.max(1) * size_of::<T>())).clamp(MIN_TILE_ROWS, TILE_ROWS);
    1 << fit.ilog2()
}

/// The fast lane gave up on a tile: rerun it through the per-row path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bail;

/// Space for a tile's column-major outputs, reused from tile to tile.
pub(crate) struct TileBuf<T>(Vec<T>);

impl<T: OutputFloat> TileBuf<T> {
    /// Room for a tile of [`tile_rows`] rows of `n` outputs.
    pub(crate) fn new(n: usize) -> Self {
        Self(vec![T::ZERO; n * tile_rows::<T>(n)])
    }
}

/// A tile's outputs, column-major: output column `c` of the tile's `m`
/// rows is `buf[c * m..(c + 1) * m]`. Steps write whole columns (loops the
/// compiler vectorizes, in the L1 cache); [`transpose`] then stores the
/// rows in order. (Storing each column straight into the row-major output,
/// one value every `n` outputs, is a cache miss per row and was a third of
/// the batch path's time.)
struct Tile<'b, T> {
    buf: &'b mut [T],
    m: usize,
}

impl<T> Tile<'_, T> {
    /// Output column `c` of the tile.
    #[inline(always)]
    fn col(&mut self, c: usize) -> Result<&mut [T], Bail> {
        self.buf.get_mut(c * self.m..(c + 1) * self.m).ok_or(Bail)
    }

    /// A sink writing row `k` of a step whose first output is `offset`.
    #[inline(always)]
    fn row_sink(&mut self, step: &StepPlan, k: usize) -> Result<OutSink<'_, T>, Bail> {
        Ok(OutSink {
            out: self.buf.get_mut(step.offset * self.m + k..).ok_or(Bail)?,
            main: step.main_width,
            offset: step.offset,
            stride: self.m,
        })
    }
}

/// Per-tile scratch space (on the stack of the caller).
struct Scratch {
    /// A numeric lane's values, `f64`, NaN for missing.
    num: [f64; TILE_ROWS],
    /// A categorical lane's codes (one-hot column, `u32::MAX` for none).
    codes: [u32; TILE_ROWS],
}

/// Transforms rows `first..first + out.len() / n` (at most the
/// [`tile_rows`] `buf` was made for) into `out` (`n` outputs a row).
pub(crate) fn run_tile<T: OutputFloat>(
    plan: &Plan,
    cols: &[&Column],
    first: usize,
    out: &mut [T],
    buf: &mut TileBuf<T>,
) -> Result<(), Bail> {
    let n = plan.n_outputs;
    if n == 0 {
        return Ok(());
    }
    let m = out.len() / n;
    if m > TILE_ROWS || m * n != out.len() {
        return Err(Bail);
    }
    let mut tile = Tile {
        buf: buf.0.get_mut(..m * n).ok_or(Bail)?,
        m,
    };
    let mut scratch = Scratch {
        num: [0.0; TILE_ROWS],
        codes: [0; TILE_ROWS],
    };
    for step in &plan.steps {
        run_step(step, cols, first, n, &mut tile, &mut scratch)?;
    }
    transpose(tile.buf, m, out);
    Ok(())
}

/// Stores the column-major `cols` (columns of `m` values) as the rows of
/// `out`, in order.
#[inline]
fn transpose<T: Copy>(cols: &[T], m: usize, out: &mut [T]) {
    let n = cols.len() / m.max(1);
    for (k, row) in out.chunks_exact_mut(n).enumerate() {
        for (o, col) in row.iter_mut().zip(cols.chunks_exact(m)) {
            if let Some(&v) = col.get(k) {
                *o = v;
            }
        }
    }
}

/// Runs one step over the `tile.m` rows of a tile starting at batch row `first`.
fn run_step<T: OutputFloat>(
    step: &StepPlan,
    cols: &[&Column],
    first: usize,
    n: usize,
    tile: &mut Tile<'_, T>,
    scratch: &mut Scratch,
) -> Result<(), Bail> {
    if step.offset + step.width() > n {
        return Err(Bail);
    }
    let m = tile.m;
    match &step.expander {
        None => {
            let buf = scratch.num.get_mut(..m).ok_or(Bail)?;
            for (i, lane) in step.lanes.iter().enumerate() {
                let indicator = step.offset + step.main_width + i;
                let column = step.offset + i;
                if let Some(p) = one_pass(&lane.ops) {
                    if p.indicator {
                        // Rewritten by the other paths if this one does not finish.
                        missing_indicator(lane, cols, first, tile.col(indicator)?)?;
                    }
                    match one_pass_lane(lane, p, cols, first, tile.col(column)?)? {
                        OnePassed::Done => continue,
                        OnePassed::NotNumeric => return per_row(step, cols, first, tile),
                        OnePassed::Nulls => {}
                    }
                }
                if !numeric_lane(lane, cols, first, buf)? {
                    return per_row(step, cols, first, tile);
                }
                for op in &lane.ops {
                    apply_op(op, buf, indicator, tile)?;
                }
                write_numbers(buf, tile.col(column)?)?;
            }
            Ok(())
        }
        Some(Expander::OneHot(enc)) if step.post.is_empty() => {
            let codes = scratch.codes.get_mut(..m).ok_or(Bail)?;
            for (i, (lane, e)) in step.lanes.iter().zip(enc).enumerate() {
                let width = e.width();
                let block = step.offset + lane.block;
                if block + width > n {
                    return Err(Bail);
                }
                let code = |hot: Option<usize>| hot.and_then(|h| u32::try_from(h).ok()).unwrap_or(u32::MAX);
                if let Some((values, offsets)) = plain_strings(lane, cols, first, m)? {
                    // A listed category is `hot`'s first answer; anything else takes its full way.
                    for (c, (start, end)) in codes.iter_mut().zip(spans(offsets)) {
                        *c = match e.categories.find_at(values, start, end) {
                            Some(h) => code(Some(h)),
                            None => code(unlisted(e, lane.slot, values, start, end)?),
                        };
                    }
                } else {
                    categorical_lane(step, i, lane, cols, first, tile, codes, |c| {
                        e.hot(c, lane.slot).map(code).map_err(|_| Bail)
                    })?;
                }
                // Column by column: a vectorized comparison and store.
                for (j, c) in (0..).zip(block..block + width) {
                    for (t, &code) in tile.col(c)?.iter_mut().zip(codes.iter()) {
                        *t = if code == j { T::ONE } else { T::ZERO };
                    }
                }
            }
            Ok(())
        }
        Some(Expander::Ordinal(enc)) if step.post.is_empty() => {
            let buf = scratch.num.get_mut(..m).ok_or(Bail)?;
            for (i, (lane, e)) in step.lanes.iter().zip(enc).enumerate() {
                let code = |c: Cell<'_>| match e.code(c, lane.slot) {
                    Ok(Cell::Num(x)) => Ok(x),
                    _ => Err(Bail),
                };
                if let Some((values, offsets)) = plain_strings(lane, cols, first, m)? {
                    for (b, (start, end)) in buf.iter_mut().zip(spans(offsets)) {
                        *b = code(Cell::Str(values.get(start..end).ok_or(Bail)?))?;
                    }
                } else {
                    categorical_lane(step, i, lane, cols, first, tile, buf, code)?;
                }
                write_numbers(buf, tile.col(step.offset + lane.block)?)?;
            }
            Ok(())
        }
        _ => per_row(step, cols, first, tile),
    }
}

/// A string column's buffer and the `m + 1` offsets of rows `first..first + m`,
/// when the lane encodes its strings as they are: no nulls, no operations
/// before the encoder (`read_cell` of a string for a string feature is the
/// string).
#[inline(always)]
fn plain_strings<'a>(
    lane: &LanePlan,
    cols: &[&'a Column],
    first: usize,
    m: usize,
) -> Result<Option<(&'a str, &'a [i64])>, Bail> {
    let col = cols.get(lane.slot).ok_or(Bail)?;
    match (col.data(), col.validity(), lane.ops.is_empty(), lane.dtype) {
        (ColumnData::Utf8(s), None, true, DType::Categorical | DType::String) => {
            Ok(Some((s.values(), s.offsets().get(first..=first + m).ok_or(Bail)?)))
        }
        _ => Ok(None),
    }
}

/// The byte range of each string from consecutive offsets.
#[inline(always)]
fn spans(offsets: &[i64]) -> impl Iterator<Item = (usize, usize)> + '_ {
    // Offsets are non-negative (a `StringColumn` invariant).
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    offsets.windows(2).map(|w| (w[0] as usize, w[1] as usize))
}

/// The one-hot column of `values[start..end]`, not a listed category
/// (infrequent, unknown): off the hot loop.
#[cold]
#[inline(never)]
fn unlisted(e: &OneHotLane, slot: usize, values: &str, start: usize, end: usize) -> Result<Option<usize>, Bail> {
    let s = values.get(start..end).ok_or(Bail)?;
    e.hot(Cell::Str(s), slot).map_err(|_| Bail)
}

/// Runs a step the fast lane does not specialize through the per-row kernel.
fn per_row<T: OutputFloat>(
    step: &StepPlan,
    cols: &[&Column],
    first: usize,
    tile: &mut Tile<'_, T>,
) -> Result<(), Bail> {
    for k in 0..tile.m {
        let src = ColumnsRow { cols, row: first + k };
        step.run(&src, &mut tile.row_sink(step, k)?).map_err(|_| Bail)?;
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

/// Reads `vals` as type `dtype` through [`read_cell`] into `buf` (the
/// general case; [`convert`] is the common one).
#[inline(always)]
fn read_typed<X: Copy>(
    dtype: DType,
    vals: &[X],
    buf: &mut [f64],
    value: impl Fn(X) -> ValueRef<'static>,
) -> Result<(), Bail> {
    let mut ok = true;
    for (b, &x) in buf.iter_mut().zip(vals) {
        let (y, good) = as_number(read_cell(dtype, value(x)));
        *b = y;
        ok &= good;
    }
    if ok { Ok(()) } else { Err(Bail) }
}

/// Reads `vals` into `buf` by `f`, which must be [`read_cell`] followed by
/// [`as_number`] for every present value that reads without fault, and give
/// an infinity for one that does not (NaN stays NaN: missing).
#[inline(always)]
fn convert<X: Copy>(vals: &[X], buf: &mut [f64], f: impl Fn(X) -> f64) -> Result<(), Bail> {
    let mut bad = false;
    for (b, &x) in buf.iter_mut().zip(vals) {
        let y = f(x);
        bad |= y.is_infinite();
        *b = y;
    }
    if bad { Err(Bail) } else { Ok(()) }
}

/// Marks the null rows of `buf` missing (NaN).
fn apply_validity(validity: Option<&Bitmap>, first: usize, buf: &mut [f64]) {
    if let Some(bits) = validity {
        for (k, b) in buf.iter_mut().enumerate() {
            if !bits.get(first + k) {
                *b = f64::NAN;
            }
        }
    }
}

/// Reads a numeric lane's values (NaN for missing) into `buf`; `false` when
/// the lane is not numeric.
///
/// Each arm is `read_cell(lane.dtype, value)` then [`as_number`], written
/// out for its pair of column and feature type: a `float64` value is
/// itself; rounded to `f32` for a `float32` feature; an integer converts
/// (through `f32` for a `float32` feature); infinities are refused. Floats
/// read as `int64` features (integral check, `-0.0` becoming `0`) take the
/// general path.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn numeric_lane(lane: &LanePlan, cols: &[&Column], first: usize, buf: &mut [f64]) -> Result<bool, Bail> {
    let col = cols.get(lane.slot).ok_or(Bail)?;
    let m = buf.len();
    let range = first..first + m;
    match (col.data(), lane.dtype) {
        (ColumnData::Float64(v), DType::Float64) => convert(v.get(range).ok_or(Bail)?, buf, |x| x)?,
        (ColumnData::Float64(v), DType::Float32) => {
            convert(v.get(range).ok_or(Bail)?, buf, |x| f64::from(x as f32))?;
        }
        (ColumnData::Float32(v), DType::Float32 | DType::Float64) => {
            convert(v.get(range).ok_or(Bail)?, buf, f64::from)?;
        }
        (ColumnData::Int64(v), DType::Float64 | DType::Int64) => convert(v.get(range).ok_or(Bail)?, buf, |i| i as f64)?,
        (ColumnData::Int64(v), DType::Float32) => {
            convert(v.get(range).ok_or(Bail)?, buf, |i| f64::from(i as f32))?;
        }
        (ColumnData::Float64(v), DType::Int64) => {
            read_typed(DType::Int64, v.get(range).ok_or(Bail)?, buf, ValueRef::Float)?;
        }
        (ColumnData::Float32(v), DType::Int64) => {
            read_typed(DType::Int64, v.get(range).ok_or(Bail)?, buf, |x| {
                ValueRef::Float(f64::from(x))
            })?;
        }
        _ => return Ok(false),
    }
    apply_validity(col.validity(), first, buf);
    Ok(true)
}

/// A numeric lane's operations when one pass can apply them: a fill of
/// missing values (NaN for none: missing stays missing), then one operation
/// that keeps non-finite values non-finite (so the finiteness check of the
/// output sees every fault on the way, including an infinite input).
#[derive(Clone, Copy, Debug)]
struct OnePass {
    fill: f64,
    indicator: bool,
    op: OneOp,
}

#[derive(Clone, Copy, Debug)]
enum OneOp {
    /// `(x - sub) / div`; `(x - 0) / 1` for no operation, which is `x`.
    SubDiv { sub: f64, div: f64 },
    /// `x * mul + add`, not clipped.
    MulAdd { mul: f64, add: f64 },
}

/// A numeric fill value as the kernel reads it (`None` for a string).
#[allow(clippy::cast_precision_loss)]
fn fill_number(value: &Value) -> Option<f64> {
    match value {
        Value::Float(x) => Some(*x),
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// The one-pass form of `ops`, if it has one.
fn one_pass(ops: &[LaneOp]) -> Option<OnePass> {
    let (fill, indicator, rest) = match ops {
        [LaneOp::Fill { value, indicator }, rest @ ..] => (fill_number(value)?, *indicator, rest),
        rest => (f64::NAN, false, rest),
    };
    let op = match rest {
        [] => OneOp::SubDiv { sub: 0.0, div: 1.0 },
        [LaneOp::SubDiv { sub, div }] => OneOp::SubDiv { sub: *sub, div: *div },
        [LaneOp::MulAdd { mul, add, clip: None }] => OneOp::MulAdd { mul: *mul, add: *add },
        _ => return None,
    };
    Some(OnePass { fill, indicator, op })
}

/// How [`one_pass_lane`] went.
enum OnePassed {
    /// `tmp` holds the lane's outputs.
    Done,
    /// The column is not numeric: the step runs row by row.
    NotNumeric,
    /// The tile has null rows: the general numeric path takes it.
    Nulls,
}

/// Whether rows `first..first + m` are all valid.
fn all_valid(validity: Option<&Bitmap>, first: usize, m: usize) -> bool {
    validity.is_none_or(|bits| (first..first + m).all(|r| bits.get(r)))
}

/// Reads, fills, transforms and converts a numeric lane into `tmp` in one
/// pass; a non-finite output (a fault on the way) bails.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn one_pass_lane<T: OutputFloat>(
    lane: &LanePlan,
    p: OnePass,
    cols: &[&Column],
    first: usize,
    tmp: &mut [T],
) -> Result<OnePassed, Bail> {
    let col = cols.get(lane.slot).ok_or(Bail)?;
    let m = tmp.len();
    if !all_valid(col.validity(), first, m) {
        return Ok(OnePassed::Nulls);
    }
    let range = first..first + m;
    // The reads are `numeric_lane`'s.
    let ok = match (col.data(), lane.dtype) {
        (ColumnData::Float64(v), DType::Float64) => one_pass_values(v.get(range).ok_or(Bail)?, |x| x, p, tmp),
        (ColumnData::Float64(v), DType::Float32) => {
            one_pass_values(v.get(range).ok_or(Bail)?, |x| f64::from(x as f32), p, tmp)
        }
        (ColumnData::Float32(v), DType::Float32 | DType::Float64) => {
            one_pass_values(v.get(range).ok_or(Bail)?, f64::from, p, tmp)
        }
        (ColumnData::Int64(v), DType::Float64 | DType::Int64) => {
            one_pass_values(v.get(range).ok_or(Bail)?, |i| i as f64, p, tmp)
        }
        (ColumnData::Int64(v), DType::Float32) => {
            one_pass_values(v.get(range).ok_or(Bail)?, |i| f64::from(i as f32), p, tmp)
        }
        (ColumnData::Float64(_) | ColumnData::Float32(_), DType::Int64) => return Ok(OnePassed::Nulls),
        _ => return Ok(OnePassed::NotNumeric),
    };
    if ok { Ok(OnePassed::Done) } else { Err(Bail) }
}

/// [`one_pass_lane`]'s loop, one per read and operation.
#[inline(always)]
fn one_pass_values<X: Copy, T: OutputFloat>(vals: &[X], read: impl Fn(X) -> f64, p: OnePass, tmp: &mut [T]) -> bool {
    #[inline(always)]
    fn run<X: Copy, T: OutputFloat>(
        vals: &[X],
        read: impl Fn(X) -> f64,
        fill: f64,
        op: impl Fn(f64) -> f64,
        tmp: &mut [T],
    ) -> bool {
        let mut ok = true;
        for (t, &x) in tmp.iter_mut().zip(vals) {
            let x = read(x);
            let x = if x.is_nan() { fill } else { x };
            let y = T::from_f64(op(x));
            ok &= y.is_finite();
            *t = y;
        }
        ok
    }
    match p.op {
        OneOp::SubDiv { sub, div } => run(vals, read, p.fill, |x| sub_div(x, sub, div), tmp),
        OneOp::MulAdd { mul, add } => run(vals, read, p.fill, |x| mul_add(x, mul, add, None), tmp),
    }
}

/// The missing indicator of a lane without null rows (NaN values).
fn missing_indicator<T: OutputFloat>(
    lane: &LanePlan,
    cols: &[&Column],
    first: usize,
    tmp: &mut [T],
) -> Result<(), Bail> {
    let col = cols.get(lane.slot).ok_or(Bail)?;
    let bits = [T::ZERO, T::ONE];
    let range = first..first + tmp.len();
    match col.data() {
        ColumnData::Float64(v) => {
            for (t, x) in tmp.iter_mut().zip(v.get(range).ok_or(Bail)?) {
                *t = bits[usize::from(x.is_nan())];
            }
        }
        ColumnData::Float32(v) => {
            for (t, x) in tmp.iter_mut().zip(v.get(range).ok_or(Bail)?) {
                *t = bits[usize::from(x.is_nan())];
            }
        }
        // Integers are never missing without a null.
        _ => tmp.fill(T::ZERO),
    }
    Ok(())
}

/// Applies `kernel` to the present values of `buf`; a non-finite result bails.
#[inline(always)]
fn map_present(buf: &mut [f64], kernel: impl Fn(f64) -> f64) -> Result<(), Bail> {
    // `|` and a select rather than `||` and a branch: the loop vectorizes.
    let mut ok = true;
    for b in buf.iter_mut() {
        let x = *b;
        let y = kernel(x);
        let missing = x.is_nan();
        ok &= missing | y.is_finite();
        *b = if missing { x } else { y };
    }
    if ok { Ok(()) } else { Err(Bail) }
}

/// Applies one element-wise operation to a numeric lane (missing = NaN);
/// a missing indicator goes to output column `indicator` of the tile.
#[allow(clippy::cast_precision_loss)]
fn apply_op<T: OutputFloat>(
    op: &LaneOp,
    buf: &mut [f64],
    indicator: usize,
    tile: &mut Tile<'_, T>,
) -> Result<(), Bail> {
    match op {
        LaneOp::Fill { value, indicator: ind } => {
            let fill = match fill_number(value) {
                Some(x) => x,
                None => {
                    if buf.iter().any(|x| x.is_nan()) {
                        return Err(Bail);
                    }
                    f64::NAN
                }
            };
            if *ind {
                for (t, x) in tile.col(indicator)?.iter_mut().zip(buf.iter()) {
                    *t = if x.is_nan() { T::ONE } else { T::ZERO };
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

/// Converts a numeric lane into an output column; a missing or non-finite
/// value bails.
fn write_numbers<T: OutputFloat>(buf: &[f64], col: &mut [T]) -> Result<(), Bail> {
    // `&=` rather than an early return: the loop vectorizes.
    let mut ok = true;
    for (t, &x) in col.iter_mut().zip(buf) {
        let y = T::from_f64(x);
        ok &= y.is_finite();
        *t = y;
    }
    if ok { Ok(()) } else { Err(Bail) }
}

/// Reads a categorical lane (the kernel's read and element-wise operations)
/// and stores `encode` of each row's cell in `codes` (one per tile row);
/// the general way, where [`plain_strings`] does not apply.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn categorical_lane<'a, T: OutputFloat, C>(
    step: &'a StepPlan,
    i: usize,
    lane: &'a LanePlan,
    cols: &[&'a Column],
    first: usize,
    tile: &mut Tile<'_, T>,
    codes: &mut [C],
    mut encode: impl FnMut(Cell<'a>) -> Result<C, Bail>,
) -> Result<(), Bail> {
    let col: &'a Column = cols.get(lane.slot).ok_or(Bail)?;
    let m = codes.len();
    if col.len() < first + m {
        return Err(Bail);
    }
    let validity = col.validity();
    let data = col.data();
    for (k, code) in codes.iter_mut().enumerate() {
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
            walk(&lane.ops, &mut c, i, &mut tile.row_sink(step, k)?).map_err(|_| Bail)?;
        }
        *code = encode(c)?;
    }
    Ok(())
}
