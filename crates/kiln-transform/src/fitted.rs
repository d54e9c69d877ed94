//! Fitted state: what was learned, its JSON document, and applying it.

use std::collections::HashSet;

use kiln_core::format::{check_format, from_json_slice};
use kiln_core::{Batch, Column, DType, Digest, Record, Schema, Value, ValueRef};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::category::{Category, CategoryIndex};
use crate::columnar;
use crate::hash::Murmur3;
use crate::kernel::{
    At, BinsLane, ColumnsRow, Expander, Fault, HashPlan, LaneOp, LanePlan, MAX_HASH_INPUTS, OneHotLane, OrdinalLane,
    Plan, PolyPlan, RecordRow, RowSource, ShiftHint, Slot, StepPlan,
};
use crate::matrix::{Matrix, OutputFloat};
use crate::spec::{BinEncode, HandleUnknown, ImputeStrategy, MinFrequency, OrdinalUnknown, QuantileMethod, Transform};
use crate::{Error, Result};

/// The format tag of fitted pipeline documents.
pub const PIPELINE_FORMAT: &str = "kiln.pipeline/v1";

/// Rows per parallel task of the batch path (whole tiles of the fast lane).
const CHUNK_ROWS: usize = 64 * columnar::TILE_ROWS;
/// Below this many rows the batch path stays on the calling thread.
const PARALLEL_MIN_ROWS: usize = 4096;

/// One fitted transform: its parameters and what it learned, one entry per
/// column it applies to (vectors are indexed by column, as sklearn's
/// `mean_`, `scale_`, `categories_`, `bin_edges_`).
///
/// This is the JSON form inside `kiln.pipeline/v1`, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FittedTransform {
    /// A fitted imputer.
    Impute {
        /// The strategy.
        strategy: ImputeStrategy,
        /// Whether a missing indicator column is output.
        add_indicator: bool,
        /// The fill value per column (sklearn `statistics_`).
        fill: Vec<Value>,
    },
    /// A fitted standard scaler.
    StandardScaler {
        /// Whether the mean is subtracted.
        with_mean: bool,
        /// Whether values are divided by `scale`.
        with_std: bool,
        /// Non-missing values seen (sklearn `n_samples_seen_`).
        n_samples: Vec<u64>,
        /// Means (sklearn `mean_`).
        mean: Vec<f64>,
        /// Population variances (sklearn `var_`).
        var: Vec<f64>,
        /// Standard deviations, 1 for constant columns (sklearn `scale_`).
        scale: Vec<f64>,
    },
    /// A fitted min-max scaler.
    MinMaxScaler {
        /// The target range.
        feature_range: (f64, f64),
        /// Whether results are clipped to the range.
        clip: bool,
        /// Minimums (sklearn `data_min_`).
        data_min: Vec<f64>,
        /// Maximums (sklearn `data_max_`).
        data_max: Vec<f64>,
        /// Multipliers (sklearn `scale_`).
        scale: Vec<f64>,
        /// Offsets (sklearn `min_`).
        min: Vec<f64>,
    },
    /// A fitted robust scaler.
    RobustScaler {
        /// Whether the median is subtracted.
        with_centering: bool,
        /// Whether values are divided by `scale`.
        with_scaling: bool,
        /// The percentiles of the range.
        quantile_range: (f64, f64),
        /// Medians (sklearn `center_`).
        center: Vec<f64>,
        /// Inter-quantile ranges, 1 when zero (sklearn `scale_`).
        scale: Vec<f64>,
    },
    /// `ln(1 + x)`.
    Log1p,
    /// Clipping.
    Clip {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// Values unchanged.
    Passthrough,
    /// A fitted one-hot encoder.
    OneHot {
        /// Unknown-category policy.
        handle_unknown: HandleUnknown,
        /// Infrequent threshold used in fitting.
        min_frequency: Option<MinFrequency>,
        /// Column limit used in fitting.
        max_categories: Option<usize>,
        /// Frequent categories per column, in output order (sorted, unless
        /// given explicitly): one output each.
        categories: Vec<Vec<Category>>,
        /// Infrequent categories per column: they share `__other__`.
        infrequent: Vec<Vec<Category>>,
    },
    /// A fitted ordinal encoder.
    Ordinal {
        /// Unknown-category policy.
        handle_unknown: OrdinalUnknown,
        /// The code of missing values.
        missing_value: Option<f64>,
        /// Categories per column (sorted, unless given explicitly): category
        /// `i` is coded `i`.
        categories: Vec<Vec<Category>>,
    },
    /// Feature hashing.
    Hash {
        /// Output columns.
        n_features: usize,
        /// Whether signs alternate.
        alternate_sign: bool,
    },
    /// Fixed-edge bins.
    Bucketize {
        /// Inner edges.
        boundaries: Vec<f64>,
        /// Output encoding.
        encode: BinEncode,
    },
    /// Fitted quantile bins.
    QuantileBins {
        /// Bins asked for.
        n_bins: usize,
        /// Quantile method.
        method: QuantileMethod,
        /// Output encoding.
        encode: BinEncode,
        /// Edges per column, first and last being the data's minimum and
        /// maximum (sklearn `bin_edges_`); `len - 1` bins.
        bin_edges: Vec<Vec<f64>>,
    },
    /// Degree-2 products.
    Polynomial {
        /// Only `a*b`.
        interaction_only: bool,
        /// Also `a` and `b`.
        include_linear: bool,
    },
}

