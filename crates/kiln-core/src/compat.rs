//! Schema compatibility: may a model trained on one schema be served data of
//! another?
//!
//! [`Schema::compare`] checks **backward compatibility of a model's input
//! contract**: does every record valid under the old schema stay valid under
//! the new one, and does the model still receive every input it had? Each
//! difference is a [`Change`] classified as [`Compatibility::Compatible`] or
//! [`Compatibility::Breaking`]:
//!
//! | change | compatibility |
//! |---|---|
//! | feature added, nullable | compatible |
//! | feature added, required | breaking (old data lacks it) |
//! | feature removed | breaking (the model loses an input) |
//! | feature renamed (one removed + one added with an identical definition but the name) | breaking |
//! | dtype changed | breaking |
//! | range widened (a bound moved outward or removed) | compatible |
//! | range narrowed (a bound moved inward or added) | breaking |
//! | categories added, or the category list removed | compatible |
//! | categories removed, or a category list added | breaking |
//! | required -> nullable | compatible |
//! | nullable -> required | breaking |
//! | role changed | breaking |
//! | description changed | compatible |
//!
//! Feature order is not part of the contract (the [digest](Schema::digest)
//! ignores it too), so reordering is no change.
//!
//! ```
//! use kiln_core::{ChangeKind, DType, Feature, Schema};
//! let old = Schema::new(vec![
//!     Feature::new("mass", DType::Float64).with_range(Some(2500.0), Some(6500.0)),
//!     Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream"]),
//! ])?;
//! let new = Schema::new(vec![
//!     Feature::new("mass", DType::Float64).with_range(Some(2000.0), Some(6500.0)),
//!     Feature::new("island", DType::Categorical).with_categories(["Biscoe"]),
//!     Feature::new("age", DType::Int64).with_nullable(true),
//! ])?;
//! let report = old.compare(&new);
//! assert!(report.is_breaking());
//! assert_eq!(report.changes().len(), 3);
//! assert!(matches!(&report.breaking().next().unwrap().kind, ChangeKind::CategoriesRemoved { removed } if removed == &["Dream"]));
//! println!("{report}");
//! # Ok::<(), kiln_core::Error>(())
//! ```

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use serde::Serialize;

use crate::Digest;
use crate::schema::{DType, Feature, Role, Schema};

/// Whether a change keeps old data valid and the model's inputs available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compatibility {
    /// Data valid under the old schema is valid under the new one.
    Compatible,
    /// Old data may be rejected, or the model loses an input.
    Breaking,
}

impl Compatibility {
    /// The name used in JSON and reports.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Compatible => "compatible",
            Self::Breaking => "breaking",
        }
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What changed about one feature. In JSON the variant is the `kind` field
/// (`"dtype_changed"`, ...) next to its data.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A feature only the new schema has; compatible when nullable.
    Added {
        /// Its dtype.
        dtype: DType,
        /// Whether it is nullable (optional).
        nullable: bool,
    },
    /// A feature only the old schema has.
    Removed {
        /// Its dtype.
        dtype: DType,
    },
    /// Exactly one feature was removed and one added whose definition is the
    /// same but for its name (and description): most likely a rename. Any
    /// other difference (dtype, role, nullability, range, categories) is
    /// reported as a removal plus an addition, so a removal is never hidden. Breaking, as data under the old name no longer fits.
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// The dtype changed.
    #[serde(rename = "dtype_changed")]
    DTypeChanged {
        /// Old dtype.
        from: DType,
        /// New dtype.
        to: DType,
    },
    /// The new range contains the old one (a bound moved outward or was removed).
    RangeWidened {
        /// Old `(min, max)`.
        from: (Option<f64>, Option<f64>),
        /// New `(min, max)`.
        to: (Option<f64>, Option<f64>),
    },
    /// The new range does not contain the old one (a bound moved inward or was added).
    RangeNarrowed {
        /// Old `(min, max)`.
        from: (Option<f64>, Option<f64>),
        /// New `(min, max)`.
        to: (Option<f64>, Option<f64>),
    },
    /// Categories were added to the list.
    CategoriesAdded {
        /// The new categories, sorted.
        added: Vec<String>,
    },
    /// Categories were removed from the list.
    CategoriesRemoved {
        /// The removed categories, sorted.
        removed: Vec<String>,
    },
    /// The feature had no category list (any value) and now has one.
    CategoriesRestricted {
        /// The new list, sorted.
        categories: Vec<String>,
    },
    /// The feature had a category list and now accepts any value.
    CategoriesUnrestricted,
    /// A required feature became nullable.
    BecameNullable,
    /// A nullable feature became required.
    BecameRequired,
    /// The role changed.
    RoleChanged {
        /// Old role.
        from: Role,
        /// New role.
        to: Role,
    },
    /// The description changed.
    DescriptionChanged {
        /// Old description.
        from: Option<String>,
        /// New description.
        to: Option<String>,
    },
}

