//! Schema compatibility: every change kind is classified as documented.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use kiln_core::{ChangeKind, CompatReport, Compatibility, DType, Feature, Role, Schema};

fn schema(features: Vec<Feature>) -> Schema {
    Schema::new(features).unwrap()
}

/// The one change between `old` and `new` (features "base" + the one under test).
#[track_caller]
fn only_change(old: Feature, new: Feature) -> (ChangeKind, Compatibility, CompatReport) {
    let base = Feature::new("base", DType::Int64);
    let report = schema(vec![base.clone(), old]).compare(&schema(vec![base, new]));
    assert_eq!(report.changes().len(), 1, "{report}");
    let change = &report.changes()[0];
    assert_eq!(change.compatibility, change.kind.compatibility());
    assert_eq!(report.is_breaking(), change.is_breaking());
    (change.kind.clone(), change.compatibility, report)
}

fn f64_feature(min: Option<f64>, max: Option<f64>) -> Feature {
    Feature::new("x", DType::Float64).with_range(min, max)
}

fn cat_feature(cats: Option<&[&str]>) -> Feature {
    let f = Feature::new("c", DType::Categorical);
    match cats {
        Some(c) => f.with_categories(c.iter().copied()),
        None => f,
    }
}

#[test]
fn ranges() {
    use Compatibility::{Breaking, Compatible};
    let cases = [
        ((Some(0.0), Some(1.0)), (Some(-1.0), Some(1.0)), Compatible),
        ((Some(0.0), Some(1.0)), (Some(0.0), Some(2.0)), Compatible),
        ((Some(0.0), Some(1.0)), (None, Some(1.0)), Compatible),
        ((Some(0.0), Some(1.0)), (None, None), Compatible),
        ((Some(0.0), Some(1.0)), (Some(0.5), Some(1.0)), Breaking),
        ((Some(0.0), Some(1.0)), (Some(0.0), Some(0.5)), Breaking),
        ((None, Some(1.0)), (Some(0.0), Some(1.0)), Breaking),
        ((None, None), (None, Some(9.0)), Breaking),
        // One side out, the other in: narrowed.
        ((Some(0.0), Some(1.0)), (Some(-1.0), Some(0.5)), Breaking),
    ];
    for ((a, b), (c, d), expected) in cases {
        let (kind, compat, _) = only_change(f64_feature(a, b), f64_feature(c, d));
        assert_eq!(compat, expected, "{a:?}..{b:?} -> {c:?}..{d:?}: {kind}");
        let want = match expected {
            Compatible => ChangeKind::RangeWidened {
                from: (a, b),
                to: (c, d),
            },
            _ => ChangeKind::RangeNarrowed {
                from: (a, b),
                to: (c, d),
            },
        };
        assert_eq!(kind, want);
    }
}

#[test]
fn categories() {
    let (kind, compat, _) = only_change(cat_feature(Some(&["a", "b"])), cat_feature(Some(&["c", "b", "a"])));
    assert_eq!(
        (kind, compat),
        (
            ChangeKind::CategoriesAdded {
                added: vec!["c".into()]
            },
            Compatibility::Compatible
        )
    );
    let (kind, compat, _) = only_change(cat_feature(Some(&["a", "b", "c"])), cat_feature(Some(&["b"])));
    let removed = vec!["a".to_owned(), "c".to_owned()];
    assert_eq!(
        (kind, compat),
        (ChangeKind::CategoriesRemoved { removed }, Compatibility::Breaking)
    );
    let (kind, compat, _) = only_change(cat_feature(Some(&["a"])), cat_feature(None));
    assert_eq!(
        (kind, compat),
        (ChangeKind::CategoriesUnrestricted, Compatibility::Compatible)
    );
    let (kind, compat, _) = only_change(cat_feature(None), cat_feature(Some(&["b", "a"])));
    let categories = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(
        (kind, compat),
        (ChangeKind::CategoriesRestricted { categories }, Compatibility::Breaking)
    );

    // Swapping one category for another: one breaking and one compatible change.
    let old = schema(vec![cat_feature(Some(&["a", "b"]))]);
    let report = old.compare(&schema(vec![cat_feature(Some(&["a", "z"]))]));
    let kinds: Vec<&ChangeKind> = report.changes().iter().map(|c| &c.kind).collect();
    assert_eq!(
        kinds,
        [
            &ChangeKind::CategoriesRemoved {
                removed: vec!["b".into()]
            },
            &ChangeKind::CategoriesAdded {
                added: vec!["z".into()]
            }
        ]
    );
    assert!(report.is_breaking());
}

#[test]
fn nullability_role_description_dtype() {
    let x = || Feature::new("x", DType::Int64);
    let cases = [
        (
            x(),
            x().with_nullable(true),
            ChangeKind::BecameNullable,
            Compatibility::Compatible,
        ),
        (
            x().with_nullable(true),
            x(),
            ChangeKind::BecameRequired,
            Compatibility::Breaking,
        ),
        (
            x(),
            x().with_role(Role::Label),
            ChangeKind::RoleChanged {
                from: Role::Feature,
                to: Role::Label,
            },
            Compatibility::Breaking,
        ),
        (
            x(),
            x().with_description("grams"),
            ChangeKind::DescriptionChanged {
                from: None,
                to: Some("grams".into()),
            },
            Compatibility::Compatible,
        ),
        (
            x().with_range(Some(0.0), None),
            Feature::new("x", DType::Float64),
            ChangeKind::DTypeChanged {
                from: DType::Int64,
                to: DType::Float64,
            },
            Compatibility::Breaking,
        ),
    ];
    for (old, new, want_kind, want) in cases {
        let (kind, compat, _) = only_change(old, new);
        assert_eq!((kind, compat), (want_kind, want));
    }
}

