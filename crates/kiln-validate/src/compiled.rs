//! Per-feature checks, compiled once when a validator is built.
//!
//! [`Compiled::check`] is the one definition of "is this value valid" that
//! the record path and the batch path share; the batch path's column loops
//! only decide quickly that a whole column needs no per-value verdicts.

use kiln_core::batch::{parse_bool, parse_float};
use kiln_core::timestamp::parse_micros;
use kiln_core::{DType, Feature, Value, ValueRef};

use crate::config::Policy;
use crate::violation::{Rule, Violation, ViolationKind};

/// What one value (or an absent feature) amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Present and valid as given.
    Valid,
    /// Null or absent, and the feature is nullable.
    Null,
    /// Valid once coerced (policy coerce only).
    Coerced,
    /// Broke a rule.
    Violation(ViolationKind),
}

/// A string's length and a word of its bytes, for comparing short strings
/// (feature names, categories) without a call to `memcmp`.
///
/// For strings of up to 8 bytes, equal keys mean equal strings: the word
/// holds the first and last 4 bytes (overlapping below 8), or bytes 0,
/// `len / 2` and `len - 1` below 4, which together cover every byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShortKey {
    len: usize,
    word: u64,
}

impl ShortKey {
    /// The longest string that the key alone identifies.
    const MAX: usize = 8;

    #[inline]
    pub(crate) fn of(s: &str) -> Self {
        let b = s.as_bytes();
        let word = match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
            (Some(head), Some(tail)) => {
                u64::from(u32::from_le_bytes(*head)) | (u64::from(u32::from_le_bytes(*tail)) << 32)
            }
            _ => match (b.first(), b.get(b.len() / 2), b.last()) {
                (Some(&x), Some(&y), Some(&z)) => u64::from(x) | (u64::from(y) << 8) | (u64::from(z) << 16),
                _ => 0,
            },
        };
        Self { len: b.len(), word }
    }

    /// Whether `s`, whose key this is, equals `other`.
    #[inline]
    pub(crate) fn matches(self, s: &str, other: &str) -> bool {
        if other.len() != self.len {
            return false;
        }
        if self.len <= Self::MAX {
            Self::of(other).word == self.word
        } else {
            s.as_bytes() == other.as_bytes()
        }
    }
}

/// Category lookup: a linear scan for small sets (faster than hashing a
/// short string), binary search over a sorted copy for larger ones.
#[derive(Clone, Debug)]
pub(crate) struct CategorySet {
    declared: Vec<String>,
    /// The keys of `declared`, for the linear scan.
    keys: Vec<ShortKey>,
    sorted: Vec<String>,
}

const LINEAR_MAX: usize = 16;

impl CategorySet {
    fn new(declared: &[String]) -> Self {
        let mut sorted = if declared.len() > LINEAR_MAX {
            declared.to_vec()
        } else {
            Vec::new()
        };
        sorted.sort_unstable();
        Self {
            declared: declared.to_vec(),
            keys: declared.iter().map(|c| ShortKey::of(c)).collect(),
            sorted,
        }
    }

    #[inline]
    pub(crate) fn contains(&self, s: &str) -> bool {
        if self.sorted.is_empty() {
            self.keys.iter().zip(&self.declared).any(|(k, c)| k.matches(c, s))
        } else {
            self.sorted.binary_search_by(|c| c.as_str().cmp(s)).is_ok()
        }
    }

    /// The declared spelling of `s` after trimming and, failing an exact
    /// match, comparing without case; `None` when nothing or more than one
    /// category matches.
    fn normalize(&self, s: &str) -> Option<&str> {
        let t = s.trim();
        if self.contains(t) {
            return self.declared.iter().find(|c| c.as_str() == t).map(String::as_str);
        }
        let lower = |x: &str| x.chars().flat_map(char::to_lowercase).collect::<Vec<char>>();
        let want = lower(t);
        let mut found = self.declared.iter().filter(|c| lower(c) == want);
        match (found.next(), found.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }
}

/// One feature's rules, ready to apply.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) name: String,
    /// The key of `name`, for matching record fields.
    pub(crate) key: ShortKey,
    pub(crate) dtype: DType,
    pub(crate) nullable: bool,
    pub(crate) policy: Policy,
    /// `min` or -inf.
    pub(crate) lo: f64,
    /// `max` or +inf.
    pub(crate) hi: f64,
    pub(crate) categories: Option<CategorySet>,
}

