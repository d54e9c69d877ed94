//! Fitting: a mergeable partial-fit state, so that data can be fitted in
//! shards or streamed batch by batch.
//!
//! Most chains are fitted in one pass ("streaming"): every transform that
//! learns something sees the values of its column as they arrive. This
//! holds when every learning transform has only element-wise transforms
//! before it, of which only imputers learn: an imputer still being fitted
//! turns a missing value into a *pending* one, which later transforms
//! count, and which becomes the imputer's fill when fitting finishes (a
//! median-imputed, then standard-scaled column gets the scaler's moments of
//! the non-missing values merged with `m` copies of the median).
//!
//! Other chains (a scaler fitted on the output of another scaler, anything
//! learned after an expanding transform) keep the step's input columns
//! ("retained": the raw columns of the step, as read) and fit transform after
//! transform when fitting finishes, each on the output of the ones before.

use std::collections::BTreeMap;

use kiln_core::{Batch, Column, DType, Schema, Value, ValueRef};
use rayon::prelude::*;

use crate::category::Category;
use crate::fitted::{FittedPipeline, FittedStep, FittedTransform, bind_columns, compile_step, step_names};
use crate::kernel::{
    At, Cell, CellSink, ColumnsRow, Fault, MAX_HASH_INPUTS, ReadFault, RowSource, idx, read_cell, walk,
};
use crate::spec::{HandleUnknown, ImputeStrategy, MinFrequency, OrdinalUnknown, Pipeline, Step, Transform};
use crate::stats::{
    AccData, LaneAcc, Moments, NotNumeric, median_sorted, mode_category, mode_float, percentile_sorted,
};
use crate::{Error, Result};

/// What a column holds on its way through a chain, for type checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cat,
    Bool,
    Int,
    Num,
}

fn kind_of(dtype: DType) -> Kind {
    match dtype {
        DType::Float32 | DType::Float64 => Kind::Num,
        DType::Int64 | DType::Timestamp => Kind::Int,
        DType::Bool => Kind::Bool,
        _ => Kind::Cat,
    }
}

/// The kind after a constant imputer fills `v` into a column of kind `k`.
fn constant_kind(k: Kind, v: &Value) -> Option<Kind> {
    match (k, v) {
        (Kind::Cat, Value::Str(_)) => Some(Kind::Cat),
        (Kind::Bool, Value::Bool(_)) => Some(Kind::Bool),
        (Kind::Int, Value::Int(_)) => Some(Kind::Int),
        (Kind::Int | Kind::Num, Value::Float(_)) | (Kind::Num, Value::Int(_)) => Some(Kind::Num),
        _ => None,
    }
}

/// A step's chain, checked against its input types.
#[derive(Clone, Debug)]
struct StepInfo {
    dropped: bool,
    streaming: bool,
    /// Column kinds before each transform (empty after an expanding one: all numeric).
    kinds: Vec<Vec<Kind>>,
    last_stateful: Option<usize>,
}

