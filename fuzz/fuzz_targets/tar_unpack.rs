//! Unpacking arbitrary bytes as a bundle tar: never panics, and never
//! writes anything outside the destination; a failure leaves nothing behind.
#![no_main]

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use kiln_artifact::pack::{UnpackLimits, unpack_reader};
use libfuzzer_sys::fuzz_target;

fn work() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("no temporary directory: {e}"),
    })
    .path()
}

/// Every regular file under `dir`, and whether anything else (a link, a
/// device) is there.
fn regular_files_only(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else { return false };
    entries.flatten().all(|e| match e.file_type() {
        Ok(t) if t.is_dir() => regular_files_only(&e.path()),
        Ok(t) => t.is_file(),
        Err(_) => false,
    })
}

fuzz_target!(|data: &[u8]| {
    let work = work();
    let dest = work.join("out");
    let limits = UnpackLimits::default()
        .with_max_entries(64)
        .with_max_entry_bytes(1 << 20)
        .with_max_total_bytes(4 << 20);
    let result = unpack_reader(data, &dest, &limits);
    let names: Vec<_> = fs::read_dir(work)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    match result {
        Ok(()) => {
            assert_eq!(
                names,
                [std::ffi::OsString::from("out")],
                "unpack wrote beside its destination"
            );
            assert!(
                regular_files_only(&dest),
                "unpack created something other than files and directories"
            );
            if let Err(e) = fs::remove_dir_all(&dest) {
                panic!("cannot clean up: {e}");
            }
        }
        Err(_) => assert!(names.is_empty(), "a failed unpack left {names:?}"),
    }
});