impl Compiled {
    pub(crate) fn new(f: &Feature, policy: Policy) -> Self {
        Self {
            name: f.name.clone(),
            key: ShortKey::of(&f.name),
            dtype: f.dtype,
            nullable: f.nullable,
            policy,
            lo: f.min.unwrap_or(f64::NEG_INFINITY),
            hi: f.max.unwrap_or(f64::INFINITY),
            categories: f.categories.as_deref().map(CategorySet::new),
        }
    }

    /// Whether this feature is called `name`.
    #[inline]
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.key.matches(&self.name, name)
    }

    pub(crate) fn coerces(&self) -> bool {
        self.policy == Policy::Coerce
    }

    /// The verdict for an absent feature.
    #[inline]
    pub(crate) fn absent(&self) -> Verdict {
        if self.nullable {
            Verdict::Null
        } else {
            Verdict::Violation(ViolationKind::Missing)
        }
    }

    /// The verdict for `v`, and the number it stands for (NaN when it is
    /// not numeric) for the report's observed min/max.
    #[inline(always)]
    pub(crate) fn check(&self, v: ValueRef<'_>) -> (Verdict, f64) {
        let (verdict, num) = self.check_as_given(v);
        if self.policy != Policy::Coerce || v.is_null() {
            return (verdict, num);
        }
        match self.coerce(v) {
            Some(c) if c != v => match self.check_as_given(c) {
                (Verdict::Valid, num) => (Verdict::Coerced, num),
                other => other,
            },
            _ => (verdict, num),
        }
    }

    /// The check without coercion.
    #[inline(always)]
    fn check_as_given(&self, v: ValueRef<'_>) -> (Verdict, f64) {
        use ValueRef as V;
        let wrong = (Verdict::Violation(ViolationKind::WrongType), f64::NAN);
        match (self.dtype, v) {
            (_, V::Null) => {
                let verdict = if self.nullable {
                    Verdict::Null
                } else {
                    Verdict::Violation(ViolationKind::Null)
                };
                (verdict, f64::NAN)
            }
            (DType::Float64, V::Float(x)) => (self.float(x), x),
            #[allow(clippy::cast_possible_truncation)]
            (DType::Float32, V::Float(x)) => {
                let x = f64::from(x as f32);
                (self.float(x), x)
            }
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            (DType::Float32 | DType::Float64, V::Int(i)) => {
                let x = if self.dtype == DType::Float32 {
                    f64::from(i as f32)
                } else {
                    i as f64
                };
                (self.float(x), x)
            }
            (DType::Int64 | DType::Timestamp, V::Int(i)) => self.int(i),
            (DType::Timestamp, V::Str(s)) => parse_micros(s).map_or(wrong, |i| self.int(i)),
            (DType::Bool, V::Bool(_)) | (DType::String, V::Str(_)) => (Verdict::Valid, f64::NAN),
            (DType::Categorical, V::Str(s)) => match &self.categories {
                Some(c) if !c.contains(s) => (Verdict::Violation(ViolationKind::UnknownCategory), f64::NAN),
                _ => (Verdict::Valid, f64::NAN),
            },
            _ => wrong,
        }
    }

    #[inline]
    fn float(&self, x: f64) -> Verdict {
        if !x.is_finite() {
            Verdict::Violation(ViolationKind::NonFinite)
        } else {
            self.range(x)
        }
    }

    #[inline]
    #[allow(clippy::cast_precision_loss)]
    fn int(&self, i: i64) -> (Verdict, f64) {
        let x = i as f64;
        (self.range(x), x)
    }

    #[inline]
    fn range(&self, x: f64) -> Verdict {
        if x < self.lo {
            Verdict::Violation(ViolationKind::BelowMin)
        } else if x > self.hi {
            Verdict::Violation(ViolationKind::AboveMax)
        } else {
            Verdict::Valid
        }
    }

    /// The coerced form of `v` (see [`Policy::Coerce`]), `None` when no
    /// coercion applies. May return `v` itself when it needs no change.
    pub(crate) fn coerce<'a>(&'a self, v: ValueRef<'a>) -> Option<ValueRef<'a>> {
        use ValueRef as V;
        #[allow(clippy::cast_precision_loss)]
        match (self.dtype, v) {
            (DType::Float32 | DType::Float64, V::Int(i)) => Some(V::Float(i as f64)),
            (DType::Float32 | DType::Float64, V::Str(s)) => parse_float(s).map(V::Float),
            (DType::Int64 | DType::Timestamp, V::Float(x)) => integral(x).map(V::Int),
            (DType::Int64, V::Str(s)) => parse_int(s).map(V::Int),
            (DType::Timestamp, V::Str(s)) => {
                let t = s.trim();
                t.parse().ok().or_else(|| parse_micros(t)).map(V::Int)
            }
            (DType::Bool, V::Str(s)) => parse_bool(s).map(V::Bool),
            (DType::Categorical, V::Str(s)) => match &self.categories {
                Some(c) if c.contains(s) => Some(v),
                Some(c) => c.normalize(s).map(V::Str),
                None => Some(V::Str(s.trim())),
            },
            (DType::String, V::Str(s)) => Some(V::Str(s.trim())),
            _ => None,
        }
    }

    /// The rule a violation of `kind` broke.
    pub(crate) fn rule(&self, kind: ViolationKind) -> Rule {
        match kind {
            ViolationKind::Missing => Rule::Required,
            ViolationKind::Unexpected => Rule::Declared,
            ViolationKind::Null => Rule::NotNullable,
            ViolationKind::WrongType => Rule::Type { expected: self.dtype },
            ViolationKind::BelowMin => Rule::Min(self.lo),
            ViolationKind::AboveMax => Rule::Max(self.hi),
            ViolationKind::UnknownCategory => Rule::Categories,
            ViolationKind::NonFinite => Rule::Finite,
        }
    }

    /// Builds the violation of `kind` for value `v` (`None`: absent).
    pub(crate) fn violation(&self, kind: ViolationKind, v: Option<ValueRef<'_>>, row: Option<u64>) -> Violation {
        // Report the value the rule was checked against.
        let shown = v.map(|v| {
            if self.coerces() && !v.is_null() {
                self.coerce(v).unwrap_or(v).to_owned()
            } else {
                v.to_owned()
            }
        });
        Violation::new(&self.name, row, shown, self.rule(kind), self.policy.rejects())
    }

    /// The coerced owned value when coercion changes `v`.
    pub(crate) fn coerced_value(&self, v: &Value) -> Option<Value> {
        let r = v.as_ref();
        self.coerce(r).filter(|c| *c != r).map(ValueRef::to_owned)
    }
}