fn analyze(step: &Step, k: usize, dtypes: &[DType]) -> Result<StepInfo> {
    let inputs = step.inputs();
    let bad = |m: String| Error::InvalidPipeline(format!("step {k} ({}): {m}", inputs.join(", ")));
    let ts = step.transforms();
    if step.is_drop() {
        if ts.len() != 1 {
            return Err(bad("drop must be the only transform of its step".to_owned()));
        }
        return Ok(StepInfo {
            dropped: true,
            streaming: true,
            kinds: Vec::new(),
            last_stateful: None,
        });
    }
    if inputs.is_empty() {
        return Err(bad("the step has no input features".to_owned()));
    }
    if let Some(dup) = inputs.iter().enumerate().find(|(i, n)| inputs[..*i].contains(n)) {
        return Err(bad(format!("input {:?} is listed twice", dup.1)));
    }
    let mut kinds: Vec<Kind> = dtypes.iter().map(|d| kind_of(*d)).collect();
    let mut expanded = false;
    let mut indicator = false;
    let mut kinds_before = Vec::with_capacity(ts.len());
    for t in ts {
        kinds_before.push(if expanded { Vec::new() } else { kinds.clone() });
        t.check_params().map_err(bad)?;
        let categorical = kinds.iter().position(|k| *k == Kind::Cat);
        let was_expanded = expanded;
        let numeric = |what: &str| match categorical {
            Some(i) if !was_expanded => Err(bad(format!(
                "{what} needs numbers but {:?} is categorical; encode it (one_hot, ordinal, hash) first",
                inputs[i]
            ))),
            _ => Ok(()),
        };
        if !t.is_elementwise() {
            if was_expanded {
                return Err(bad(format!(
                    "{}: a step may have only one expanding transform",
                    t.name()
                )));
            }
            expanded = true;
        }
        match t {
            Transform::Impute(imp) => {
                if imp.add_indicator {
                    if indicator {
                        return Err(bad("only one imputer of a step may add a missing indicator".to_owned()));
                    }
                    indicator = true;
                }
                match &imp.strategy {
                    ImputeStrategy::Mean | ImputeStrategy::Median => {
                        numeric(t.name())?;
                        kinds.fill(Kind::Num);
                    }
                    ImputeStrategy::Constant(v) => {
                        let lanes = if was_expanded { vec![Kind::Num] } else { kinds.clone() };
                        for (i, kd) in lanes.iter().enumerate() {
                            let nk = constant_kind(*kd, v)
                                .ok_or_else(|| bad(format!("the constant {v} does not fit column {i} ({kd:?})")))?;
                            if let Some(slot) = kinds.get_mut(i) {
                                *slot = nk;
                            }
                        }
                    }
                    _ => {}
                }
            }
            Transform::StandardScaler(_)
            | Transform::MinMaxScaler(_)
            | Transform::RobustScaler(_)
            | Transform::Log1p
            | Transform::Clip(_) => {
                numeric(t.name())?;
                kinds.fill(Kind::Num);
            }
            Transform::OneHot(_) | Transform::Ordinal(_) => {
                let explicit = match t {
                    Transform::OneHot(o) => o.categories.as_deref(),
                    Transform::Ordinal(o) => o.categories.as_deref(),
                    _ => None,
                };
                for (i, k) in kinds.iter().enumerate() {
                    let fits = |c: &Category| {
                        matches!(
                            (k, c),
                            (Kind::Cat, Category::Str(_))
                                | (Kind::Int, Category::Int(_))
                                | (Kind::Bool, Category::Bool(_))
                        )
                    };
                    if explicit.is_some_and(|cats| !cats.iter().all(fits)) {
                        return Err(bad(format!(
                            "the explicit categories of {} do not have the type of {:?}",
                            t.name(),
                            inputs[i]
                        )));
                    }
                }
                if let Some(i) = kinds.iter().position(|k| *k == Kind::Num) {
                    return Err(bad(format!(
                        "{} needs categorical, string, bool or int64 values but {:?} holds floats",
                        t.name(),
                        inputs[i]
                    )));
                }
                kinds.clear();
            }
            Transform::Hash(_) => {
                if inputs.len() > MAX_HASH_INPUTS {
                    return Err(bad(format!("hash takes at most {MAX_HASH_INPUTS} input features")));
                }
                kinds.clear();
            }
            Transform::Bucketize(_) | Transform::QuantileBins(_) => {
                numeric(t.name())?;
                kinds.clear();
            }
            Transform::Polynomial(_) => {
                if inputs.len() != 2 {
                    return Err(bad(format!(
                        "polynomial needs exactly 2 input features, got {}",
                        inputs.len()
                    )));
                }
                numeric(t.name())?;
                kinds.clear();
            }
            Transform::Passthrough => {}
            Transform::Drop => return Err(bad("drop must be the only transform of its step".to_owned())),
        }
    }
    if let Some(i) = kinds.iter().position(|k| *k == Kind::Cat) {
        return Err(bad(format!(
            "categorical feature {:?} must be encoded (one_hot, ordinal or hash)",
            inputs[i]
        )));
    }
    // One pass suffices when every learning transform has only element-wise
    // transforms before it, of which only imputers learn.
    let streaming = ts.iter().enumerate().all(|(s, t)| {
        !t.is_stateful()
            || ts[..s]
                .iter()
                .all(|p| p.is_elementwise() && (!p.is_stateful() || matches!(p, Transform::Impute(_))))
    });
    Ok(StepInfo {
        dropped: false,
        streaming,
        kinds: kinds_before,
        last_stateful: ts.iter().rposition(Transform::is_stateful),
    })
}

/// The accumulator a learning transform keeps for a column of kind `kind`.
fn acc_data(t: &Transform, kind: Kind) -> AccData {
    match t {
        Transform::Impute(i) => match i.strategy {
            ImputeStrategy::Mean => AccData::Moments(Moments::default()),
            ImputeStrategy::MostFrequent if kind == Kind::Num => AccData::FloatCounts(Default::default()),
            ImputeStrategy::MostFrequent => AccData::Counts {
                map: Default::default(),
                with_null: false,
            },
            _ => AccData::Values(Vec::new()),
        },
        Transform::StandardScaler(_) => AccData::Moments(Moments::default()),
        Transform::MinMaxScaler(_) => AccData::MinMax {
            n: 0,
            min: 0.0,
            max: 0.0,
        },
        Transform::OneHot(_) => AccData::Counts {
            map: Default::default(),
            with_null: true,
        },
        // Missing values are counted: explicit categories may refuse them.
        Transform::Ordinal(_) => AccData::Counts {
            map: Default::default(),
            with_null: true,
        },
        _ => AccData::Values(Vec::new()),
    }
}

#[derive(Clone, Debug)]
enum State {
    Dropped,
    /// Per transform: per column accumulators (for learning transforms).
    Streaming(Vec<Option<Vec<LaneAcc>>>),
    /// The step's input columns, batch after batch.
    Retained(Vec<Vec<Column>>),
}

#[derive(Clone, Debug)]
struct StepFit {
    info: StepInfo,
    /// Input schema positions of the step's inputs.
    slots: Vec<usize>,
    state: State,
}

