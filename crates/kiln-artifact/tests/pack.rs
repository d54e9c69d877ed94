//! Packing is deterministic; unpacking refuses every crafted archive with its
//! own reason, writes nothing outside the destination, and leaves nothing
//! behind when it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod bundle_support;

use std::fs;
use std::path::Path;

use bundle_support::{key, parts, trust};
use kiln_artifact::pack::{UnpackLimits, UnsafeEntry, pack_dir, unpack, unpack_reader};
use kiln_artifact::{Bundle, BundleWriter, Error};
use tar::{EntryType, Header};

/// One raw tar entry: a GNU header with `name` written as is (the tar
/// crate's own setters refuse `..` and absolute paths) and `data`.
fn entry(name: &[u8], kind: EntryType, data: &[u8], link: &[u8]) -> Vec<u8> {
    let mut h = Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn file(name: &str, data: &[u8]) -> Vec<u8> {
    entry(name.as_bytes(), EntryType::Regular, data, b"")
}

/// A PAX extended header setting `path` for the next entry.
fn pax_path(path: &str) -> Vec<u8> {
    let record = |len: usize| format!("{len} path={path}\n");
    let mut len = record(0).len();
    while record(len).len() != len {
        len = record(len).len();
    }
    entry(b"././@PaxHeader", EntryType::XHeader, record(len).as_bytes(), b"")
}

fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend([0u8; 1024]);
    out
}

/// Unpacks `tar` into `<work>/out` and checks that a failure left no trace
/// (no destination, no staging directory, nothing beside it).
fn unpack_bytes(work: &Path, tar: &[u8], limits: &UnpackLimits) -> Result<(), Error> {
    let dest = work.join("out");
    let before: Vec<_> = fs::read_dir(work).unwrap().map(|e| e.unwrap().file_name()).collect();
    let result = unpack_reader(tar, &dest, limits);
    if result.is_err() {
        let after: Vec<_> = fs::read_dir(work).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(before, after, "a failed unpack left files behind");
    }
    result
}

fn reason(work: &Path, tar: &[u8]) -> UnsafeEntry {
    reason_with(work, tar, &UnpackLimits::default())
}

fn reason_with(work: &Path, tar: &[u8], limits: &UnpackLimits) -> UnsafeEntry {
    match unpack_bytes(work, tar, limits) {
        Err(Error::UnsafeTarEntry { reason, .. }) => reason,
        other => panic!("expected a refused entry, got {other:?}"),
    }
}

#[test]
fn crafted_archives_are_refused_with_distinct_reasons() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let ok = file("manifest.json", b"{}");
    let cases: Vec<(&str, Vec<u8>, UnsafeEntry)> = vec![
        (
            "parent",
            archive(&[ok.clone(), file("../x", b"evil")]),
            UnsafeEntry::ParentDir,
        ),
        (
            "nested parent",
            archive(&[file("a/../../x", b"evil")]),
            UnsafeEntry::ParentDir,
        ),
        (
            "absolute",
            archive(&[file("/tmp/kiln-evil", b"evil")]),
            UnsafeEntry::AbsolutePath,
        ),
        (
            "symlink",
            archive(&[entry(b"link", EntryType::Symlink, b"", b"/etc/passwd")]),
            UnsafeEntry::Symlink,
        ),
        (
            "hardlink",
            archive(&[ok.clone(), entry(b"hard", EntryType::Link, b"", b"manifest.json")]),
            UnsafeEntry::HardLink,
        ),
        (
            "duplicate",
            archive(&[ok.clone(), file("manifest.json", b"{\"x\":1}")]),
            UnsafeEntry::Duplicate,
        ),
        (
            "duplicate via ./",
            archive(&[ok.clone(), file("./manifest.json", b"[]")]),
            UnsafeEntry::Duplicate,
        ),
        (
            "file then directory",
            archive(&[file("a", b"x"), file("a/b", b"y")]),
            UnsafeEntry::Duplicate,
        ),
        (
            "directory then file",
            archive(&[entry(b"d/", EntryType::Directory, b"", b""), file("d", b"y")]),
            UnsafeEntry::Duplicate,
        ),
        (
            "fifo",
            archive(&[entry(b"pipe", EntryType::Fifo, b"", b"")]),
            UnsafeEntry::Fifo,
        ),
        (
            "char device",
            archive(&[entry(b"tty", EntryType::Char, b"", b"")]),
            UnsafeEntry::Device,
        ),
        (
            "block device",
            archive(&[entry(b"sda", EntryType::Block, b"", b"")]),
            UnsafeEntry::Device,
        ),
        (
            "unknown type",
            archive(&[entry(b"odd", EntryType::new(b'Z'), b"", b"")]),
            UnsafeEntry::UnsupportedType(b'Z'),
        ),
        (
            "pax path override",
            archive(&[pax_path("../pax-evil"), file("innocent", b"evil")]),
            UnsafeEntry::ParentDir,
        ),
        (
            "gnu long name",
            archive(&[
                entry(b"././@LongLink", EntryType::GNULongName, b"../long-evil\0", b""),
                file("innocent", b"evil"),
            ]),
            UnsafeEntry::ParentDir,
        ),
        (
            "backslash",
            archive(&[file("..\\x", b"evil")]),
            UnsafeEntry::InvalidName("contains `\\`, `:` or NUL"),
        ),
    ];
    let mut seen = Vec::new();
    for (name, tar, expected) in cases {
        let got = reason(w, &tar);
        assert_eq!(got, expected, "{name}");
        seen.push(got);
    }
    // Nothing escaped the destination.
    for evil in ["x", "pax-evil", "long-evil"] {
        assert!(!w.join(evil).exists(), "{evil} was written outside");
    }
    assert!(!Path::new("/tmp/kiln-evil").exists());
}