#[test]
fn added_removed_renamed() {
    let a = Feature::new("a", DType::Int64);
    let b = Feature::new("b", DType::Float64);
    let old = schema(vec![a.clone()]);

    let optional = old.compare(&schema(vec![a.clone(), b.clone().with_nullable(true)]));
    assert_eq!(
        optional.changes()[0].kind,
        ChangeKind::Added {
            dtype: DType::Float64,
            nullable: true
        }
    );
    assert!(!optional.is_breaking());

    let required = old.compare(&schema(vec![a.clone(), b.clone()]));
    assert_eq!(
        required.changes()[0].kind,
        ChangeKind::Added {
            dtype: DType::Float64,
            nullable: false
        }
    );
    assert!(required.is_breaking());

    let removed = schema(vec![a.clone(), b.clone()]).compare(&old);
    assert_eq!(removed.changes()[0].kind, ChangeKind::Removed { dtype: DType::Float64 });
    assert!(removed.is_breaking());

    // One removed and one added, identical but for the name: a rename.
    let renamed =
        schema(vec![a.clone(), b.clone()]).compare(&schema(vec![a.clone(), Feature::new("b2", DType::Float64)]));
    assert_eq!(renamed.changes().len(), 1);
    assert_eq!(
        renamed.changes()[0].kind,
        ChangeKind::Renamed {
            from: "b".into(),
            to: "b2".into()
        }
    );
    assert_eq!(renamed.changes()[0].feature, "b2");
    assert!(renamed.is_breaking());

    // Different dtypes or definitions, or more than one on a side: no rename guessed.
    let retyped = schema(vec![a.clone(), b.clone()]).compare(&schema(vec![a.clone(), Feature::new("b2", DType::Bool)]));
    assert_eq!(retyped.changes().len(), 2);
    let redefined = schema(vec![a.clone(), b.clone().with_range(Some(0.0), Some(1.0))]).compare(&schema(vec![
        a.clone(),
        Feature::new("b2", DType::Float64).with_nullable(true),
    ]));
    assert_eq!(redefined.changes().len(), 2, "{redefined}");
    assert!(
        redefined
            .changes()
            .iter()
            .any(|c| matches!(c.kind, ChangeKind::Removed { .. }))
    );
    let two = schema(vec![a.clone(), b.clone()]).compare(&schema(vec![
        Feature::new("a2", DType::Int64),
        Feature::new("b2", DType::Float64),
    ]));
    assert!(
        two.changes()
            .iter()
            .all(|c| !matches!(c.kind, ChangeKind::Renamed { .. }))
    );
    assert_eq!(two.changes().len(), 4);
}

#[test]
fn report_orders_breaking_first_and_prints_a_table() {
    let old = schema(vec![
        Feature::new("mass", DType::Float64).with_range(Some(2500.0), Some(6500.0)),
        Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream"]),
    ]);
    let new = schema(vec![
        Feature::new("mass", DType::Float64).with_range(Some(2000.0), Some(6500.0)),
        Feature::new("island", DType::Categorical).with_categories(["Biscoe"]),
        Feature::new("age", DType::Int64).with_nullable(true),
    ]);
    let report = old.compare(&new);
    let order: Vec<(&str, bool)> = report
        .changes()
        .iter()
        .map(|c| (c.feature.as_str(), c.is_breaking()))
        .collect();
    assert_eq!(order, [("island", true), ("mass", false), ("age", false)]);
    assert_eq!(report.breaking().count(), 1);
    assert_eq!(report.old_digest(), old.digest());
    assert_eq!(report.new_digest(), new.digest());
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("schema {} -> {}", old.digest(), new.digest()));
    assert_eq!(lines[1], "3 changes, 1 breaking: breaking");
    assert!(
        lines[3].starts_with("  BREAKING")
            && lines[3].contains("island")
            && lines[3].ends_with("categories removed: \"Dream\"")
    );
    assert!(
        lines[4].contains("mass") && lines[4].ends_with("range widened [2500, 6500] -> [2000, 6500]"),
        "{text}"
    );
    assert!(lines[5].ends_with("added (nullable int64)"), "{text}");

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["compatibility"], "breaking");
    assert_eq!(json["changes"][0]["kind"], "categories_removed");
    assert_eq!(json["changes"][0]["removed"][0], "Dream");
    assert_eq!(json["changes"][1]["from"][0], 2500.0);
    assert!(json["changes"][1]["to"][1] == 6500.0);

    let same = old.compare(&old);
    assert!(same.is_unchanged() && !same.is_breaking());
    assert_eq!(same.compatibility(), Compatibility::Compatible);
}
