//! Mergeable statistics for fitting, and numpy-compatible order statistics.
//!
//! - Mean and variance: per batch the corrected two-pass algorithm (mean
//!   `sum / n`, then `M2 = sum((x - mean)^2) - (sum(x - mean))^2 / n`), merged
//!   across batches with the pairwise update of Chan, Golub and LeVeque:
//!   `M2 = M2a + M2b + delta^2 * na * nb / n` with `delta = mean_b - mean_a`.
//!   This is the algorithm behind sklearn's `StandardScaler.partial_fit`.
//! - Minimum, maximum and category counts merge exactly.
//! - Quantiles (median, IQR, quantile bins) keep every non-missing value
//!   (8 bytes each) and select exactly when fitting finishes.

use std::collections::{BTreeMap, HashMap};

use kiln_core::Value;

use crate::category::{Category, Key};
use crate::kernel::Cell;
use crate::spec::QuantileMethod;

/// numpy's `_lerp`: `a + (b - a) t`, computed from `b` when `t >= 0.5`.
#[inline]
fn np_lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 { b - d * (1.0 - t) } else { a + d * t }
}

/// `numpy.quantile(values, q, method)` of sorted, non-empty, NaN-free values.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64, method: QuantileMethod) -> f64 {
    let n = sorted.len();
    let Some(&last) = sorted.last() else { return f64::NAN };
    let first = sorted[0];
    let interpolate = |vi: f64, fix_gamma: fn(f64) -> f64| {
        // numpy's `_get_indexes`: out-of-range indices take the end values.
        if vi >= (n - 1) as f64 {
            return last;
        }
        if vi < 0.0 {
            return first;
        }
        let prev = vi.floor();
        let i = prev as usize;
        np_lerp(sorted[i], sorted[i + 1], fix_gamma(vi - prev))
    };
    match method {
        QuantileMethod::Linear => interpolate((n - 1) as f64 * q, |g| g),
        QuantileMethod::AveragedInvertedCdf => interpolate(n as f64 * q - 1.0, |g| if g == 0.0 { 0.5 } else { 1.0 }),
        QuantileMethod::InvertedCdf => {
            let vi = n as f64 * q - 1.0;
            let prev = vi.floor();
            let idx = if vi - prev == 0.0 { prev } else { prev + 1.0 };
            if idx <= 0.0 {
                first
            } else {
                sorted[(idx as usize).min(n - 1)]
            }
        }
    }
}

/// `numpy.percentile(values, p)` (linear) of sorted values.
pub(crate) fn percentile_sorted(sorted: &[f64], p: f64, method: QuantileMethod) -> f64 {
    quantile_sorted(sorted, p / 100.0, method)
}

/// The median as numpy computes it: the middle value, or `(a + b) / 2` of
/// the two middle values.
pub(crate) fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// numpy's pairwise summation (`pairwise_sum` in numpy's `loops_utils.h`):
/// what `np.sum` computes for a contiguous column, bit for bit.
fn pairwise(xs: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = xs.len();
    if n < 8 {
        let mut res = -0.0;
        for &x in xs {
            res += x;
        }
        res
    } else if n <= BLOCK {
        let mut r = [xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7]];
        let mut i = 8;
        while i < n - n % 8 {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += xs[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &xs[i..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&xs[..n2]) + pairwise(&xs[n2..])
    }
}

/// `np.nansum` of a contiguous column: NaN counts as 0, then `0.0 + pairwise`.
pub(crate) fn nansum(xs: &[f64]) -> f64 {
    if xs.iter().any(|x| x.is_nan()) {
        let zeroed: Vec<f64> = xs.iter().map(|&x| if x.is_nan() { 0.0 } else { x }).collect();
        0.0 + pairwise(&zeroed)
    } else {
        0.0 + pairwise(xs)
    }
}

/// Count, sum and sum of squared deviations of the non-missing values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    pub(crate) n: u64,
    pub(crate) sum: f64,
    pub(crate) m2: f64,
}

