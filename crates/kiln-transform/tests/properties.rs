//! Properties over random schemas, data and pipelines:
//! - `transform_batch` equals `transform_record` row by row, bit for bit,
//!   for `f32` and `f64` outputs, errors included (same error, first row);
//! - the same on batches of thousands of rows (several tiles of the
//!   columnar fast lane, several parallel chunks), with null-free stretches
//!   next to stretches with nulls, unknown categories and faults;
//! - a fitted pipeline reloaded from JSON gives bit-identical outputs;
//! - fitting two shards and merging equals fitting the whole.

#![allow(clippy::unwrap_used)] // test helpers may panic

use kiln_core::{Batch, DType, Feature, Record, Schema, Value};
use kiln_transform::{
    BinEncode, Bucketize, FeatureHasher, FittedPipeline, FittedTransform, HandleUnknown, ImputeStrategy, Imputer,
    MinFrequency, MinMaxScaler, OneHotEncoder, OrdinalEncoder, OrdinalUnknown, OutputFloat, Pipeline, Polynomial,
    QuantileBins, QuantileMethod, RobustScaler, StandardScaler, Step, Transform,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Categories of every length class of the packed lookup (1-3, 4-8, 9-16
/// bytes, multi-byte UTF-8) and one longer than 16 bytes, which makes an
/// encoder that saw it fall back to comparisons.
const CATS: [&str; 8] = [
    "a",
    "b",
    "c",
    "dd",
    "é",
    "eight888",
    "sixteen-bytes-16",
    "a category longer than sixteen bytes",
];

fn dtype() -> impl Strategy<Value = DType> {
    select(vec![
        DType::Float32,
        DType::Float64,
        DType::Int64,
        DType::Bool,
        DType::Categorical,
    ])
}

/// A value of `dtype`; `unseen` adds a category absent from training data.
fn value(dtype: DType, unseen: bool) -> BoxedStrategy<Value> {
    match dtype {
        DType::Float32 | DType::Float64 => prop_oneof![
            1 => Just(Value::Null),
            1 => Just(Value::Float(f64::NAN)),
            8 => (-1e3..1e3f64).prop_map(Value::Float),
            3 => (0..4i32).prop_map(|i| Value::Float(f64::from(i) * 0.5)),
        ]
        .boxed(),
        DType::Int64 => prop_oneof![1 => Just(Value::Null), 6 => (-3..5i64).prop_map(Value::Int)].boxed(),
        DType::Bool => prop_oneof![1 => Just(Value::Null), 5 => any::<bool>().prop_map(Value::Bool)].boxed(),
        _ => {
            let mut cats: Vec<&'static str> = CATS.to_vec();
            if unseen {
                cats.push("zz-unseen");
            }
            prop_oneof![1 => Just(Value::Null), 6 => select(cats).prop_map(Value::from)].boxed()
        }
    }
}

/// An imputer for `dtype`; `categorical_int` keeps an int64 column integral (for encoders).
fn imputer(dtype: DType, categorical_int: bool) -> BoxedStrategy<Option<Transform>> {
    let strategies: Vec<ImputeStrategy> = match dtype {
        DType::Bool => vec![
            ImputeStrategy::MostFrequent,
            ImputeStrategy::Constant(Value::Bool(true)),
        ],
        DType::Categorical => vec![ImputeStrategy::MostFrequent, ImputeStrategy::Constant("fill".into())],
        DType::Int64 if categorical_int => vec![ImputeStrategy::MostFrequent, ImputeStrategy::Constant(Value::Int(-9))],
        _ => vec![
            ImputeStrategy::Mean,
            ImputeStrategy::Median,
            ImputeStrategy::MostFrequent,
            ImputeStrategy::Constant(Value::Float(-1.5)),
        ],
    };
    prop_oneof![
        1 => Just(None),
        6 => (select(strategies), any::<bool>())
            .prop_map(|(s, ind)| Some(Transform::from(Imputer::new(s).with_indicator(ind)))),
    ]
    .boxed()
}

fn numeric_tail() -> BoxedStrategy<Vec<Transform>> {
    prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(m, s)| vec![StandardScaler::new().with_mean(m).with_std(s).into()]),
        (any::<bool>(), -2.0..0.0f64)
            .prop_map(|(c, lo)| vec![MinMaxScaler::new().with_range(lo, 1.0).with_clip(c).into()]),
        (0.0..40.0f64, 60.0..100.0f64).prop_map(|(a, b)| vec![RobustScaler::new().with_quantile_range(a, b).into()]),
        Just(vec![Transform::clip(Some(0.0), None), Transform::log1p()]),
        Just(vec![Transform::clip(Some(-100.0), Some(250.0))]),
        select(vec![BinEncode::Ordinal, BinEncode::OneHot])
            .prop_map(|e| vec![Bucketize::new(vec![-10.0, 0.0, 0.0, 10.0]).with_encode(e).into()]),
        (
            2..5usize,
            select(vec![
                QuantileMethod::Linear,
                QuantileMethod::InvertedCdf,
                QuantileMethod::AveragedInvertedCdf
            ]),
            select(vec![BinEncode::Ordinal, BinEncode::OneHot])
        )
            .prop_map(|(n, m, e)| vec![QuantileBins::new(n).with_method(m).with_encode(e).into()]),
        Just(vec![Transform::passthrough()]),
        // Chains that are fitted sequentially (learning after learning).
        Just(vec![Transform::standard_scaler(), Transform::quantile_bins(3)]),
        Just(vec![Transform::min_max_scaler(), Transform::standard_scaler()]),
        Just(vec![
            Transform::robust_scaler(),
            Transform::clip(Some(-1.0), Some(1.0)),
            Transform::standard_scaler()
        ]),
    ]
    .boxed()
}

