//! Readers: cut an input stream into raw items, in batches.
//!
//! A batch ends when it is full or when the input has nothing more buffered (the next read could
//! block). On a file that is every few hundred kilobytes; on a pipe (`tail -f leads.jsonl |
//! fieldmap run ...`) it is after every line that has arrived, so each record is transformed and
//! written as soon as it is read.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::{CsvRow, Item, Position, Raw};
use crate::mapping::Format;
use crate::record::{Chunk, Headers};

/// Produces batches of items from an input.
pub trait ItemReader: Send {
    /// Append up to `max` items to `batch`. Returns `Ok(false)` once the input is exhausted.
    fn next_batch(&mut self, batch: &mut Vec<Item>, max: usize) -> io::Result<bool>;
    /// The CSV header, when the input has one.
    fn headers(&self) -> Option<&Arc<Headers>> {
        None
    }
    /// Bytes of input consumed so far (for progress).
    fn bytes_read(&self) -> u64;
    /// Take back a chunk of an earlier batch whose rows are all done with, to read into again.
    fn reuse(&mut self, _chunk: Chunk) {}
}

/// A problem that stops the run before any record is read.
#[derive(Debug)]
pub struct OpenError(pub String);

/// Open a reader for `format` over `input`.
pub fn open(
    input: Box<dyn Read + Send>,
    format: Format,
    delimiter: Option<char>,
    trailing_commas: bool,
) -> Result<Box<dyn ItemReader>, OpenError> {
    const BUF: usize = 256 * 1024;
    Ok(match format {
        Format::Csv => Box::new(CsvItems::new(input, delimiter.map_or(b',', |c| c as u8))?),
        Format::Jsonl | Format::Query | Format::Form => Box::new(Lines {
            input: BufReader::with_capacity(BUF, input),
            line: 0,
            row: 0,
            bytes: 0,
            bom_checked: false,
        }),
        Format::Json => Box::new(JsonDoc {
            input: Some(input),
            bytes: 0,
            trailing_commas,
        }),
    })
}

/// Tracks whether the last read from the underlying input was short: when it was, the csv
/// reader's buffer holds all that has arrived and the next refill may block.
struct Watch<R> {
    inner: R,
    short: Arc<AtomicBool>,
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.short.store(n < buf.len(), Ordering::Relaxed);
        Ok(n)
    }
}

struct CsvItems {
    rdr: csv::Reader<Watch<Box<dyn Read + Send>>>,
    headers: Arc<Headers>,
    short: Arc<AtomicBool>,
    row: u64,
    done: bool,
    /// The row being read: reused, its fields are copied into the batch's chunk.
    scratch: csv::ByteRecord,
    /// The buffers of a chunk given back, to fill again.
    spare: Option<(Vec<u8>, Vec<usize>)>,
    /// Bytes and fields of the last batch, to size the next one.
    last_size: (usize, usize),
}

/// A batch's entry before its chunk is complete.
enum Pending {
    /// Fields `first..first + len` of the chunk.
    Row(Position, usize, usize),
    Broken(Item),
}

impl CsvItems {
    fn new(input: Box<dyn Read + Send>, delimiter: u8) -> Result<CsvItems, OpenError> {
        let short = Arc::new(AtomicBool::new(false));
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(Watch {
                inner: input,
                short: short.clone(),
            });
        let raw = rdr
            .byte_headers()
            .map_err(|e| OpenError(format!("cannot read the CSV header: {e}")))?
            .clone();
        let mut names = Vec::with_capacity(raw.len());
        for (i, f) in raw.iter().enumerate() {
            let mut name = std::str::from_utf8(f).map_err(|_| {
                OpenError(format!(
                    "CSV header column {} is not valid UTF-8 text",
                    i + 1
                ))
            })?;
            if i == 0 {
                name = name.strip_prefix('\u{feff}').unwrap_or(name);
            }
            names.push(name.to_owned());
        }
        Ok(CsvItems {
            scratch: csv::ByteRecord::new(),
            spare: None,
            last_size: (64 * 1024, 1024 * names.len().max(1)),
            rdr,
            headers: Arc::new(Headers::new(names)),
            short,
            row: 0,
            done: false,
        })
    }
}

