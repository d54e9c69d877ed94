//! Hashing a model directory the way OpenSSF Model Signing does: every
//! regular file, by its path relative to the directory, with SHA-256.
//!
//! The walk follows the OMS 1.0 rules (`allow_symlinks: false`):
//!
//! - paths are relative to the model directory, with `/` between components,
//!   and must be UTF-8 ([`Error::NonUtf8Path`] otherwise);
//! - an [`IgnorePaths`] entry leaves out that path and, for a directory,
//!   everything below it; the walk does not look inside ignored directories;
//! - a symbolic link anywhere (the model directory itself included) is an
//!   [`Error::Symlink`]: nothing is followed, so nothing outside the
//!   directory is ever read; sockets, FIFOs and devices are
//!   [`Error::SpecialFile`].
//!
//! Files are hashed in parallel (rayon). A large file is read by a second
//! thread in 1 MiB chunks while the current chunk is hashed, so that hashing
//! runs at close to the speed of SHA-256 itself.
//!
//! ```
//! use kiln_artifact::hashing::{IgnorePaths, hash_dir};
//! # let dir = tempfile::tempdir()?;
//! std::fs::create_dir(dir.path().join("sub"))?;
//! std::fs::write(dir.path().join("sub/weights.bin"), b"abc")?;
//! std::fs::write(dir.path().join("model.sig"), b"ignored")?;
//!
//! let files = hash_dir(dir.path(), &IgnorePaths::new(["model.sig"])?)?;
//! assert_eq!(files.len(), 1);
//! assert_eq!(files[0].path, "sub/weights.bin");
//! assert_eq!(files[0].digest, kiln_core::Digest::of(b"abc"));
//! assert_eq!(files[0].size, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use kiln_core::{Digest, Hasher};
use rayon::prelude::*;

use crate::{Error, Result};

/// Paths that OMS leaves out of every signature: git's files at the top of
/// the model directory.
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Chunk size for reading files.
const CHUNK: usize = 1 << 20;

/// Files at least this large are read by a second thread while hashing.
const PIPELINE_MIN_BYTES: u64 = 8 * CHUNK as u64;

/// A file of a model directory and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedFile {
    /// The path relative to the model directory, components joined by `/`.
    pub path: String,
    /// The SHA-256 of the file's contents.
    pub digest: Digest,
    /// The number of bytes hashed.
    pub size: u64,
}

/// Paths, relative to a model directory, that are left out of hashing (and so
/// out of a signature).
///
/// Entries are normalized (`./a//b/` is `a/b`), kept sorted and without
/// duplicates. An entry matches the path itself and everything below it, and
/// only at that place: `.git` leaves out `.git` and `.git/HEAD`, not
/// `sub/.git`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnorePaths {
    entries: Vec<String>,
}

