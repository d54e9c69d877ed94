//! Category values of categorical encoders, ordered as sklearn orders them.

use std::cmp::Ordering;
use std::fmt;

use kiln_core::StrKey;
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

/// Above this many string categories, no [`KeyTable`] is built.
const TABLE_MAX: usize = 32;

/// String categories in a table indexed by a multiplicative hash of their
/// keys ([`StrKey`]) that is collision-free for them (the multiplier is searched for
/// when indexing): a lookup is one key, one multiplication and one
/// comparison, without a branch per category.
#[derive(Clone, Debug)]
struct KeyTable {
    mul: u64,
    shift: u32,
    /// `(key, position)`; [`StrKey::NONE`] in unused slots.
    slots: Vec<(StrKey, usize)>,
}

impl KeyTable {
    /// Multipliers tried per table size.
    const TRIES: u64 = 64;

    /// A table of `entries` (distinct keys), if a multiplier separates them.
    fn new(entries: &[(StrKey, usize)]) -> Option<Self> {
        let min_bits = entries.len().max(1).next_power_of_two().trailing_zeros() + 1;
        // Odd multipliers from a fixed SplitMix64 sequence: the same table on every run.
        let mut state = 0x6b69_6c6e_7461_626cu64;
        for bits in min_bits..=min_bits + 3 {
            for _ in 0..Self::TRIES {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                let mut table = Self {
                    mul: (z ^ (z >> 31)) | 1,
                    shift: 64 - bits,
                    slots: vec![(StrKey::NONE, 0); 1 << bits],
                };
                if entries.iter().all(|&(p, i)| {
                    let slot = table.slot(p);
                    match table.slots.get_mut(slot) {
                        Some(e) if e.0 == StrKey::NONE => {
                            *e = (p, i);
                            true
                        }
                        _ => false,
                    }
                }) {
                    return Some(table);
                }
            }
        }
        None
    }

    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn slot(&self, p: StrKey) -> usize {
        (p.fold().wrapping_mul(self.mul) >> self.shift) as usize
    }

    /// The position of the string whose key is `p`.
    #[inline(always)]
    fn find(&self, p: StrKey) -> Option<usize> {
        let &(q, i) = self.slots.get(self.slot(p))?;
        (q == p).then_some(i)
    }
}

/// A list of distinct categories (in output order) and its lookup.
///
/// Strings are found through a [`KeyTable`] when every string category
/// has at most 16 bytes (one key, one hash, one comparison). Otherwise few
/// categories are found by a scan of equality tests, which beats binary
/// search's comparisons and branch misses, and more by binary search on a
/// sorted copy holding each category's position.
#[derive(Clone, Debug, Default)]
pub(crate) struct CategoryIndex {
    list: Vec<Category>,
    sorted: Vec<(Category, usize)>,
    table: Option<KeyTable>,
}

impl CategoryIndex {
    /// Indexes `list`; fails when a category appears twice.
    pub(crate) fn new(list: Vec<Category>) -> Result<Self, Category> {
        let mut sorted: Vec<(Category, usize)> = list.iter().cloned().zip(0..).collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(w[0].0.clone());
        }
        let table = list
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Category::Str(s) => Some(StrKey::exact(s).map(|p| (p, i))),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .filter(|entries| entries.len() <= TABLE_MAX)
            .and_then(|entries| KeyTable::new(&entries));
        if list.len() <= SCAN_MAX {
            sorted.clear();
        }
        Ok(Self { list, sorted, table })
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The position of `k` in the list.
    #[inline(always)]
    pub(crate) fn find(&self, k: Key<'_>) -> Option<usize> {
        match (k, &self.table) {
            // Longer than every string category: none equals it.
            (Key::Str(s), Some(table)) => StrKey::exact(s).and_then(|p| table.find(p)),
            _ => self.find_by_comparison(k),
        }
    }

    /// The position of the string `values[start..end]` ([`find`](Self::find)
    /// of it; `None` when that is not a string of `values`).
    #[inline(always)]
    pub(crate) fn find_at(&self, values: &str, start: usize, end: usize) -> Option<usize> {
        match &self.table {
            Some(table) => StrKey::at(values.as_bytes(), start, end.checked_sub(start)?).and_then(|p| table.find(p)),
            None => self.find_by_comparison(Key::Str(values.get(start..end)?)),
        }
    }

    #[inline]
    fn find_by_comparison(&self, k: Key<'_>) -> Option<usize> {
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
    fn lookups_by_keys_agree_with_equality() {
        // Every length up to 17, strings differing in a single byte at every position.
        let mut words: Vec<String> = vec![String::new()];
        for len in 1..=17 {
            let base: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            words.push(base.clone());
            for pos in 0..len {
                let mut w = base.clone().into_bytes();
                w[pos] = b'Z';
                words.push(String::from_utf8(w).unwrap());
            }
        }
        words.extend(["é", "ée", "e\u{301}", "日本語", "日本語の文字列です"].map(String::from));
        // Lookups by keys agree with plain equality, hits and misses,
        // and a list holding a long string falls back to comparisons.
        let short: Vec<Category> = words
            .iter()
            .filter(|w| w.len() <= 16)
            .take(16)
            .map(|w| Category::from(w.as_str()))
            .collect();
        let mut long = short.clone();
        long.truncate(15);
        long.push(Category::from("a string longer than sixteen bytes"));
        for list in [short, long] {
            let index = CategoryIndex::new(list.clone()).unwrap();
            assert_eq!(index.table.is_some(), list.iter().all(|c| c.to_string().len() <= 16));
            for w in &words {
                let want = list.iter().position(|c| *c == Category::from(w.as_str()));
                assert_eq!(index.find(Key::Str(w)), want, "{w:?}");
                let buf = format!("ab{w}cd");
                assert_eq!(index.find_at(&buf, 2, 2 + w.len()), want, "{w:?} in {buf:?}");
            }
            assert_eq!(
                index.find(Key::Str("a string longer than sixteen bytes")),
                list.iter().position(|c| c.to_string().len() > 16)
            );
            assert_eq!(index.find(Key::Null), None);
        }
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
