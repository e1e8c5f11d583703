//! Decoders (bytes to [`Record`]) and encoders ([`Output`] to bytes).
//!
//! Reading is split in two so both cores work: a reader ([`read`]) cuts the input into raw
//! [`Item`]s (a parsed CSV row, a line, a JSON value) on one thread, and [`decode`] turns an item
//! into a record on a worker thread, where JSON parsing and UTF-8 checks run in parallel. Every
//! failure to decode is a [`DecodeError`] carrying what could be recovered of the original, so a
//! malformed row is rejected with its position and never silently dropped.

pub mod query;
pub mod read;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::engine::{Failure, Output};
use crate::mapping::{Format, Nulls, RejectInfo};
use crate::record::{Headers, Record};

/// Where a record is in the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based record number, not counting a header row.
    pub row: u64,
    /// 1-based line where the record starts.
    pub line: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "row {}", self.row)
        } else {
            write!(f, "row {} (line {})", self.row, self.line)
        }
    }
}

/// An undecoded record.
#[derive(Debug)]
pub enum Raw {
    Csv(csv::ByteRecord),
    Line(Vec<u8>),
    Value(Value),
    /// Input that could not even be cut into a record (e.g. a JSON document that does not parse).
    Broken {
        reason: &'static str,
        message: String,
        text: String,
    },
}

/// An undecoded record and its position.
#[derive(Debug)]
pub struct Item {
    pub pos: Position,
    pub raw: Raw,
}

/// Why a raw item is not a record, and what the item held.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub reason: &'static str,
    pub message: String,
    pub original: Map<String, Value>,
}

impl DecodeError {
    /// The error as a record failure, for the rejects file.
    pub fn failure(&self) -> Failure {
        Failure {
            field: String::new(),
            rule: "decode".into(),
            reason: self.reason.into(),
            message: self.message.clone(),
        }
    }
}

/// Decode one item of an input in `format`. `headers` is the CSV header.
pub fn decode(
    item: Raw,
    format: Format,
    headers: Option<&Arc<Headers>>,
) -> Result<Record, DecodeError> {
    match item {
        Raw::Csv(b) => {
            let Some(h) = headers else {
                return Err(DecodeError {
                    reason: "malformed_row",
                    message: "CSV row without a header".into(),
                    original: Map::new(),
                });
            };
            let n = h.names().len();
            if b.len() != n {
                return Err(DecodeError {
                    reason: "malformed_row",
                    message: format!("the row has {} fields, the header has {n}", b.len()),
                    original: lossy_row(h, &b),
                });
            }
            match csv::StringRecord::from_byte_record(b) {
                Ok(row) => Ok(Record::Row {
                    headers: h.clone(),
                    row,
                }),
                Err(e) => {
                    let b = e.into_byte_record();
                    let col = (0..b.len())
                        .find(|i| std::str::from_utf8(&b[*i]).is_err())
                        .unwrap_or(0);
                    let name = h.names().get(col).map_or("?", String::as_str);
                    Err(DecodeError {
                        reason: "invalid_utf8",
                        message: format!("column `{name}` is not valid UTF-8 text"),
                        original: lossy_row(h, &b),
                    })
                }
            }
        }
        Raw::Line(bytes) => decode_line(&bytes, format),
        Raw::Value(Value::Object(m)) => Ok(Record::Object(m)),
        Raw::Value(other) => Err(DecodeError {
            reason: "not_an_object",
            message: format!(
                "expected a JSON object, got {}",
                crate::transform::kind(&other)
            ),
            original: raw_original(&other.to_string()),
        }),
        Raw::Broken {
            reason,
            message,
            text,
        } => Err(DecodeError {
            reason,
            message,
            original: raw_original(&text),
        }),
    }
}

fn decode_line(bytes: &[u8], format: Format) -> Result<Record, DecodeError> {
    let text = || String::from_utf8_lossy(bytes).into_owned();
    match format {
        Format::Query | Format::Form => match query::parse(bytes) {
            Ok(m) => Ok(Record::Object(m)),
            Err(message) => Err(DecodeError {
                reason: "invalid_encoding",
                message,
                original: raw_original(&text()),
            }),
        },
        _ => match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(Record::Object(m)),
            Ok(other) => Err(DecodeError {
                reason: "not_an_object",
                message: format!(
                    "expected a JSON object, got {}",
                    crate::transform::kind(&other)
                ),
                original: raw_original(&text()),
            }),
            Err(e) => {
                let (reason, what) = if std::str::from_utf8(bytes).is_err() {
                    (
                        "invalid_utf8",
                        "the line is not valid UTF-8 text".to_owned(),
                    )
                } else {
                    ("invalid_json", format!("invalid JSON: {e}"))
                };
                Err(DecodeError {
                    reason,
                    message: what,
                    original: raw_original(&text()),
                })
            }
        },
    }
}