fn categorical_tail() -> BoxedStrategy<Vec<Transform>> {
    let policy = select(vec![HandleUnknown::Error, HandleUnknown::Ignore, HandleUnknown::Other]);
    let min_freq = prop_oneof![
        Just(None),
        (1..4u64).prop_map(|c| Some(MinFrequency::Count(c))),
        (0.05..0.4f64).prop_map(|f| Some(MinFrequency::Fraction(f))),
    ];
    prop_oneof![
        (policy, min_freq, prop::option::of(1..4usize)).prop_map(|(p, m, mc)| {
            let mut e = OneHotEncoder::new().with_handle_unknown(p);
            if let Some(m) = m {
                e = e.with_min_frequency(m);
            }
            if let Some(mc) = mc {
                e = e.with_max_categories(mc);
            }
            vec![e.into()]
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(unk, miss)| {
            let mut e = OrdinalEncoder::new();
            if unk {
                e = e.with_handle_unknown(OrdinalUnknown::Value(-1.0));
            }
            if miss {
                e = e.with_missing_value(-2.0);
            }
            vec![e.into()]
        }),
        (1..6usize, any::<bool>()).prop_map(|(n, s)| vec![FeatureHasher::new(n).with_alternate_sign(s).into()]),
        Just(vec![Transform::one_hot(), Transform::standard_scaler()]),
    ]
    .boxed()
}

/// Encoders with categories given explicitly, in a non-sorted order.
fn explicit_tail() -> BoxedStrategy<Vec<Transform>> {
    prop_oneof![
        Just(vec![
            OrdinalEncoder::new()
                .with_categories(["é", "dd", "c", "b", "a", "fill"])
                .with_handle_unknown(OrdinalUnknown::Value(-1.0))
                .into()
        ]),
        Just(vec![
            OneHotEncoder::new()
                .with_categories(["c", "a", "zz-unseen"])
                .with_handle_unknown(HandleUnknown::Ignore)
                .into()
        ]),
    ]
    .boxed()
}

fn chain(dtype: DType) -> BoxedStrategy<Vec<Transform>> {
    let join = |(imp, tail): (Option<Transform>, Vec<Transform>)| imp.into_iter().chain(tail).collect::<Vec<_>>();
    match dtype {
        DType::Categorical => (
            imputer(dtype, true),
            prop_oneof![4 => categorical_tail(), 1 => explicit_tail()],
        )
            .prop_map(join)
            .boxed(),
        DType::Bool => (
            imputer(dtype, true),
            prop_oneof![
                Just(vec![Transform::passthrough()]),
                Just(vec![Transform::one_hot()]),
                Just(vec![Transform::standard_scaler()]),
            ],
        )
            .prop_map(join)
            .boxed(),
        DType::Int64 => prop_oneof![
            3 => (imputer(dtype, false), numeric_tail()).prop_map(join),
            1 => (imputer(dtype, true), categorical_tail()).prop_map(join),
        ]
        .boxed(),
        _ => (imputer(dtype, false), numeric_tail()).prop_map(join).boxed(),
    }
}

#[derive(Clone, Debug)]
struct Case {
    schema: Schema,
    train: Vec<Record>,
    test: Vec<Record>,
    pipeline: Pipeline,
}

fn records(dtypes: &[DType], rows: std::ops::Range<usize>, unseen: bool) -> BoxedStrategy<Vec<Record>> {
    let row: Vec<BoxedStrategy<Value>> = dtypes.iter().map(|d| value(*d, unseen)).collect();
    prop::collection::vec(row, rows)
        .prop_map(|rows| {
            rows.into_iter()
                .map(|vals| {
                    vals.into_iter()
                        .enumerate()
                        .map(|(i, v)| (format!("f{i}"), v))
                        .collect()
                })
                .collect()
        })
        .boxed()
}

/// Fits the case's pipeline on its training rows; `None` when a column has
/// no usable value (the only case in which fitting may fail).
fn fit_case(c: &Case) -> Result<Option<FittedPipeline>, TestCaseError> {
    let train = Batch::from_records(c.schema.clone(), &c.train).unwrap();
    match c.pipeline.fit(&train) {
        Ok(f) => Ok(Some(f)),
        Err(kiln_transform::Error::NoValues { .. }) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("fit failed: {e}"))),
    }
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(dtype(), 1..6)
        .prop_flat_map(|dtypes| {
            let chains: Vec<BoxedStrategy<Vec<Transform>>> = dtypes.iter().map(|d| chain(*d)).collect();
            (
                Just(dtypes.clone()),
                chains,
                records(&dtypes, 2..50, false),
                records(&dtypes, 1..30, true),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(|(dtypes, chains, train, test, poly, hash)| {
            let schema = Schema::new(
                dtypes
                    .iter()
                    .enumerate()
                    .map(|(i, d)| Feature::new(format!("f{i}"), *d).with_nullable(true))
                    .collect(),
            )
            .unwrap();
            let mut pipeline = Pipeline::new();
            for (i, ts) in chains.into_iter().enumerate() {
                let step = ts.into_iter().fold(Step::new([format!("f{i}")]), |s, t| s.then(t));
                pipeline = pipeline.with_step(step);
            }
            let numeric: Vec<String> = dtypes
                .iter()
                .enumerate()
                .filter(|(_, d)| d.is_numeric())
                .map(|(i, _)| format!("f{i}"))
                .collect();
            if poly && numeric.len() >= 2 {
                pipeline = pipeline.with_step(
                    Step::new(numeric[..2].to_vec())
                        .then(Transform::impute(ImputeStrategy::Median))
                        .then(Polynomial::new())
                        .then(Transform::standard_scaler()),
                );
            }
            if hash && dtypes.len() >= 2 {
                pipeline = pipeline.with_step(Step::new(["f0", "f1"]).then(FeatureHasher::new(4)));
            }
            Case {
                schema,
                train,
                test,
                pipeline,
            }
        })
}

/// Field order of serving records varies: reversed, or with an extra field first.
fn reshuffle(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut fields: Vec<(String, Value)> = r.iter().map(|(n, v)| (n.to_owned(), v.clone())).collect();
            match i % 3 {
                0 => {}
                1 => fields.reverse(),
                _ => fields.insert(0, ("unrelated".to_owned(), Value::Int(7))),
            }
            fields.into_iter().collect()
        })
        .collect()
}