/// The state of a pipeline being fitted on data that arrives in pieces.
///
/// Create with [`Pipeline::partial_fit`], add batches with
/// [`update`](Self::update), combine shards fitted elsewhere (other threads,
/// other machines) with [`merge`](Self::merge), and [`finish`](Self::finish).
///
/// Memory: counts, sums, minimums and maximums are a few bytes per column;
/// exact quantiles (median imputer, robust scaler, quantile bins) keep 8
/// bytes per non-missing value of their columns; a "retained" step (see
/// below) keeps its input columns.
///
/// Merging is exact for counts, minimums, maximums, categories and
/// quantiles; means and variances merge by Chan et al.'s pairwise formula,
/// equal to a fit on the whole data within about 1e-12 relative to the
/// data's magnitude (not bit for bit: floating-point sums depend on order).
///
/// A step is fitted in one pass when every transform that learns has only
/// element-wise transforms before it, of which only imputers learn (the
/// usual imputer-then-scaler or imputer-then-encoder chains). Other steps
/// (a scaler after a scaler, a scaler after one-hot) retain their input
/// columns and fit one transform after the other when finishing.
#[derive(Clone, Debug)]
pub struct PartialFit {
    pipeline: Pipeline,
    schema: Schema,
    positions: Vec<usize>,
    steps: Vec<StepFit>,
    rows: u64,
}

impl Pipeline {
    /// Checks the pipeline against a schema: every input exists, every
    /// transform can take its column's type, parameters are valid.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        PartialFit::new(self, schema).map(|_| ())
    }

    /// Fits on one batch.
    ///
    /// Each step is fitted as sklearn fits a `Pipeline` of its transforms:
    /// transform after transform, each on the output of the ones before, in
    /// row order, with numpy's summation order, so that fitted statistics
    /// equal sklearn's bit for bit where sklearn sees one contiguous column.
    /// Steps run in parallel. For data that does not fit in memory use
    /// [`fit_batches`](Self::fit_batches) or [`partial_fit`](Self::partial_fit).
    pub fn fit(&self, batch: &Batch) -> Result<FittedPipeline> {
        PartialFit::new(self, batch.schema())?.fit_sequential(batch)
    }

    /// Starts a partial fit with one batch.
    pub fn partial_fit(&self, batch: &Batch) -> Result<PartialFit> {
        let mut p = PartialFit::new(self, batch.schema())?;
        p.update(batch)?;
        Ok(p)
    }

    /// Fits on batches streamed one after the other (e.g. from
    /// [`CsvReader::batches`](kiln_core::CsvReader::batches)), holding one
    /// batch at a time plus the [`PartialFit`] state.
    pub fn fit_batches<I, E>(&self, batches: I) -> Result<FittedPipeline>
    where
        I: IntoIterator<Item = std::result::Result<Batch, E>>,
        E: Into<Error>,
    {
        let mut state: Option<PartialFit> = None;
        for batch in batches {
            let batch = batch.map_err(Into::into)?;
            match &mut state {
                None => state = Some(self.partial_fit(&batch)?),
                Some(p) => p.update(&batch)?,
            }
        }
        state.ok_or(Error::NoRows)?.finish()
    }
}

impl PartialFit {
    fn new(pipeline: &Pipeline, schema: &Schema) -> Result<Self> {
        let mut used: Vec<usize> = Vec::new();
        for step in pipeline.steps().iter().filter(|s| !s.is_drop()) {
            for name in step.inputs() {
                let i = schema.index_of(name).ok_or_else(|| Error::MissingFeature {
                    feature: name.clone(),
                    row: None,
                })?;
                if !used.contains(&i) {
                    used.push(i);
                }
            }
        }
        used.sort_unstable();
        let names: Vec<&str> = used.iter().map(|&i| schema.features()[i].name.as_str()).collect();
        let input_schema = schema.select(&names)?;
        let mut steps = Vec::with_capacity(pipeline.steps().len());
        for (k, step) in pipeline.steps().iter().enumerate() {
            let slots: Vec<usize> = if step.is_drop() {
                Vec::new()
            } else {
                step.inputs().iter().filter_map(|n| input_schema.index_of(n)).collect()
            };
            let dtypes: Vec<DType> = slots.iter().map(|&s| input_schema.features()[s].dtype).collect();
            let info = analyze(step, k, &dtypes)?;
            let state = if info.dropped {
                State::Dropped
            } else if info.streaming {
                State::Streaming(
                    step.transforms()
                        .iter()
                        .zip(&info.kinds)
                        .map(|(t, kinds)| {
                            t.is_stateful()
                                .then(|| kinds.iter().map(|&kd| LaneAcc::new(acc_data(t, kd))).collect())
                        })
                        .collect(),
                )
            } else {
                tracing::debug!(step = k, "step retains its input columns for sequential fitting");
                State::Retained(Vec::new())
            };
            steps.push(StepFit { info, slots, state });
        }
        Ok(Self {
            pipeline: pipeline.clone(),
            schema: input_schema,
            positions: used,
            steps,
            rows: 0,
        })
    }

    /// The features the pipeline reads, as found in the first batch.
    #[must_use]
    pub fn input_schema(&self) -> &Schema {
        &self.schema
    }

