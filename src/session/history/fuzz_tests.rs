//! Fuzzing the audit log reader (proptest): whatever a log holds (records cut or glued,
//! garbage, long lines, gzip or not), reading it counts sessions and skipped lines and
//! never panics. CI runs a bounded number of cases; `PROPTEST_CASES=20000 cargo test
//! --lib fuzz` runs more.

use std::io::Write as _;

use proptest::prelude::*;

use super::{Summary, for_each_record};

/// A record as leash writes it, compactly, keys in its order.
const RECORD: &str = r#"{"schema_version":1,"leash_version":"0.1.0","name":"n","command":["true"],"started_at":"2026-12-01T00:00:00.000Z","ended_at":"2026-12-01T00:00:01.000Z","wall_seconds":1.0,"limits":[],"outcome":"limit","exit_code":124,"signal":null,"breach":{"limit":"mem"},"usage":{"cpu_user_seconds":0.1,"cpu_system_seconds":0.0,"peak_memory_bytes":1,"peak_tasks":1,"written_bytes":null,"output_bytes":null},"stopped_processes":1}"#;

/// One line of a log: a record, a piece of one, two glued, or garbage.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(RECORD.as_bytes().to_vec()),
        (0..RECORD.len()).prop_map(|cut| RECORD.as_bytes()[..cut].to_vec()),
        (0..RECORD.len()).prop_map(|at| {
            let mut bytes = RECORD.as_bytes().to_vec();
            bytes.insert(at, b'"');
            bytes
        }),
        Just(format!("{RECORD}{RECORD}").into_bytes()),
        prop::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..200),
        Just(vec![b'x'; (1 << 20) + 10]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_the_audit_log_reader(lines in prop::collection::vec(line(), 0..12), gzip in any::<bool>()) {
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let mut file = tempfile::NamedTempFile::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let zipped = encoder.finish().map_err(|e| TestCaseError::fail(e.to_string()))?;
            file.write_all(&zipped).map_err(|e| TestCaseError::fail(e.to_string()))?;
        } else {
            file.write_all(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut summary = Summary::default();
        let skipped = for_each_record(file.path(), false, |_, line| summary.add(line))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let whole = lines.iter().filter(|l| l.as_slice() == RECORD.as_bytes()).count();
        let counted = usize::try_from(summary.all.sessions).unwrap_or(usize::MAX);
        let glued = lines.iter().filter(|l| l.len() == 2 * RECORD.len()).count();
        // Every whole record is a session, two glued are none, no line is more than one.
        prop_assert!(counted >= whole, "{counted} < {whole}");
        prop_assert!(counted + glued <= lines.len(), "{counted} + {glued}");
        prop_assert!(counted + usize::try_from(skipped).unwrap_or(0) <= lines.len());
        summary.sort_names();
    }
}
