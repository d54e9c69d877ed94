//! Malformed CSV: every case is a clear error naming the line and column
//! (or an accepted quirk, such as a byte order mark), never a panic.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use kiln_core::{CsvReader, DType, Error, Feature, InferOptions, Schema};

fn infer(bytes: &[u8]) -> Result<Schema, Error> {
    Schema::infer_csv_bytes(bytes, "bad.csv", &InferOptions::default())
}

fn schema_ab() -> Schema {
    Schema::new(vec![Feature::new("a", DType::Int64), Feature::new("b", DType::String)]).unwrap()
}

fn read(bytes: &[u8]) -> Result<kiln_core::Batch, Error> {
    CsvReader::new(schema_ab()).read_bytes(bytes, "bad.csv")
}

/// Asserts a CSV error at `line`, in `column` when given, whose message contains `needle`.
#[track_caller]
fn assert_csv_error(result: Result<impl std::fmt::Debug, Error>, line: u64, column: Option<&str>, needle: &str) {
    match result {
        Err(Error::Csv {
            source_name,
            line: l,
            column: c,
            message,
        }) => {
            assert_eq!(source_name, "bad.csv");
            assert_eq!(l, line, "{message}");
            assert_eq!(c.as_deref(), column, "{message}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn ragged_rows() {
    let csv = b"a,b\n1,x\n2\n3,y\n";
    assert_csv_error(infer(csv), 3, None, "expected 2 fields as in the header, found 1");
    assert_csv_error(read(csv), 3, None, "expected 2 fields as in the header, found 1");
    assert_csv_error(infer(b"a,b\n1,x,extra\n"), 2, None, "found 3");
    let e = infer(csv).unwrap_err().to_string();
    assert_eq!(e, "bad.csv: line 3: expected 2 fields as in the header, found 1");
}

#[test]
fn bad_utf8() {
    assert_csv_error(
        infer(b"a,b\n1,x\n2,\xff\xfe\n"),
        3,
        Some("b"),
        "invalid UTF-8 at byte 0",
    );
    assert_csv_error(read(b"a,b\n1,ok\xc3\n"), 2, Some("b"), "invalid UTF-8 at byte 2");
    assert_csv_error(infer(b"a,\xffb\n1,2\n"), 1, Some("#2"), "header is not valid UTF-8");
    assert_csv_error(read(b"a,\xffb\n1,2\n"), 1, Some("#2"), "header is not valid UTF-8");
}

#[test]
fn unbalanced_quotes() {
    // In the last column, the open quote swallows the rest of the file.
    for csv in [&b"a,b\n1,\"x\n2,y\n3,z\n"[..], b"a,b\r\n1,\"x\r\n2,y"] {
        assert_csv_error(infer(csv), 2, None, "never closed (unbalanced quote)");
        assert_csv_error(read(csv), 2, None, "never closed (unbalanced quote)");
    }
    // Elsewhere, it swallows delimiters and the row comes out short.
    let csv = b"a,b\n\"1,x\n2,y\n";
    assert_csv_error(
        infer(csv),
        2,
        None,
        "found 1 (a field spans several lines: is a quote unbalanced?)",
    );
    assert_csv_error(read(csv), 2, None, "is a quote unbalanced?");
    // A closed multi-line field at the very end is fine, with or without a final line break.
    for csv in [
        &b"a,b\n1,\"x\ny\"\n"[..],
        b"a,b\n1,\"x\ny\"",
        b"a,b\n1,\"x\n\"\"y\"\"\"\r\n",
    ] {
        assert_eq!(read(csv).unwrap().num_rows(), 1);
        assert_eq!(infer(csv).unwrap().len(), 2);
    }
}

#[test]
fn wrong_types() {
    let e = read(b"a,b\n1,x\n2.5,y\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.csv: line 3, column \"a\": expected an integer, got \"2.5\""
    );
    let schema = Schema::new(vec![
        Feature::new("t", DType::Timestamp),
        Feature::new("f", DType::Bool),
    ])
    .unwrap();
    let r = CsvReader::new(schema);
    assert_csv_error(
        r.read_bytes(b"t,f\n2024-13-01,true\n", "bad.csv"),
        2,
        Some("t"),
        "timestamp",
    );
    assert_csv_error(
        r.read_bytes(b"t,f\n2024-01-01,maybe\n", "bad.csv"),
        2,
        Some("f"),
        "boolean",
    );
}

#[test]
fn empty_and_header_only() {
    for (bytes, what) in [(&b""[..], "no header row"), (b"\n\n", "no header row")] {
        let e = infer(bytes).unwrap_err();
        assert!(
            matches!(&e, Error::Empty(m) if m.contains("bad.csv") && m.contains(what)),
            "{e:?}"
        );
    }
    for bytes in [&b"a,b\n"[..], b"a,b", b"a,b\n\n\n"] {
        let e = infer(bytes).unwrap_err();
        assert!(matches!(&e, Error::Empty(m) if m == "bad.csv"), "{e:?}");
        assert_eq!(e.to_string(), "bad.csv: no data rows");
    }
    // The reader gives an empty batch for a header-only file.
    assert_eq!(read(b"a,b\n").map(|b| b.num_rows()).ok(), Some(0));
}

#[test]
fn header_problems() {
    assert_csv_error(infer(b"a,b,a\n1,2,3\n"), 1, Some("a"), "twice");
    assert_csv_error(infer(b"a, a \n1,2\n"), 1, Some("a"), "twice");
    assert_csv_error(infer(b"a,,b\n1,2,3\n"), 1, Some("#2"), "no name");
    let with_label = InferOptions::default().with_label("species");
    let e = Schema::infer_csv_bytes(b"a\n1\n", "bad.csv", &with_label);
    assert_csv_error(e, 1, Some("species"), "no such column");
}

#[test]
fn million_column_header() {
    let n = 1_000_000;
    let mut header = (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    header.push('\n');
    // Header only: rejected before anything per column is built.
    assert_csv_error(
        infer(header.as_bytes()),
        1,
        None,
        "1000000 columns, more than the limit of 100000",
    );
    let mut with_row = header.clone();
    with_row.push_str(&vec!["1"; n].join(","));
    with_row.push('\n');
    assert_csv_error(infer(with_row.as_bytes()), 1, None, "more than the limit");
    // The limit is configurable; below it a wide file infers fine.
    let narrow = InferOptions::default().with_max_columns(10);
    assert_csv_error(
        Schema::infer_csv_bytes(b"a,b,c,d,e,f,g,h,i,j,k\n", "bad.csv", &narrow),
        1,
        None,
        "11 columns",
    );
    // The reader maps a wide header onto a small schema without trouble.
    let schema = Schema::new(vec![Feature::new("c999999", DType::Int64)]).unwrap();
    let batch = CsvReader::new(schema)
        .read_bytes(with_row.as_bytes(), "wide.csv")
        .unwrap();
    assert_eq!(batch.num_rows(), 1);
}

#[test]
fn byte_order_mark_is_ignored() {
    let csv = "\u{feff}a,b\n1,x\n2,x\n".as_bytes();
    let schema = infer(csv).unwrap();
    assert_eq!(schema.features()[0].name, "a");
    assert_eq!(schema.features()[0].dtype, DType::Int64);
    assert_eq!(read(csv).unwrap().num_rows(), 2);
}

#[test]
fn io_errors_name_the_file() {
    let e = Schema::infer_csv("/nonexistent/kiln/data.csv", &InferOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/kiln/data.csv"), "{e}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A deterministic sweep of short byte strings drawn from CSV-significant bytes.
    let alphabet = b"a,\"\n\r1.\xff\xef\xbb\xbf ";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..5_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 24) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| alphabet[((state >> (i % 60)) as usize + i) % alphabet.len()])
            .collect();
        if let Ok(schema) = infer(&bytes) {
            // An inferred schema reads the data it came from.
            CsvReader::new(schema).read_bytes(&bytes, "bad.csv").unwrap();
        }
    }
}

#[test]
fn line_numbers_count_blank_lines_and_crlf() {
    // The bad cell is on line 6 in each file.
    for csv in [
        &b"a,b\n1,x\n\n\n2,y\nz,z\n"[..],
        b"a,b\r\n1,x\r\n\r\n\r\n2,y\r\nz,z\r\n",
        b"a,b\r\n1,\"x\r\ny\"\r\n\r\n2,y\r\nz,z",
    ] {
        assert_csv_error(read(csv), 6, Some("a"), "expected an integer");
    }
    // Blank lines are skipped, also past the reader's buffer.
    let mut long = b"a,b\n".to_vec();
    long.extend(std::iter::repeat_n(b'\n', 20_000));
    long.extend(b"z,x\n1,y\n");
    assert_csv_error(read(&long), 20_002, Some("a"), "expected an integer");
    let mut mixed = b"a,b\n0,x\n".to_vec();
    mixed.extend(std::iter::repeat_n(b'\n', 20_000));
    mixed.extend(b"1,y\r\n\r\n\r\nw,y\n");
    assert_csv_error(read(&mixed), 20_006, Some("a"), "expected an integer");
}