    /// Rows seen so far.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The batch's columns of the input features, type-checked.
    fn bind<'b>(&self, batch: &'b Batch) -> Result<Vec<&'b Column>> {
        bind_columns(batch, self.schema.features().iter().map(|f| (f.name.as_str(), f.dtype)))
    }

    /// Fits every step on the whole batch, transform after transform.
    fn fit_sequential(self, batch: &Batch) -> Result<FittedPipeline> {
        if batch.num_rows() == 0 {
            return Err(Error::NoRows);
        }
        let cols = self.bind(batch)?;
        let _span = tracing::debug_span!("fit", rows = batch.num_rows(), steps = self.steps.len()).entered();
        let schema = &self.schema;
        let fitted: Vec<Result<Option<FittedStep>>> = self
            .steps
            .par_iter()
            .zip(self.pipeline.steps())
            .map(|(sf, step)| {
                if sf.info.dropped {
                    return Ok(None);
                }
                let chunk: Vec<&Column> = sf.slots.iter().map(|&s| cols[s]).collect();
                let transforms = finish_retained(step, &sf.info, &sf.slots, schema, &[chunk])?;
                Ok(Some(FittedStep::new(step.inputs().to_vec(), transforms)))
            })
            .collect();
        let steps = fitted
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>>>()?;
        FittedPipeline::new(self.schema, self.positions, steps, batch.num_rows() as u64)
    }

    /// Adds a batch. Its columns for the pipeline's inputs must have the
    /// types of the first batch's (same family: numeric, text).
    pub fn update(&mut self, batch: &Batch) -> Result<()> {
        let cols = self.bind(batch)?;
        let _span = tracing::debug_span!("partial_fit", rows = batch.num_rows()).entered();
        let schema = &self.schema;
        let results: Vec<Result<()>> = self
            .steps
            .par_iter_mut()
            .zip(self.pipeline.steps())
            .map(|(sf, step)| match &mut sf.state {
                State::Dropped => Ok(()),
                State::Retained(chunks) => {
                    chunks.push(sf.slots.iter().map(|&s| cols[s].clone()).collect());
                    Ok(())
                }
                State::Streaming(accs) => stream_batch(step, &sf.info, &sf.slots, schema, &cols, accs),
            })
            .collect();
        results.into_iter().collect::<Result<()>>()?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Combines with the state of another shard of the same data set.
    pub fn merge(mut self, other: PartialFit) -> Result<PartialFit> {
        if self.pipeline != other.pipeline {
            return Err(Error::Merge("the partial fits are of different pipelines".to_owned()));
        }
        let same = self.schema.len() == other.schema.len()
            && self
                .schema
                .features()
                .iter()
                .zip(other.schema.features())
                .all(|(a, b)| a.name == b.name && a.dtype == b.dtype);
        if !same {
            return Err(Error::Merge("the partial fits read different input schemas".to_owned()));
        }
        for (a, b) in self.steps.iter_mut().zip(other.steps) {
            match (&mut a.state, b.state) {
                (State::Streaming(x), State::Streaming(y)) => {
                    for (la, lb) in x.iter_mut().zip(y) {
                        if let (Some(la), Some(lb)) = (la, lb) {
                            for (p, q) in la.iter_mut().zip(lb) {
                                p.merge(q);
                            }
                        }
                    }
                }
                (State::Retained(x), State::Retained(y)) => x.extend(y),
                (State::Dropped, State::Dropped) => {}
                _ => return Err(Error::Internal("partial fit states of one pipeline differ")),
            }
        }
        self.rows += other.rows;
        Ok(self)
    }

    /// Fits every transform and returns the fitted pipeline.
    pub fn finish(self) -> Result<FittedPipeline> {
        if self.rows == 0 {
            return Err(Error::NoRows);
        }
        let _span = tracing::debug_span!("finish_fit", rows = self.rows).entered();
        let mut steps = Vec::with_capacity(self.steps.len());
        for (sf, step) in self.steps.into_iter().zip(self.pipeline.steps()) {
            let transforms = match sf.state {
                State::Dropped => continue,
                State::Streaming(accs) => finish_streaming(step, accs)?,
                State::Retained(chunks) => {
                    let chunks: Vec<Vec<&Column>> = chunks.iter().map(|c| c.iter().collect()).collect();
                    finish_retained(step, &sf.info, &sf.slots, &self.schema, &chunks)?
                }
            };
            steps.push(FittedStep::new(step.inputs().to_vec(), transforms));
        }
        FittedPipeline::new(self.schema, self.positions, steps, self.rows)
    }
}

fn read_error(e: ReadFault, feature: &str, row: usize, v: kiln_core::ValueRef<'_>, dtype: DType) -> Error {
    match e {
        ReadFault::WrongType => Error::WrongType {
            feature: feature.to_owned(),
            row: Some(row),
            expected: dtype.to_string(),
            got: format!("{} {v}", v.kind()),
        },
        ReadFault::Infinite(value) => Error::NonFinite {
            feature: feature.to_owned(),
            row: Some(row),
            value,
        },
    }
}

/// A kernel fault while fitting; `lane_name` names slots and outputs of the
/// chain prefix, `value` reads a slot's input value again.
fn fit_error<'v>(
    f: Fault,
    lane_name: &dyn Fn(At) -> String,
    value: &dyn Fn(usize) -> Option<ValueRef<'v>>,
    row: usize,
) -> Error {
    let row = Some(row);
    let got = |slot: u32| value(slot as usize).unwrap_or(ValueRef::Null);
    match f {
        Fault::Missing { slot } => Error::MissingFeature {
            feature: lane_name(At::Slot(slot)),
            row,
        },
        Fault::WrongType { slot } => Error::WrongType {
            feature: lane_name(At::Slot(slot)),
            row,
            expected: "the fitted type".to_owned(),
            got: format!("{} {}", got(slot).kind(), got(slot)),
        },
        Fault::Infinite { slot } => Error::NonFinite {
            feature: lane_name(At::Slot(slot)),
            row,
            value: got(slot).as_f64().unwrap_or(f64::NAN),
        },
        Fault::Unknown { slot } => Error::UnknownCategory {
            feature: lane_name(At::Slot(slot)),
            row,
            value: got(slot).to_string(),
        },
        Fault::NonFinite { at, value } => Error::NonFinite {
            feature: lane_name(at),
            row,
            value,
        },
        Fault::NullOutput { output } => Error::MissingValue {
            feature: lane_name(At::Output(output)),
            output: lane_name(At::Output(output)),
            row,
        },
        Fault::Internal(m) => Error::Internal(m),
    }
}

