//! The kernel: one function per transform, called per value by the record
//! path, the batch path and fitting alike.
//!
//! A row flows through a step as [`Cell`]s (borrowed values). Reading turns
//! a [`ValueRef`] into a cell by the feature's type ([`read_cell`]);
//! element-wise transforms are [`LaneOp`]s applied by [`walk`]; expanding
//! transforms write several cells; a [`Sink`] receives the step's output
//! cells (the serving sink converts them to the output float, fitting
//! collects them).

use std::cell::Cell as StdCell;
use std::sync::atomic::{AtomicIsize, Ordering};

use kiln_core::{Column, DType, Record, Value, ValueRef};

use crate::category::{CategoryIndex, Key};
use crate::hash::{Murmur3, column_and_sign};
use crate::matrix::OutputFloat;
use crate::spec::{HandleUnknown, OrdinalUnknown};

/// Most inputs a hashing step may have (its per-row buffer lives on the stack).
pub(crate) const MAX_HASH_INPUTS: usize = 64;

/// A value on its way through a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Missing (null or NaN).
    Null,
    /// Fitting only: missing before an imputer still being fitted.
    Pending,
    Num(f64),
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

impl<'a> Cell<'a> {
    #[inline]
    pub(crate) fn is_null(self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value as a number (integers convert, booleans are 0/1).
    #[inline]
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn num(self) -> Option<f64> {
        match self {
            Self::Num(x) => Some(x),
            Self::Int(i) => Some(i as f64),
            Self::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    /// The value as a category key (not for floats).
    #[inline]
    pub(crate) fn key(self) -> Option<Key<'a>> {
        match self {
            Self::Null => Some(Key::Null),
            Self::Int(i) => Some(Key::Int(i)),
            Self::Bool(b) => Some(Key::Bool(b)),
            Self::Str(s) => Some(Key::Str(s)),
            Self::Num(_) | Self::Pending => None,
        }
    }

    #[inline]
    pub(crate) fn from_value(v: &'a Value) -> Self {
        match v {
            Value::Bool(b) => Self::Bool(*b),
            Value::Int(i) => Self::Int(*i),
            Value::Float(x) => Self::Num(*x),
            Value::Str(s) => Self::Str(s),
            _ => Self::Null,
        }
    }

    /// An owned copy (for fill values computed while fitting).
    pub(crate) fn to_value(self) -> Value {
        match self {
            Self::Null | Self::Pending => Value::Null,
            Self::Num(x) => Value::Float(x),
            Self::Int(i) => Value::Int(i),
            Self::Bool(b) => Value::Bool(b),
            Self::Str(s) => Value::Str(s.to_owned()),
        }
    }
}

/// Why a value could not be read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReadFault {
    WrongType,
    Infinite(f64),
}

#[inline]
fn float_cell<'a>(x: f64) -> Result<Cell<'a>, ReadFault> {
    if x.is_nan() {
        Ok(Cell::Null)
    } else if x.is_infinite() {
        Err(ReadFault::Infinite(x))
    } else {
        Ok(Cell::Num(x))
    }
}

/// Reads a value of a feature of type `dtype`, exactly as both paths must:
/// NaN is missing, infinities are refused, `float32` features are rounded to
/// `f32` (what a [`Batch`](kiln_core::Batch) stores), integers are accepted
/// for float features and integral floats for `int64` ones (as
/// [`ColumnBuilder`](kiln_core::ColumnBuilder) accepts them).
#[inline(always)]
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub(crate) fn read_cell(dtype: DType, v: ValueRef<'_>) -> Result<Cell<'_>, ReadFault> {
    match (dtype, v) {
        (_, ValueRef::Null) => Ok(Cell::Null),
        (DType::Float32, ValueRef::Float(x)) => float_cell(f64::from(x as f32)),
        (DType::Float32, ValueRef::Int(i)) => Ok(Cell::Num(f64::from(i as f32))),
        (DType::Float64, ValueRef::Float(x)) => float_cell(x),
        (DType::Float64, ValueRef::Int(i)) => Ok(Cell::Num(i as f64)),
        (DType::Int64 | DType::Timestamp, ValueRef::Int(i)) => Ok(Cell::Int(i)),
        (DType::Int64, ValueRef::Float(x)) if x.is_nan() => Ok(Cell::Null),
        (DType::Int64, ValueRef::Float(x)) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => {
            Ok(Cell::Int(x as i64))
        }
        (DType::Timestamp, ValueRef::Str(s)) => kiln_core::timestamp::parse_micros(s)
            .map(Cell::Int)
            .ok_or(ReadFault::WrongType),
        (DType::Bool, ValueRef::Bool(b)) => Ok(Cell::Bool(b)),
        (DType::Categorical | DType::String, ValueRef::Str(s)) => Ok(Cell::Str(s)),
        _ => Err(ReadFault::WrongType),
    }
}

/// Where a non-finite value appeared.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At {
    Unset,
    /// Input slot.
    Slot(u32),
    /// Output column (global index).
    Output(u32),
}

/// A failure inside the kernel: small and `Copy`, so the hot path moves
/// little; turned into an [`Error`](crate::Error) with names, the offending
/// value (read again from the input) and the row by the caller.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fault {
    /// The input lacks the feature of this slot.
    Missing {
        slot: u32,
    },
    /// The value of this slot has the wrong type.
    WrongType {
        slot: u32,
    },
    /// The value of this slot is infinite.
    Infinite {
        slot: u32,
    },
    /// The value of this slot is a category not seen in fitting.
    Unknown {
        slot: u32,
    },
    NonFinite {
        at: At,
        value: f64,
    },
    /// A missing value reached output column `output`.
    NullOutput {
        output: u32,
    },
    Internal(&'static str),
}

impl Fault {
    #[inline]
    pub(crate) fn at(self, at: At) -> Self {
        match self {
            Self::NonFinite { at: At::Unset, value } => Self::NonFinite { at, value },
            f => f,
        }
    }
}

/// Index conversions for faults (a plan never has 2^32 slots or outputs).
#[inline]
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn idx(i: usize) -> u32 {
    i as u32
}

/// An element-wise operation of one column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LaneOp {
    /// Imputer: a missing value becomes `value`; `indicator` reports whether it was.
    Fill {
        value: Value,
        indicator: bool,
    },
    /// `(x - sub) / div` (standard and robust scalers; 0 and 1 when disabled,
    /// which leave every finite `x` bit-identical).
    SubDiv {
        sub: f64,
        div: f64,
    },
    /// `x * mul + add`, then clipped (min-max scaler).
    MulAdd {
        mul: f64,
        add: f64,
        clip: Option<(f64, f64)>,
    },
    Log1p,
    /// `min(max(x, lo), hi)`.
    Clip {
        lo: f64,
        hi: f64,
    },
}

