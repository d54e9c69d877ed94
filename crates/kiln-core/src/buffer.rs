//! Large zero-filled numeric buffers for batch outputs.
//!
//! A batch transform or a training matrix of a million rows writes a
//! freshly allocated buffer of a hundred megabytes or more. The operating
//! system backs such an allocation lazily, one page at a time: with 4 KiB
//! pages, faulting in (and zeroing) 128 MiB is 32,768 page faults, which
//! costs as much as the transform itself. [`zeroed`] asks Linux to back the
//! buffer with transparent huge pages (2 MiB, `madvise(MADV_HUGEPAGE)`), as
//! NumPy does for its large arrays: 512 times fewer faults.
//!
//! The advice is a hint: where the kernel has huge pages disabled (or on
//! other systems) the buffer is an ordinary zeroed `Vec`, and the result is
//! the same either way.
//!
//! ```
//! let v: Vec<f32> = kiln_core::buffer::zeroed(1 << 20);
//! assert_eq!(v.len(), 1 << 20);
//! assert!(v.iter().all(|&x| x == 0.0));
//! ```

/// A numeric type whose all-zero bit pattern is its zero, so that a zeroed
/// buffer of it comes straight from the allocator's zeroed memory.
///
/// Sealed: implemented for the primitive numeric types.
pub trait Zeroed: Copy + sealed::Sealed {
    /// The value every element starts as.
    const ZERO: Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! zeroed_types {
    ($($t:ty = $zero:expr),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Zeroed for $t {
            const ZERO: Self = $zero;
        }
    )*};
}

zeroed_types!(f32 = 0.0, f64 = 0.0, i32 = 0, i64 = 0, u8 = 0, u32 = 0, u64 = 0);

/// Buffers smaller than this are left to the allocator as they are.
const HUGE_PAGE: usize = 2 << 20;

/// A vector of `len` zeros, backed by transparent huge pages where the
/// operating system offers them (see the [module docs](self)).
#[must_use]
pub fn zeroed<T: Zeroed>(len: usize) -> Vec<T> {
    // `vec![0; n]` of a primitive zero is one `alloc_zeroed` (calloc): a
    // large one is fresh, untouched memory from the kernel, so the advice
    // below comes before the first page is faulted in.
    let v = vec![T::ZERO; len];
    advise_huge_pages(v.as_ptr().cast(), std::mem::size_of_val(v.as_slice()));
    v
}

/// Advises the kernel to back the whole 2 MiB blocks of `[ptr, ptr + bytes)`
/// with huge pages.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge_pages(ptr: *const u8, bytes: usize) {
    // Only whole 2 MiB blocks: huge pages cannot cover less, and the range
    // then starts on a page boundary whatever the base page size.
    let (addr, end) = (ptr as usize, (ptr as usize).saturating_add(bytes));
    let Some(start) = addr.checked_next_multiple_of(HUGE_PAGE) else {
        return;
    };
    let stop = end - end % HUGE_PAGE;
    if stop <= start {
        return;
    }
    // SAFETY: `[start, stop)` lies inside one live allocation owned by the
    // caller, and MADV_HUGEPAGE only changes how the kernel backs those
    // pages: never their contents, their validity nor the mapping's access.
    let rc = unsafe { libc::madvise(start as *mut libc::c_void, stop - start, libc::MADV_HUGEPAGE) };
    if rc != 0 {
        tracing::trace!(
            error = %std::io::Error::last_os_error(),
            bytes = stop - start,
            "madvise(MADV_HUGEPAGE) refused; the buffer uses base pages"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *const u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_buffers_are_zero_and_writable() {
        for len in [0, 1, 1000, (HUGE_PAGE / 4) * 3 + 17] {
            let mut v: Vec<f32> = zeroed(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            for (i, x) in v.iter_mut().enumerate() {
                *x = i as f32;
            }
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
        }
        let w: Vec<f64> = zeroed(HUGE_PAGE);
        assert!(w.iter().all(|&x| x.to_bits() == 0));
        let z: Vec<u8> = zeroed(5);
        assert_eq!(z, [0; 5]);
    }
}