/// What streaming does to a column after a transform, before the last learning one.
enum Action {
    /// An imputer being fitted: missing becomes pending.
    Pending,
    /// A transform that learns nothing.
    Op(Option<crate::kernel::LaneOp>),
    /// The last learning transform: nothing after it is needed.
    Stop,
}

/// Feeds one batch to a streaming step's accumulators, column by column.
fn stream_batch(
    step: &Step,
    info: &StepInfo,
    slots: &[usize],
    schema: &Schema,
    cols: &[&Column],
    accs: &mut [Option<Vec<LaneAcc>>],
) -> Result<()> {
    let Some(last) = info.last_stateful else { return Ok(()) };
    let ts = step.transforms();
    let n = slots.len();
    for (lane, &slot) in slots.iter().enumerate() {
        let feature = &schema.features()[slot];
        let col = cols[slot];
        let actions: Vec<Action> = ts[..=last]
            .iter()
            .enumerate()
            .map(|(s, t)| {
                if s == last {
                    Ok(Action::Stop)
                } else if t.is_stateful() {
                    Ok(Action::Pending)
                } else {
                    let f = FittedTransform::stateless(t, n).ok_or(Error::Internal("stateless transform expected"))?;
                    f.lane_op(lane).map(Action::Op).map_err(Error::InvalidPipeline)
                }
            })
            .collect::<Result<_>>()?;
        let mut collectors: Vec<_> = accs[..=last]
            .iter()
            .map(|a| a.as_ref().and_then(|v| v.get(lane)).map(LaneAcc::collector))
            .collect();
        let mut sink = CellSink { cells: Vec::new() };
        for row in 0..col.len() {
            let v = col.value(row);
            let mut c = read_cell(feature.dtype, v).map_err(|e| read_error(e, &feature.name, row, v, feature.dtype))?;
            for (action, coll) in actions.iter().zip(&mut collectors) {
                if let Some((coll, pending, rows)) = coll {
                    coll.push(c, pending, rows)
                        .map_err(|NotNumeric| Error::Internal("a string reached a numeric statistic"))?;
                }
                match action {
                    Action::Pending if c.is_null() => c = Cell::Pending,
                    Action::Op(Some(op)) => {
                        walk(std::slice::from_ref(op), &mut c, lane, &mut sink).map_err(|f| {
                            fit_error(f.at(At::Slot(idx(slot))), &|_| feature.name.clone(), &|_| Some(v), row)
                        })?;
                    }
                    _ => {}
                }
            }
        }
        for (acc, coll) in accs.iter_mut().zip(collectors) {
            if let (Some(acc), Some((coll, pending, rows))) = (acc, coll)
                && let Some(a) = acc.get_mut(lane)
            {
                a.absorb(coll, pending, rows);
            }
        }
    }
    Ok(())
}

/// The value a pending row takes at transform `s`: the fill of the imputer
/// at `imp`, pushed through the (fitted) transforms between them.
fn resolve_fill(between: &[FittedTransform], lane: usize) -> Result<Value> {
    let ops = between
        .iter()
        .filter_map(|f| f.lane_op(lane).transpose())
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(Error::InvalidPipeline)?;
    let mut sink = CellSink { cells: Vec::new() };
    let mut c = Cell::Null;
    walk(&ops, &mut c, lane, &mut sink).map_err(|f| match f {
        Fault::NonFinite { value, .. } => Error::NonFinite {
            feature: format!("fill value of column {lane}"),
            row: None,
            value,
        },
        _ => Error::Internal("resolving a fill value failed"),
    })?;
    match c {
        Cell::Null | Cell::Pending => Err(Error::Internal("a fill value is missing")),
        c => Ok(c.to_value()),
    }
}

fn finish_streaming(step: &Step, accs: Vec<Option<Vec<LaneAcc>>>) -> Result<Vec<FittedTransform>> {
    let ts = step.transforms();
    let first_imputer = ts
        .iter()
        .position(|t| matches!(t, Transform::Impute(_)) && t.is_stateful());
    let mut fitted: Vec<FittedTransform> = Vec::with_capacity(ts.len());
    for (s, (t, acc)) in ts.iter().zip(accs).enumerate() {
        let (names, _) = step_names(step.inputs(), &fitted);
        let f = match acc {
            None => {
                FittedTransform::stateless(t, names.len()).ok_or(Error::Internal("stateless transform expected"))?
            }
            Some(mut accs) => {
                if let Some(imp) = first_imputer.filter(|&i| i < s) {
                    for (lane, a) in accs.iter_mut().enumerate() {
                        if a.pending > 0 {
                            let v = resolve_fill(&fitted[imp..s], lane)?;
                            a.resolve_pending(&v)
                                .map_err(|NotNumeric| Error::Internal("fill value of the wrong kind"))?;
                        }
                    }
                }
                fit_transform(t, accs, &names)?
            }
        };
        fitted.push(f);
    }
    Ok(fitted)
}