/// Standard and robust scalers: `(x - sub) / div`.
#[inline(always)]
pub(crate) fn sub_div(x: f64, sub: f64, div: f64) -> f64 {
    (x - sub) / div
}

/// Min-max scaler: `x * mul + add`, then clipped to `clip`.
#[inline(always)]
pub(crate) fn mul_add(x: f64, mul: f64, add: f64, clip: Option<(f64, f64)>) -> f64 {
    let y = x * mul + add;
    match clip {
        Some((lo, hi)) => y.max(lo).min(hi),
        None => y,
    }
}

/// `ln(1 + x)`.
#[inline(always)]
pub(crate) fn log1p(x: f64) -> f64 {
    x.ln_1p()
}

/// Clipping: `min(max(x, lo), hi)`.
#[inline(always)]
pub(crate) fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

#[inline(always)]
fn num_op(c: &mut Cell<'_>, f: impl FnOnce(f64) -> f64) -> Result<(), Fault> {
    let x = match *c {
        Cell::Num(x) => x,
        Cell::Null | Cell::Pending => return Ok(()),
        Cell::Str(_) => return Err(Fault::Internal("a numeric transform received a string")),
        other => other.num().unwrap_or(f64::NAN),
    };
    let y = f(x);
    if y.is_finite() {
        *c = Cell::Num(y);
        Ok(())
    } else {
        Err(Fault::NonFinite {
            at: At::Unset,
            value: y,
        })
    }
}