impl Moments {
    /// The corrected two-pass moments of one column, missing values being
    /// NaN placeholders: exactly sklearn's `_incremental_mean_and_var` on a
    /// contiguous `(n, 1)` array (numpy's pairwise `nansum` in row order).
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn of(xs: &[f64]) -> Self {
        let count = xs.iter().filter(|x| !x.is_nan()).count();
        if count == 0 {
            return Self::default();
        }
        let n = count as f64;
        let sum = nansum(xs);
        let mean = sum / n;
        let dev: Vec<f64> = xs.iter().map(|&x| x - mean).collect();
        let correction = nansum(&dev);
        let sq: Vec<f64> = dev.iter().map(|&e| e * e).collect();
        Self {
            n: count as u64,
            sum,
            m2: nansum(&sq) - correction * correction / n,
        }
    }

    /// Chan et al.'s pairwise merge.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn merge(self, o: Self) -> Self {
        if self.n == 0 {
            return o;
        }
        if o.n == 0 {
            return self;
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = self.n + o.n;
        let delta = o.sum / nb - self.sum / na;
        Self {
            n,
            sum: self.sum + o.sum,
            m2: self.m2 + o.m2 + delta * delta * (na * nb / n as f64),
        }
    }

    /// `m` copies of `x`.
    #[allow(clippy::cast_precision_loss)]
    fn constant(x: f64, m: u64) -> Self {
        Self {
            n: m,
            sum: x * m as f64,
            m2: 0.0,
        }
    }
}

/// Total-order key of a float for counting (`-0.0` counts as `0.0`).
fn float_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn float_of_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// What a lane accumulator keeps.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AccData {
    /// Count, sum and M2 (mean imputer, standard scaler).
    Moments(Moments),
    /// Count, minimum and maximum (min-max scaler).
    MinMax { n: u64, min: f64, max: f64 },
    /// Every value (median imputer, robust scaler, quantile bins).
    Values(Vec<f64>),
    /// Category counts (one-hot, ordinal, most-frequent of categories,
    /// booleans and integers); `with_null` counts missing values as a category.
    Counts {
        map: BTreeMap<Category, u64>,
        with_null: bool,
    },
    /// Float value counts by total-order key (most-frequent of floats).
    FloatCounts(BTreeMap<u64, u64>),
}

/// The fitting state of one transform for one column.
///
/// `pending` counts rows whose value is missing before an imputer that is
/// itself still being fitted: their value is the imputer's fill (pushed
/// through the element-wise transforms in between), known only when
/// fitting finishes, when it is added `pending` times.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LaneAcc {
    pub(crate) data: AccData,
    pub(crate) pending: u64,
    pub(crate) rows: u64,
}

/// Per-batch buffer of one lane accumulator, borrowing the batch's strings.
pub(crate) enum Collector<'a> {
    /// Numbers in row order; missing values are NaN placeholders when `keep_missing`.
    Nums {
        vals: Vec<f64>,
        keep_missing: bool,
    },
    Keys {
        counts: HashMap<Key<'a>, u64>,
        with_null: bool,
    },
    Floats(HashMap<u64, u64>),
}

/// Something a collector cannot take (a string where a number is needed).
#[derive(Debug)]
pub(crate) struct NotNumeric;

impl LaneAcc {
    pub(crate) fn new(data: AccData) -> Self {
        Self {
            data,
            pending: 0,
            rows: 0,
        }
    }