#[test]
fn limits_are_enforced() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tar = archive(&[file("a", &[1; 100]), file("b", &[2; 100]), file("c", &[3; 100])]);
    assert_eq!(
        reason_with(w, &tar, &UnpackLimits::default().with_max_entry_bytes(99)),
        UnsafeEntry::TooLarge { size: 100, max: 99 }
    );
    assert_eq!(
        reason_with(w, &tar, &UnpackLimits::default().with_max_entries(2)),
        UnsafeEntry::TooManyEntries { max: 2 }
    );
    assert_eq!(
        reason_with(w, &tar, &UnpackLimits::default().with_max_total_bytes(250)),
        UnsafeEntry::TotalTooLarge { max: 250 }
    );
    // An archive file longer than its entries could need is refused unread.
    let limits = UnpackLimits::default().with_max_entries(1).with_max_total_bytes(1000);
    let mut padded = archive(&[file("a", b"x")]);
    padded.resize(1 << 20, 0);
    fs::write(w.join("padded.tar"), &padded).unwrap();
    let err = unpack(&w.join("padded.tar"), &w.join("out"), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsafeTarEntry {
                reason: UnsafeEntry::ArchiveTooLarge { .. },
                ..
            }
        ),
        "{err}"
    );
    fs::remove_file(w.join("padded.tar")).unwrap();
    // So is a stream whose long-name header alone exceeds the budget (the
    // tar reader would hold it in memory).
    let huge_name = vec![b'n'; 300 << 10];
    let long = archive(&[
        entry(b"././@LongLink", EntryType::GNULongName, &huge_name, b""),
        file("a", b"x"),
    ]);
    assert!(matches!(
        reason_with(w, &long, &limits),
        UnsafeEntry::ArchiveTooLarge { .. }
    ));
    // Within the limits, the same archive unpacks.
    unpack_bytes(w, &tar, &UnpackLimits::default()).unwrap();
    assert_eq!(fs::read(w.join("out/c")).unwrap(), [3; 100]);
}

#[test]
fn truncated_archives_fail_without_leftovers() {
    let work = tempfile::tempdir().unwrap();
    let tar = archive(&[file("a", &[7; 2000])]);
    let err = unpack_bytes(work.path(), &tar[..1200], &UnpackLimits::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn pack_is_deterministic_and_unpack_round_trips() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("src");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("b.json"), "{}").unwrap();
    fs::write(dir.join("sub/a.bin"), [0u8, 1, 2, 255]).unwrap();
    let long = "n".repeat(150);
    fs::write(dir.join(&long), "long name").unwrap();
    pack_dir(&dir, &work.path().join("1.tar")).unwrap();
    pack_dir(&dir, &work.path().join("2.tar")).unwrap();
    let (one, two) = (
        fs::read(work.path().join("1.tar")).unwrap(),
        fs::read(work.path().join("2.tar")).unwrap(),
    );
    assert_eq!(one, two);
    assert!(matches!(
        pack_dir(&dir, &work.path().join("1.tar")),
        Err(Error::AlreadyExists { .. })
    ));

    let out = work.path().join("out");
    unpack(&work.path().join("1.tar"), &out, &UnpackLimits::default()).unwrap();
    assert_eq!(fs::read(out.join("sub/a.bin")).unwrap(), [0, 1, 2, 255]);
    assert_eq!(fs::read(out.join(&long)).unwrap(), b"long name");
    assert!(matches!(
        unpack(&work.path().join("1.tar"), &out, &UnpackLimits::default()),
        Err(Error::AlreadyExists { .. })
    ));
}

#[cfg(unix)]
#[test]
fn packing_refuses_symlinks() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("src");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
    let err = pack_dir(&dir, &work.path().join("x.tar")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsafeTarEntry {
                reason: UnsafeEntry::Symlink,
                ..
            }
        ),
        "{err}"
    );
    assert!(!work.path().join("x.tar").exists());
}

#[test]
fn bundles_open_from_a_tar_and_refuse_a_crafted_one() {
    let p = parts(11, 20, &[], true);
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let signed = BundleWriter::new(p.schema.clone(), p.pipeline.clone(), p.model.clone())
        .unwrap()
        .write(work.path().join("b"))
        .unwrap()
        .sign(&key)
        .unwrap();
    let tar = work.path().join("b.tar");
    signed.pack(&tar).unwrap();
    let opened = Bundle::open(&tar, &trust(&key)).unwrap();
    assert_eq!(opened.digest(), signed.digest());

    // The same archive with a traversal entry appended is refused before verification.
    let mut evil = fs::read(&tar).unwrap();
    let end = evil.len() - 1024;
    evil.truncate(end);
    evil.extend(archive(&[file("../escape", b"x")]));
    let evil_path = work.path().join("evil.tar");
    fs::write(&evil_path, evil).unwrap();
    let err = Bundle::open(&evil_path, &trust(&key)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsafeTarEntry {
                reason: UnsafeEntry::ParentDir,
                ..
            }
        ),
        "{err}"
    );
    assert!(!work.path().join("escape").exists());
}