fn strip_row(e: &kiln_transform::Error, row: usize) -> String {
    e.to_string().replace(&format!(" (row {row})"), "")
}

/// Batch results equal record results bit for bit; on error, the batch
/// reports the first failing record's error at its row.
fn assert_parity<T: OutputFloat>(
    fitted: &FittedPipeline,
    batch: &Batch,
    records: &[Record],
) -> Result<(), TestCaseError> {
    let n = fitted.n_outputs();
    let mut out = vec![T::ZERO; batch.num_rows() * n];
    let batch_result = fitted.transform_batch_into(batch, &mut out);
    let mut row_out = vec![T::ZERO; n];
    for (i, r) in records.iter().enumerate() {
        match (fitted.transform_record_into(r, &mut row_out), &batch_result) {
            (Ok(()), Ok(())) => {
                let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(&row_out), bits(&out[i * n..(i + 1) * n]), "row {}", i);
            }
            (Ok(()), Err(e)) => {
                prop_assert!(
                    !e.to_string().contains(&format!("(row {i})")),
                    "batch failed at {i}: {e}"
                );
            }
            (Err(re), Ok(())) => prop_assert!(false, "record {i} failed but the batch passed: {re}"),
            (Err(re), Err(be)) => {
                prop_assert!(
                    be.to_string().contains(&format!("(row {i})")),
                    "record {i}: {re}; batch: {be}"
                );
                prop_assert_eq!(strip_row(be, i), re.to_string());
                return Ok(());
            }
        }
    }
    prop_assert!(
        batch_result.is_ok(),
        "no record failed but the batch did: {:?}",
        batch_result
    );
    Ok(())
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(scale).max(1.0)
}