impl IgnorePaths {
    /// Checks and normalizes `paths`.
    ///
    /// # Errors
    /// [`Error::InvalidIgnorePath`] for an empty path (or one that is only
    /// `.`), an absolute path or a `..` component.
    pub fn new<I, S>(paths: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut entries = paths
            .into_iter()
            .map(|p| normalize_ignore_path(p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        entries.sort();
        entries.dedup();
        Ok(Self { entries })
    }

    /// The OMS defaults ([`GIT_PATHS`]) and `paths`.
    ///
    /// # Errors
    /// As [`IgnorePaths::new`].
    pub fn with_git_paths<I, S>(paths: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let paths: Vec<String> = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        Self::new(GIT_PATHS.iter().map(|p| (*p).to_owned()).chain(paths))
    }

    /// The normalized entries, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(String::as_str)
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `path` (relative, `/`-separated) is left out: it is an entry
    /// or lies below one.
    #[must_use]
    pub fn is_ignored(&self, path: &str) -> bool {
        self.entries.iter().any(|entry| {
            path.strip_prefix(entry.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// A copy with `more` entries added.
    ///
    /// # Errors
    /// As [`IgnorePaths::new`].
    pub fn union<I, S>(&self, more: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let more: Vec<String> = more.into_iter().map(|p| p.as_ref().to_owned()).collect();
        Self::new(self.entries.iter().cloned().chain(more))
    }
}

fn normalize_ignore_path(path: &str) -> Result<String> {
    let reject = |reason| Error::InvalidIgnorePath {
        path: path.chars().take(200).collect(),
        reason,
    };
    if path.starts_with('/') {
        return Err(reject(
            "absolute paths are not allowed; give it relative to the model directory",
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(reject("\"..\" components are not allowed")),
            p if p.contains('\0') => return Err(reject("NUL characters are not allowed")),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(reject("it names the whole model directory"));
    }
    Ok(parts.join("/"))
}

/// The order OMS's reference implementation lists files in: path components
/// compared one by one as strings (Unicode code points), like Python's
/// `pathlib` does.
///
/// It differs from comparing whole strings when a name contains a character
/// below `/`: `model/x` comes before `model.json` here.
///
/// ```
/// use std::cmp::Ordering;
/// use kiln_artifact::hashing::canonical_cmp;
/// assert_eq!(canonical_cmp("model/x", "model.json"), Ordering::Less);
/// assert_eq!(canonical_cmp("a", "a/b"), Ordering::Less);
/// ```
#[must_use]
pub fn canonical_cmp(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Hashes every file under `dir` that `ignore` does not leave out, sorted in
/// [`canonical_cmp`] order.
///
/// # Errors
/// [`Error::Symlink`], [`Error::SpecialFile`], [`Error::NonUtf8Path`] as the
/// module docs say; [`Error::Io`] when `dir` is not a directory or a file
/// cannot be read.
pub fn hash_dir(dir: &Path, ignore: &IgnorePaths) -> Result<Vec<HashedFile>> {
    let _span = tracing::debug_span!("hash_dir", dir = %dir.display()).entered();
    let files = list_files(dir, ignore)?;
    let mut hashed = files
        .into_par_iter()
        .map(|(path, abs)| {
            let (digest, size) = hash_file(&abs)?;
            Ok(HashedFile { path, digest, size })
        })
        .collect::<Result<Vec<_>>>()?;
    hashed.sort_by(|a, b| canonical_cmp(&a.path, &b.path));
    tracing::debug!(files = hashed.len(), "hashed model directory");
    Ok(hashed)
}

/// The files under `dir` that `ignore` does not leave out: relative path and
/// full path, in no particular order.
fn list_files(dir: &Path, ignore: &IgnorePaths) -> Result<Vec<(String, PathBuf)>> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let meta = fs::symlink_metadata(dir).map_err(io_err(dir))?;
    if meta.file_type().is_symlink() {
        return Err(Error::Symlink { path: dir.to_owned() });
    }
    if !meta.is_dir() {
        return Err(Error::Io {
            path: dir.to_owned(),
            source: io::Error::new(io::ErrorKind::NotADirectory, "a model is a directory"),
        });
    }
    let mut files = Vec::new();
    // Directories still to read: full path and relative path ("" for the root).
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((abs_dir, rel_dir)) = pending.pop() {
        for entry in fs::read_dir(&abs_dir).map_err(io_err(&abs_dir))? {
            let entry = entry.map_err(io_err(&abs_dir))?;
            let abs = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::NonUtf8Path { path: abs });
            };
            let rel = if rel_dir.is_empty() {
                name.to_owned()
            } else {
                format!("{rel_dir}/{name}")
            };
            if ignore.is_ignored(&rel) {
                continue;
            }
            // `DirEntry::file_type` does not follow symbolic links.
            let kind = entry.file_type().map_err(io_err(&abs))?;
            if kind.is_symlink() {
                return Err(Error::Symlink { path: abs });
            } else if kind.is_dir() {
                pending.push((abs, rel));
            } else if kind.is_file() {
                files.push((rel, abs));
            } else {
                return Err(Error::SpecialFile { path: abs });
            }
        }
    }
    Ok(files)
}

/// The SHA-256 of a file's contents and its length in bytes.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read.
pub fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    let io_err = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if len >= PIPELINE_MIN_BYTES {
        hash_pipelined(file).map_err(io_err)
    } else {
        hash_sequential(file, len).map_err(io_err)
    }
}

fn hash_sequential(mut file: File, len_hint: u64) -> io::Result<(Digest, u64)> {
    // One byte more than the file's length lets a small file end in one
    // read; the floor keeps reads large if the file grows meanwhile.
    let size = usize::try_from(len_hint.saturating_add(1)).map_or(CHUNK, |n| n.clamp(16 * 1024, CHUNK));
    let mut buf = vec![0u8; size];
    let mut hasher = Hasher::new();
    let mut total = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            return Ok((hasher.finish(), total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// Reads chunks on a second thread while this one hashes the previous chunk.
fn hash_pipelined(file: File) -> io::Result<(Digest, u64)> {
    const BUFFERS: usize = 4;
    let (filled_tx, filled_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        empty_tx
            .send(vec![0u8; CHUNK])
            .map_err(|_| io::Error::other("buffer channel closed"))?;
    }
    std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(file, &empty_rx, &filled_tx));
        // `hash_chunks` owns the receiving and returning ends: when it
        // returns, early or not, they close and the reader thread stops.
        hash_chunks(filled_rx, empty_tx)
    })
}

fn read_chunks(mut file: File, empty: &Receiver<Vec<u8>>, filled: &SyncSender<io::Result<(Vec<u8>, usize)>>) {
    while let Ok(mut buf) = empty.recv() {
        let read = read_full(&mut file, &mut buf);
        let done = !matches!(read, Ok(n) if n > 0);
        if filled.send(read.map(|n| (buf, n))).is_err() || done {
            return;
        }
    }
}

fn hash_chunks(
    filled: Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: SyncSender<Vec<u8>>,
) -> io::Result<(Digest, u64)> {
    let mut hasher = Hasher::new();
    let mut total = 0u64;
    loop {
        let (buf, n) = filled.recv().map_err(|_| io::Error::other("reader thread stopped"))??;
        if n == 0 {
            return Ok((hasher.finish(), total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        // The reader may already have stopped (it stops at the end of the
        // file); a closed channel is not an error here.
        let _ = empty.send(buf);
    }
}

/// Fills `buf` as far as the file allows; returns the bytes read (less than
/// `buf.len()` only at the end of the file).
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_paths_normalize_and_match_whole_components() {
        let ig = IgnorePaths::new(["./a//b/", "model.sig", "model.sig"]).unwrap();
        assert_eq!(ig.iter().collect::<Vec<_>>(), ["a/b", "model.sig"]);
        assert!(ig.is_ignored("a/b"));
        assert!(ig.is_ignored("a/b/c"));
        assert!(!ig.is_ignored("a/bc"));
        assert!(!ig.is_ignored("a"));
        assert!(!ig.is_ignored("sub/model.sig"));
        for bad in ["", ".", "/etc", "a/../b", "./"] {
            assert!(IgnorePaths::new([bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn canonical_order_is_component_wise() {
        let mut names = vec!["model.json", "model/x", "a-b", "a/b", "a", "B"];
        names.sort_by(|a, b| canonical_cmp(a, b));
        assert_eq!(names, ["B", "a", "a/b", "a-b", "model/x", "model.json"]);
    }

    #[test]
    fn pipelined_and_sequential_hashing_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data: Vec<u8> = (0..(PIPELINE_MIN_BYTES as usize + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        fs::write(&path, &data).unwrap();
        assert_eq!(hash_file(&path).unwrap(), (Digest::of(&data), data.len() as u64));
        let seq = hash_sequential(File::open(&path).unwrap(), 0).unwrap();
        assert_eq!(seq, (Digest::of(&data), data.len() as u64));
        let empty = dir.path().join("empty");
        fs::write(&empty, b"").unwrap();
        assert_eq!(hash_file(&empty).unwrap(), (Digest::of(b""), 0));
    }
}
