//! Deterministic data shared by Kiln's benchmarks and the comparison scripts
//! in `benches/compare/`.
//!
//! Every generator is seeded ([`SEED`]) and draws from a small
//! [`SplitMix64`], so the same call gives the same data on every machine and
//! in every run. The data set is a 20-feature table in the shape of a
//! typical tabular model's input ([`schema`]): 14 `float64` features with
//! declared ranges, 3 `int64` features and 3 categoricals of 5 categories
//! each, without missing values. Rows are drawn one after the other, so
//! [`batch`], [`record`] and [`write_csv`] agree value for value: row `i` of
//! `batch(n)` is line `i + 2` of the CSV written by `write_csv(n, ..)` (the
//! `gen-data` binary), which is what lets `benches/compare/sklearn_transform.py`
//! time scikit-learn on exactly the data the Rust benches use.
//!
//! ```
//! let batch = kiln_benches::batch(1_000);
//! assert_eq!((batch.num_rows(), batch.columns().len()), (1_000, kiln_benches::NUM_FEATURES));
//! assert_eq!(batch.record(0), kiln_benches::record());
//!
//! let mut csv = Vec::new();
//! kiln_benches::write_csv(1_000, &mut csv)?;
//! let parsed = kiln::CsvReader::new(kiln_benches::schema()).read_bytes(&csv, "gen.csv")?;
//! assert_eq!(parsed, batch);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (none) | - | - |
//!
//! The training benches use a dense matrix instead: [`train_data`].

use std::io::{self, Write};

pub mod train_data;

use kiln::transform::{HandleUnknown, OneHotEncoder, Pipeline, Step, Transform};
use kiln::{Batch, Column, ColumnData, DType, Feature, Record, Schema, StringColumn};

/// The seed of every generator in this crate.
pub const SEED: u64 = 0x6b69_6c6e_2d62_656e; // "kiln-ben"

/// Rows of the large batch the benches and the comparison script use.
pub const BATCH_ROWS: usize = 1_000_000;

/// Number of `float64` features (`f00` ... `f13`).
pub const NUM_FLOATS: usize = 14;
/// Number of `int64` features (`i0` ... `i2`).
pub const NUM_INTS: usize = 3;
/// Number of categorical features (`c0` ... `c2`).
pub const NUM_CATS: usize = 3;
/// Number of features in [`schema`].
pub const NUM_FEATURES: usize = NUM_FLOATS + NUM_INTS + NUM_CATS;

/// The categories of `c0`, `c1` and `c2`, most frequent first.
pub const CATEGORIES: [[&str; 5]; NUM_CATS] = [
    ["red", "green", "blue", "black", "white"],
    ["north", "south", "east", "west", "center"],
    ["bronze", "silver", "gold", "platinum", "diamond"],
];

/// Relative frequencies (out of 100) of the five categories of every categorical.
const CATEGORY_WEIGHTS: [u64; 5] = [40, 25, 15, 12, 8];

/// Inclusive ranges of the `int64` features `i0`, `i1`, `i2`.
const INT_RANGES: [(i64, i64); NUM_INTS] = [(18, 95), (0, 10_000), (-50, 50)];

/// Float values are rounded to this many decimals, as real measurements are,
/// so that the CSV is of realistic width and parses back to the same `f64`.
const DECIMALS: f64 = 1e4;