fn assert_close(a: &[f64], b: &[f64], exact: bool, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{}", what);
    for (x, y) in a.iter().zip(b) {
        if exact {
            prop_assert_eq!(x.to_bits(), y.to_bits(), "{}: {} vs {}", what, x, y);
        } else {
            prop_assert!(close(*x, *y, 0.0), "{}: {} vs {}", what, x, y);
        }
    }
    Ok(())
}

/// Sharded (streaming) and whole (sequential) fits agree: counts, categories,
/// minimums, maximums and quantiles exactly unless computed from a mean;
/// means and variances within 1e-12 relative.
fn assert_same_fit(a: &FittedPipeline, b: &FittedPipeline) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.output_names(), b.output_names());
    for (sa, sb) in a.steps().iter().zip(b.steps()) {
        let mut exact = true;
        for (ta, tb) in sa.transforms.iter().zip(&sb.transforms) {
            match (ta, tb) {
                (
                    FittedTransform::StandardScaler {
                        n_samples: na,
                        mean: ma,
                        var: va,
                        scale: sca,
                        ..
                    },
                    FittedTransform::StandardScaler {
                        n_samples: nb,
                        mean: mb,
                        var: vb,
                        scale: scb,
                        ..
                    },
                ) => {
                    prop_assert_eq!(na, nb);
                    assert_close(ma, mb, false, "mean")?;
                    for i in 0..va.len() {
                        let m2 = ma[i] * ma[i];
                        prop_assert!(close(va[i], vb[i], m2), "var {} vs {}", va[i], vb[i]);
                        let tiny = va[i].max(vb[i]) <= 1e-20 * m2.max(1.0);
                        prop_assert!(
                            tiny || close(sca[i], scb[i], ma[i].abs()),
                            "scale {} vs {}",
                            sca[i],
                            scb[i]
                        );
                    }
                    exact = false;
                }
                (FittedTransform::Impute { fill: fa, strategy, .. }, FittedTransform::Impute { fill: fb, .. }) => {
                    let exact_here = exact && *strategy != ImputeStrategy::Mean;
                    for (x, y) in fa.iter().zip(fb) {
                        match (x, y) {
                            (Value::Float(x), Value::Float(y)) => assert_close(&[*x], &[*y], exact_here, "fill")?,
                            _ => prop_assert_eq!(x, y),
                        }
                    }
                    exact &= exact_here;
                }
                (
                    FittedTransform::MinMaxScaler {
                        data_min: a1,
                        data_max: a2,
                        ..
                    },
                    FittedTransform::MinMaxScaler {
                        data_min: b1,
                        data_max: b2,
                        ..
                    },
                ) => {
                    assert_close(a1, b1, exact, "data_min")?;
                    assert_close(a2, b2, exact, "data_max")?;
                }
                (
                    FittedTransform::RobustScaler {
                        center: a1, scale: a2, ..
                    },
                    FittedTransform::RobustScaler {
                        center: b1, scale: b2, ..
                    },
                ) => {
                    assert_close(a1, b1, exact, "center")?;
                    assert_close(a2, b2, exact, "iqr")?;
                }
                (
                    FittedTransform::QuantileBins { bin_edges: ea, .. },
                    FittedTransform::QuantileBins { bin_edges: eb, .. },
                ) => {
                    prop_assert_eq!(ea.len(), eb.len());
                    for (x, y) in ea.iter().zip(eb) {
                        assert_close(x, y, exact, "bin edges")?;
                    }
                }
                _ => prop_assert_eq!(ta, tb),
            }
        }
    }
    Ok(())
}

