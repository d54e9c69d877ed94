//! One `.tar` per bundle, for transport; and unpacking that refuses anything
//! that could write outside its destination.
//!
//! [`pack_files`] writes a deterministic tar: entries sorted by path, mode
//! `0644`, owner 0, modification time 0, so the same bundle always gives the
//! same bytes. [`unpack`] reads a tar into a fresh directory and refuses,
//! with [`Error::UnsafeTarEntry`] and a distinct [`UnsafeEntry`] reason:
//!
//! | entry | reason |
//! |---|---|
//! | `/etc/passwd` | [`UnsafeEntry::AbsolutePath`] |
//! | `../x`, `a/../../x` | [`UnsafeEntry::ParentDir`] |
//! | a symbolic link | [`UnsafeEntry::Symlink`] |
//! | a hard link | [`UnsafeEntry::HardLink`] |
//! | a character or block device | [`UnsafeEntry::Device`] |
//! | a FIFO | [`UnsafeEntry::Fifo`] |
//! | the same path twice (also `a` and `./a`), or a file where a directory is | [`UnsafeEntry::Duplicate`] |
//! | a name with `\`, `:` or NUL, or not UTF-8 | [`UnsafeEntry::InvalidName`] |
//! | a file larger than [`UnpackLimits::max_entry_bytes`] | [`UnsafeEntry::TooLarge`] |
//! | more than [`UnpackLimits::max_entries`] entries | [`UnsafeEntry::TooManyEntries`] |
//! | files adding up to more than [`UnpackLimits::max_total_bytes`] | [`UnsafeEntry::TotalTooLarge`] |
//! | an archive longer than its entries could need | [`UnsafeEntry::ArchiveTooLarge`] |
//! | sparse files, global PAX headers, other types | [`UnsafeEntry::UnsupportedType`] |
//!
//! Unpacking writes into a hidden staging directory next to the destination
//! (`.kiln-unpack-*`), created fresh, and renames it to the destination only
//! when every entry was written; on any error the staging directory is
//! removed, so a failed unpack never leaves something that could be
//! mistaken for a bundle. Permissions, owners and times in the archive are
//! ignored: files are created with the process's defaults.
//!
//! ```
//! use kiln_artifact::pack::{pack_dir, unpack, UnpackLimits};
//! let work = tempfile::tempdir()?;
//! let dir = work.path().join("bundle");
//! std::fs::create_dir(&dir)?;
//! std::fs::write(dir.join("a.json"), b"{}")?;
//! let tar = work.path().join("bundle.tar");
//! pack_dir(&dir, &tar)?;
//! unpack(&tar, &work.path().join("copy"), &UnpackLimits::default())?;
//! assert_eq!(std::fs::read(work.path().join("copy/a.json"))?, b"{}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use tar::EntryType;

use crate::{Error, Result};

/// The most entries [`UnpackLimits::default`] accepts.
pub const DEFAULT_MAX_ENTRIES: usize = 1024;
/// The largest file [`UnpackLimits::default`] accepts: 2 GiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 2 << 30;
/// The most file bytes in total [`UnpackLimits::default`] accepts: 4 GiB.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 4 << 30;

/// Archive bytes allowed per entry beyond the file contents: headers,
/// padding and long names.
const OVERHEAD_PER_ENTRY: u64 = 64 << 10;

/// How much an archive may hold. The archive itself may be at most
/// `max_total_bytes` plus 64 KiB per entry (headers and long names) long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackLimits {
    /// Entries of any type (files and directories).
    pub max_entries: usize,
    /// Bytes of one file.
    pub max_entry_bytes: u64,
    /// Bytes of all files together.
    pub max_total_bytes: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

impl UnpackLimits {
    /// Sets the most entries.
    #[must_use]
    pub fn with_max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// Sets the largest file.
    #[must_use]
    pub fn with_max_entry_bytes(mut self, n: u64) -> Self {
        self.max_entry_bytes = n;
        self
    }

    /// Sets the most file bytes in total.
    #[must_use]
    pub fn with_max_total_bytes(mut self, n: u64) -> Self {
        self.max_total_bytes = n;
        self
    }

    fn max_archive_bytes(&self) -> u64 {
        let overhead = OVERHEAD_PER_ENTRY.saturating_mul(self.max_entries as u64 + 2);
        self.max_total_bytes.saturating_add(overhead)
    }
}