/// `x` as an integer when it is finite, integral and exactly representable
/// (the bound `kiln_core`'s column builder uses).
#[allow(clippy::cast_possible_truncation)]
fn integral(x: f64) -> Option<i64> {
    (x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    t.parse().ok().or_else(|| parse_float(t).and_then(integral))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(f: Feature, policy: Policy) -> Compiled {
        Compiled::new(&f, policy)
    }

    #[test]
    fn short_keys_match_exactly_the_equal_strings() {
        // Every string of up to 9 letters over a two-letter alphabet (the
        // boundaries 3/4 and 8/9 of the key's layout), plus multi-byte text.
        let mut strings: Vec<String> = (0..=9usize)
            .flat_map(|len| {
                (0..1u32 << len).map(move |bits| (0..len).map(|k| if bits >> k & 1 == 1 { 'b' } else { 'a' }).collect())
            })
            .collect();
        strings.extend(["é", "ée", "eé", "日本", "日本語", "Torgersen", "Torgerse", "Torgersén"].map(String::from));
        for s in &strings {
            let key = ShortKey::of(s);
            for t in &strings {
                assert_eq!(key.matches(s, t), s == t, "{s:?} vs {t:?}");
            }
        }
    }

    #[test]
    fn large_category_sets_use_binary_search() {
        let cats: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let set = CategorySet::new(&cats);
        assert!(!set.sorted.is_empty());
        assert!(cats.iter().all(|c| set.contains(c)));
        assert!(!set.contains("c100"));
        assert_eq!(set.normalize(" C42 "), Some("c42"));
    }

    #[test]
    fn ambiguous_case_is_not_coerced() {
        let c = compiled(
            Feature::new("k", DType::Categorical).with_categories(["a", "A", "b"]),
            Policy::Coerce,
        );
        assert_eq!(c.check(ValueRef::Str("A")).0, Verdict::Valid);
        assert_eq!(c.check(ValueRef::Str(" A")).0, Verdict::Coerced);
        assert_eq!(c.check(ValueRef::Str("B")).0, Verdict::Coerced);
        // "a" and "A" both match without case: ambiguous only after trimming fails.
        let d = compiled(
            Feature::new("k", DType::Categorical).with_categories(["ab", "AB"]),
            Policy::Coerce,
        );
        assert_eq!(
            d.check(ValueRef::Str("Ab")).0,
            Verdict::Violation(ViolationKind::UnknownCategory)
        );
    }

    #[test]
    fn float32_values_are_checked_as_stored() {
        let c = compiled(Feature::new("x", DType::Float32), Policy::Reject);
        assert_eq!(
            c.check(ValueRef::Float(1e300)).0,
            Verdict::Violation(ViolationKind::NonFinite)
        );
    }
}