    pub(crate) fn collector<'a>(&self) -> (Collector<'a>, u64, u64) {
        let c = match &self.data {
            AccData::Moments(_) => Collector::Nums {
                vals: Vec::new(),
                keep_missing: true,
            },
            AccData::MinMax { .. } | AccData::Values(_) => Collector::Nums {
                vals: Vec::new(),
                keep_missing: false,
            },
            AccData::Counts { with_null, .. } => Collector::Keys {
                counts: HashMap::new(),
                with_null: *with_null,
            },
            AccData::FloatCounts(_) => Collector::Floats(HashMap::new()),
        };
        (c, 0, 0)
    }

    /// Folds a batch's buffer in.
    pub(crate) fn absorb(&mut self, c: Collector<'_>, pending: u64, rows: u64) {
        self.pending += pending;
        self.rows += rows;
        match (&mut self.data, c) {
            (AccData::Moments(m), Collector::Nums { vals, .. }) => *m = m.merge(Moments::of(&vals)),
            (AccData::MinMax { n, min, max }, Collector::Nums { vals: xs, .. }) => {
                for x in xs {
                    if *n == 0 {
                        (*min, *max) = (x, x);
                    } else {
                        *min = min.min(x);
                        *max = max.max(x);
                    }
                    *n += 1;
                }
            }
            (AccData::Values(v), Collector::Nums { vals, .. }) => v.extend(vals),
            (AccData::Counts { map, .. }, Collector::Keys { counts, .. }) => {
                for (k, c) in counts {
                    *map.entry(k.to_category()).or_insert(0) += c;
                }
            }
            (AccData::FloatCounts(map), Collector::Floats(counts)) => {
                for (k, c) in counts {
                    *map.entry(k).or_insert(0) += c;
                }
            }
            // Collectors are made by `collector()` from the same data kind.
            _ => {}
        }
    }

    /// Merges another shard's state of the same transform and column.
    pub(crate) fn merge(&mut self, o: Self) {
        self.pending += o.pending;
        self.rows += o.rows;
        match (&mut self.data, o.data) {
            (AccData::Moments(a), AccData::Moments(b)) => *a = a.merge(b),
            (
                AccData::MinMax { n, min, max },
                AccData::MinMax {
                    n: n2,
                    min: lo,
                    max: hi,
                },
            ) if n2 > 0 => {
                if *n == 0 {
                    (*min, *max) = (lo, hi);
                } else {
                    *min = min.min(lo);
                    *max = max.max(hi);
                }
                *n += n2;
            }
            (AccData::Values(a), AccData::Values(b)) => a.extend(b),
            (AccData::Counts { map, .. }, AccData::Counts { map: b, .. }) => {
                for (k, c) in b {
                    *map.entry(k).or_insert(0) += c;
                }
            }
            (AccData::FloatCounts(a), AccData::FloatCounts(b)) => {
                for (k, c) in b {
                    *a.entry(k).or_insert(0) += c;
                }
            }
            _ => {}
        }
    }

    /// Adds the `pending` rows as copies of `value` (the resolved fill).
    pub(crate) fn resolve_pending(&mut self, value: &Value) -> Result<(), NotNumeric> {
        let m = std::mem::take(&mut self.pending);
        if m == 0 {
            return Ok(());
        }
        let cell = Cell::from_value(value);
        match &mut self.data {
            AccData::Moments(mo) => *mo = mo.merge(Moments::constant(cell.num().ok_or(NotNumeric)?, m)),
            AccData::MinMax { n, min, max } => {
                let x = cell.num().ok_or(NotNumeric)?;
                if *n == 0 {
                    (*min, *max) = (x, x);
                } else {
                    *min = min.min(x);
                    *max = max.max(x);
                }
                *n += m;
            }
            AccData::Values(v) => {
                let x = cell.num().ok_or(NotNumeric)?;
                v.extend(std::iter::repeat_n(x, usize::try_from(m).map_err(|_| NotNumeric)?));
            }
            AccData::Counts { map, .. } => {
                let k = cell.key().ok_or(NotNumeric)?;
                *map.entry(k.to_category()).or_insert(0) += m;
            }
            AccData::FloatCounts(map) => {
                *map.entry(float_key(cell.num().ok_or(NotNumeric)?)).or_insert(0) += m;
            }
        }
        Ok(())
    }
}

impl<'a> Collector<'a> {
    /// Takes one cell; `pending` and `rows` are the batch counters.
    #[inline]
    pub(crate) fn push(&mut self, c: Cell<'a>, pending: &mut u64, rows: &mut u64) -> Result<(), NotNumeric> {
        *rows += 1;
        if matches!(c, Cell::Pending) {
            *pending += 1;
            return Ok(());
        }
        match self {
            Self::Nums { vals, keep_missing } => {
                if !c.is_null() {
                    vals.push(c.num().ok_or(NotNumeric)?);
                } else if *keep_missing {
                    vals.push(f64::NAN);
                }
            }
            Self::Keys { counts, with_null } => {
                if !c.is_null() || *with_null {
                    *counts.entry(c.key().ok_or(NotNumeric)?).or_insert(0) += 1;
                }
            }
            Self::Floats(map) => {
                if !c.is_null() {
                    *map.entry(float_key(c.num().ok_or(NotNumeric)?)).or_insert(0) += 1;
                }
            }
        }
        Ok(())
    }
}