/// Applies one column's element-wise operations in order, in place.
/// Missing values pass through every numeric operation (as NaN does in
/// sklearn) until an imputer fills them.
#[inline(always)]
pub(crate) fn walk<'a, K: Sink<'a>>(
    ops: &'a [LaneOp],
    c: &mut Cell<'a>,
    lane: usize,
    sink: &mut K,
) -> Result<(), Fault> {
    for op in ops {
        match op {
            LaneOp::Fill { value, indicator } => {
                if *indicator {
                    sink.indicator(lane, c.is_null());
                }
                if c.is_null() {
                    *c = Cell::from_value(value);
                }
            }
            LaneOp::SubDiv { sub, div } => num_op(c, |x| sub_div(x, *sub, *div))?,
            LaneOp::MulAdd { mul, add, clip } => num_op(c, |x| mul_add(x, *mul, *add, *clip))?,
            LaneOp::Log1p => num_op(c, log1p)?,
            LaneOp::Clip { lo, hi } => num_op(c, |x| clip(x, *lo, *hi))?,
        }
    }
    Ok(())
}

/// Receives a step's output cells.
pub(crate) trait Sink<'a> {
    /// Output column `j` of the step.
    fn put(&mut self, j: usize, c: Cell<'a>) -> Result<(), Fault>;
    /// The missing indicator of lane `lane`.
    fn indicator(&mut self, lane: usize, missing: bool);
}

/// The serving sink: writes checked output floats.
///
/// Output column `j` of the step is `out[j * stride]`: a row's segment has
/// stride 1, a column-major tile of `m` rows (the batch path) stride `m`.
pub(crate) struct OutSink<'o, T> {
    pub(crate) out: &'o mut [T],
    pub(crate) main: usize,
    pub(crate) offset: usize,
    pub(crate) stride: usize,
}

impl<'a, T: OutputFloat> Sink<'a> for OutSink<'_, T> {
    #[inline(always)]
    fn put(&mut self, j: usize, c: Cell<'a>) -> Result<(), Fault> {
        let y = match c {
            Cell::Num(x) => x,
            Cell::Null | Cell::Pending => {
                return Err(Fault::NullOutput {
                    output: idx(self.offset + j),
                });
            }
            Cell::Str(_) => return Err(Fault::Internal("a string reached the output")),
            other => other.num().unwrap_or(f64::NAN),
        };
        let t = T::from_f64(y);
        if !t.is_finite() {
            return Err(Fault::NonFinite {
                at: At::Output(idx(self.offset + j)),
                value: y,
            });
        }
        match self.out.get_mut(j * self.stride) {
            Some(slot) => {
                *slot = t;
                Ok(())
            }
            None => Err(Fault::Internal("output index out of range")),
        }
    }

    #[inline]
    fn indicator(&mut self, lane: usize, missing: bool) {
        if let Some(slot) = self.out.get_mut((self.main + lane) * self.stride) {
            *slot = if missing { T::ONE } else { T::ZERO };
        }
    }
}

/// The fitting sink: keeps the cells of a chain prefix.
pub(crate) struct CellSink<'a> {
    pub(crate) cells: Vec<Cell<'a>>,
}

impl<'a> Sink<'a> for CellSink<'a> {
    fn put(&mut self, j: usize, c: Cell<'a>) -> Result<(), Fault> {
        match self.cells.get_mut(j) {
            Some(slot) => {
                *slot = c;
                Ok(())
            }
            None => Err(Fault::Internal("prefix output index out of range")),
        }
    }

    fn indicator(&mut self, _lane: usize, _missing: bool) {}
}

