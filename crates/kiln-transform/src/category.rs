//! Category values of categorical encoders, ordered as sklearn orders them.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One category of a one-hot or ordinal encoder (or a most-frequent value).
///
/// In JSON a category is written plainly: `"Biscoe"`, `3`, `true`, or
/// `null` for the missing-value category. Categories sort as sklearn sorts
/// them: booleans `false < true`, integers numerically, strings by Unicode
/// code point (Rust's byte-wise UTF-8 order is the same order), and the
/// missing-value category last. One feature's categories are all of one kind
/// (plus possibly `Null`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Category {
    /// A boolean category.
    Bool(bool),
    /// An integer category.
    Int(i64),
    /// A string category.
    Str(String),
    /// The missing value, when it is a category of its own.
    Null,
}

impl From<&str> for Category {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Category {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<i64> for Category {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<bool> for Category {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl Category {
    fn rank(&self) -> u8 {
        match self {
            Self::Bool(_) => 0,
            Self::Int(_) => 1,
            Self::Str(_) => 2,
            Self::Null => 3,
        }
    }
}

impl fmt::Display for Category {
    /// The text used in output names: the string itself, the integer in
    /// decimal, `true`/`false`, and `__null__` for the missing value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => f.write_str(s),
            Self::Null => f.write_str("__null__"),
        }
    }
}

/// A borrowed category, for lookups without allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key<'a> {
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Null,
}

impl Key<'_> {
    fn rank(self) -> u8 {
        match self {
            Self::Bool(_) => 0,
            Self::Int(_) => 1,
            Self::Str(_) => 2,
            Self::Null => 3,
        }
    }

    pub(crate) fn to_category(self) -> Category {
        match self {
            Self::Bool(b) => Category::Bool(b),
            Self::Int(i) => Category::Int(i),
            Self::Str(s) => Category::Str(s.to_owned()),
            Self::Null => Category::Null,
        }
    }
}

/// Compares a stored category with a key, in [`Category`]'s order.
#[inline]
fn cmp_key(c: &Category, k: Key<'_>) -> Ordering {
    match (c, k) {
        (Category::Bool(a), Key::Bool(b)) => a.cmp(&b),
        (Category::Int(a), Key::Int(b)) => a.cmp(&b),
        (Category::Str(a), Key::Str(b)) => a.as_str().cmp(b),
        (Category::Null, Key::Null) => Ordering::Equal,
        _ => c.rank().cmp(&k.rank()),
    }
}

#[inline(always)]
fn eq_key(c: &Category, k: Key<'_>) -> bool {
    match (c, k) {
        (Category::Str(a), Key::Str(b)) => a == b,
        (Category::Int(a), Key::Int(b)) => *a == b,
        (Category::Bool(a), Key::Bool(b)) => *a == b,
        (Category::Null, Key::Null) => true,
        _ => false,
    }
}

/// Above this many categories, lookups binary-search a sorted copy.
const SCAN_MAX: usize = 16;

/// A list of distinct categories (in output order) and its lookup.
///
/// Few categories are found by a scan of equality tests (lengths first for
/// strings), which beats binary search's comparisons and branch misses;
/// more by binary search on a sorted copy holding each category's position.
#[derive(Clone, Debug, Default)]
pub(crate) struct CategoryIndex {
    list: Vec<Category>,
    sorted: Vec<(Category, usize)>,
}

impl CategoryIndex {
    /// Indexes `list`; fails when a category appears twice.
    pub(crate) fn new(list: Vec<Category>) -> Result<Self, Category> {
        let mut sorted: Vec<(Category, usize)> = list.iter().cloned().zip(0..).collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(w[0].0.clone());
        }
        if list.len() <= SCAN_MAX {
            sorted.clear();
        }
        Ok(Self { list, sorted })
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The position of `k` in the list.
    #[inline]
    pub(crate) fn find(&self, k: Key<'_>) -> Option<usize> {
        if self.sorted.is_empty() {
            return self.list.iter().position(|c| eq_key(c, k));
        }
        let i = self.sorted.binary_search_by(|(c, _)| cmp_key(c, k)).ok()?;
        Some(self.sorted[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: &Category) -> Key<'_> {
        match c {
            Category::Bool(b) => Key::Bool(*b),
            Category::Int(i) => Key::Int(*i),
            Category::Str(s) => Key::Str(s),
            Category::Null => Key::Null,
        }
    }

    #[test]
    fn order_matches_sklearn_and_lookup_finds_all() {
        let mut cats = vec![
            Category::Str("b".into()),
            Category::Null,
            Category::Str("B".into()),
            Category::Str("é".into()),
            Category::Str("a".into()),
        ];
        cats.sort();
        let names: Vec<String> = cats.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["B", "a", "b", "é", "__null__"]);
        // Lookups in any order, small (scan) and large (binary search).
        for list in [cats.clone(), (0..40).rev().map(Category::Int).collect::<Vec<_>>()] {
            let index = CategoryIndex::new(list.clone()).unwrap();
            for (i, c) in list.iter().enumerate() {
                assert_eq!(index.find(key(c)), Some(i));
            }
            assert_eq!(index.find(Key::Str("zzz")), None);
            assert_eq!(index.find(Key::Int(40)), None);
        }
        let dup = vec![Category::Int(1), Category::Int(2), Category::Int(1)];
        assert_eq!(CategoryIndex::new(dup).unwrap_err(), Category::Int(1));
    }

    #[test]
    fn json_is_plain() {
        let cats = vec![
            Category::Bool(true),
            Category::Int(-3),
            Category::Str("x".into()),
            Category::Null,
        ];
        let json = serde_json::to_string(&cats).unwrap();
        assert_eq!(json, r#"[true,-3,"x",null]"#);
        let back: Vec<Category> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cats);
    }
}