impl FittedTransform {
    /// The `kind` tag.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Impute { .. } => "impute",
            Self::StandardScaler { .. } => "standard_scaler",
            Self::MinMaxScaler { .. } => "min_max_scaler",
            Self::RobustScaler { .. } => "robust_scaler",
            Self::Log1p => "log1p",
            Self::Clip { .. } => "clip",
            Self::Passthrough => "passthrough",
            Self::OneHot { .. } => "one_hot",
            Self::Ordinal { .. } => "ordinal",
            Self::Hash { .. } => "hash",
            Self::Bucketize { .. } => "bucketize",
            Self::QuantileBins { .. } => "quantile_bins",
            Self::Polynomial { .. } => "polynomial",
        }
    }

    /// The fitted form of a transform that learns nothing, applied to `lanes` columns.
    pub(crate) fn stateless(t: &Transform, lanes: usize) -> Option<Self> {
        Some(match t {
            Transform::Impute(i) => match &i.strategy {
                ImputeStrategy::Constant(v) => Self::Impute {
                    strategy: i.strategy.clone(),
                    add_indicator: i.add_indicator,
                    fill: vec![v.clone(); lanes],
                },
                _ => return None,
            },
            Transform::Log1p => Self::Log1p,
            Transform::Clip(c) => Self::Clip { min: c.min, max: c.max },
            Transform::Passthrough => Self::Passthrough,
            Transform::Hash(h) => Self::Hash {
                n_features: h.n_features,
                alternate_sign: h.alternate_sign,
            },
            Transform::Bucketize(b) => Self::Bucketize {
                boundaries: b.boundaries.clone(),
                encode: b.encode,
            },
            Transform::Polynomial(p) => Self::Polynomial {
                interaction_only: p.interaction_only,
                include_linear: p.include_linear,
            },
            _ => return None,
        })
    }

    fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Self::Impute { .. }
                | Self::StandardScaler { .. }
                | Self::MinMaxScaler { .. }
                | Self::RobustScaler { .. }
                | Self::Log1p
                | Self::Clip { .. }
                | Self::Passthrough
        )
    }

    /// The element-wise operation of column `lane` (`None`: no operation).
    pub(crate) fn lane_op(&self, lane: usize) -> Result<Option<LaneOp>, String> {
        let at = |v: &[f64], what: &str| -> Result<f64, String> {
            let x = *v
                .get(lane)
                .ok_or_else(|| format!("{}: no {what} for column {lane}", self.name()))?;
            if x.is_finite() {
                Ok(x)
            } else {
                Err(format!("{}: {what} of column {lane} is not finite", self.name()))
            }
        };
        let nonzero = |x: f64, what: &str| {
            if x == 0.0 {
                Err(format!("{}: {what} of column {lane} is zero", self.name()))
            } else {
                Ok(x)
            }
        };
        Ok(Some(match self {
            Self::Impute {
                add_indicator, fill, ..
            } => {
                let value = fill
                    .get(lane)
                    .ok_or_else(|| format!("impute: no fill value for column {lane}"))?;
                match value {
                    Value::Null => return Err(format!("impute: fill value of column {lane} is null")),
                    Value::Float(x) if !x.is_finite() => {
                        return Err(format!("impute: fill value of column {lane} is not finite"));
                    }
                    _ => {}
                }
                LaneOp::Fill {
                    value: value.clone(),
                    indicator: *add_indicator,
                }
            }
            Self::StandardScaler {
                with_mean,
                with_std,
                mean,
                scale,
                ..
            } => LaneOp::SubDiv {
                sub: if *with_mean { at(mean, "mean")? } else { 0.0 },
                div: if *with_std {
                    nonzero(at(scale, "scale")?, "scale")?
                } else {
                    1.0
                },
            },
            Self::RobustScaler {
                with_centering,
                with_scaling,
                center,
                scale,
                ..
            } => LaneOp::SubDiv {
                sub: if *with_centering { at(center, "center")? } else { 0.0 },
                div: if *with_scaling {
                    nonzero(at(scale, "scale")?, "scale")?
                } else {
                    1.0
                },
            },
            Self::MinMaxScaler {
                feature_range,
                clip,
                scale,
                min,
                ..
            } => LaneOp::MulAdd {
                mul: at(scale, "scale")?,
                add: at(min, "min")?,
                clip: clip.then_some(*feature_range),
            },
            Self::Log1p => LaneOp::Log1p,
            Self::Clip { min, max } => {
                let lo = min.unwrap_or(f64::NEG_INFINITY);
                let hi = max.unwrap_or(f64::INFINITY);
                if lo.is_nan() || hi.is_nan() || lo > hi {
                    return Err(format!("clip: invalid bounds [{lo}, {hi}]"));
                }
                LaneOp::Clip { lo, hi }
            }
            _ => return Ok(None),
        }))
    }
}