/// Where a step reads its input values.
pub(crate) trait RowSource<'a> {
    /// The value of input slot `slot`; `None` when the input lacks the feature.
    fn value(&self, slot: usize) -> Option<ValueRef<'a>>;
}

/// An input feature of a fitted pipeline.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) name: String,
    /// The key of `name`: record fields are matched without `memcmp`.
    pub(crate) key: kiln_core::StrKey,
    pub(crate) dtype: DType,
    /// Position of the feature in the schema the pipeline was fitted on.
    pub(crate) hint: usize,
}

/// A record as a row source. Fields are found by position first: the
/// feature's position in the training schema, shifted by the offset of the
/// last field found elsewhere (so a record that omits the label, or follows
/// the input schema's order, is read without any search); a miss falls back
/// to a linear scan. No hashing, no allocation.
pub(crate) struct RecordRow<'a> {
    pub(crate) record: &'a Record,
    pub(crate) slots: &'a [Slot],
    pub(crate) shift: StdCell<isize>,
}

impl<'a> RowSource<'a> for RecordRow<'a> {
    #[inline(always)]
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    fn value(&self, slot: usize) -> Option<ValueRef<'a>> {
        let s = self.slots.get(slot)?;
        let guess = s.hint as isize + self.shift.get();
        if guess >= 0
            && let Some((name, v)) = self.record.field_at(guess as usize)
            && s.key.matches(&s.name, name)
        {
            return Some(v.as_ref());
        }
        self.search(s)
    }
}

impl<'a> RecordRow<'a> {
    /// Finds the field of `s` by a scan, and remembers its shift.
    #[cold]
    #[inline(never)]
    #[allow(clippy::cast_possible_wrap)]
    fn search(&self, s: &Slot) -> Option<ValueRef<'a>> {
        let (i, v) = self
            .record
            .iter()
            .enumerate()
            .find_map(|(i, (name, v))| s.key.matches(&s.name, name).then_some((i, v)))?;
        self.shift.set(i as isize - s.hint as isize);
        Some(v.as_ref())
    }
}

/// One row of columns (a batch's, or a retained chunk's) as a row source;
/// `cols[slot]` is the column of slot `slot`.
pub(crate) struct ColumnsRow<'a> {
    pub(crate) cols: &'a [&'a Column],
    pub(crate) row: usize,
}

impl<'a> RowSource<'a> for ColumnsRow<'a> {
    #[inline]
    fn value(&self, slot: usize) -> Option<ValueRef<'a>> {
        let c: &'a Column = self.cols.get(slot)?;
        (self.row < c.len()).then(|| c.value(self.row))
    }
}

/// One-hot encoding of one column.
#[derive(Clone, Debug)]
pub(crate) struct OneHotLane {
    pub(crate) categories: CategoryIndex,
    pub(crate) infrequent: CategoryIndex,
    pub(crate) unknown: HandleUnknown,
    /// Whether the `__other__` column exists (last).
    pub(crate) other: bool,
}

impl OneHotLane {
    pub(crate) fn width(&self) -> usize {
        self.categories.len() + usize::from(self.other)
    }

    /// The hot column, `None` for all zeros.
    #[inline]
    pub(crate) fn hot(&self, c: Cell<'_>, slot: usize) -> Result<Option<usize>, Fault> {
        let key = c.key().ok_or(Fault::Internal("one-hot of a non-categorical value"))?;
        if let Some(i) = self.categories.find(key) {
            return Ok(Some(i));
        }
        let other = Some(self.categories.len());
        if self.other && self.infrequent.find(key).is_some() {
            return Ok(other);
        }
        match self.unknown {
            HandleUnknown::Ignore => Ok(None),
            HandleUnknown::Other if self.other => Ok(other),
            _ => Err(Fault::Unknown { slot: idx(slot) }),
        }
    }
}

/// Ordinal encoding of one column.
#[derive(Clone, Debug)]
pub(crate) struct OrdinalLane {
    pub(crate) categories: CategoryIndex,
    pub(crate) unknown: OrdinalUnknown,
    pub(crate) missing: Option<f64>,
}