fn raw_original(text: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_raw".into(), Value::String(text.to_owned()));
    m
}

fn lossy_row(h: &Headers, b: &csv::ByteRecord) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, f) in b.iter().enumerate() {
        let key = match h.names().get(i) {
            Some(k) => k.clone(),
            None => format!("_extra_{}", i + 1 - h.names().len()),
        };
        m.entry(key)
            .or_insert_with(|| Value::String(String::from_utf8_lossy(f).into_owned()));
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Encoding.

/// Writes outputs in one format.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub format: Format,
    pub nulls: Nulls,
    pub delimiter: u8,
    /// CSV: the columns, in order.
    pub columns: Vec<String>,
}

impl Encoder {
    /// Bytes written before the first record (CSV header, `[` of a JSON array).
    pub fn begin(&self) -> Vec<u8> {
        match self.format {
            Format::Csv => {
                let mut w = csv_writer(self.delimiter);
                // Writing to a Vec cannot fail.
                let _ = w.write_record(&self.columns);
                w.into_inner().unwrap_or_default()
            }
            Format::Json => b"[".to_vec(),
            _ => Vec::new(),
        }
    }

    /// Bytes written after the last record.
    pub fn end(&self, any: bool) -> Vec<u8> {
        match (self.format, any) {
            (Format::Json, true) => b"\n]\n".to_vec(),
            (Format::Json, false) => b"]\n".to_vec(),
            _ => Vec::new(),
        }
    }

    /// Append one record. For JSON arrays every record starts with `,\n`; the writer drops the
    /// comma of the very first one (records are encoded on several threads, so none of them knows
    /// whether it is first).
    pub fn encode(&self, out: &Output<'_>, buf: &mut Vec<u8>) -> Result<(), Failure> {
        match self.format {
            Format::Jsonl => {
                self.json_object(out, buf);
                buf.push(b'\n');
            }
            Format::Json => {
                buf.extend_from_slice(b",\n");
                self.json_object(out, buf);
            }
            Format::Csv => self.csv_row(out, buf)?,
            Format::Query | Format::Form => {
                for (k, v) in &out.fields {
                    self.pair(buf, k, v, self.format == Format::Form);
                }
                buf.push(b'\n');
            }
        }
        Ok(())
    }

    fn json_object(&self, out: &Output<'_>, buf: &mut Vec<u8>) {
        buf.push(b'{');
        let mut first = true;
        for (k, v) in &out.fields {
            let v = match (v, self.nulls) {
                (Value::Null, Nulls::Omit) => continue,
                (Value::Null, Nulls::Empty) => &EMPTY,
                (v, _) => v,
            };
            if !first {
                buf.push(b',');
            }
            first = false;
            write_json(buf, &Value::String(String::new()), Some(k));
            buf.push(b':');
            write_json(buf, v, None);
        }
        buf.push(b'}');
    }

    fn csv_row(&self, out: &Output<'_>, buf: &mut Vec<u8>) -> Result<(), Failure> {
        let mut cells: Vec<std::borrow::Cow<'_, str>> =
            vec![std::borrow::Cow::Borrowed(""); self.columns.len()];
        for (i, (k, v)) in out.fields.iter().enumerate() {
            // Outputs usually come in column order: try the same position first.
            let pos = if self.columns.get(i).is_some_and(|c| c == k) {
                Some(i)
            } else {
                self.columns.iter().position(|c| c == k)
            };
            let Some(pos) = pos else {
                return Err(Failure {
                    field: k.to_string(),
                    rule: "encode".into(),
                    reason: "unexpected_field".into(),
                    message: format!(
                        "`{k}` is not a column of the CSV output ({})",
                        self.columns.join(", ")
                    ),
                });
            };
            cells[pos] = scalar_text(v);
        }
        let mut w = csv_writer(self.delimiter);
        let _ = w.write_record(cells.iter().map(|c| c.as_bytes()));
        buf.extend_from_slice(&w.into_inner().unwrap_or_default());
        Ok(())
    }

    fn pair(&self, buf: &mut Vec<u8>, k: &str, v: &Value, form: bool) {
        match v {
            Value::Null => match self.nulls {
                Nulls::Omit => {}
                Nulls::Null | Nulls::Empty => query::push_pair(buf, k, "", form),
            },
            Value::Array(items) => {
                for x in items {
                    query::push_pair(buf, k, &scalar_text(x), form);
                }
            }
            other => query::push_pair(buf, k, &scalar_text(other), form),
        }
    }
}

