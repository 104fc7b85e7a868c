//! Reading an audit log fast: a thread reads and trims lines while the caller parses the
//! ones before, and each line is cut down to the fields a summary reads before it is
//! parsed (its `limits` array, most of a line, is never needed).
//!
//! The cut relies on JSON's own rule that a `"` inside a string is always escaped: the
//! bytes `,"name":` can only be a key. leash writes its records compactly, keys in a fixed
//! order; a line that is not in that shape is passed on whole, and parsed whole.

use std::io::{self, BufRead};
use std::ops::Range;
use std::sync::mpsc::{Receiver, sync_channel};

use memchr::memmem;

/// Lines sent to the parser at a time.
const BATCH: usize = 4096;

/// The longest line read as a record: leash's are a few KiB. A longer one (a log that is
/// no log, or one endless line in a small gzip) is skipped, not held in memory.
const LONGEST: usize = 1 << 20;

/// What begins every record leash writes: found again within a line, the line holds two
/// records glued (a writer without the lock, a torn copy), and is no record.
const RECORD_START: &[u8] = b"{\"schema_version\":";

/// Lines of a log, trimmed, with their numbers (from 1).
#[derive(Default)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    lines: Vec<(u64, Range<usize>)>,
}

impl Batch {
    /// Each line's number and text.
    pub(crate) fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.lines
            .iter()
            .map(|(number, range)| (*number, &self.bytes[range.clone()]))
    }
}

/// The segments a summary needs, each from its key to the key after it: `name`;
/// `started_at` and `wall_seconds`; `outcome`, `breach` and `usage`.
const SEGMENTS: [(&[u8], &[u8]); 3] = [
    (b",\"name\":", b",\"command\":"),
    (b",\"started_at\":", b",\"limits\":"),
    (b",\"outcome\":", b",\"stopped_processes\":"),
];

/// Append `line`, cut down to [`SEGMENTS`] as one object, to `out`; or whole, where a
/// segment is not found.
fn push_trimmed(line: &[u8], out: &mut Vec<u8>) {
    if memmem::find(line.get(1..).unwrap_or_default(), RECORD_START).is_some() {
        // Whole: it is parsed as one JSON value, and fails as one.
        out.extend_from_slice(line);
        return;
    }
    let mut pieces = [0..0, 0..0, 0..0];
    let mut at = 0;
    for (piece, (from, to)) in pieces.iter_mut().zip(SEGMENTS) {
        let Some(start) = memmem::find(&line[at..], from).map(|i| at + i) else {
            out.extend_from_slice(line);
            return;
        };
        let Some(end) = memmem::find(&line[start..], to).map(|i| start + i) else {
            out.extend_from_slice(line);
            return;
        };
        // Without the leading comma.
        *piece = start + 1..end;
        at = end;
    }
    out.push(b'{');
    for (i, piece) in pieces.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&line[piece]);
    }
    out.push(b'}');
}

/// Read `input` on a thread of its own and hand its non-blank lines, trimmed, to
/// `each_batch` on this one; the first read error ends it.
pub(crate) fn read_batches(
    input: impl BufRead + Send,
    mut each_batch: impl FnMut(&Batch),
) -> io::Result<()> {
    let (send, receive) = sync_channel::<Batch>(4);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> io::Result<()> {
            let mut input = input;
            let mut line = Vec::new();
            let mut batch = Batch::default();
            let mut number = 0;
            let read = loop {
                line.clear();
                let whole = match read_line(&mut input, &mut line) {
                    Ok(None) => break Ok(()),
                    Ok(Some(whole)) => whole,
                    // What was read so far is still summarised.
                    Err(e) => break Err(e),
                };
                number += 1;
                if whole && line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let start = batch.bytes.len();
                if whole {
                    push_trimmed(line.strip_suffix(b"\n").unwrap_or(&line), &mut batch.bytes);
                }
                // A line too long is an empty one here: no record, and counted as skipped.
                batch.lines.push((number, start..batch.bytes.len()));
                if batch.lines.len() == BATCH && send.send(std::mem::take(&mut batch)).is_err() {
                    return Ok(());
                }
            };
            let _ = send.send(batch);
            read
        });
        drain(&receive, &mut each_batch);
        reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reading thread failed")))
    })
}

/// Read one line (with its newline) into `line`, keeping at most [`LONGEST`] bytes of
/// it: `None` at the end of the input, else whether it was whole.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut whole = true;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(whole));
        }
        any = true;
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if whole && line.len() + taken <= LONGEST {
            line.extend_from_slice(&available[..taken]);
        } else {
            whole = false;
            line.clear();
        }
        input.consume(taken);
        if done {
            return Ok(Some(whole));
        }
    }
}

fn drain(receive: &Receiver<Batch>, each_batch: &mut impl FnMut(&Batch)) {
    while let Ok(batch) = receive.recv() {
        each_batch(&batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_cut_to_what_the_summary_reads_and_anything_else_kept_whole() {
        let line = br#"{"schema_version":1,"name":"a,\"name\":","command":["x"],"started_at":"t","wall_seconds":1.5,"limits":[{"limit":"wall"}],"outcome":"exited","usage":{"peak_tasks":2},"stopped_processes":0}"#;
        let mut out = Vec::new();
        push_trimmed(line, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"name":"a,\"name\":","started_at":"t","wall_seconds":1.5,"outcome":"exited","usage":{"peak_tasks":2}}"#
        );
        let other = br#"{"name": "spaced", "outcome": "exited"}"#;
        let mut out = Vec::new();
        push_trimmed(other, &mut out);
        assert_eq!(out, other);
    }

    #[test]
    fn batches_keep_line_numbers_and_skip_blank_lines() {
        let input: &[u8] = b"{\"a\":1}\n\n  \n{\"b\":2}";
        let mut seen = Vec::new();
        read_batches(input, |batch| {
            seen.extend(batch.lines().map(|(n, l)| (n, l.to_vec())));
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![(1, b"{\"a\":1}".to_vec()), (4, b"{\"b\":2}".to_vec())]
        );
    }
}