fn index(cats: &[Category], what: &str) -> Result<CategoryIndex, String> {
    CategoryIndex::new(cats.to_vec()).map_err(|dup| format!("{what}: category {dup} is listed twice"))
}

fn check_edges(edges: &[f64], what: &str) -> Result<(), String> {
    if edges.iter().all(|x| x.is_finite()) && edges.windows(2).all(|w| w[0] <= w[1]) {
        Ok(())
    } else {
        Err(format!("{what}: edges must be finite and non-decreasing"))
    }
}

/// A code that collides with a category index (sklearn refuses those too).
#[allow(clippy::cast_precision_loss)]
fn collides(code: f64, k: usize) -> bool {
    code.fract() == 0.0 && code >= 0.0 && code < k as f64
}

/// Builds the expander of `t` for lanes named `names`; sets lane blocks.
fn build_expander(t: &FittedTransform, lanes: &mut [LanePlan], names: &[String]) -> Result<(Expander, usize), String> {
    let n = lanes.len();
    let per_lane = |len: usize, what: &str| {
        if len == n {
            Ok(())
        } else {
            Err(format!("{}: {len} {what} for {n} columns", t.name()))
        }
    };
    let mut width = 0;
    let expander = match t {
        FittedTransform::OneHot {
            handle_unknown,
            categories,
            infrequent,
            ..
        } => {
            per_lane(categories.len(), "category lists")?;
            if !infrequent.is_empty() {
                per_lane(infrequent.len(), "infrequent lists")?;
            }
            let mut enc = Vec::with_capacity(n);
            for (i, cats) in categories.iter().enumerate() {
                let inf = infrequent.get(i).map_or(&[][..], Vec::as_slice);
                let lane = OneHotLane {
                    categories: index(cats, "one_hot")?,
                    other: *handle_unknown == HandleUnknown::Other || !inf.is_empty(),
                    infrequent: index(inf, "one_hot infrequent")?,
                    unknown: *handle_unknown,
                };
                lanes[i].block = width;
                width += lane.width();
                enc.push(lane);
            }
            Expander::OneHot(enc)
        }
        FittedTransform::Ordinal {
            handle_unknown,
            missing_value,
            categories,
        } => {
            per_lane(categories.len(), "category lists")?;
            let mut enc = Vec::with_capacity(n);
            for (i, cats) in categories.iter().enumerate() {
                let unknown_code = match handle_unknown {
                    OrdinalUnknown::Value(v) => Some(*v),
                    OrdinalUnknown::Error => None,
                };
                for code in missing_value.iter().copied().chain(unknown_code) {
                    if !code.is_finite() || collides(code, cats.len()) {
                        return Err(format!(
                            "ordinal: code {code} for unknown or missing values of {:?} must be finite and not a category index",
                            names.get(i).map_or("?", String::as_str)
                        ));
                    }
                }
                lanes[i].block = i;
                enc.push(OrdinalLane {
                    categories: index(cats, "ordinal")?,
                    unknown: *handle_unknown,
                    missing: *missing_value,
                });
            }
            width = n;
            Expander::Ordinal(enc)
        }
        FittedTransform::Bucketize { boundaries, encode } => {
            if boundaries.is_empty() {
                return Err("bucketize: no boundaries".to_owned());
            }
            check_edges(boundaries, "bucketize")?;
            let mut bins = Vec::with_capacity(n);
            for lane in lanes.iter_mut() {
                let b = BinsLane {
                    inner: boundaries.clone(),
                    n_bins: boundaries.len() + 1,
                    one_hot: *encode == BinEncode::OneHot,
                };
                lane.block = width;
                width += b.width();
                bins.push(b);
            }
            Expander::Bins(bins)
        }
        FittedTransform::QuantileBins { encode, bin_edges, .. } => {
            per_lane(bin_edges.len(), "edge lists")?;
            let mut bins = Vec::with_capacity(n);
            for (lane, edges) in lanes.iter_mut().zip(bin_edges) {
                if edges.len() < 2 {
                    return Err("quantile_bins: a column has fewer than 2 edges".to_owned());
                }
                check_edges(edges, "quantile_bins")?;
                let b = BinsLane {
                    inner: edges[1..edges.len() - 1].to_vec(),
                    n_bins: edges.len() - 1,
                    one_hot: *encode == BinEncode::OneHot,
                };
                lane.block = width;
                width += b.width();
                bins.push(b);
            }
            Expander::Bins(bins)
        }
        FittedTransform::Hash {
            n_features,
            alternate_sign,
        } => {
            if n > MAX_HASH_INPUTS {
                return Err(format!("hash: at most {MAX_HASH_INPUTS} input features, got {n}"));
            }
            let n_features = u32::try_from(*n_features)
                .ok()
                .filter(|&k| k >= 1 && k <= i32::MAX as u32)
                .ok_or_else(|| format!("hash: n_features {n_features} must be in 1..=2^31-1"))?;
            let mut prefix = Vec::with_capacity(n);
            let mut name_hash = Vec::with_capacity(n);
            for name in names {
                let mut m = Murmur3::new(0);
                m.write(name.as_bytes());
                name_hash.push(m.finish());
                m.write(b"=");
                prefix.push(m);
            }
            width = n_features as usize;
            Expander::Hash(HashPlan {
                n_features,
                alternate_sign: *alternate_sign,
                prefix,
                name_hash,
            })
        }
        FittedTransform::Polynomial {
            interaction_only,
            include_linear,
        } => {
            if n != 2 {
                return Err(format!("polynomial needs exactly 2 input columns, got {n}"));
            }
            let p = PolyPlan {
                interaction_only: *interaction_only,
                include_linear: *include_linear,
            };
            width = p.width();
            Expander::Poly(p)
        }
        other => return Err(format!("{} is not an expanding transform", other.name())),
    };
    Ok((expander, width))
}