impl OrdinalLane {
    #[inline]
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn code<'a>(&self, c: Cell<'a>, slot: usize) -> Result<Cell<'a>, Fault> {
        if c.is_null() {
            return Ok(self.missing.map_or(Cell::Null, Cell::Num));
        }
        let key = c.key().ok_or(Fault::Internal("ordinal of a non-categorical value"))?;
        match (self.categories.find(key), self.unknown) {
            (Some(i), _) => Ok(Cell::Num(i as f64)),
            (None, OrdinalUnknown::Value(v)) => Ok(Cell::Num(v)),
            (None, _) => Err(Fault::Unknown { slot: idx(slot) }),
        }
    }
}

/// Binning of one column: bin = number of inner edges `<= x`.
#[derive(Clone, Debug)]
pub(crate) struct BinsLane {
    pub(crate) inner: Vec<f64>,
    pub(crate) n_bins: usize,
    pub(crate) one_hot: bool,
}

impl BinsLane {
    pub(crate) fn width(&self) -> usize {
        if self.one_hot { self.n_bins } else { 1 }
    }

    #[inline]
    fn bin(&self, x: f64) -> usize {
        self.inner.partition_point(|e| *e <= x)
    }
}

/// The hashing trick over all lanes.
#[derive(Clone, Debug)]
pub(crate) struct HashPlan {
    pub(crate) n_features: u32,
    pub(crate) alternate_sign: bool,
    /// Per lane: the hash state after `"<name>="` (string values) ...
    pub(crate) prefix: Vec<Murmur3>,
    /// ... and the hash of `"<name>"` (numeric values).
    pub(crate) name_hash: Vec<u32>,
}

impl HashPlan {
    #[inline]
    fn token(&self, lane: usize, c: Cell<'_>) -> Result<Option<(u32, f64)>, Fault> {
        let (h, value) = match c {
            Cell::Null | Cell::Pending => return Ok(None),
            Cell::Str(s) => {
                let mut m = *self.prefix.get(lane).ok_or(Fault::Internal("hash lane"))?;
                m.write(s.as_bytes());
                (m.finish(), 1.0)
            }
            other => {
                let x = other.num().unwrap_or(0.0);
                if x == 0.0 {
                    return Ok(None);
                }
                (*self.name_hash.get(lane).ok_or(Fault::Internal("hash lane"))?, x)
            }
        };
        let (col, sign) = column_and_sign(h, self.n_features, self.alternate_sign);
        Ok(Some((col, sign * value)))
    }
}

/// Degree-2 products of two lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PolyPlan {
    pub(crate) interaction_only: bool,
    pub(crate) include_linear: bool,
}

impl PolyPlan {
    pub(crate) fn width(self) -> usize {
        2 * usize::from(self.include_linear) + if self.interaction_only { 1 } else { 3 }
    }
}

/// The expanding transform of a step.
#[derive(Clone, Debug)]
pub(crate) enum Expander {
    OneHot(Vec<OneHotLane>),
    Ordinal(Vec<OrdinalLane>),
    Bins(Vec<BinsLane>),
    Hash(HashPlan),
    Poly(PolyPlan),
}

/// One input column of a step.
#[derive(Clone, Debug)]
pub(crate) struct LanePlan {
    pub(crate) slot: usize,
    pub(crate) dtype: DType,
    /// Element-wise operations before the expander (all of them without one).
    pub(crate) ops: Vec<LaneOp>,
    /// First output column of this lane's block (per-lane expanders).
    pub(crate) block: usize,
}

/// A compiled step: everything precomputed for applying it.
#[derive(Clone, Debug)]
pub(crate) struct StepPlan {
    pub(crate) lanes: Vec<LanePlan>,
    pub(crate) expander: Option<Expander>,
    /// Element-wise operations after the expander, per output column (empty when none).
    pub(crate) post: Vec<Vec<LaneOp>>,
    /// Output columns before the indicators.
    pub(crate) main_width: usize,
    /// Missing-indicator columns (after the main ones).
    pub(crate) indicator_width: usize,
    /// First output column of the step in the pipeline.
    pub(crate) offset: usize,
}