/// Why a tar entry was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeEntry {
    /// An absolute path.
    AbsolutePath,
    /// A `..` component.
    ParentDir,
    /// A name Kiln does not write: empty, not UTF-8, or with `\`, `:` or NUL.
    InvalidName(&'static str),
    /// A symbolic link.
    Symlink,
    /// A hard link.
    HardLink,
    /// A character or block device.
    Device,
    /// A named pipe.
    Fifo,
    /// Another entry type (the tar type byte).
    UnsupportedType(u8),
    /// A path seen before, or a file where a directory is (or the reverse).
    Duplicate,
    /// A file larger than the limit.
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// More entries than the limit.
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// Files adding up to more than the limit.
    TotalTooLarge {
        /// The limit.
        max: u64,
    },
    /// The archive is longer than its entries could need.
    ArchiveTooLarge {
        /// The limit, in bytes.
        max: u64,
    },
}

impl fmt::Display for UnsafeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AbsolutePath => f.write_str("absolute path"),
            Self::ParentDir => f.write_str("path leaves the destination (`..`)"),
            Self::InvalidName(why) => write!(f, "invalid name: {why}"),
            Self::Symlink => f.write_str("symbolic links are not allowed"),
            Self::HardLink => f.write_str("hard links are not allowed"),
            Self::Device => f.write_str("device files are not allowed"),
            Self::Fifo => f.write_str("named pipes are not allowed"),
            Self::UnsupportedType(b) => write!(f, "unsupported entry type {:?}", char::from(*b)),
            Self::Duplicate => f.write_str("duplicate or conflicting path"),
            Self::TooLarge { size, max } => write!(f, "{size} bytes, more than the limit of {max}"),
            Self::TooManyEntries { max } => write!(f, "more than {max} entries"),
            Self::TotalTooLarge { max } => write!(f, "files add up to more than {max} bytes"),
            Self::ArchiveTooLarge { max } => write!(f, "archive longer than {max} bytes"),
        }
    }
}

fn refuse(entry: impl AsRef<str>, reason: UnsafeEntry) -> Error {
    Error::UnsafeTarEntry {
        entry: entry.as_ref().chars().take(200).collect(),
        reason,
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Packs every regular file under `dir` (recursively) into a new tar at `out`.
///
/// # Errors
/// [`Error::AlreadyExists`] when `out` exists; [`Error::UnsafeTarEntry`]
/// for a symbolic link or special file under `dir`; [`Error::Io`].
pub fn pack_dir(dir: &Path, out: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(dir, "", &mut files)?;
    pack_files(dir, &files, out)
}

fn collect_files(root: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    let here = root.join(prefix);
    for entry in fs::read_dir(&here).map_err(io_err(&here))? {
        let entry = entry.map_err(io_err(&here))?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| refuse(n.to_string_lossy(), UnsafeEntry::InvalidName("not UTF-8")))?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(io_err(&entry.path()))?;
        if kind.is_dir() {
            collect_files(root, &rel, out)?;
        } else if kind.is_file() {
            out.push(rel);
        } else if kind.is_symlink() {
            return Err(refuse(rel, UnsafeEntry::Symlink));
        } else {
            return Err(refuse(rel, UnsafeEntry::Device));
        }
    }
    Ok(())
}

/// Packs the files `paths` (relative to `dir`, `/`-separated) into a new
/// tar at `out`, deterministically (sorted, mode `0644`, owner 0, time 0).
/// The tar appears at `out` complete or not at all.
///
/// # Errors
/// [`Error::AlreadyExists`] when `out` exists; [`Error::UnsafeTarEntry`]
/// for a path that is not relative and normal, or named twice;
/// [`Error::Io`].
pub fn pack_files(dir: &Path, paths: &[String], out: &Path) -> Result<()> {
    let _span = tracing::debug_span!("pack", dir = %dir.display(), out = %out.display()).entered();
    if out.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists { path: out.to_owned() });
    }
    let sorted: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    if sorted.len() != paths.len() {
        let dup = paths.iter().find(|p| paths.iter().filter(|q| q == p).count() > 1);
        return Err(refuse(dup.map_or("", String::as_str), UnsafeEntry::Duplicate));
    }
    let parent = parent_of(out);
    let mut tmp_builder = tempfile::Builder::new();
    tmp_builder.prefix(".kiln-pack-");
    #[cfg(unix)]
    tmp_builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let tmp = tmp_builder.tempfile_in(parent).map_err(io_err(parent))?;
    let mut builder = tar::Builder::new(io::BufWriter::new(tmp.as_file()));
    for rel in sorted {
        let components = normal_components(rel.as_bytes()).map_err(|reason| refuse(rel, reason))?;
        if components.is_empty() {
            return Err(refuse(rel, UnsafeEntry::InvalidName("empty path")));
        }
        let path = dir.join(rel);
        let meta = path.symlink_metadata().map_err(io_err(&path))?;
        if !meta.is_file() {
            let reason = if meta.file_type().is_symlink() {
                UnsafeEntry::Symlink
            } else {
                UnsafeEntry::Device
            };
            return Err(refuse(rel, reason));
        }
        let file = File::open(&path).map_err(io_err(&path))?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_size(meta.len());
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, rel, BufReader::new(file).take(meta.len()))
            .map_err(io_err(&path))?;
    }
    let writer = builder.into_inner().map_err(io_err(out))?;
    writer
        .into_inner()
        .map_err(|e| io_err(out)(e.into_error()))?
        .sync_all()
        .map_err(io_err(out))?;
    tmp.persist_noclobber(out).map_err(|e| match e.error.kind() {
        io::ErrorKind::AlreadyExists => Error::AlreadyExists { path: out.to_owned() },
        _ => io_err(out)(e.error),
    })?;
    Ok(())
}

