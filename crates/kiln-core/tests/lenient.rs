//! Lenient CSV reading: bad cells, missing and unknown columns are recorded
//! instead of failing; faults of the file's structure still fail.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{plain_name, schema_and_rows, schema_named};
use kiln_core::csv::{BadCell, CsvIssues};
use kiln_core::{Batch, CsvReader, DType, Error, Feature, Record, Schema, Value, ValueRef};
use proptest::prelude::*;

fn schema() -> Schema {
    Schema::new(vec![
        Feature::new("x", DType::Int64),
        Feature::new("y", DType::Float64).with_nullable(true),
        Feature::new("ok", DType::Bool),
        Feature::new("name", DType::String),
    ])
    .unwrap()
}

fn lenient() -> CsvReader {
    CsvReader::new(schema()).with_lenient(true)
}

/// Every batch of `bytes` with its issues.
fn read_all(reader: &CsvReader, bytes: &[u8], batch_size: usize) -> Vec<(Batch, CsvIssues)> {
    let mut batches = reader.batches(bytes, "t.csv", batch_size).unwrap();
    std::iter::from_fn(|| batches.next_with_issues())
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn bad_cells_are_null_and_recorded() {
    let csv = "x,y,ok,name\n1,2.5,true,a\nabc,x1,yes,b\n3,NA,maybe,c\n";
    let all = read_all(&lenient(), csv.as_bytes(), 100);
    assert_eq!(all.len(), 1);
    let (batch, issues) = &all[0];
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.value(1, 0), ValueRef::Null);
    assert_eq!(batch.value(1, 1), ValueRef::Null);
    assert_eq!(batch.value(1, 2), ValueRef::Bool(true));
    assert_eq!(batch.value(1, 3), ValueRef::Str("b"));
    assert_eq!(batch.value(2, 0), ValueRef::Int(3));
    assert_eq!(batch.value(2, 2), ValueRef::Null);
    let cells: Vec<(usize, u64, usize, &str, &str)> = issues
        .bad_cells
        .iter()
        .map(|b| (b.row, b.line, b.feature, b.text.as_str(), b.expected))
        .collect();
    assert_eq!(
        cells,
        vec![
            (1, 3, 0, "abc", "an integer"),
            (1, 3, 1, "x1", "a number"),
            (2, 4, 2, "maybe", "a boolean (true/false, yes/no, 1/0)"),
        ]
    );
    // The same file is an error for a strict reader, and the plain iterator
    // of a lenient one drops the issues.
    let err = CsvReader::new(schema())
        .read_bytes(csv.as_bytes(), "t.csv")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv: line 3, column \"x\": expected an integer, got \"abc\""
    );
    assert_eq!(&lenient().read_bytes(csv.as_bytes(), "t.csv").unwrap(), batch);
}

#[test]
fn bad_cell_rows_count_within_their_batch() {
    let csv = "x,ok,name\n1,t,a\n2,t,b\nthree,t,c\n4,t,d\nfive,t,e\n";
    let all = read_all(&lenient(), csv.as_bytes(), 2);
    let rows: Vec<Vec<(usize, u64)>> = all
        .iter()
        .map(|(_, i)| i.bad_cells.iter().map(|b| (b.row, b.line)).collect())
        .collect();
    assert_eq!(rows, vec![vec![], vec![(0, 4)], vec![(0, 6)]]);
}

#[test]
fn whole_cells_are_kept_and_trimmed_when_the_reader_trims() {
    let long = format!("  {}  ", "9".repeat(500) + "x");
    let csv = format!("x,ok,name\n{long},t,a\n");
    let (_, issues) = read_all(&lenient(), csv.as_bytes(), 10).remove(0);
    assert_eq!(issues.bad_cells[0].text, long);
    let (_, issues) = read_all(&lenient().with_trim(true), csv.as_bytes(), 10).remove(0);
    assert_eq!(issues.bad_cells[0].text, long.trim());
}

#[test]
fn missing_required_columns_are_all_null_when_lenient() {
    let csv = b"name,y\na,1\nb,2\n";
    let err = CsvReader::new(schema())
        .batches(&csv[..], "t.csv", 10)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv: line 1, column \"x\": required column is missing from the header"
    );

    let mut batches = lenient().batches(&csv[..], "t.csv", 10).unwrap();
    assert_eq!(batches.missing_columns(), ["x", "ok"]);
    assert!(batches.unknown_columns().is_empty());
    let (batch, issues) = batches.next_with_issues().unwrap().unwrap();
    assert!(issues.is_empty());
    assert_eq!(batch.column(0).unwrap().null_count(), 2);
    assert_eq!(batch.column(2).unwrap().null_count(), 2);
    assert_eq!(batch.value(1, 1), ValueRef::Float(2.0));
    assert!(batches.next_with_issues().is_none());

    // A strict reader lets nullable columns go missing, and says so.
    let strict = CsvReader::new(schema())
        .batches(&b"x,ok,name\n1,t,a\n"[..], "t.csv", 10)
        .unwrap();
    assert_eq!(strict.missing_columns(), ["y"]);
}

#[test]
fn unknown_columns_are_named_once_in_both_modes() {
    let csv = b"tag,x,ok,name,tag,extra\nq,1,t,a,r,s\n";
    for reader in [CsvReader::new(schema()), lenient()] {
        let mut batches = reader.batches(&csv[..], "t.csv", 10).unwrap();
        assert_eq!(batches.unknown_columns(), ["tag", "extra"]);
        let (batch, issues) = batches.next_with_issues().unwrap().unwrap();
        assert!(issues.is_empty());
        assert_eq!(batch.value(0, 0), ValueRef::Int(1));
    }
}