impl StepPlan {
    pub(crate) fn width(&self) -> usize {
        self.main_width + self.indicator_width
    }

    /// Reads lane `i` and applies its element-wise operations.
    #[inline(always)]
    fn pre<'a, S: RowSource<'a>, K: Sink<'a>>(
        &'a self,
        i: usize,
        lane: &'a LanePlan,
        src: &S,
        sink: &mut K,
    ) -> Result<Cell<'a>, Fault> {
        let slot = idx(lane.slot);
        let v = src.value(lane.slot).ok_or(Fault::Missing { slot })?;
        let mut c = read_cell(lane.dtype, v).map_err(|e| match e {
            ReadFault::WrongType => Fault::WrongType { slot },
            ReadFault::Infinite(_) => Fault::Infinite { slot },
        })?;
        walk(&lane.ops, &mut c, i, sink).map_err(|f| f.at(At::Slot(slot)))?;
        Ok(c)
    }

    /// Applies the post-expander operations of output `j` and hands it over.
    #[inline(always)]
    fn emit<'a, K: Sink<'a>>(&'a self, j: usize, mut c: Cell<'a>, sink: &mut K) -> Result<(), Fault> {
        if let Some(ops) = self.post.get(j) {
            walk(ops, &mut c, j, sink).map_err(|f| f.at(At::Output(idx(self.offset + j))))?;
        }
        sink.put(j, c)
    }

    /// Runs the step on one row.
    #[inline]
    pub(crate) fn run<'a, S: RowSource<'a>, K: Sink<'a>>(&'a self, src: &S, sink: &mut K) -> Result<(), Fault> {
        match &self.expander {
            None => {
                for (i, lane) in self.lanes.iter().enumerate() {
                    let c = self.pre(i, lane, src, sink)?;
                    self.emit(i, c, sink)?;
                }
            }
            Some(Expander::OneHot(enc)) => {
                for (i, (lane, e)) in self.lanes.iter().zip(enc).enumerate() {
                    let c = self.pre(i, lane, src, sink)?;
                    let hot = e.hot(c, lane.slot)?;
                    for k in 0..e.width() {
                        let v = if hot == Some(k) { 1.0 } else { 0.0 };
                        self.emit(lane.block + k, Cell::Num(v), sink)?;
                    }
                }
            }
            Some(Expander::Ordinal(enc)) => {
                for (i, (lane, e)) in self.lanes.iter().zip(enc).enumerate() {
                    let c = self.pre(i, lane, src, sink)?;
                    let code = e.code(c, lane.slot)?;
                    self.emit(lane.block, code, sink)?;
                }
            }
            Some(Expander::Bins(bins)) => {
                for (i, (lane, b)) in self.lanes.iter().zip(bins).enumerate() {
                    let c = self.pre(i, lane, src, sink)?;
                    self.run_bins(b, lane.block, c, sink)?;
                }
            }
            Some(Expander::Hash(h)) => self.run_hash(h, src, sink)?,
            Some(Expander::Poly(p)) => self.run_poly(*p, src, sink)?,
        }
        Ok(())
    }

    #[inline]
    #[allow(clippy::cast_precision_loss)]
    fn run_bins<'a, K: Sink<'a>>(&'a self, b: &BinsLane, block: usize, c: Cell<'a>, sink: &mut K) -> Result<(), Fault> {
        let bin = match c {
            Cell::Null | Cell::Pending => None,
            other => Some(b.bin(other.num().ok_or(Fault::Internal("binning of a string"))?)),
        };
        if !b.one_hot {
            return self.emit(block, bin.map_or(Cell::Null, |k| Cell::Num(k as f64)), sink);
        }
        for k in 0..b.n_bins {
            let v = match bin {
                None => Cell::Null,
                Some(hot) => Cell::Num(if hot == k { 1.0 } else { 0.0 }),
            };
            self.emit(block + k, v, sink)?;
        }
        Ok(())
    }

    fn run_hash<'a, S: RowSource<'a>, K: Sink<'a>>(&'a self, h: &HashPlan, src: &S, sink: &mut K) -> Result<(), Fault> {
        let mut buf = [(0u32, 0.0f64); MAX_HASH_INPUTS];
        let mut m = 0;
        for (i, lane) in self.lanes.iter().enumerate() {
            let c = self.pre(i, lane, src, sink)?;
            if let Some(t) = h.token(i, c)? {
                let slot = buf.get_mut(m).ok_or(Fault::Internal("too many hash inputs"))?;
                *slot = t;
                m += 1;
            }
        }
        let entries = &mut buf[..m];
        // Insertion sort: a handful of entries, no allocation.
        for i in 1..entries.len() {
            let mut j = i;
            while j > 0 && entries[j - 1].0 > entries[j].0 {
                entries.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut next = 0;
        for col in 0..h.n_features {
            let mut sum = 0.0;
            while next < entries.len() && entries[next].0 == col {
                sum += entries[next].1;
                next += 1;
            }
            self.emit(col as usize, Cell::Num(sum), sink)?;
        }
        Ok(())
    }

    fn run_poly<'a, S: RowSource<'a>, K: Sink<'a>>(&'a self, p: PolyPlan, src: &S, sink: &mut K) -> Result<(), Fault> {
        let [la, lb] = self.lanes.as_slice() else {
            return Err(Fault::Internal("polynomial needs two lanes"));
        };
        let a = self.pre(0, la, src, sink)?;
        let b = self.pre(1, lb, src, sink)?;
        let (Some(x), Some(y)) = (a.num(), b.num()) else {
            for j in 0..p.width() {
                self.emit(j, Cell::Null, sink)?;
            }
            return Ok(());
        };
        let mut j = 0;
        let mut out = |v: f64, sink: &mut K| {
            let r = if v.is_finite() {
                self.emit(j, Cell::Num(v), sink)
            } else {
                Err(Fault::NonFinite {
                    at: At::Output(idx(self.offset + j)),
                    value: v,
                })
            };
            j += 1;
            r
        };
        if p.include_linear {
            out(x, sink)?;
            out(y, sink)?;
        }
        if p.interaction_only {
            out(x * y, sink)?;
        } else {
            out(x * x, sink)?;
            out(x * y, sink)?;
            out(y * y, sink)?;
        }
        Ok(())
    }
}