/// Compiles a step's fitted chain (or a prefix of it) for lanes reading
/// `lanes` (slot, type), named `names`.
pub(crate) fn compile_step(
    lanes: &[(usize, DType)],
    names: &[String],
    stages: &[FittedTransform],
    offset: usize,
) -> Result<StepPlan, String> {
    let mut plans: Vec<LanePlan> = lanes
        .iter()
        .map(|&(slot, dtype)| LanePlan {
            slot,
            dtype,
            ops: Vec::new(),
            block: 0,
        })
        .collect();
    let mut expander = None;
    let mut post: Vec<Vec<LaneOp>> = Vec::new();
    let mut width = plans.len();
    let mut indicator_width = 0;
    for t in stages {
        if t.is_elementwise() {
            if let FittedTransform::Impute {
                add_indicator: true, ..
            } = t
            {
                if indicator_width > 0 {
                    return Err("a step may have only one imputer with a missing indicator".to_owned());
                }
                indicator_width = width;
            }
            if let FittedTransform::Impute { fill, .. } = t
                && fill.len() != width
            {
                return Err(format!("impute: {} fill values for {width} columns", fill.len()));
            }
            for lane in 0..width {
                if let Some(op) = t.lane_op(lane)? {
                    let target = if expander.is_none() {
                        plans.get_mut(lane).map(|p| &mut p.ops)
                    } else {
                        post.get_mut(lane)
                    };
                    target.ok_or("lane out of range")?.push(op);
                }
            }
        } else {
            if expander.is_some() {
                return Err(format!("{}: a step may have only one expanding transform", t.name()));
            }
            let (e, w) = build_expander(t, &mut plans, names)?;
            expander = Some(e);
            width = w;
            post = vec![Vec::new(); w];
        }
    }
    if post.iter().all(Vec::is_empty) {
        post.clear();
    }
    Ok(StepPlan {
        lanes: plans,
        expander,
        post,
        main_width: width,
        indicator_width,
        offset,
    })
}