impl ItemReader for CsvItems {
    /// The rows of a batch are copied one after another into one [`Chunk`] that they share:
    /// no allocation per row (the csv parser fills a reused record), and the text is checked as
    /// UTF-8 once per chunk.
    fn next_batch(&mut self, batch: &mut Vec<Item>, max: usize) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let (mut bytes, mut ends) = self.spare.take().unwrap_or_default();
        bytes.clear();
        ends.clear();
        bytes.reserve(self.last_size.0);
        ends.reserve(self.last_size.1);
        let mut pending = Vec::with_capacity(max.min(4096));
        let mut more = true;
        while pending.len() < max {
            match self.rdr.read_byte_record(&mut self.scratch) {
                Ok(true) => {
                    self.row += 1;
                    let line = self.scratch.position().map_or(0, |p| p.line());
                    let first = ends.len();
                    let mut end = bytes.len();
                    bytes.extend_from_slice(self.scratch.as_slice());
                    for f in &self.scratch {
                        end += f.len();
                        ends.push(end);
                    }
                    let pos = Position {
                        row: self.row,
                        line,
                    };
                    pending.push(Pending::Row(pos, first, self.scratch.len()));
                }
                Ok(false) => {
                    self.done = true;
                    more = false;
                    break;
                }
                Err(e) => match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(match e.into_kind() {
                            csv::ErrorKind::Io(io) => io,
                            _ => io::Error::other("csv read error"),
                        });
                    }
                    _ => {
                        // The csv parser does not fail on content in flexible mode; keep any
                        // other error as a rejected row rather than stopping.
                        self.row += 1;
                        let line = e.position().map_or(0, |p| p.line());
                        pending.push(Pending::Broken(Item {
                            pos: Position {
                                row: self.row,
                                line,
                            },
                            raw: Raw::Broken {
                                reason: "malformed_row",
                                message: e.to_string(),
                                text: String::new(),
                            },
                        }));
                    }
                },
            }
            if self.short.load(Ordering::Relaxed) {
                break;
            }
        }
        // The next chunk is sized like this one, with some room: growing it means copying it.
        self.last_size = (bytes.len().max(1024) * 9 / 8, ends.len().max(16) * 9 / 8);
        let any = !pending.is_empty();
        let chunk = Arc::new(Chunk::new(bytes, ends));
        batch.extend(pending.into_iter().map(|p| match p {
            Pending::Row(pos, first, len) => Item {
                pos,
                raw: Raw::Csv(CsvRow {
                    chunk: chunk.clone(),
                    first,
                    len,
                }),
            },
            Pending::Broken(item) => item,
        }));
        Ok(more || any)
    }

    fn headers(&self) -> Option<&Arc<Headers>> {
        Some(&self.headers)
    }

    fn reuse(&mut self, chunk: Chunk) {
        self.spare = Some(chunk.into_buffers());
    }

    fn bytes_read(&self) -> u64 {
        self.rdr.position().byte()
    }
}

struct Lines {
    input: BufReader<Box<dyn Read + Send>>,
    line: u64,
    row: u64,
    bytes: u64,
    bom_checked: bool,
}

impl ItemReader for Lines {
    fn next_batch(&mut self, batch: &mut Vec<Item>, max: usize) -> io::Result<bool> {
        let start = batch.len();
        while batch.len() - start < max {
            let mut buf = Vec::new();
            let n = self.input.read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Ok(batch.len() > start);
            }
            self.bytes += n as u64;
            self.line += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            if !self.bom_checked {
                self.bom_checked = true;
                if buf.starts_with(b"\xef\xbb\xbf") {
                    buf.drain(..3);
                }
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                self.row += 1;
                batch.push(Item {
                    pos: Position {
                        row: self.row,
                        line: self.line,
                    },
                    raw: Raw::Line(buf),
                });
            }
            if self.input.buffer().is_empty() {
                break;
            }
        }
        Ok(true)
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

/// A whole JSON document: one object, or an array of objects.
struct JsonDoc {
    input: Option<Box<dyn Read + Send>>,
    bytes: u64,
    trailing_commas: bool,
}

impl ItemReader for JsonDoc {
    fn next_batch(&mut self, batch: &mut Vec<Item>, _max: usize) -> io::Result<bool> {
        let Some(mut input) = self.input.take() else {
            return Ok(false);
        };
        let mut text = Vec::new();
        input.read_to_end(&mut text)?;
        self.bytes = text.len() as u64;
        let body = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&text);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(false);
        }
        let parsed =
            serde_json::from_slice::<Value>(body).or_else(|e| match super::strip_trailing_commas(
                body,
            )
            .filter(|_| self.trailing_commas)
            {
                Some(fixed) => serde_json::from_slice::<Value>(&fixed),
                None => Err(e),
            });
        match parsed {
            Ok(Value::Array(items)) => {
                for (i, v) in items.into_iter().enumerate() {
                    let row = i as u64 + 1;
                    batch.push(Item {
                        pos: Position { row, line: 0 },
                        raw: Raw::Value(v),
                    });
                }
            }
            Ok(v) => batch.push(Item {
                pos: Position { row: 1, line: 1 },
                raw: Raw::Value(v),
            }),
            Err(e) => {
                let text = String::from_utf8_lossy(body).into_owned();
                batch.push(Item {
                    pos: Position {
                        row: 1,
                        line: e.line() as u64,
                    },
                    raw: Raw::Broken {
                        reason: "invalid_json",
                        message: format!("invalid JSON: {e}"),
                        text,
                    },
                });
            }
        }
        Ok(true)
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(format: Format, input: &'static [u8]) -> Vec<Item> {
        let mut r =
            open(Box::new(input), format, None, false).unwrap_or_else(|e| panic!("{}", e.0));
        let mut out = Vec::new();
        while r.next_batch(&mut out, 2).unwrap() {}
        out
    }