/// Unpacks the tar at `tar` into the new directory `dest`.
///
/// # Errors
/// [`Error::AlreadyExists`] when `dest` exists; [`Error::UnsafeTarEntry`]
/// for a refused entry (see the [module documentation](self));
/// [`Error::Io`] when the archive is malformed or a file cannot be written.
pub fn unpack(tar: &Path, dest: &Path, limits: &UnpackLimits) -> Result<()> {
    let file = File::open(tar).map_err(io_err(tar))?;
    let len = file.metadata().map_err(io_err(tar))?.len();
    let max = limits.max_archive_bytes();
    if len > max {
        return Err(refuse(tar.display().to_string(), UnsafeEntry::ArchiveTooLarge { max }));
    }
    unpack_reader(BufReader::new(file), dest, limits).map_err(|e| match e {
        // Name the archive in I/O errors about reading it.
        Error::Io { path, source } if path.as_os_str().is_empty() => Error::Io {
            path: tar.to_owned(),
            source,
        },
        other => other,
    })
}

/// Unpacks a tar read from `reader` into the new directory `dest`; see [`unpack`].
///
/// # Errors
/// As [`unpack`].
pub fn unpack_reader<R: Read>(reader: R, dest: &Path, limits: &UnpackLimits) -> Result<()> {
    let _span = tracing::debug_span!("unpack", dest = %dest.display()).entered();
    write_fresh_dir(dest, ".kiln-unpack-", |staging| extract(reader, staging, limits))
}

/// Creates the directory `dest`, which must not exist, whole or not at all:
/// `fill` writes into a hidden staging directory beside it (`<prefix>*`,
/// mode `0755` less the umask), which is renamed to `dest` when `fill`
/// succeeds and removed when anything fails.
pub(crate) fn write_fresh_dir(dest: &Path, prefix: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dest.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists { path: dest.to_owned() });
    }
    let parent = parent_of(dest);
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755));
    let staging = builder.tempdir_in(parent).map_err(io_err(parent))?;
    fill(staging.path())?;
    let staged = staging.keep();
    fs::rename(&staged, dest).map_err(|e| {
        let _ = fs::remove_dir_all(&staged);
        io_err(dest)(e)
    })
}

pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A reader that stops at a byte budget and remembers that it did.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One more byte tells "exactly at the budget" from "beyond it".
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.exceeded = true;
                return Err(io::Error::other("archive too large"));
            }
            return Ok(0);
        }
        let cap = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..cap])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes the archive's entries under `root` (a fresh, empty directory).
fn extract<R: Read>(reader: R, root: &Path, limits: &UnpackLimits) -> Result<()> {
    let max_archive = limits.max_archive_bytes();
    let mut limited = Limited {
        inner: reader,
        left: max_archive,
        exceeded: false,
    };
    let result = extract_entries(&mut limited, root, limits);
    if limited.exceeded {
        return Err(refuse("<archive>", UnsafeEntry::ArchiveTooLarge { max: max_archive }));
    }
    result
}

