//! Fixed-size keys of short strings, for comparing feature names and
//! categories on hot paths without a call to `memcmp`.
//!
//! A [`StrKey`] holds a string's first 16 bytes (zero-padded) in one
//! 128-bit word and its length. For strings of up to
//! [`StrKey::MAX_LEN`] bytes the key identifies the string: two such
//! strings are equal exactly when their keys are, so an equality test is
//! two integer comparisons and a hash table lookup one multiplication. The
//! transform kernel matches record fields to pipeline inputs and looks up
//! one-hot and ordinal categories this way. (The validator keeps a narrower
//! 8-byte key of its own: its walk over a record's fields measured 15%
//! faster with it.)
//!
//! ```
//! use kiln_core::StrKey;
//!
//! let island = StrKey::of("Biscoe");
//! assert!(island.matches("Biscoe", "Biscoe"));
//! assert!(!island.matches("Biscoe", "Dream"));
//! assert_eq!(StrKey::exact("Biscoe"), Some(island));
//! assert_eq!(StrKey::exact("a string longer than sixteen bytes"), None);
//!
//! // A string inside a larger buffer (a string column's values): one load.
//! let values = "TorgersenBiscoeDream";
//! assert_eq!(StrKey::at(values.as_bytes(), 9, 6), Some(island));
//! ```

/// A string's length and its first 16 bytes; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StrKey {
    bytes: u128,
    len: usize,
}

/// `BYTE_MASKS[len]` keeps the first `len` bytes of a little-endian word.
static BYTE_MASKS: [u128; StrKey::MAX_LEN + 1] = {
    let mut masks = [0u128; StrKey::MAX_LEN + 1];
    let mut len = 1;
    while len <= StrKey::MAX_LEN {
        masks[len] = u128::MAX >> ((StrKey::MAX_LEN - len) * 8);
        len += 1;
    }
    masks
};

impl StrKey {
    /// The longest string a key identifies.
    pub const MAX_LEN: usize = 16;

    /// Equal to no string's key (an empty slot of a table of keys).
    pub const NONE: Self = Self {
        bytes: 0,
        len: usize::MAX,
    };

    /// The key of `s`, which identifies it when `s` has at most
    /// [`MAX_LEN`](Self::MAX_LEN) bytes (see [`matches`](Self::matches)
    /// for the others).
    #[must_use]
    #[inline]
    pub fn of(s: &str) -> Self {
        let b = s.as_bytes();
        let head = b.get(..Self::MAX_LEN).unwrap_or(b);
        Self {
            bytes: Self::pack(head),
            len: b.len(),
        }
    }

    /// The key of `s` when it identifies `s` (at most
    /// [`MAX_LEN`](Self::MAX_LEN) bytes).
    #[must_use]
    #[inline]
    pub fn exact(s: &str) -> Option<Self> {
        Self::exact_bytes(s.as_bytes())
    }

    /// [`exact`](Self::exact) of a byte string.
    #[must_use]
    #[inline]
    pub fn exact_bytes(b: &[u8]) -> Option<Self> {
        (b.len() <= Self::MAX_LEN).then(|| Self {
            bytes: Self::pack(b),
            len: b.len(),
        })
    }

    /// The key of `values[start..start + len]` when it identifies it
    /// ([`exact_bytes`](Self::exact_bytes) of it): one 16-byte load and a
    /// mask when `values` has 16 bytes from `start`. `None` when the range
    /// is longer than [`MAX_LEN`](Self::MAX_LEN) or outside `values`.
    #[must_use]
    #[inline(always)]
    pub fn at(values: &[u8], start: usize, len: usize) -> Option<Self> {
        if len > Self::MAX_LEN {
            return None;
        }
        match values.get(start..).and_then(<[u8]>::first_chunk::<{ Self::MAX_LEN }>) {
            Some(word) => Some(Self {
                bytes: u128::from_le_bytes(*word) & *BYTE_MASKS.get(len)?,
                len,
            }),
            None => Self::exact_bytes(values.get(start..start.checked_add(len)?)?),
        }
    }

    /// Whether `other` equals `s`, whose key this is: the lengths, then the
    /// keys, compared; the bytes only for strings longer than
    /// [`MAX_LEN`](Self::MAX_LEN).
    #[must_use]
    #[inline(always)]
    pub fn matches(self, s: &str, other: &str) -> bool {
        if other.len() != self.len {
            return false;
        }
        if self.len <= Self::MAX_LEN {
            Self::pack(other.as_bytes()) == self.bytes
        } else {
            s.as_bytes() == other.as_bytes()
        }
    }