/// The SplitMix64 generator (Steele, Lea and Flood 2014): tiny, fast and
/// good enough for benchmark data.
///
/// ```
/// let mut a = kiln_benches::SplitMix64::new(7);
/// let mut b = kiln_benches::SplitMix64::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!((0.0..1.0).contains(&a.next_f64()));
/// ```
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 exactly
        let bits = (self.next_u64() >> 11) as f64;
        bits / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)` (`n > 0`; the modulo bias is below 2^-40
    /// for the small `n` used here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The mean, spread and declared range of float feature `k`: feature scales
/// differ by orders of magnitude, as they do in real data.
fn float_params(k: usize) -> (f64, f64, f64, f64) {
    #[allow(clippy::cast_precision_loss)]
    let k = k as f64;
    let mean = (k - 6.0) * 12.5;
    let spread = 0.5 * 1.6f64.powf(k);
    // The draws lie within 3.47 spreads of the mean; the range leaves room.
    (mean, spread, mean - 5.0 * spread, mean + 5.0 * spread)
}

/// The name of feature `i` of [`schema`].
#[must_use]
pub fn feature_name(i: usize) -> String {
    match i {
        i if i < NUM_FLOATS => format!("f{i:02}"),
        i if i < NUM_FLOATS + NUM_INTS => format!("i{}", i - NUM_FLOATS),
        i => format!("c{}", i - NUM_FLOATS - NUM_INTS),
    }
}

/// The 20-feature schema of the benchmark data: `f00`..`f13` (`float64`,
/// with ranges), `i0`..`i2` (`int64`, with ranges), `c0`..`c2`
/// (categorical, 5 categories each); nothing nullable.
#[must_use]
pub fn schema() -> Schema {
    let mut features = Vec::with_capacity(NUM_FEATURES);
    for k in 0..NUM_FLOATS {
        let (_, _, lo, hi) = float_params(k);
        features.push(Feature::new(feature_name(k), DType::Float64).with_range(Some(lo), Some(hi)));
    }
    for (k, &(lo, hi)) in INT_RANGES.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let range = (Some(lo as f64), Some(hi as f64));
        features.push(Feature::new(feature_name(NUM_FLOATS + k), DType::Int64).with_range(range.0, range.1));
    }
    for (k, cats) in CATEGORIES.iter().enumerate() {
        features.push(Feature::new(feature_name(NUM_FLOATS + NUM_INTS + k), DType::Categorical).with_categories(*cats));
    }
    Schema::new(features).unwrap_or_else(|e| unreachable!("the benchmark schema is valid: {e}"))
}

/// The column transformer the transform bench fits and the comparison
/// script mirrors with scikit-learn: `StandardScaler` on the 17 numeric
/// features, `OneHotEncoder(handle_unknown="ignore")` on the 3 categoricals
/// (32 outputs).
#[must_use]
pub fn pipeline() -> Pipeline {
    let mut p = Pipeline::new();
    for i in 0..NUM_FLOATS + NUM_INTS {
        p = p.with_step(Step::new([feature_name(i)]).then(Transform::standard_scaler()));
    }
    for i in NUM_FLOATS + NUM_INTS..NUM_FEATURES {
        p = p.with_step(
            Step::new([feature_name(i)]).then(OneHotEncoder::new().with_handle_unknown(HandleUnknown::Ignore)),
        );
    }
    p
}

/// One row of the benchmark data.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    floats: [f64; NUM_FLOATS],
    ints: [i64; NUM_INTS],
    cats: [usize; NUM_CATS],
}

/// The rows of the benchmark data, in order.
struct Rows {
    rng: SplitMix64,
    /// `(mean, spread)` of every float feature.
    params: [(f64, f64); NUM_FLOATS],
}

impl Rows {
    fn new() -> Self {
        Self {
            rng: SplitMix64::new(SEED),
            params: std::array::from_fn(|k| {
                let (mean, spread, _, _) = float_params(k);
                (mean, spread)
            }),
        }
    }

    fn next_row(&mut self) -> Row {
        let rng = &mut self.rng;
        let mut floats = [0.0; NUM_FLOATS];
        for (x, &(mean, spread)) in floats.iter_mut().zip(&self.params) {
            // Irwin-Hall of 4 uniforms, scaled to unit variance: bell-shaped and bounded.
            let z = (rng.next_f64() + rng.next_f64() + rng.next_f64() + rng.next_f64() - 2.0) * 3f64.sqrt();
            // k / 10^4 with an integer k is the f64 nearest to the decimal,
            // which is what parsing its CSV text gives back.
            *x = ((mean + spread * z) * DECIMALS).round() / DECIMALS;
        }
        let mut ints = [0; NUM_INTS];
        for (x, &(lo, hi)) in ints.iter_mut().zip(&INT_RANGES) {
            #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
            let draw = rng.below((hi - lo + 1) as u64) as i64;
            *x = lo + draw;
        }
        let mut cats = [0; NUM_CATS];
        for c in &mut cats {
            let mut u = rng.below(CATEGORY_WEIGHTS.iter().sum());
            *c = CATEGORY_WEIGHTS
                .iter()
                .position(|&w| {
                    let hit = u < w;
                    u = u.saturating_sub(w);
                    hit
                })
                .unwrap_or(0);
        }
        Row { floats, ints, cats }
    }
}

/// The first `rows` rows of the benchmark data as a batch of [`schema`].
#[must_use]
pub fn batch(rows: usize) -> Batch {
    let mut floats: Vec<Vec<f64>> = (0..NUM_FLOATS).map(|_| Vec::with_capacity(rows)).collect();
    let mut ints: Vec<Vec<i64>> = (0..NUM_INTS).map(|_| Vec::with_capacity(rows)).collect();
    let mut cats: Vec<StringColumn> = (0..NUM_CATS).map(|_| StringColumn::new()).collect();
    let mut source = Rows::new();
    for _ in 0..rows {
        let row = source.next_row();
        floats.iter_mut().zip(row.floats).for_each(|(c, x)| c.push(x));
        ints.iter_mut().zip(row.ints).for_each(|(c, x)| c.push(x));
        for (k, (c, i)) in cats.iter_mut().zip(row.cats).enumerate() {
            c.push(CATEGORIES[k][i]);
        }
    }
    let columns = floats
        .into_iter()
        .map(ColumnData::Float64)
        .chain(ints.into_iter().map(ColumnData::Int64))
        .chain(cats.into_iter().map(ColumnData::Utf8))
        .map(|data| Column::new(data, None).unwrap_or_else(|e| unreachable!("no validity, no mismatch: {e}")))
        .collect();
    Batch::new(schema(), columns).unwrap_or_else(|e| unreachable!("columns follow the schema: {e}"))
}

/// Row 0 of the benchmark data as a record, fields in schema order (a
/// serving request).
#[must_use]
pub fn record() -> Record {
    let row = Rows::new().next_row();
    let mut record = Record::with_capacity(NUM_FEATURES);
    for (k, x) in row.floats.into_iter().enumerate() {
        record.insert(feature_name(k), x);
    }
    for (k, x) in row.ints.into_iter().enumerate() {
        record.insert(feature_name(NUM_FLOATS + k), x);
    }
    for (k, i) in row.cats.into_iter().enumerate() {
        record.insert(feature_name(NUM_FLOATS + NUM_INTS + k), CATEGORIES[k][i]);
    }
    record
}

/// Writes the first `rows` rows of the benchmark data as CSV (header line
/// first) to `out`. Floats are written in Rust's shortest round-trip form,
/// so that every reader parses back exactly the values of [`batch`].
pub fn write_csv<W: Write>(rows: usize, out: W) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let header: Vec<String> = (0..NUM_FEATURES).map(feature_name).collect();
    writeln!(out, "{}", header.join(","))?;
    let mut source = Rows::new();
    for _ in 0..rows {
        let row = source.next_row();
        for x in row.floats {
            write!(out, "{x},")?;
        }
        for x in row.ints {
            write!(out, "{x},")?;
        }
        let [a, b, c] = row.cats;
        writeln!(out, "{},{},{}", CATEGORIES[0][a], CATEGORIES[1][b], CATEGORIES[2][c])?;
    }
    out.flush()
}

/// [`write_csv`] into memory.
#[must_use]
pub fn csv_bytes(rows: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_csv(rows, &mut bytes).unwrap_or_else(|e| unreachable!("writing to a Vec cannot fail: {e}"));
    bytes
}

/// A copy of `batch` (of [`schema`]) in which every `every`-th value of
/// `f00` is above its declared maximum: data that the batch validator has to
/// walk value by value.
#[must_use]
pub fn with_violations(batch: Batch, every: usize) -> Batch {
    let (schema, mut columns) = batch.into_parts();
    let max = schema.features()[0].max.unwrap_or(f64::MAX);
    let (data, validity) = columns.swap_remove(0).into_parts();
    let data = match data {
        ColumnData::Float64(mut v) => {
            v.iter_mut().step_by(every.max(1)).for_each(|x| *x = max + 1.0);
            ColumnData::Float64(v)
        }
        other => other,
    };
    let column = Column::new(data, validity).unwrap_or_else(|e| unreachable!("same length and validity: {e}"));
    columns.push(column);
    let last = columns.len() - 1;
    columns.swap(0, last);
    Batch::new(schema, columns).unwrap_or_else(|e| unreachable!("columns follow the schema: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_row_zero_of_the_batch() {
        assert_eq!(batch(3).record(0), record());
    }

    #[test]
    fn csv_parses_back_to_the_batch() {
        let parsed = kiln::CsvReader::new(schema())
            .read_bytes(&csv_bytes(2_000), "gen.csv")
            .unwrap();
        assert_eq!(parsed, batch(2_000));
    }

    #[test]
    fn generated_data_is_valid_and_uses_every_category() {
        let b = batch(10_000);
        let outcome = kiln::validate::Validator::for_training(schema()).validate_batch(&b);
        assert_eq!(outcome.report.rows_with_violations(), 0);
        for (k, cats) in CATEGORIES.iter().enumerate() {
            let ColumnData::Utf8(s) = b.column(NUM_FLOATS + NUM_INTS + k).unwrap().data() else {
                panic!("categorical column is not Utf8");
            };
            for c in cats {
                assert!(s.iter().any(|v| v == *c), "category {c} never drawn");
            }
        }
    }

    #[test]
    fn violations_are_injected_where_asked() {
        let b = with_violations(batch(1_000), 100);
        let outcome = kiln::validate::Validator::for_training(schema()).validate_batch(&b);
        assert_eq!(outcome.report.rows_with_violations(), 10);
    }
}