/// Output names of a step (or a prefix of its chain): the main columns, then
/// the missing indicators.
pub(crate) fn step_names(inputs: &[String], stages: &[FittedTransform]) -> (Vec<String>, Vec<String>) {
    let mut lanes: Vec<String> = inputs.to_vec();
    let mut indicators = Vec::new();
    let suffix = |lanes: &mut Vec<String>, s: &str| lanes.iter_mut().for_each(|l| l.push_str(s));
    for t in stages {
        match t {
            FittedTransform::Impute { add_indicator, .. } => {
                if *add_indicator {
                    indicators = lanes.iter().map(|l| format!("{l}__missing")).collect();
                }
            }
            FittedTransform::StandardScaler { .. }
            | FittedTransform::MinMaxScaler { .. }
            | FittedTransform::RobustScaler { .. } => suffix(&mut lanes, "__scaled"),
            FittedTransform::Log1p => suffix(&mut lanes, "__log1p"),
            FittedTransform::Clip { .. } => suffix(&mut lanes, "__clipped"),
            FittedTransform::Passthrough => {}
            FittedTransform::OneHot {
                handle_unknown,
                categories,
                infrequent,
                ..
            } => {
                let mut out = Vec::new();
                for (i, lane) in lanes.iter().enumerate() {
                    let cats = categories.get(i).map_or(&[][..], Vec::as_slice);
                    out.extend(cats.iter().map(|c| format!("{lane}={c}")));
                    let has_inf = infrequent.get(i).is_some_and(|v| !v.is_empty());
                    if *handle_unknown == HandleUnknown::Other || has_inf {
                        out.push(format!("{lane}=__other__"));
                    }
                }
                lanes = out;
            }
            FittedTransform::Ordinal { .. } => suffix(&mut lanes, "__ordinal"),
            FittedTransform::Bucketize { boundaries, encode } => {
                lanes = bin_names(&lanes, |_| boundaries.len() + 1, *encode);
            }
            FittedTransform::QuantileBins { bin_edges, encode, .. } => {
                lanes = bin_names(
                    &lanes,
                    |i| bin_edges.get(i).map_or(0, |e| e.len().saturating_sub(1)),
                    *encode,
                );
            }
            FittedTransform::Hash { n_features, .. } => {
                let base = lanes.join("+");
                lanes = (0..*n_features).map(|k| format!("{base}__hash={k}")).collect();
            }
            FittedTransform::Polynomial {
                interaction_only,
                include_linear,
            } => {
                let (a, b) = match lanes.as_slice() {
                    [a, b] => (a.clone(), b.clone()),
                    _ => (String::from("?"), String::from("?")),
                };
                let mut out = Vec::new();
                if *include_linear {
                    out.extend([a.clone(), b.clone()]);
                }
                if *interaction_only {
                    out.push(format!("{a}*{b}"));
                } else {
                    out.extend([format!("{a}^2"), format!("{a}*{b}"), format!("{b}^2")]);
                }
                lanes = out;
            }
        }
    }
    (lanes, indicators)
}

fn bin_names(lanes: &[String], bins: impl Fn(usize) -> usize, encode: BinEncode) -> Vec<String> {
    let mut out = Vec::new();
    for (i, lane) in lanes.iter().enumerate() {
        match encode {
            BinEncode::Ordinal => out.push(format!("{lane}__bin")),
            BinEncode::OneHot => out.extend((0..bins(i)).map(|k| format!("{lane}__bin={k}"))),
        }
    }
    out
}

/// One fitted step: its inputs, fitted chain and output names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FittedStep {
    /// The input features.
    pub inputs: Vec<String>,
    /// The fitted chain, in order.
    pub transforms: Vec<FittedTransform>,
    /// The step's output names, in output order.
    pub outputs: Vec<String>,
}

