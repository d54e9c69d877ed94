//! Comparing a model directory with a verified manifest, and naming what
//! differs.

use std::collections::HashMap;

use kiln_core::Digest;

use crate::Error;
use crate::hashing::HashedFile;

/// One difference between the signed files and the directory.
#[derive(Debug, PartialEq, Eq)]
enum Problem<'a> {
    Swapped(&'a str, &'a str),
    Renamed { from: &'a str, to: &'a str },
    Missing(&'a str),
    Unlisted(&'a str),
    Modified(&'a str, Digest, &'a HashedFile),
}

impl Problem<'_> {
    fn into_error(self) -> Error {
        match self {
            Self::Swapped(a, b) => Error::FilesSwapped {
                a: a.to_owned(),
                b: b.to_owned(),
            },
            Self::Renamed { from, to } => Error::FileRenamed {
                from: from.to_owned(),
                to: to.to_owned(),
            },
            Self::Missing(path) => Error::MissingFile { path: path.to_owned() },
            Self::Unlisted(path) => Error::UnlistedFile { path: path.to_owned() },
            Self::Modified(path, expected, actual) => Error::FileModified {
                path: path.to_owned(),
                expected,
                actual: actual.digest,
                actual_size: actual.size,
            },
        }
    }
}

/// Checks `actual` (hashed from disk) against `signed`; on a difference,
/// the most specific one is returned (a swap, then a rename, then a missing,
/// an unlisted and a modified file, each the first in `signed`'s or
/// `actual`'s order) and every difference is logged.
pub(super) fn compare(signed: &[(String, Digest)], actual: &[HashedFile]) -> Result<(), Error> {
    let problems = find_problems(signed, actual);
    for p in &problems {
        tracing::debug!(problem = ?p, "model directory differs from its signature");
    }
    match problems.into_iter().min_by_key(|p| match p {
        Problem::Swapped(..) => 0,
        Problem::Renamed { .. } => 1,
        Problem::Missing(_) => 2,
        Problem::Unlisted(_) => 3,
        Problem::Modified(..) => 4,
    }) {
        None => Ok(()),
        Some(p) => Err(p.into_error()),
    }
}

fn find_problems<'a>(signed: &'a [(String, Digest)], actual: &'a [HashedFile]) -> Vec<Problem<'a>> {
    let on_disk: HashMap<&str, &HashedFile> = actual.iter().map(|f| (f.path.as_str(), f)).collect();
    let listed: HashMap<&str, Digest> = signed.iter().map(|(p, d)| (p.as_str(), *d)).collect();

    let mut missing = Vec::new();
    let mut modified = Vec::new();
    for (path, expected) in signed {
        match on_disk.get(path.as_str()) {
            None => missing.push((path.as_str(), *expected)),
            Some(f) if f.digest != *expected => modified.push((path.as_str(), *expected, *f)),
            Some(_) => {}
        }
    }
    let unlisted: Vec<&HashedFile> = actual
        .iter()
        .filter(|f| !listed.contains_key(f.path.as_str()))
        .collect();

    let mut problems = Vec::new();
    // Swaps: two modified files, each holding what the other was signed with.
    let mut paired = vec![false; modified.len()];
    let by_expected: HashMap<Digest, usize> = modified.iter().enumerate().map(|(i, (_, e, _))| (*e, i)).collect();
    for (i, (path, expected, found)) in modified.iter().enumerate() {
        if paired[i] {
            continue;
        }
        if let Some(&j) = by_expected.get(&found.digest) {
            let (other, other_expected, other_found) = modified[j];
            if j != i && !paired[j] && other_found.digest == *expected && other_expected != *expected {
                paired[i] = true;
                paired[j] = true;
                problems.push(Problem::Swapped(path, other));
            }
        }
    }
    // Renames: a missing file whose signed contents sit under an unlisted name.
    let mut renamed_to = vec![false; unlisted.len()];
    let mut renamed_from = vec![false; missing.len()];
    for (i, (path, expected)) in missing.iter().enumerate() {
        if let Some(j) = unlisted
            .iter()
            .enumerate()
            .position(|(j, f)| !renamed_to[j] && f.digest == *expected)
        {
            renamed_to[j] = true;
            renamed_from[i] = true;
            problems.push(Problem::Renamed {
                from: path,
                to: &unlisted[j].path,
            });
        }
    }
    problems.extend(
        missing
            .iter()
            .zip(&renamed_from)
            .filter(|(_, r)| !**r)
            .map(|((p, _), _)| Problem::Missing(p)),
    );
    problems.extend(
        unlisted
            .iter()
            .zip(&renamed_to)
            .filter(|(_, r)| !**r)
            .map(|(f, _)| Problem::Unlisted(&f.path)),
    );
    problems.extend(
        modified
            .iter()
            .zip(&paired)
            .filter(|(_, s)| !**s)
            .map(|((p, e, f), _)| Problem::Modified(p, *e, f)),
    );
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &[u8]) -> HashedFile {
        HashedFile {
            path: path.to_owned(),
            digest: Digest::of(contents),
            size: contents.len() as u64,
        }
    }

    fn signed(files: &[(&str, &[u8])]) -> Vec<(String, Digest)> {
        files.iter().map(|(p, c)| ((*p).to_owned(), Digest::of(c))).collect()
    }

    #[test]
    fn names_each_kind_of_difference() {
        let s = signed(&[("a", b"A"), ("b", b"B"), ("c", b"C")]);
        assert!(compare(&s, &[file("a", b"A"), file("b", b"B"), file("c", b"C")]).is_ok());
        let err = compare(&s, &[file("a", b"B"), file("b", b"A"), file("c", b"C")]).unwrap_err();
        assert!(
            matches!(err, Error::FilesSwapped { ref a, ref b } if a == "a" && b == "b"),
            "{err}"
        );
        let err = compare(&s, &[file("a", b"A"), file("b", b"B"), file("d", b"C")]).unwrap_err();
        assert!(
            matches!(err, Error::FileRenamed { ref from, ref to } if from == "c" && to == "d"),
            "{err}"
        );
        let err = compare(&s, &[file("a", b"A"), file("b", b"B")]).unwrap_err();
        assert!(matches!(err, Error::MissingFile { ref path } if path == "c"), "{err}");
        let err = compare(
            &s,
            &[file("a", b"A"), file("b", b"B"), file("c", b"C"), file("e", b"E")],
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnlistedFile { ref path } if path == "e"), "{err}");
        let err = compare(&s, &[file("a", b"A"), file("b", b"B"), file("c", b"")]).unwrap_err();
        assert!(
            matches!(err, Error::FileModified { ref path, actual_size: 0, .. } if path == "c"),
            "{err}"
        );
    }

    #[test]
    fn two_files_with_equal_contents_swapped_is_no_difference() {
        let s = signed(&[("a", b"X"), ("b", b"X")]);
        assert!(compare(&s, &[file("a", b"X"), file("b", b"X")]).is_ok());
    }
}