static EMPTY: Value = Value::String(String::new());

/// A value as one text cell: strings as they are, null empty, others as JSON.
pub fn scalar_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

fn csv_writer(delimiter: u8) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

/// Write a JSON value (or a key, when `key` is given) with raw UTF-8.
fn write_json(buf: &mut Vec<u8>, v: &Value, key: Option<&str>) {
    let s = match (key, v) {
        (Some(k), _) => k,
        (None, Value::String(s)) => s.as_str(),
        // Writing to a Vec cannot fail.
        (None, other) => {
            let _ = serde_json::to_writer(&mut *buf, other);
            return;
        }
    };
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *buf, s);
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    }
}

/// Whether a string needs JSON escaping: it holds `"`, `\` or a control character below
/// U+0020. Most values need none, and then they are copied as they are instead of being escaped
/// byte by byte.
fn needs_escape(b: &[u8]) -> bool {
    // No early exit: written this way the compiler checks 16 or 32 bytes per instruction.
    b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == b'"') | (c == b'\\')
    })
}

/// Writes rejected records: the facts the mapping asks for, then the original record.
#[derive(Debug, Clone)]
pub struct RejectEncoder {
    pub include: Vec<RejectInfo>,
    pub csv: bool,
    /// CSV: the input columns, after the `_reject_*` ones.
    pub input_columns: Option<Vec<String>>,
}

impl RejectEncoder {
    pub fn begin(&self) -> Vec<u8> {
        if !self.csv {
            return Vec::new();
        }
        let mut cols: Vec<&str> = self.include.iter().map(|i| i.key()).collect();
        match &self.input_columns {
            Some(c) => cols.extend(c.iter().map(String::as_str)),
            None => cols.push("_record"),
        }
        let mut w = csv_writer(b',');
        let _ = w.write_record(&cols);
        w.into_inner().unwrap_or_default()
    }