    #[test]
    fn csv_positions_with_multiline_and_bom() {
        let items = all(Format::Csv, b"\xef\xbb\xbfa,b\n1,\"x\ny\"\n2,3\n4\n");
        let pos: Vec<_> = items.iter().map(|i| (i.pos.row, i.pos.line)).collect();
        assert_eq!(pos, vec![(1, 2), (2, 4), (3, 5)]);
        let r = open(
            Box::new(&b"\xef\xbb\xbfa,b\n"[..]),
            Format::Csv,
            None,
            false,
        )
        .unwrap();
        assert_eq!(
            r.headers().unwrap().names(),
            &["a".to_owned(), "b".to_owned()]
        );
    }

    #[test]
    fn csv_rows_of_a_batch_share_a_chunk() {
        let mut r = open(
            Box::new(&b"a,b\n1,\"x\ny\"\n,\n4\n\"\xc3\",\"\xa9\"\n5,\xe2\x82\xac\n"[..]),
            Format::Csv,
            None,
            false,
        )
        .unwrap();
        let headers = r.headers().cloned();
        let mut items = Vec::new();
        while r.next_batch(&mut items, 10).unwrap() {}
        let got: Vec<_> = items
            .into_iter()
            .map(|i| {
                super::super::decode(i.raw, Format::Csv, headers.as_ref(), false)
                    .map(|rec| Value::Object(rec.to_object()))
                    .map_err(|e| e.reason)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                Ok(serde_json::json!({"a": "1", "b": "x\ny"})),
                Ok(serde_json::json!({"a": "", "b": ""})),
                Err("malformed_row"),
                Err("invalid_utf8"),
                Ok(serde_json::json!({"a": "5", "b": "€"})),
            ]
        );
    }

    #[test]
    fn lines_skip_blank_and_crlf() {
        let items = all(Format::Jsonl, b"{\"a\":1}\r\n\n  \n{\"a\":2}");
        let got: Vec<_> = items
            .iter()
            .map(|i| match &i.raw {
                Raw::Line(l) => (i.pos.row, i.pos.line, String::from_utf8(l.clone()).unwrap()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, "{\"a\":1}".to_owned()),
                (2, 4, "{\"a\":2}".to_owned())
            ]
        );
    }

    #[test]
    fn json_doc_array_object_and_broken() {
        assert_eq!(all(Format::Json, b"[{\"a\":1},{\"a\":2}]").len(), 2);
        assert_eq!(all(Format::Json, b"{\"a\":1}").len(), 1);
        assert!(all(Format::Json, b"  ").is_empty());
        let items = all(Format::Json, b"{\"a\":1,\n}");
        assert!(matches!(
            &items[0].raw,
            Raw::Broken {
                reason: "invalid_json",
                ..
            }
        ));
        assert_eq!(items[0].pos.line, 2);
    }

    #[test]
    fn json_doc_with_a_trailing_comma_when_allowed() {
        let mut r = open(Box::new(&b"{\"a\":1,\n}"[..]), Format::Json, None, true).unwrap();
        let mut items = Vec::new();
        while r.next_batch(&mut items, 2).unwrap() {}
        assert!(matches!(&items[0].raw, Raw::Value(v) if v["a"] == 1));
    }

    #[test]
    fn bad_csv_header_is_fatal() {
        assert!(open(Box::new(&b"a,\xff\n1,2\n"[..]), Format::Csv, None, false).is_err());
    }
}