impl FittedStep {
    pub(crate) fn new(inputs: Vec<String>, transforms: Vec<FittedTransform>) -> Self {
        let (mut outputs, indicators) = step_names(&inputs, &transforms);
        outputs.extend(indicators);
        Self {
            inputs,
            transforms,
            outputs,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Doc {
    format: String,
    input_schema: Schema,
    #[serde(default)]
    input_positions: Vec<usize>,
    steps: Vec<FittedStep>,
    output_names: Vec<String>,
    #[serde(default)]
    n_rows: u64,
}

/// A fitted pipeline: applies the learned transforms to records (serving),
/// batches (training, batch scoring) and Arrow record batches (feature
/// `arrow`) with one kernel, so all paths give bit-identical outputs.
///
/// It is plain data: JSON (`kiln.pipeline/v1`) holds everything needed to
/// apply it, no code. See the [crate documentation](crate) for an example.
#[derive(Clone, Debug)]
pub struct FittedPipeline {
    doc: Doc,
    plan: Plan,
}

impl PartialEq for FittedPipeline {
    fn eq(&self, other: &Self) -> bool {
        self.doc == other.doc
    }
}

impl FittedPipeline {
    pub(crate) fn new(
        input_schema: Schema,
        input_positions: Vec<usize>,
        steps: Vec<FittedStep>,
        n_rows: u64,
    ) -> Result<Self> {
        let output_names = steps.iter().flat_map(|s| s.outputs.iter().cloned()).collect();
        Self::from_doc(Doc {
            format: PIPELINE_FORMAT.to_owned(),
            input_schema,
            input_positions,
            steps,
            output_names,
            n_rows,
        })
    }

    fn from_doc(mut doc: Doc) -> Result<Self> {
        check_format(&doc.format, PIPELINE_FORMAT)?;
        let schema = &doc.input_schema;
        if doc.input_positions.len() != schema.len() {
            doc.input_positions = (0..schema.len()).collect();
        }
        let slots: Vec<Slot> = schema
            .features()
            .iter()
            .zip(&doc.input_positions)
            .map(|(f, &hint)| Slot {
                key: kiln_core::StrKey::of(&f.name),
                name: f.name.clone(),
                dtype: f.dtype,
                hint,
            })
            .collect();
        let mut steps = Vec::with_capacity(doc.steps.len());
        let mut offset = 0;
        let mut names = Vec::new();
        for (k, step) in doc.steps.iter().enumerate() {
            let bad = |m: String| Error::InvalidPipeline(format!("step {k} ({}): {m}", step.inputs.join(", ")));
            let lanes = step
                .inputs
                .iter()
                .map(|name| {
                    let i = schema
                        .index_of(name)
                        .ok_or_else(|| bad(format!("input {name:?} is not in the input schema")))?;
                    Ok((i, schema.features()[i].dtype))
                })
                .collect::<Result<Vec<_>>>()?;
            let plan = compile_step(&lanes, &step.inputs, &step.transforms, offset).map_err(bad)?;
            let (mut expected, ind) = step_names(&step.inputs, &step.transforms);
            expected.extend(ind);
            if expected != step.outputs {
                return Err(bad("output names do not match the fitted transforms".to_owned()));
            }
            if plan.width() != step.outputs.len() {
                return Err(bad(format!(
                    "{} outputs computed for {} names",
                    plan.width(),
                    step.outputs.len()
                )));
            }
            offset += plan.width();
            names.extend(step.outputs.iter().cloned());
            steps.push(plan);
        }
        if names != doc.output_names {
            return Err(Error::InvalidPipeline(
                "output_names do not match the steps' outputs".to_owned(),
            ));
        }
        let mut seen = HashSet::with_capacity(names.len());
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::InvalidPipeline(format!(
                "output name {dup:?} appears twice; rename a step's input or drop a duplicate step"
            )));
        }
        let plan = Plan {
            slots,
            steps,
            n_outputs: offset,
            shift: ShiftHint::default(),
        };
        Ok(Self { doc, plan })
    }

    /// The features the pipeline reads, with the types it was fitted on (a
    /// subset of the training schema, in its order).
    #[must_use]
    pub fn input_schema(&self) -> &Schema {
        &self.doc.input_schema
    }

    /// The output column names, in order (see the crate docs for the scheme).
    #[must_use]
    pub fn output_names(&self) -> &[String] {
        &self.doc.output_names
    }

    /// The number of output columns.
    #[must_use]
    pub fn n_outputs(&self) -> usize {
        self.plan.n_outputs
    }

    /// The fitted steps, with everything they learned.
    #[must_use]
    pub fn steps(&self) -> &[FittedStep] {
        &self.doc.steps
    }

    /// The number of rows the pipeline was fitted on.
    #[must_use]
    pub fn n_rows_fitted(&self) -> u64 {
        self.doc.n_rows
    }

    /// Transforms one record into a new `f32` vector.
    ///
    /// Allocates the result; use [`transform_record_into`](Self::transform_record_into)
    /// on a hot path.
    pub fn transform_record(&self, record: &Record) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.n_outputs()];
        self.transform_record_into(record, &mut out)?;
        Ok(out)
    }

    /// Transforms one record into `out` (`n_outputs()` long), without any
    /// heap allocation.
    ///
    /// The record must hold every input feature (send null for a missing
    /// value); extra fields are ignored. Fields are found by position first
    /// (the training schema's order, or the input schema's), then by name.
    /// On error `out` may be partly written.
    #[inline]
    pub fn transform_record_into<T: OutputFloat>(&self, record: &Record, out: &mut [T]) -> Result<()> {
        if out.len() != self.plan.n_outputs {
            return Err(Error::OutputLength {
                expected: self.plan.n_outputs,
                got: out.len(),
            });
        }
        let src = RecordRow {
            record,
            slots: &self.plan.slots,
            shift: std::cell::Cell::new(self.plan.shift.get()),
        };
        let result = self.plan.run_row(&src, out);
        self.plan.shift.set(src.shift.get());
        result.map_err(|f| self.fault_error(f, None, &|slot| src.value(slot)))
    }

    /// Transforms a batch into an `f32` row-major matrix.
    pub fn transform_batch(&self, batch: &Batch) -> Result<Matrix<f32>> {
        self.transform_batch_as(batch)
    }

    /// Transforms a batch into an `f64` row-major matrix.
    pub fn transform_batch_f64(&self, batch: &Batch) -> Result<Matrix<f64>> {
        self.transform_batch_as(batch)
    }

    pub(crate) fn transform_batch_as<T: OutputFloat + kiln_core::buffer::Zeroed>(
        &self,
        batch: &Batch,
    ) -> Result<Matrix<T>> {
        let cols = self.n_outputs();
        // Huge pages where available: faulting in 4 KiB pages of a fresh
        // output costs about as much as the transform.
        let mut data = kiln_core::buffer::zeroed(batch.num_rows() * cols);
        self.transform_batch_into(batch, &mut data)?;
        Ok(Matrix {
            rows: batch.num_rows(),
            cols,
            data,
        })
    }

    /// Transforms a batch into `out` (`rows * n_outputs()` long, row-major).
    ///
    /// Every value goes through the same kernel functions as
    /// [`transform_record_into`](Self::transform_record_into), applied step
    /// by step and column at a time over the typed columns (common steps:
    /// imputers, scalers, one-hot and ordinal encoders; others row by row);
    /// large batches are split into chunks of rows processed in parallel
    /// (rayon). Errors
    /// name the first failing row. Columns may be of another type of the
    /// same family than fitted (`float32`/`float64`/`int64` for numeric
    /// features, `categorical`/`string`); values are read as the fitted type.
    pub fn transform_batch_into<T: OutputFloat>(&self, batch: &Batch, out: &mut [T]) -> Result<()> {
        let cols = self.bind(batch)?;
        self.run_columns(&cols, batch.num_rows(), out)
    }

    pub(crate) fn run_columns<T: OutputFloat>(&self, cols: &[&Column], rows: usize, out: &mut [T]) -> Result<()> {
        let n = self.plan.n_outputs;
        if out.len() != rows * n {
            return Err(Error::OutputLength {
                expected: rows * n,
                got: out.len(),
            });
        }
        if n == 0 || rows == 0 {
            return Ok(());
        }
        let _span = tracing::debug_span!("transform_batch", rows, outputs = n).entered();
        let tile_rows = columnar::tile_rows::<T>(n);
        let run_chunk = |first_row: usize, chunk: &mut [T]| -> Result<()> {
            let mut buf = columnar::TileBuf::new(n);
            for (t, tile) in chunk.chunks_mut(n * tile_rows).enumerate() {
                let first = first_row + t * tile_rows;
                if columnar::run_tile(&self.plan, cols, first, tile, &mut buf).is_ok() {
                    continue;
                }
                // The fast lane gave up: the per-row kernel names the first fault.
                for (k, o) in tile.chunks_mut(n).enumerate() {
                    let row = first + k;
                    let src = ColumnsRow { cols, row };
                    self.plan
                        .run_row(&src, o)
                        .map_err(|f| self.fault_error(f, Some(row), &|slot| src.value(slot)))?;
                }
            }
            Ok(())
        };
        if rows < PARALLEL_MIN_ROWS {
            return run_chunk(0, out);
        }
        // Collecting keeps chunk order, so the error reported is the first row's.
        let results: Vec<Result<()>> = out
            .par_chunks_mut(n * CHUNK_ROWS)
            .enumerate()
            .map(|(c, chunk)| run_chunk(c * CHUNK_ROWS, chunk))
            .collect();
        results.into_iter().collect()
    }

    /// Finds the batch column of every input feature and checks its type.
    pub(crate) fn bind<'b>(&self, batch: &'b Batch) -> Result<Vec<&'b Column>> {
        bind_columns(batch, self.plan.slots.iter().map(|s| (s.name.as_str(), s.dtype)))
    }

    /// Turns a kernel fault into an error naming feature, output, value and
    /// row; `value` reads an input slot's value again.
    fn fault_error<'v>(&self, f: Fault, row: Option<usize>, value: &dyn Fn(usize) -> Option<ValueRef<'v>>) -> Error {
        let slot_name = |slot: u32| {
            self.plan
                .slots
                .get(slot as usize)
                .map_or_else(|| "?".to_owned(), |s| s.name.clone())
        };
        let output_name = |o: u32| {
            self.doc
                .output_names
                .get(o as usize)
                .cloned()
                .unwrap_or_else(|| "?".to_owned())
        };
        let got = |slot: u32| value(slot as usize).unwrap_or(ValueRef::Null);
        match f {
            Fault::Missing { slot } => Error::MissingFeature {
                feature: slot_name(slot),
                row,
            },
            Fault::WrongType { slot } => Error::WrongType {
                feature: slot_name(slot),
                row,
                expected: self
                    .plan
                    .slots
                    .get(slot as usize)
                    .map_or_else(String::new, |s| s.dtype.to_string()),
                got: format!("{} {}", got(slot).kind(), got(slot)),
            },
            Fault::Infinite { slot } => Error::NonFinite {
                feature: slot_name(slot),
                row,
                value: got(slot).as_f64().unwrap_or(f64::NAN),
            },
            Fault::Unknown { slot } => Error::UnknownCategory {
                feature: slot_name(slot),
                row,
                value: got(slot).to_string(),
            },
            Fault::NonFinite { at, value } => Error::NonFinite {
                feature: match at {
                    At::Slot(s) => slot_name(s),
                    At::Output(o) => output_name(o),
                    At::Unset => "?".to_owned(),
                },
                row,
                value,
            },
            Fault::NullOutput { output } => {
                let step = self
                    .plan
                    .steps
                    .iter()
                    .zip(&self.doc.steps)
                    .find(|(p, _)| (output as usize) < p.offset + p.width());
                Error::MissingValue {
                    feature: step.map_or_else(|| "?".to_owned(), |(_, s)| s.inputs.join(", ")),
                    output: output_name(output),
                    row,
                }
            }
            Fault::Internal(m) => Error::Internal(m),
        }
    }

    /// The pipeline as pretty-printed `kiln.pipeline/v1` JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.doc).unwrap_or_else(|_| unreachable!("fitted pipelines always serialize"))
    }

    /// The canonical form the digest is computed over: compact JSON with
    /// object keys sorted.
    #[must_use]
    pub fn canonical_json(&self) -> String {
        // serde_json's `Value` keeps object keys sorted (BTreeMap).
        let value =
            serde_json::to_value(&self.doc).unwrap_or_else(|_| unreachable!("fitted pipelines always serialize"));
        value.to_string()
    }

    /// The SHA-256 of [`canonical_json`](Self::canonical_json): the identity
    /// of the fitted state.
    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(self.canonical_json().as_bytes())
    }

    /// Parses a `kiln.pipeline/v1` document, checking that its parts fit
    /// together (per-column vectors, sorted categories, finite parameters,
    /// output names). Unknown fields are ignored; another major version is
    /// an error.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_json_bytes(json.as_bytes())
    }

    /// Parses a `kiln.pipeline/v1` document from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let doc: Doc = from_json_slice(bytes, PIPELINE_FORMAT, "pipeline")?;
        Self::from_doc(doc)
    }
}