/// `r` with every missing value replaced by a present one of its type.
fn without_nulls(r: &Record, schema: &Schema) -> Record {
    let mut out = r.clone();
    for f in schema.features() {
        let missing = match r.get(&f.name) {
            None | Some(Value::Null) => true,
            Some(Value::Float(x)) => x.is_nan(),
            Some(_) => false,
        };
        if missing {
            let v = match f.dtype {
                DType::Float32 | DType::Float64 => Value::Float(0.25),
                DType::Int64 => Value::Int(2),
                DType::Bool => Value::Bool(true),
                _ => Value::from("dd"),
            };
            out.insert(f.name.clone(), v);
        }
    }
    out
}

/// `rows` rows drawn from `records` (stride `step`), in stretches of
/// `stretch` rows alternately without nulls and as drawn.
fn many_rows(records: &[Record], schema: &Schema, rows: usize, step: usize, stretch: usize) -> Vec<Record> {
    (0..rows)
        .map(|i| {
            let r = &records[(i * step) % records.len()];
            if (i / stretch).is_multiple_of(2) {
                without_nulls(r, schema)
            } else {
                r.clone()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn large_batches_equal_records(c in case(), step in 1usize..31, stretch in 100usize..700) {
        let Some(fitted) = fit_case(&c)? else { return Ok(()) };
        // More rows than one parallel chunk (8,192) and than the parallel threshold.
        for data in [&c.train, &c.test] {
            let rows = many_rows(data, &c.schema, 9_000, step, stretch);
            let batch = Batch::from_records(c.schema.clone(), &rows).unwrap();
            assert_parity::<f32>(&fitted, &batch, &rows)?;
            assert_parity::<f64>(&fitted, &batch, &rows)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn batch_equals_records_and_json_round_trips(c in case()) {
        let Some(fitted) = fit_case(&c)? else { return Ok(()) };
        for data in [&c.train, &c.test] {
            let batch = Batch::from_records(c.schema.clone(), data).unwrap();
            let serving = reshuffle(data);
            assert_parity::<f32>(&fitted, &batch, &serving)?;
            assert_parity::<f64>(&fitted, &batch, &serving)?;
        }
        let back = FittedPipeline::from_json(&fitted.to_json()).unwrap();
        prop_assert_eq!(&back, &fitted);
        prop_assert_eq!(back.digest(), fitted.digest());
        let test = Batch::from_records(c.schema.clone(), &c.test).unwrap();
        let bits = |r: kiln_transform::Result<kiln_transform::Matrix<f64>>| {
            r.map(|m| m.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>()).map_err(|e| e.to_string())
        };
        prop_assert_eq!(bits(back.transform_batch_f64(&test)), bits(fitted.transform_batch_f64(&test)));
    }

    #[test]
    fn merged_shards_equal_the_whole(c in case(), cut in 1usize..49) {
        let whole = Batch::from_records(c.schema.clone(), &c.train).unwrap();
        let cut = cut.min(c.train.len() - 1);
        let (a, b) = (whole.slice(0..cut).unwrap(), whole.slice(cut..whole.num_rows()).unwrap());
        let full = c.pipeline.fit(&whole);
        let merged = c.pipeline.partial_fit(&a).and_then(|pa| pa.merge(c.pipeline.partial_fit(&b)?)).and_then(|p| p.finish());
        let streamed = c.pipeline.fit_batches([Ok::<_, kiln_transform::Error>(a), Ok(b)]);
        match (full, merged, streamed) {
            (Ok(full), Ok(merged), Ok(streamed)) => {
                assert_same_fit(&full, &merged)?;
                prop_assert_eq!(&merged, &streamed);
            }
            (Err(f), Err(m), Err(s)) => {
                prop_assert_eq!(f.to_string(), m.to_string());
                prop_assert_eq!(m.to_string(), s.to_string());
            }
            (f, m, s) => prop_assert!(false, "whole {:?}, merged {:?}, streamed {:?}", f.err(), m.err(), s.err()),
        }
    }
}