fn finish_retained(
    step: &Step,
    info: &StepInfo,
    slots: &[usize],
    schema: &Schema,
    chunks: &[Vec<&Column>],
) -> Result<Vec<FittedTransform>> {
    let inputs = step.inputs();
    let lanes: Vec<(usize, DType)> = slots
        .iter()
        .enumerate()
        .map(|(l, &s)| (l, schema.features()[s].dtype))
        .collect();
    let mut fitted: Vec<FittedTransform> = Vec::new();
    for (s, t) in step.transforms().iter().enumerate() {
        let (names, _) = step_names(inputs, &fitted);
        if !t.is_stateful() {
            fitted.push(
                FittedTransform::stateless(t, names.len()).ok_or(Error::Internal("stateless transform expected"))?,
            );
            continue;
        }
        let plan = compile_step(&lanes, inputs, &fitted, 0).map_err(Error::InvalidPipeline)?;
        let width = plan.main_width;
        let kinds = info.kinds.get(s).cloned().unwrap_or_default();
        let mut accs: Vec<LaneAcc> = (0..width)
            .map(|l| LaneAcc::new(acc_data(t, kinds.get(l).copied().unwrap_or(Kind::Num))))
            .collect();
        let lane_name = |at: At| match at {
            At::Slot(i) => inputs.get(i as usize).cloned().unwrap_or_default(),
            At::Output(j) => names.get(j as usize).cloned().unwrap_or_default(),
            At::Unset => String::from("?"),
        };
        let mut first_row = 0;
        for chunk in chunks {
            let rows = chunk.first().map_or(0, |c| c.len());
            let mut coll: Vec<_> = accs.iter().map(LaneAcc::collector).collect();
            let mut sink = CellSink {
                cells: vec![Cell::Null; width],
            };
            for row in 0..rows {
                let src = ColumnsRow { cols: chunk, row };
                plan.run(&src, &mut sink)
                    .map_err(|f| fit_error(f, &lane_name, &|slot| src.value(slot), first_row + row))?;
                for (c, (coll, pending, n)) in sink.cells.iter().zip(&mut coll) {
                    coll.push(*c, pending, n)
                        .map_err(|NotNumeric| Error::Internal("a string reached a numeric statistic"))?;
                }
            }
            for (a, (c, p, n)) in accs.iter_mut().zip(coll) {
                a.absorb(c, p, n);
            }
            first_row += rows;
        }
        fitted.push(fit_transform(t, accs, &names)?);
    }
    Ok(fitted)
}

fn finite(x: f64, feature: &str) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Error::NonFinite {
            feature: feature.to_owned(),
            row: None,
            value: x,
        })
    }
}

fn category_value(c: Category) -> Value {
    match c {
        Category::Bool(b) => Value::Bool(b),
        Category::Int(i) => Value::Int(i),
        Category::Str(s) => Value::Str(s),
        Category::Null => Value::Null,
    }
}

/// sklearn's `_handle_zeros_in_scale`: scales below `10 * eps` become 1.
fn nonzero_scale(x: f64) -> f64 {
    if x < 10.0 * f64::EPSILON { 1.0 } else { x }
}

/// Sorted non-missing values, or the "no values" error.
fn sorted_values(acc: LaneAcc, feature: &str, transform: &'static str) -> Result<Vec<f64>> {
    match acc.data {
        AccData::Values(mut v) if !v.is_empty() => {
            v.sort_by(f64::total_cmp);
            Ok(v)
        }
        AccData::Values(_) => Err(Error::NoValues {
            feature: feature.to_owned(),
            transform,
        }),
        _ => Err(Error::Internal("values expected")),
    }
}