fn extract_entries<R: Read>(reader: &mut Limited<R>, root: &Path, limits: &UnpackLimits) -> Result<()> {
    // I/O errors about the archive itself carry an empty path; `unpack` names the file.
    let archive_err = io_err(Path::new(""));
    let mut archive = tar::Archive::new(reader);
    let mut files = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    let mut total = 0u64;
    for (i, entry) in archive.entries().map_err(archive_err)?.enumerate() {
        if i >= limits.max_entries {
            return Err(refuse(
                format!("#{i}"),
                UnsafeEntry::TooManyEntries {
                    max: limits.max_entries,
                },
            ));
        }
        let mut entry = entry.map_err(io_err(Path::new("")))?;
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let is_dir = match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => false,
            EntryType::Directory => true,
            EntryType::Symlink => return Err(refuse(shown, UnsafeEntry::Symlink)),
            EntryType::Link => return Err(refuse(shown, UnsafeEntry::HardLink)),
            EntryType::Char | EntryType::Block => return Err(refuse(shown, UnsafeEntry::Device)),
            EntryType::Fifo => return Err(refuse(shown, UnsafeEntry::Fifo)),
            other => return Err(refuse(shown, UnsafeEntry::UnsupportedType(other.as_byte()))),
        };
        let components = normal_components(&raw_name).map_err(|reason| refuse(&shown, reason))?;
        let key = components.join("/");
        // Every ancestor must be (or become) a directory, never a file.
        for end in 1..components.len() {
            let ancestor = components[..end].join("/");
            if files.contains(&ancestor) {
                return Err(refuse(&shown, UnsafeEntry::Duplicate));
            }
            dirs.insert(ancestor);
        }
        if is_dir {
            if files.contains(&key) {
                return Err(refuse(&shown, UnsafeEntry::Duplicate));
            }
            if !key.is_empty() {
                let path = root.join(&key);
                fs::create_dir_all(&path).map_err(io_err(&path))?;
                dirs.insert(key);
            }
            continue;
        }
        if key.is_empty() {
            return Err(refuse(&shown, UnsafeEntry::InvalidName("empty path")));
        }
        if dirs.contains(&key) || !files.insert(key.clone()) {
            return Err(refuse(&shown, UnsafeEntry::Duplicate));
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            return Err(refuse(
                &shown,
                UnsafeEntry::TooLarge {
                    size,
                    max: limits.max_entry_bytes,
                },
            ));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(refuse(
                &shown,
                UnsafeEntry::TotalTooLarge {
                    max: limits.max_total_bytes,
                },
            ));
        }
        let path = root.join(&key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let copied = io::copy(&mut (&mut entry).take(size), &mut out).map_err(io_err(Path::new("")))?;
        if copied != size {
            return Err(io_err(Path::new(""))(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("entry {shown:?} is cut short: {copied} of {size} bytes"),
            )));
        }
        out.flush().map_err(io_err(&path))?;
    }
    Ok(())
}

/// The normal components of a `/`-separated relative tar path (`.` and
/// empty components dropped), or why the path is refused.
fn normal_components(raw: &[u8]) -> std::result::Result<Vec<&str>, UnsafeEntry> {
    let name = std::str::from_utf8(raw).map_err(|_| UnsafeEntry::InvalidName("not UTF-8"))?;
    if name.starts_with('/') {
        return Err(UnsafeEntry::AbsolutePath);
    }
    let mut out = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(UnsafeEntry::ParentDir),
            _ if c.contains(['\\', ':', '\0']) => {
                return Err(UnsafeEntry::InvalidName("contains `\\`, `:` or NUL"));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Where [`Bundle::open`](crate::bundle::Bundle::open) unpacks a tar: a
/// fresh temporary directory, removed when dropped.
pub(crate) fn unpack_to_temp(tar: &Path, limits: &UnpackLimits) -> Result<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::Builder::new()
        .prefix("kiln-bundle-")
        .tempdir()
        .map_err(io_err(&std::env::temp_dir()))?;
    let dir = tmp.path().join("bundle");
    unpack(tar, &dir, limits)?;
    Ok((tmp, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert_eq!(normal_components(b"./a//b/."), Ok(vec!["a", "b"]));
        assert_eq!(normal_components(b"/a"), Err(UnsafeEntry::AbsolutePath));
        assert_eq!(normal_components(b"a/../b"), Err(UnsafeEntry::ParentDir));
        assert!(matches!(normal_components(b"C:\\x"), Err(UnsafeEntry::InvalidName(_))));
        assert!(matches!(
            normal_components(&[0xff, b'a']),
            Err(UnsafeEntry::InvalidName(_))
        ));
    }

    #[test]
    fn limited_reader_flags_overflow_only_beyond_budget() {
        let mut exact = Limited {
            inner: &b"abc"[..],
            left: 3,
            exceeded: false,
        };
        let mut v = Vec::new();
        assert!(exact.read_to_end(&mut v).is_ok() && !exact.exceeded);
        let mut over = Limited {
            inner: &b"abcd"[..],
            left: 3,
            exceeded: false,
        };
        assert!(over.read_to_end(&mut Vec::new()).is_err() && over.exceeded);
    }
}