/// The most frequent category; ties go to the smallest (missing excluded).
pub(crate) fn mode_category(map: &BTreeMap<Category, u64>) -> Option<Category> {
    let mut best: Option<(&Category, u64)> = None;
    for (c, &n) in map {
        if *c != Category::Null && best.is_none_or(|(_, b)| n > b) {
            best = Some((c, n));
        }
    }
    best.map(|(c, _)| c.clone())
}

/// The most frequent float; ties go to the smallest.
pub(crate) fn mode_float(map: &BTreeMap<u64, u64>) -> Option<f64> {
    let mut best: Option<(u64, u64)> = None;
    for (&k, &n) in map {
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((k, n));
        }
    }
    best.map(|(k, _)| float_of_key(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        // numpy 2.4: np.percentile([3, 1, 2, 10, 7.5], np.linspace(0, 100, 4), method=...)
        let mut v = vec![3.0, 1.0, 2.0, 10.0, 7.5];
        v.sort_by(f64::total_cmp);
        let levels = [0.0, 100.0 / 3.0, 2.0 * (100.0 / 3.0), 100.0];
        let lin: Vec<f64> = levels
            .iter()
            .map(|&p| percentile_sorted(&v, p, QuantileMethod::Linear))
            .collect();
        assert_eq!(lin, [1.0, 2.333_333_333_333_333_5, 6.000_000_000_000_002, 10.0]);
        for m in [QuantileMethod::InvertedCdf, QuantileMethod::AveragedInvertedCdf] {
            let q: Vec<f64> = levels.iter().map(|&p| percentile_sorted(&v, p, m)).collect();
            assert_eq!(q, [1.0, 2.0, 7.5, 10.0]);
        }
        // An exact hit on the CDF averages the neighbours.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5, QuantileMethod::AveragedInvertedCdf), 2.5);
        assert_eq!(quantile_sorted(&v, 0.5, QuantileMethod::InvertedCdf), 2.0);
        assert_eq!(median_sorted(&v), 2.5);
        assert_eq!(median_sorted(&[1.0, 5.0, 9.0]), 5.0);
    }

    #[test]
    fn sums_match_numpy() {
        // numpy 2.4: np.sum([(i * 7919 % 1000) / 7.0 + 1e5 for i in range(n)]);
        // a running sum gives 13009259.285714282 for n = 130.
        let sum = |n: u32| {
            nansum(
                &(0..n)
                    .map(|i| f64::from(i * 7919 % 1000) / 7.0 + 1e5)
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(sum(7), 700_614.142_857_142_8);
        assert_eq!(sum(130), 13_009_259.285_714_285);
        assert_eq!(sum(5000), 500_356_785.714_285_73);
        assert_eq!(nansum(&[-0.0, -0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(nansum(&[1.0, f64::NAN, 2.0]), 3.0);
    }

    #[test]
    fn moments_merge_matches_whole() {
        let xs: Vec<f64> = (0..1000).map(|i| f64::from(i).sin() * 100.0 + 7.0).collect();
        let whole = Moments::of(&xs);
        let merged = Moments::of(&xs[..123]).merge(Moments::of(&xs[123..]));
        assert_eq!(whole.n, merged.n);
        assert!((whole.sum - merged.sum).abs() <= 1e-12 * whole.sum.abs());
        assert!((whole.m2 - merged.m2).abs() <= 1e-12 * whole.m2);
    }

    #[test]
    fn float_keys_order_numerically() {
        let xs = [-3.5, -0.0, 0.0, 1e-300, 2.0, f64::MAX, f64::MIN];
        let mut keys: Vec<u64> = xs.iter().map(|&x| float_key(x)).collect();
        keys.sort_unstable();
        let back: Vec<f64> = keys.iter().map(|&k| float_of_key(k)).collect();
        assert_eq!(back, [f64::MIN, -3.5, 0.0, 0.0, 1e-300, 2.0, f64::MAX]);
        let mut m = BTreeMap::new();
        m.insert(float_key(2.0), 3);
        m.insert(float_key(-1.0), 3);
        m.insert(float_key(5.0), 1);
        assert_eq!(mode_float(&m), Some(-1.0));
    }
}