/// Fits one learning transform from its per-column accumulators.
#[allow(clippy::cast_precision_loss, clippy::too_many_lines)]
fn fit_transform(t: &Transform, accs: Vec<LaneAcc>, names: &[String]) -> Result<FittedTransform> {
    let name = |i: usize| names.get(i).map_or("?", String::as_str);
    let none = |i: usize| Error::NoValues {
        feature: name(i).to_owned(),
        transform: t.name(),
    };
    Ok(match t {
        Transform::Impute(imp) => {
            let mut fill = Vec::with_capacity(accs.len());
            for (i, a) in accs.into_iter().enumerate() {
                let v = match (&imp.strategy, a.data) {
                    (ImputeStrategy::Mean, AccData::Moments(m)) if m.n > 0 => {
                        Value::Float(finite(m.sum / m.n as f64, name(i))?)
                    }
                    (ImputeStrategy::Median, data @ AccData::Values(_)) => {
                        let v = sorted_values(LaneAcc::new(data), name(i), t.name())?;
                        Value::Float(finite(median_sorted(&v), name(i))?)
                    }
                    (ImputeStrategy::MostFrequent, AccData::Counts { map, .. }) => {
                        category_value(mode_category(&map).ok_or_else(|| none(i))?)
                    }
                    (ImputeStrategy::MostFrequent, AccData::FloatCounts(map)) => {
                        Value::Float(mode_float(&map).ok_or_else(|| none(i))?)
                    }
                    _ => return Err(none(i)),
                };
                fill.push(v);
            }
            FittedTransform::Impute {
                strategy: imp.strategy.clone(),
                add_indicator: imp.add_indicator,
                fill,
            }
        }
        Transform::StandardScaler(sc) => {
            let (mut n_samples, mut mean, mut var, mut scale) = (vec![], vec![], vec![], vec![]);
            for (i, a) in accs.into_iter().enumerate() {
                let AccData::Moments(m) = a.data else {
                    return Err(Error::Internal("moments expected"));
                };
                if m.n == 0 {
                    return Err(none(i));
                }
                let n = m.n as f64;
                let mu = finite(m.sum / n, name(i))?;
                let v = finite((m.m2 / n).max(0.0), name(i))?;
                // sklearn's `_is_constant_feature`: within the error bound of the two-pass algorithm.
                let eps = f64::EPSILON;
                let constant = v <= n * eps * v + (n * mu * eps).powi(2);
                if constant {
                    tracing::debug!(feature = name(i), "constant feature: standard scale set to 1");
                }
                n_samples.push(m.n);
                mean.push(mu);
                var.push(v);
                scale.push(if constant { 1.0 } else { v.sqrt() });
            }
            FittedTransform::StandardScaler {
                with_mean: sc.with_mean,
                with_std: sc.with_std,
                n_samples,
                mean,
                var,
                scale,
            }
        }
        Transform::MinMaxScaler(mm) => {
            let (lo, hi) = mm.feature_range;
            let (mut data_min, mut data_max, mut scale, mut min) = (vec![], vec![], vec![], vec![]);
            for (i, a) in accs.into_iter().enumerate() {
                let AccData::MinMax {
                    n,
                    min: dmin,
                    max: dmax,
                } = a.data
                else {
                    return Err(Error::Internal("min/max expected"));
                };
                if n == 0 {
                    return Err(none(i));
                }
                let s = finite((hi - lo) / nonzero_scale(dmax - dmin), name(i))?;
                data_min.push(dmin);
                data_max.push(dmax);
                scale.push(s);
                min.push(finite(lo - dmin * s, name(i))?);
            }
            FittedTransform::MinMaxScaler {
                feature_range: mm.feature_range,
                clip: mm.clip,
                data_min,
                data_max,
                scale,
                min,
            }
        }
        Transform::RobustScaler(r) => {
            let (mut center, mut scale) = (vec![], vec![]);
            for (i, a) in accs.into_iter().enumerate() {
                let v = sorted_values(a, name(i), t.name())?;
                let (plo, phi) = r.quantile_range;
                let q_lo = percentile_sorted(&v, plo, crate::spec::QuantileMethod::Linear);
                let q_hi = percentile_sorted(&v, phi, crate::spec::QuantileMethod::Linear);
                center.push(finite(median_sorted(&v), name(i))?);
                scale.push(finite(nonzero_scale(q_hi - q_lo), name(i))?);
            }
            FittedTransform::RobustScaler {
                with_centering: r.with_centering,
                with_scaling: r.with_scaling,
                quantile_range: r.quantile_range,
                center,
                scale,
            }
        }
        Transform::OneHot(o) => {
            let (mut categories, mut infrequent) = (vec![], vec![]);
            for (i, a) in accs.into_iter().enumerate() {
                let rows = a.rows;
                let AccData::Counts { map, .. } = a.data else {
                    return Err(Error::Internal("counts expected"));
                };
                let counts: Vec<(Category, u64)> = match &o.categories {
                    None if map.is_empty() => return Err(none(i)),
                    None => map.into_iter().collect(),
                    Some(cats) => {
                        if o.handle_unknown == HandleUnknown::Error {
                            outside_explicit(&map, cats, name(i))?;
                        }
                        cats.iter()
                            .map(|c| (c.clone(), map.get(c).copied().unwrap_or(0)))
                            .collect()
                    }
                };
                let (freq, inf) = split_infrequent(counts, rows, o.min_frequency, o.max_categories);
                categories.push(freq);
                infrequent.push(inf);
            }
            FittedTransform::OneHot {
                handle_unknown: o.handle_unknown,
                min_frequency: o.min_frequency,
                max_categories: o.max_categories,
                categories,
                infrequent,
            }
        }
        Transform::Ordinal(o) => {
            let mut categories = vec![];
            for (i, a) in accs.into_iter().enumerate() {
                let AccData::Counts { map, .. } = a.data else {
                    return Err(Error::Internal("counts expected"));
                };
                let cats: Vec<Category> = match &o.categories {
                    Some(cats) => {
                        if o.handle_unknown == OrdinalUnknown::Error {
                            let mut map = map;
                            if o.missing_value.is_some() {
                                map.remove(&Category::Null);
                            }
                            outside_explicit(&map, cats, name(i))?;
                        }
                        cats.clone()
                    }
                    None => map.into_keys().filter(|c| *c != Category::Null).collect(),
                };
                if cats.is_empty() {
                    return Err(none(i));
                }
                categories.push(cats);
            }
            FittedTransform::Ordinal {
                handle_unknown: o.handle_unknown,
                missing_value: o.missing_value,
                categories,
            }
        }
        Transform::QuantileBins(q) => {
            let mut bin_edges = vec![];
            for (i, a) in accs.into_iter().enumerate() {
                let v = sorted_values(a, name(i), t.name())?;
                bin_edges.push(quantile_edges(&v, q.n_bins, q.method));
            }
            FittedTransform::QuantileBins {
                n_bins: q.n_bins,
                method: q.method,
                encode: q.encode,
                bin_edges,
            }
        }
        _ => return Err(Error::Internal("not a learning transform")),
    })
}