    pub fn encode(
        &self,
        pos: Position,
        f: &Failure,
        original: &Map<String, Value>,
        buf: &mut Vec<u8>,
    ) {
        let facts: Vec<(&'static str, Value)> = self
            .include
            .iter()
            .map(|i| {
                let v = match i {
                    RejectInfo::Reason => Value::String(f.reason.to_string()),
                    RejectInfo::Row => Value::from(pos.row),
                    RejectInfo::Line => Value::from(pos.line),
                    RejectInfo::Field => Value::String(f.field.clone()),
                    RejectInfo::Rule => Value::String(f.rule.clone()),
                    RejectInfo::Message => Value::String(f.message.clone()),
                };
                (i.key(), v)
            })
            .collect();
        if self.csv {
            let mut cells: Vec<String> = facts
                .iter()
                .map(|(_, v)| scalar_text(v).into_owned())
                .collect();
            match &self.input_columns {
                Some(cols) => cells.extend(cols.iter().map(|c| {
                    original
                        .get(c)
                        .map_or(String::new(), |v| scalar_text(v).into_owned())
                })),
                None => cells.push(Value::Object(original.clone()).to_string()),
            }
            let mut w = csv_writer(b',');
            let _ = w.write_record(&cells);
            buf.extend_from_slice(&w.into_inner().unwrap_or_default());
            return;
        }
        buf.push(b'{');
        let mut first = true;
        for (k, v) in facts
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(original.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if !first {
                buf.push(b',');
            }
            first = false;
            write_json(buf, &Value::Null, Some(k));
            buf.push(b':');
            write_json(buf, v, None);
        }
        buf.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn output(v: Value) -> Output<'static> {
        let Value::Object(m) = v else { unreachable!() };
        Output {
            fields: m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        }
    }

    fn enc(format: Format, nulls: Nulls, columns: &[&str]) -> Encoder {
        Encoder {
            format,
            nulls,
            delimiter: b',',
            columns: columns.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn escape_fast_path_agrees_with_serde_json() {
        let samples = [
            "",
            "plain ascii text longer than eight",
            "é👍 unicode only",
            "quote \" inside",
            "back\\slash",
            "tab\tin",
            "new\nline",
            "\u{1f}unit",
            "\u{7f}del is fine",
            "1234567\"",
            "12345678\\",
            "abcdefgh\u{0}",
        ];
        for s in samples {
            let mut fast = Vec::new();
            write_json(&mut fast, &Value::String(s.into()), None);
            assert_eq!(fast, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn jsonl_keeps_order_and_nulls_policy() {
        let o = output(json!({"b": "é\"", "a": null, "n": 1}));
        let mut buf = Vec::new();
        enc(Format::Jsonl, Nulls::Omit, &[])
            .encode(&o, &mut buf)
            .unwrap();
        enc(Format::Jsonl, Nulls::Null, &[])
            .encode(&o, &mut buf)
            .unwrap();
        enc(Format::Jsonl, Nulls::Empty, &[])
            .encode(&o, &mut buf)
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"b\":\"é\\\"\",\"n\":1}\n{\"b\":\"é\\\"\",\"a\":null,\"n\":1}\n{\"b\":\"é\\\"\",\"a\":\"\",\"n\":1}\n"
        );
    }

    #[test]
    fn csv_by_column_quotes_and_refuses_unknown() {
        let e = enc(Format::Csv, Nulls::Omit, &["a", "b"]);
        let mut buf = e.begin();
        e.encode(&output(json!({"b": "x,y", "a": "line\nbreak"})), &mut buf)
            .unwrap();
        e.encode(&output(json!({"a": 1})), &mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,b\n\"line\nbreak\",\"x,y\"\n1,\n"
        );
        let err = e
            .encode(&output(json!({"c": 1})), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.reason, "unexpected_field");
    }

    #[test]
    fn query_and_form_lines() {
        let o = output(json!({"TrackingGUID": "g 1", "AgentID": ["1", "2"], "x": null}));
        let mut buf = Vec::new();
        enc(Format::Query, Nulls::Omit, &[])
            .encode(&o, &mut buf)
            .unwrap();
        enc(Format::Form, Nulls::Empty, &[])
            .encode(&o, &mut buf)
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "TrackingGUID=g%201&AgentID=1&AgentID=2\nTrackingGUID=g+1&AgentID=1&AgentID=2&x=\n"
        );
    }

    #[test]
    fn decode_csv_checks_width_and_utf8() {
        let h = Arc::new(Headers::new(vec!["a".into(), "b".into()]));
        let ok = decode(
            Raw::Csv(csv::ByteRecord::from(vec!["1", "2"])),
            Format::Csv,
            Some(&h),
        );
        assert!(ok.is_ok());
        let e = decode(
            Raw::Csv(csv::ByteRecord::from(vec!["1"])),
            Format::Csv,
            Some(&h),
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.message.as_str()),
            ("malformed_row", "the row has 1 fields, the header has 2")
        );
        let mut b = csv::ByteRecord::new();
        b.push_field(b"ok");
        b.push_field(b"\xff");
        let e = decode(Raw::Csv(b), Format::Csv, Some(&h)).unwrap_err();
        assert_eq!(e.reason, "invalid_utf8");
        assert!(e.message.contains("`b`"));
        assert_eq!(
            Value::Object(e.original),
            json!({"a": "ok", "b": "\u{fffd}"})
        );
    }

    #[test]
    fn decode_lines() {
        assert!(decode(Raw::Line(b"{\"a\":1}".to_vec()), Format::Jsonl, None).is_ok());
        assert_eq!(
            decode(Raw::Line(b"[1]".to_vec()), Format::Jsonl, None)
                .unwrap_err()
                .reason,
            "not_an_object"
        );
        let e = decode(Raw::Line(b"{\"a\":".to_vec()), Format::Jsonl, None).unwrap_err();
        assert_eq!(e.reason, "invalid_json");
        assert_eq!(Value::Object(e.original), json!({"_raw": "{\"a\":"}));
        assert_eq!(
            decode(Raw::Line(b"\"\xff\"".to_vec()), Format::Jsonl, None)
                .unwrap_err()
                .reason,
            "invalid_utf8"
        );
        assert!(decode(Raw::Line(b"a=1&b=2".to_vec()), Format::Query, None).is_ok());
    }

    #[test]
    fn rejects_jsonl_and_csv() {
        let f = Failure {
            field: "P".into(),
            rule: "phone".into(),
            reason: "invalid_phone".into(),
            message: "bad".into(),
        };
        let orig: Map<String, Value> = serde_json::from_str(r#"{"phone":"12","x":"y"}"#).unwrap();
        let pos = Position { row: 3, line: 4 };
        let mut buf = Vec::new();
        RejectEncoder {
            include: vec![RejectInfo::Reason],
            csv: false,
            input_columns: None,
        }
        .encode(pos, &f, &orig, &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"_reject_reason\":\"invalid_phone\",\"phone\":\"12\",\"x\":\"y\"}\n"
        );
        let r = RejectEncoder {
            include: RejectInfo::all(),
            csv: true,
            input_columns: Some(vec!["phone".into(), "x".into()]),
        };
        let mut buf = r.begin();
        r.encode(pos, &f, &orig, &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "_reject_reason,_reject_row,_reject_line,_reject_field,_reject_rule,_reject_message,phone,x\ninvalid_phone,3,4,P,phone,bad,12,y\n"
        );
    }
}