impl ChangeKind {
    /// How this change affects compatibility (see the [module docs](self)).
    #[must_use]
    pub fn compatibility(&self) -> Compatibility {
        match self {
            Self::Added { nullable: true, .. }
            | Self::RangeWidened { .. }
            | Self::CategoriesAdded { .. }
            | Self::CategoriesUnrestricted
            | Self::BecameNullable
            | Self::DescriptionChanged { .. } => Compatibility::Compatible,
            Self::Added { nullable: false, .. }
            | Self::Removed { .. }
            | Self::Renamed { .. }
            | Self::DTypeChanged { .. }
            | Self::RangeNarrowed { .. }
            | Self::CategoriesRemoved { .. }
            | Self::CategoriesRestricted { .. }
            | Self::BecameRequired
            | Self::RoleChanged { .. } => Compatibility::Breaking,
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { dtype, nullable } => {
                let what = if *nullable { "nullable" } else { "required" };
                write!(f, "added ({what} {dtype})")
            }
            Self::Removed { dtype } => write!(f, "removed ({dtype})"),
            Self::Renamed { from, to } => write!(f, "renamed {from:?} -> {to:?}"),
            Self::DTypeChanged { from, to } => write!(f, "dtype {from} -> {to}"),
            Self::RangeWidened { from, to } => {
                write!(f, "range widened {} -> {}", Bounds(*from), Bounds(*to))
            }
            Self::RangeNarrowed { from, to } => {
                write!(f, "range narrowed {} -> {}", Bounds(*from), Bounds(*to))
            }
            Self::CategoriesAdded { added } => write!(f, "categories added: {}", List(added)),
            Self::CategoriesRemoved { removed } => {
                write!(f, "categories removed: {}", List(removed))
            }
            Self::CategoriesRestricted { categories } => {
                write!(f, "restricted to categories {}", List(categories))
            }
            Self::CategoriesUnrestricted => f.write_str("category list removed (any value)"),
            Self::BecameNullable => f.write_str("required -> nullable"),
            Self::BecameRequired => f.write_str("nullable -> required"),
            Self::RoleChanged { from, to } => write!(f, "role {from} -> {to}"),
            Self::DescriptionChanged { .. } => f.write_str("description changed"),
        }
    }
}

struct Bounds((Option<f64>, Option<f64>));

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |b: Option<f64>, open: &'static str| b.map_or_else(|| open.to_owned(), |x| x.to_string());
        write!(f, "[{}, {}]", end(self.0.0, "-inf"), end(self.0.1, "+inf"))
    }
}

struct List<'a>(&'a [String]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        for (i, c) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c:?}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, " and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The feature (its new name for a rename).
    pub feature: String,
    /// How the change affects compatibility.
    pub compatibility: Compatibility,
    /// What changed.
    #[serde(flatten)]
    pub kind: ChangeKind,
}

impl Change {
    fn new(feature: &str, kind: ChangeKind) -> Self {
        Self {
            feature: feature.to_owned(),
            compatibility: kind.compatibility(),
            kind,
        }
    }

