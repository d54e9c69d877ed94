//! Spot checks against values printed by scikit-learn 1.9.1 (numpy 2.4) on
//! data/penguins/penguins.csv. The Python that printed each value is quoted
//! next to it: `rows` are the CSV's rows as dicts, `col(c)` is column `c` as
//! an `(n, 1)` float array with `NA` as NaN. The full golden suite lives in
//! the workspace's tests crate.

#![allow(clippy::unwrap_used)] // test helpers may panic

use kiln_core::{Batch, CsvReader, InferOptions, Record, Schema};
use kiln_transform::{
    BinEncode, FeatureHasher, FittedPipeline, FittedTransform, HandleUnknown, ImputeStrategy, MinFrequency,
    MinMaxScaler, OneHotEncoder, Pipeline, QuantileBins, QuantileMethod, Step, Transform,
};

const PENGUINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv");

fn penguins() -> Batch {
    let schema = Schema::infer_csv(PENGUINS, &InferOptions::default().with_label("species")).unwrap();
    CsvReader::new(schema).read_path(PENGUINS).unwrap()
}

fn fit_one(step: Step) -> FittedPipeline {
    Pipeline::new().with_step(step).fit(&penguins()).unwrap()
}

fn only(f: &FittedPipeline) -> &FittedTransform {
    f.steps()[0].transforms.last().unwrap()
}

#[test]
fn quantile_bins_edges() {
    // KBinsDiscretizer(n_bins=4, strategy="quantile", encode="ordinal", quantile_method=m)
    //     .fit(bl[~np.isnan(bl[:, 0])]).bin_edges_[0]   with bl = col("bill_length_mm")
    for (method, edges) in [
        (QuantileMethod::AveragedInvertedCdf, [32.1, 39.2, 44.45, 48.5, 59.6]),
        (QuantileMethod::Linear, [32.1, 39.225, 44.45, 48.5, 59.6]),
    ] {
        let f = fit_one(
            Step::new(["bill_length_mm"])
                .then(QuantileBins::new(4).with_method(method).with_encode(BinEncode::Ordinal)),
        );
        let FittedTransform::QuantileBins { bin_edges, .. } = only(&f) else {
            panic!()
        };
        assert_eq!(bin_edges[0], edges, "{method:?}");
    }
}

#[test]
fn robust_and_min_max_scalers() {
    // RobustScaler().fit(col("body_mass_g")): center_ 4050.0, scale_ 1200.0
    let f = fit_one(Step::new(["body_mass_g"]).then(Transform::robust_scaler()));
    let FittedTransform::RobustScaler { center, scale, .. } = only(&f) else {
        panic!()
    };
    assert_eq!((center[0], scale[0]), (4050.0, 1200.0));
    // MinMaxScaler(feature_range=(-1, 1)).fit(col("flipper_length_mm")): scale_, min_
    let f = fit_one(Step::new(["flipper_length_mm"]).then(MinMaxScaler::new().with_range(-1.0, 1.0)));
    let FittedTransform::MinMaxScaler { scale, min, .. } = only(&f) else {
        panic!()
    };
    assert_eq!((scale[0], min[0]), (0.033_898_305_084_745_76, -6.830_508_474_576_271));
}

#[test]
fn imputer_then_standard_scaler_is_bit_exact() {
    // make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit_transform(col(c))[0, 0]
    for (c, fill, mean, var, first) in [
        (
            "bill_length_mm",
            44.45,
            43.925_000_000_000_004,
            29.548_720_930_232_56,
            -0.887_621_829_657_376_9,
        ),
        (
            "body_mass_g",
            4050.0,
            4_200.872_093_023_256,
            637_655.489_453_758_8,
            -0.564_625_260_376_024_5,
        ),
    ] {
        let f = fit_one(
            Step::new([c])
                .then(Transform::impute(ImputeStrategy::Median))
                .then(Transform::standard_scaler()),
        );
        let ts = &f.steps()[0].transforms;
        assert!(matches!(&ts[0], FittedTransform::Impute { fill: v, .. } if v[0] == kiln_core::Value::Float(fill)));
        let FittedTransform::StandardScaler { mean: m, var: v, .. } = &ts[1] else {
            panic!()
        };
        assert_eq!((m[0], v[0]), (mean, var), "{c}");
        let out = f.transform_batch_f64(&penguins()).unwrap();
        assert_eq!(out.get(0, 0), Some(first), "{c}");
    }
}

#[test]
fn one_hot_infrequent_and_most_frequent() {
    // OneHotEncoder(min_frequency=60, handle_unknown="infrequent_if_exist").fit(island):
    //   categories_ [Biscoe, Dream, Torgersen], infrequent_categories_ [Torgersen],
    //   names x0_Biscoe, x0_Dream, x0_infrequent_sklearn
    let f = fit_one(
        Step::new(["island"]).then(
            OneHotEncoder::new()
                .with_min_frequency(MinFrequency::Count(60))
                .with_handle_unknown(HandleUnknown::Other),
        ),
    );
    assert_eq!(f.output_names(), ["island=Biscoe", "island=Dream", "island=__other__"]);
    let rec = Record::new().with("island", "Torgersen");
    assert_eq!(f.transform_record(&rec).unwrap(), [0.0, 0.0, 1.0]);
    // SimpleImputer(strategy="most_frequent").fit(sex).statistics_: ["male"]
    let f = fit_one(
        Step::new(["sex"])
            .then(Transform::impute(ImputeStrategy::MostFrequent))
            .then(Transform::one_hot()),
    );
    assert!(matches!(&f.steps()[0].transforms[0], FittedTransform::Impute { fill, .. } if fill[0] == "male".into()));
}

#[test]
fn feature_hasher() {
    // FeatureHasher(n_features=6, input_type="dict")
    //     .transform([{"island": r["island"], "sex": r["sex"]} for r in rows[:5]]).toarray()
    // (row 3 has sex NA, which sklearn hashes as the string "NA" and Kiln skips as missing)
    let expected = [
        [-1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    ];
    let f = fit_one(Step::new(["island", "sex"]).then(FeatureHasher::new(6)));
    assert_eq!(f.output_names()[0], "island+sex__hash=0");
    let out = f.transform_batch_f64(&penguins()).unwrap();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(out.row(i).unwrap(), want, "row {i}");
    }
}
