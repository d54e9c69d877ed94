//! 32-bit MurmurHash3 (x86 variant), the hash of sklearn's `FeatureHasher`.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// The 32-bit MurmurHash3 (x86 variant) of `bytes` with `seed`, as
/// `sklearn.utils.murmurhash3_32(bytes, seed, positive=True)`; read it as
/// `i32` for sklearn's default signed result.
///
/// ```
/// use kiln_transform::murmurhash3_32;
/// assert_eq!(murmurhash3_32(b"hello", 0), 613_153_351);
/// assert_eq!(murmurhash3_32(b"foo", 0) as i32, -156_908_512);
/// ```
#[must_use]
pub fn murmurhash3_32(bytes: &[u8], seed: u32) -> u32 {
    let mut m = Murmur3::new(seed);
    m.write(bytes);
    m.finish()
}

/// Streaming MurmurHash3, so that a token written in pieces (`name`, `=`,
/// `value`) hashes as the concatenation without building it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Murmur3 {
    h: u32,
    tail: [u8; 4],
    tail_len: usize,
    len: usize,
}

#[inline]
fn scramble(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

impl Murmur3 {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            h: seed,
            tail: [0; 4],
            tail_len: 0,
            len: 0,
        }
    }

    #[inline]
    fn block(&mut self, k: u32) {
        self.h ^= scramble(k);
        self.h = self.h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }

    pub(crate) fn write(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while self.tail_len > 0 && self.tail_len < 4 {
            let Some((&b, rest)) = bytes.split_first() else { return };
            self.tail[self.tail_len] = b;
            self.tail_len += 1;
            bytes = rest;
        }
        if self.tail_len == 4 {
            self.block(u32::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.block(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for &b in chunks.remainder() {
            self.tail[self.tail_len] = b;
            self.tail_len += 1;
        }
    }

    pub(crate) fn finish(self) -> u32 {
        let mut h = self.h;
        if self.tail_len > 0 {
            let mut k = 0u32;
            for i in (0..self.tail_len).rev() {
                k = (k << 8) | u32::from(self.tail[i]);
            }
            h ^= scramble(k);
        }
        // The reference folds the length in as a 32-bit integer.
        #[allow(clippy::cast_possible_truncation)]
        let len = self.len as u32;
        h ^= len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^ (h >> 16)
    }
}

/// Column and sign of a hashed token, as sklearn's `_hashing_fast.transform`.
#[inline]
pub(crate) fn column_and_sign(h: u32, n_features: u32, alternate_sign: bool) -> (u32, f64) {
    let signed = h as i32;
    let col = if signed == i32::MIN {
        // sklearn: abs(-2^31) is undefined; it uses (2^31 - 1 - (n - 1)) % n.
        (i32::MAX as u32 - (n_features - 1)) % n_features
    } else {
        signed.unsigned_abs() % n_features
    };
    let sign = if alternate_sign && signed < 0 { -1.0 } else { 1.0 };
    (col, sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // From sklearn.utils.murmurhash3_32 (sklearn 1.9.1) and the reference C++.
        assert_eq!(murmurhash3_32(b"", 0), 0);
        assert_eq!(murmurhash3_32(b"hello", 0), 613_153_351);
        assert_eq!(murmurhash3_32(b"foo", 0), 4_138_058_784);
        assert_eq!(murmurhash3_32(b"island=Biscoe", 0), 2_115_832_752);
        assert_eq!(
            murmurhash3_32(b"The quick brown fox jumps over the lazy dog", 0),
            776_992_547
        );
        assert_eq!(murmurhash3_32("é".as_bytes(), 0), 269_551_495);
        assert_eq!(murmurhash3_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
    }

    #[test]
    fn pieces_hash_as_concatenation() {
        let text = b"island=Biscoe and more text to cross blocks";
        for cut1 in 0..text.len() {
            for cut2 in cut1..text.len() {
                let mut m = Murmur3::new(7);
                m.write(&text[..cut1]);
                m.write(&text[cut1..cut2]);
                m.write(&text[cut2..]);
                assert_eq!(m.finish(), murmurhash3_32(text, 7));
            }
        }
    }

    #[test]
    fn column_special_case() {
        assert_eq!(
            column_and_sign(0x8000_0000, 10, true),
            ((i32::MAX as u32 - 9) % 10, -1.0)
        );
        assert_eq!(column_and_sign(5, 3, true), (2, 1.0));
        assert_eq!(column_and_sign((-7i32) as u32, 4, true), (3, -1.0));
        assert_eq!(column_and_sign((-7i32) as u32, 4, false), (3, 1.0));
    }
}