    /// Whether this change is breaking.
    #[must_use]
    pub fn is_breaking(&self) -> bool {
        self.compatibility == Compatibility::Breaking
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.compatibility, self.feature, self.kind)
    }
}

/// The differences between an old and a new schema; see
/// [`Schema::compare`].
///
/// `Display` prints a table, one change per line, breaking changes first;
/// serialized (JSON) it is
/// `{"old": "sha256:..", "new": "sha256:..", "compatibility": "breaking", "changes": [..]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompatReport {
    old: Digest,
    new: Digest,
    compatibility: Compatibility,
    changes: Vec<Change>,
}

impl CompatReport {
    /// Whether any change is breaking.
    #[must_use]
    pub fn is_breaking(&self) -> bool {
        self.compatibility == Compatibility::Breaking
    }

    /// [`Compatibility::Breaking`] when any change is, else compatible.
    #[must_use]
    pub fn compatibility(&self) -> Compatibility {
        self.compatibility
    }

    /// Every change: breaking ones first, then by the old schema's feature
    /// order, added features last.
    #[must_use]
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.is_breaking())
    }

    /// Whether the schemas define the same contract (no change at all).
    #[must_use]
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }

    /// The old schema's digest.
    #[must_use]
    pub fn old_digest(&self) -> Digest {
        self.old
    }

    /// The new schema's digest.
    #[must_use]
    pub fn new_digest(&self) -> Digest {
        self.new
    }
}

impl fmt::Display for CompatReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "schema {} -> {}", self.old, self.new)?;
        if self.changes.is_empty() {
            return writeln!(f, "no changes: compatible");
        }
        let breaking = self.breaking().count();
        writeln!(
            f,
            "{} change{}, {breaking} breaking: {}",
            self.changes.len(),
            if self.changes.len() == 1 { "" } else { "s" },
            self.compatibility
        )?;
        let width = self
            .changes
            .iter()
            .map(|c| c.feature.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(7, 40);
        writeln!(f, "  {:<10}  {:<width$}  change", "status", "feature")?;
        for c in &self.changes {
            let status = if c.is_breaking() { "BREAKING" } else { "ok" };
            writeln!(f, "  {status:<10}  {:<width$}  {}", c.feature, c.kind)?;
        }
        Ok(())
    }
}

/// Whether two features differ only in name and description.
fn same_but_name(a: &Feature, b: &Feature) -> bool {
    a.dtype == b.dtype
        && a.role == b.role
        && a.nullable == b.nullable
        && a.min == b.min
        && a.max == b.max
        && a.categories == b.categories
}

impl Schema {
    /// Compares `self` (the old schema, e.g. the one a model was trained on)
    /// with `new`; see the [`compat`](crate::compat) module for the rules.
    #[must_use]
    pub fn compare(&self, new: &Schema) -> CompatReport {
        let mut changes = Vec::new();
        let mut removed = Vec::new();
        for old_f in self.features() {
            match new.feature(&old_f.name) {
                Some(new_f) => diff_feature(old_f, new_f, &mut changes),
                None => removed.push(old_f),
            }
        }
        let added: Vec<&Feature> = new
            .features()
            .iter()
            .filter(|f| self.feature(&f.name).is_none())
            .collect();
        match (removed.as_slice(), added.as_slice()) {
            ([from], [to]) if same_but_name(from, to) => changes.push(Change::new(
                &to.name,
                ChangeKind::Renamed {
                    from: from.name.clone(),
                    to: to.name.clone(),
                },
            )),
            _ => {
                for f in removed {
                    changes.push(Change::new(&f.name, ChangeKind::Removed { dtype: f.dtype }));
                }
                for f in added {
                    changes.push(Change::new(
                        &f.name,
                        ChangeKind::Added {
                            dtype: f.dtype,
                            nullable: f.nullable,
                        },
                    ));
                }
            }
        }
        // Stable: within each class the order above is kept.
        changes.sort_by_key(|c| !c.is_breaking());
        let compatibility = if changes.iter().any(Change::is_breaking) {
            Compatibility::Breaking
        } else {
            Compatibility::Compatible
        };
        CompatReport {
            old: self.digest(),
            new: new.digest(),
            compatibility,
            changes,
        }
    }
}