/// A training value outside explicit categories, under the error policy
/// (sklearn: "Found unknown categories ... during fit").
fn outside_explicit(counts: &BTreeMap<Category, u64>, cats: &[Category], feature: &str) -> Result<()> {
    match counts.keys().find(|k| !cats.contains(k)) {
        Some(c) => Err(Error::UnknownCategory {
            feature: feature.to_owned(),
            row: None,
            value: match c {
                Category::Str(s) => format!("{s:?}"),
                Category::Null => "null".to_owned(),
                other => other.to_string(),
            },
        }),
        None => Ok(()),
    }
}

/// sklearn's `KBinsDiscretizer(strategy="quantile")` edges of sorted values.
#[allow(clippy::cast_precision_loss)]
fn quantile_edges(v: &[f64], n_bins: usize, method: crate::spec::QuantileMethod) -> Vec<f64> {
    let (lo, hi) = (v[0], v[v.len() - 1]);
    if lo == hi {
        return vec![lo, hi];
    }
    // numpy.linspace(0, 100, n_bins + 1): i * (100 / n_bins), the last exactly 100.
    let step = 100.0 / n_bins as f64;
    let edges: Vec<f64> = (0..=n_bins)
        .map(|i| {
            let p = if i == n_bins { 100.0 } else { i as f64 * step };
            percentile_sorted(v, p, method)
        })
        .collect();
    // Remove bins narrower than 1e-8 (np.ediff1d(edges, to_begin=inf) > 1e-8).
    let kept: Vec<f64> = edges
        .iter()
        .enumerate()
        .filter(|&(i, &e)| i == 0 || e - edges[i - 1] > 1e-8)
        .map(|(_, &e)| e)
        .collect();
    if kept.len() < 2 { vec![lo, hi] } else { kept }
}

/// sklearn's `_identify_infrequent`: by `min_frequency`, then
/// `max_categories` (the smallest counts, ties to the earlier category).
#[allow(clippy::cast_precision_loss)]
fn split_infrequent(
    counts: Vec<(Category, u64)>,
    rows: u64,
    min_frequency: Option<MinFrequency>,
    max_categories: Option<usize>,
) -> (Vec<Category>, Vec<Category>) {
    let k = counts.len();
    let mut infrequent: Vec<bool> = counts
        .iter()
        .map(|(_, c)| match min_frequency {
            Some(MinFrequency::Count(m)) => *c < m,
            Some(MinFrequency::Fraction(f)) => (*c as f64) < rows as f64 * f,
            None => false,
        })
        .collect();
    if let Some(max) = max_categories {
        let current = k - infrequent.iter().filter(|x| **x).count() + 1;
        if max < current {
            let frequent = max - 1;
            if frequent == 0 {
                infrequent.fill(true);
            } else {
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by_key(|&i| counts[i].1); // stable, as numpy's mergesort
                for &i in &order[..k - frequent] {
                    infrequent[i] = true;
                }
            }
        }
    }
    let (mut freq, mut inf) = (Vec::new(), Vec::new());
    for ((c, _), is_inf) in counts.into_iter().zip(infrequent) {
        if is_inf { inf.push(c) } else { freq.push(c) }
    }
    (freq, inf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(xs: &[(&str, u64)]) -> Vec<(Category, u64)> {
        xs.iter().map(|(s, n)| (Category::Str((*s).to_owned()), *n)).collect()
    }

    fn strs(v: &[Category]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn infrequent_matches_sklearn() {
        // sklearn: OneHotEncoder(min_frequency=3) on a*5, b*2, c*3, d*1
        let c = cats(&[("a", 5), ("b", 2), ("c", 3), ("d", 1)]);
        let (f, i) = split_infrequent(c.clone(), 11, Some(MinFrequency::Count(3)), None);
        assert_eq!(
            (strs(&f), strs(&i)),
            (vec!["a".to_owned(), "c".into()], vec!["b".to_owned(), "d".into()])
        );
        // fraction: 0.25 * 11 = 2.75 -> counts < 2.75 are infrequent
        let (f, _) = split_infrequent(c.clone(), 11, Some(MinFrequency::Fraction(0.25)), None);
        assert_eq!(strs(&f), ["a", "c"]);
        // max_categories=3 keeps the 2 most frequent
        let (f, i) = split_infrequent(c.clone(), 11, None, Some(3));
        assert_eq!(
            (strs(&f), strs(&i)),
            (vec!["a".to_owned(), "c".into()], vec!["b".to_owned(), "d".into()])
        );
        // ties: stable order drops the earlier category first
        let t = cats(&[("a", 2), ("b", 2), ("c", 2)]);
        let (f, _) = split_infrequent(t, 6, None, Some(2));
        assert_eq!(strs(&f), ["c"]);
        let (f, i) = split_infrequent(c, 11, None, Some(1));
        assert!(f.is_empty() && i.len() == 4);
    }

    #[test]
    fn quantile_edges_drop_narrow_bins() {
        let v = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0];
        let e = quantile_edges(&v, 4, crate::spec::QuantileMethod::Linear);
        assert_eq!(e.first(), Some(&1.0));
        assert!(e.windows(2).all(|w| w[1] - w[0] > 1e-8));
        assert_eq!(
            quantile_edges(&[4.0, 4.0], 3, crate::spec::QuantileMethod::Linear),
            [4.0, 4.0]
        );
    }
}