#[test]
fn structure_faults_still_fail_when_lenient() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"x,ok,name\n1,t,a\n2,t\n",
            "t.csv: line 3: expected 3 fields as in the header, found 2",
        ),
        (
            b"x,ok,name\n1,t,\xff\n",
            "t.csv: line 2, column \"name\": invalid UTF-8 at byte 0 of the cell",
        ),
        (b"x,ok,name\n1,t,\"a\n2,t,b\n", "unbalanced quote"),
        (
            b"x,ok,x\n",
            "t.csv: line 1, column \"x\": column appears twice in the header",
        ),
    ];
    for (csv, needle) in cases {
        let result = lenient().read_bytes(csv, "t.csv");
        match result {
            Err(e @ Error::Csv { .. }) => assert!(e.to_string().contains(needle), "{e}"),
            other => panic!(
                "expected a CSV error for {:?}, got {other:?}",
                String::from_utf8_lossy(csv)
            ),
        }
    }
}

/// Text no column type but string and categorical reads.
const BAD: [&str; 4] = ["abc", "1.2.3", "--", "t0"];

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "NA".to_owned(),
        // Debug prints the shortest text that parses back exactly.
        Value::Float(x) => format!("{x:?}"),
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(common::config(256))]

    /// A lenient read equals a strict read of the same file with the bad
    /// cells written as nulls, and records exactly the cells spoilt, in any
    /// batch size; missing and unknown columns are named.
    #[test]
    fn lenient_read_is_strict_read_with_bad_cells_as_nulls(
        (schema, records) in schema_and_rows(schema_named(plain_name(), 6), 24),
        spoil in proptest::collection::vec((any::<proptest::sample::Index>(), any::<proptest::sample::Index>(), 0..BAD.len()), 0..8),
        drop in any::<proptest::sample::Index>(),
        drop_one in any::<bool>(),
        batch_size in 1usize..10,
    ) {
        let typed: Vec<usize> = (0..schema.len())
            .filter(|&i| !matches!(schema.features()[i].dtype, DType::String | DType::Categorical))
            .collect();
        let dropped = (drop_one && !schema.is_empty()).then(|| drop.index(schema.len()));
        let mut header: Vec<String> = schema.features().iter().map(|f| f.name.clone()).collect();
        header.push("zz_unknown".to_owned());
        let mut cells: Vec<Vec<String>> = records
            .iter()
            .map(|r| r.iter().map(|(_, v)| cell_text(v)).chain(["?".to_owned()]).collect())
            .collect();
        let mut spoilt: Vec<(usize, usize, String)> = Vec::new();
        if !typed.is_empty() && !records.is_empty() {
            for (row, col, text) in spoil {
                let (row, col) = (row.index(records.len()), typed[col.index(typed.len())]);
                if Some(col) != dropped && !spoilt.iter().any(|s| (s.0, s.1) == (row, col)) {
                    cells[row][col] = BAD[text].to_owned();
                    spoilt.push((row, col, BAD[text].to_owned()));
                }
            }
        }
        spoilt.sort();
        let write = |cells: &[Vec<String>]| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let keep = |row: &[String]| -> Vec<String> {
                row.iter().enumerate().filter(|(i, _)| Some(*i) != dropped).map(|(_, c)| c.clone()).collect()
            };
            w.write_record(keep(&header)).unwrap();
            for row in cells {
                w.write_record(keep(row)).unwrap();
            }
            w.into_inner().unwrap()
        };
        let bytes = write(&cells);
        // The line each row starts on: quoted values may span lines.
        let mut lines = vec![2u64];
        for row in &cells {
            let breaks = row.iter().enumerate().filter(|(i, _)| Some(*i) != dropped).map(|(_, c)| c.matches('\n').count() as u64);
            lines.push(lines[lines.len() - 1] + 1 + breaks.sum::<u64>());
        }
        let mut nulled = cells.clone();
        for (row, col, _) in &spoilt {
            nulled[*row][*col] = "NA".to_owned();
        }
        let reader = CsvReader::new(schema.clone()).with_lenient(true);
        let mut batches = reader.batches(&bytes[..], "p.csv", batch_size).unwrap();
        prop_assert_eq!(batches.unknown_columns(), ["zz_unknown"]);
        let missing: Vec<String> = dropped.map(|i| schema.features()[i].name.clone()).into_iter().collect();
        prop_assert_eq!(batches.missing_columns(), &missing[..]);
        let mut rows: Vec<Record> = Vec::new();
        let mut found: Vec<(usize, usize, String)> = Vec::new();
        while let Some(next) = batches.next_with_issues() {
            let (batch, issues) = next.unwrap();
            prop_assert!(batch.num_rows() <= batch_size);
            for BadCell { row, line, feature, text, .. } in issues.bad_cells {
                prop_assert_eq!(line, lines[rows.len() + row]);
                found.push((rows.len() + row, feature, text));
            }
            rows.extend(batch.to_records());
        }
        found.sort();
        prop_assert_eq!(found, spoilt);
        let nulled_bytes = write(&nulled);
        let strict = if dropped.is_some_and(|i| !schema.features()[i].nullable) {
            // A strict reader refuses the file; compare with a lenient read of the nulled file.
            prop_assert!(CsvReader::new(schema.clone()).read_bytes(&nulled_bytes, "p.csv").is_err());
            reader.read_bytes(&nulled_bytes, "p.csv").unwrap()
        } else {
            CsvReader::new(schema.clone()).read_bytes(&nulled_bytes, "p.csv").unwrap()
        };
        prop_assert_eq!(rows, strict.to_records());
    }
}