fn diff_feature(old: &Feature, new: &Feature, out: &mut Vec<Change>) {
    let mut push = |kind| out.push(Change::new(&new.name, kind));
    if old.dtype != new.dtype {
        // Ranges and categories of different types do not compare.
        push(ChangeKind::DTypeChanged {
            from: old.dtype,
            to: new.dtype,
        });
    } else {
        diff_range(old, new, &mut push);
        diff_categories(old.categories.as_deref(), new.categories.as_deref(), &mut push);
    }
    match (old.nullable, new.nullable) {
        (false, true) => push(ChangeKind::BecameNullable),
        (true, false) => push(ChangeKind::BecameRequired),
        _ => {}
    }
    if old.role != new.role {
        push(ChangeKind::RoleChanged {
            from: old.role,
            to: new.role,
        });
    }
    if old.description != new.description {
        push(ChangeKind::DescriptionChanged {
            from: old.description.clone(),
            to: new.description.clone(),
        });
    }
}

fn diff_range(old: &Feature, new: &Feature, push: &mut impl FnMut(ChangeKind)) {
    let from = (old.min, old.max);
    let to = (new.min, new.max);
    // `==` on the bounds: a schema never holds NaN bounds (`Schema::new` rejects them).
    if from == to {
        return;
    }
    let min_ok = match (old.min, new.min) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => b <= a,
    };
    let max_ok = match (old.max, new.max) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => b >= a,
    };
    push(if min_ok && max_ok {
        ChangeKind::RangeWidened { from, to }
    } else {
        ChangeKind::RangeNarrowed { from, to }
    });
}

fn diff_categories(old: Option<&[String]>, new: Option<&[String]>, push: &mut impl FnMut(ChangeKind)) {
    let sorted = |c: &[String]| {
        c.iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    match (old, new) {
        (None, None) => {}
        (Some(_), None) => push(ChangeKind::CategoriesUnrestricted),
        (None, Some(c)) => push(ChangeKind::CategoriesRestricted { categories: sorted(c) }),
        (Some(a), Some(b)) => {
            let (sa, sb): (HashSet<&String>, HashSet<&String>) = (a.iter().collect(), b.iter().collect());
            let removed: Vec<String> = a.iter().filter(|c| !sb.contains(c)).cloned().collect();
            let added: Vec<String> = b.iter().filter(|c| !sa.contains(c)).cloned().collect();
            if !removed.is_empty() {
                push(ChangeKind::CategoriesRemoved {
                    removed: sorted(&removed),
                });
            }
            if !added.is_empty() {
                push(ChangeKind::CategoriesAdded { added: sorted(&added) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_and_reordered_schemas_are_unchanged() {
        let a = Feature::new("a", DType::Int64);
        let b = Feature::new("b", DType::Categorical).with_categories(["x", "y"]);
        let s1 = Schema::new(vec![a.clone(), b.clone()]).unwrap();
        let s2 = Schema::new(vec![b.with_categories(["y", "x"]), a]).unwrap();
        let r = s1.compare(&s2);
        assert!(r.is_unchanged() && !r.is_breaking(), "{r}");
        assert!(r.to_string().contains("no changes"));
    }

    #[test]
    fn report_serializes_with_kind_tags() {
        let old = Schema::new(vec![Feature::new("a", DType::Int64)]).unwrap();
        let new = Schema::new(vec![Feature::new("a", DType::Float64)]).unwrap();
        let json = serde_json::to_value(old.compare(&new)).unwrap();
        assert_eq!(json["compatibility"], "breaking");
        assert_eq!(json["changes"][0]["kind"], "dtype_changed");
        assert_eq!(json["changes"][0]["from"], "int64");
        assert_eq!(json["changes"][0]["feature"], "a");
        assert_eq!(json["old"], old.digest().to_string());
    }
}