/// The offset between training-schema positions and record positions seen
/// in the last record: the next record likely has the same layout. A hint
/// only (relaxed atomics), so concurrent callers never wait on each other.
#[derive(Debug, Default)]
pub(crate) struct ShiftHint(AtomicIsize);

impl ShiftHint {
    #[inline]
    pub(crate) fn get(&self) -> isize {
        self.0.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn set(&self, shift: isize) {
        if self.get() != shift {
            self.0.store(shift, Ordering::Relaxed);
        }
    }
}

impl Clone for ShiftHint {
    fn clone(&self) -> Self {
        Self(AtomicIsize::new(self.get()))
    }
}

/// A compiled pipeline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub(crate) slots: Vec<Slot>,
    pub(crate) steps: Vec<StepPlan>,
    pub(crate) n_outputs: usize,
    pub(crate) shift: ShiftHint,
}

impl Plan {
    /// Runs every step on one row, writing `out` (`n_outputs` long).
    #[inline]
    pub(crate) fn run_row<'a, S: RowSource<'a>, T: OutputFloat>(&'a self, src: &S, out: &mut [T]) -> Result<(), Fault> {
        for step in &self.steps {
            let seg = out
                .get_mut(step.offset..step.offset + step.width())
                .ok_or(Fault::Internal("step outputs out of range"))?;
            let mut sink = OutSink {
                out: seg,
                main: step.main_width,
                offset: step.offset,
                stride: 1,
            };
            step.run(src, &mut sink)?;
        }
        Ok(())
    }
}