    /// The key folded into 64 bits, for hashing (a multiplicative hash of
    /// it spreads well).
    #[must_use]
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    pub fn fold(self) -> u64 {
        (self.bytes as u64) ^ ((self.bytes >> 64) as u64).rotate_left(29) ^ (self.len as u64).rotate_right(7)
    }

    /// `b` (at most 16 bytes) zero-padded into a little-endian word, with a
    /// few fixed-size loads (a variable-length copy would be a call to
    /// `memcpy`): from 8 bytes on, the first 8 and the last 8 shifted down
    /// past the bytes they share; from 4 on, the same with 4-byte words.
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn pack(b: &[u8]) -> u128 {
        let len = b.len();
        if let (Some(lo), Some(hi)) = (b.first_chunk::<8>(), b.last_chunk::<8>()) {
            let hi = u64::from_le_bytes(*hi).checked_shr((Self::MAX_LEN.saturating_sub(len) * 8) as u32);
            u128::from(u64::from_le_bytes(*lo)) | (u128::from(hi.unwrap_or(0)) << 64)
        } else if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
            // (64-bit arithmetic: variable 128-bit shifts cost a dozen instructions.)
            let hi = u32::from_le_bytes(*hi).checked_shr(((8 - len) * 8) as u32);
            u128::from(u64::from(u32::from_le_bytes(*lo)) | (u64::from(hi.unwrap_or(0)) << 32))
        } else if let (Some(&first), Some(&mid), Some(&last)) = (b.first(), b.get(len / 2), b.last()) {
            // 1 to 3 bytes: first, middle and last cover them all; the mask
            // clears what lies past the end (a repeat of the last byte).
            let word = u32::from(first) | (u32::from(mid) << 8) | (u32::from(last) << 16);
            u128::from(word) & BYTE_MASKS.get(len).copied().unwrap_or(0)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings() -> Vec<String> {
        // Every length up to 18, strings differing in a single byte at every
        // position, every string of up to 9 letters over {a, b}, and
        // multi-byte text.
        let mut words: Vec<String> = vec![String::new()];
        for len in 1..=18u8 {
            let base: String = (0..len).map(|i| char::from(b'a' + i % 26)).collect();
            words.push(base.clone());
            for pos in 0..usize::from(len) {
                let mut w = base.clone().into_bytes();
                w[pos] = b'Z';
                words.push(String::from_utf8(w).unwrap());
            }
        }
        for len in 0..=9usize {
            for bits in 0..1u32 << len {
                words.push((0..len).map(|k| if bits >> k & 1 == 1 { 'b' } else { 'a' }).collect());
            }
        }
        words.extend(["é", "ée", "eé", "e\u{301}", "日本語", "日本語の文字列です", "Torgersén"].map(String::from));
        words.sort();
        words.dedup();
        words
    }

    #[test]
    fn keys_identify_short_strings_and_matches_is_equality() {
        let words = strings();
        for a in &words {
            let key = StrKey::of(a);
            assert_eq!(StrKey::exact(a).is_some(), a.len() <= StrKey::MAX_LEN);
            for b in &words {
                assert_eq!(key.matches(a, b), a == b, "{a:?} vs {b:?}");
                if let (Some(ka), Some(kb)) = (StrKey::exact(a), StrKey::exact(b)) {
                    assert_eq!(ka == kb, a == b, "{a:?} vs {b:?}");
                }
            }
            assert_ne!(StrKey::exact(a), Some(StrKey::NONE));
        }
    }

    #[test]
    fn keys_read_inside_a_buffer_are_the_strings_keys() {
        for w in strings() {
            for (before, after) in [
                ("", ""),
                ("xyz", ""),
                ("", "trailing bytes!!"),
                ("é", "0123456789abcdefgh"),
            ] {
                let buf = format!("{before}{w}{after}");
                let got = StrKey::at(buf.as_bytes(), before.len(), w.len());
                assert_eq!(got, StrKey::exact(&w), "{w:?} in {buf:?}");
            }
        }
        assert_eq!(StrKey::at(b"abc", 2, 5), None);
        assert_eq!(StrKey::at(b"abc", usize::MAX, 1), None);
    }
}