impl Serialize for FittedPipeline {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.doc.serialize(s)
    }
}

impl<'de> Deserialize<'de> for FittedPipeline {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let doc = Doc::deserialize(d)?;
        Self::from_doc(doc).map_err(serde::de::Error::custom)
    }
}

/// Whether a column of type `found` can feed a feature fitted as `fitted`.
/// The batch column of each `(name, dtype)` input, in order, checked to be of
/// a [`compatible`] type; the one place both fitting and applying bind inputs.
pub(crate) fn bind_columns<'b, 'n>(
    batch: &'b Batch,
    inputs: impl Iterator<Item = (&'n str, DType)>,
) -> Result<Vec<&'b Column>> {
    let schema = batch.schema();
    inputs
        .map(|(name, dtype)| {
            let i = schema.index_of(name).ok_or_else(|| Error::MissingFeature {
                feature: name.to_owned(),
                row: None,
            })?;
            let found = schema.features()[i].dtype;
            if !compatible(dtype, found) {
                return Err(Error::WrongType {
                    feature: name.to_owned(),
                    row: None,
                    expected: dtype.to_string(),
                    got: format!("a {found} column"),
                });
            }
            batch.column(i).ok_or(Error::Internal("batch column missing"))
        })
        .collect()
}

pub(crate) fn compatible(fitted: DType, found: DType) -> bool {
    fitted == found
        || (fitted.is_numeric() && found.is_numeric())
        || (fitted.is_string() && found.is_string())
        || matches!((fitted, found), (DType::Timestamp, DType::Int64))
}
