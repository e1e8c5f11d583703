//! Decoders (bytes to [`Record`]) and encoders ([`Output`] to bytes).
//!
//! Reading is split in two so both cores work: a reader ([`read`]) cuts the input into raw
//! [`Item`]s (a parsed CSV row, a line, a JSON value) on one thread, and [`decode`] turns an item
//! into a record on a worker thread, where JSON parsing and UTF-8 checks run in parallel. Every
//! failure to decode is a [`DecodeError`] carrying what could be recovered of the original, so a
//! malformed row is rejected with its position and never silently dropped.

pub mod flat;
pub mod query;
pub mod read;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::engine::{Failure, Output};
use crate::mapping::{Format, Nulls, RejectInfo};
use crate::record::{Chunk, Fields, Headers, Object, Record, Row, Spare, fields_with_capacity};

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
    Csv(CsvRow),
    Line(Vec<u8>),
    Value(Value),
    /// Input that could not even be cut into a record (e.g. a JSON document that does not parse).
    Broken {
        reason: &'static str,
        message: String,
        text: String,
    },
}

/// An undecoded CSV row: fields `first..first + len` of a chunk of rows read together.
#[derive(Debug, Clone)]
pub struct CsvRow {
    pub chunk: Arc<Chunk>,
    pub first: usize,
    pub len: usize,
}

impl CsvRow {
    /// A row in a chunk of its own.
    pub fn of_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> CsvRow {
        let chunk = Chunk::of_fields(fields);
        let len = chunk.fields();
        CsvRow {
            chunk: Arc::new(chunk),
            first: 0,
            len,
        }
    }
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
///
/// `trailing_commas`: JSON with a comma before a closing `}` or `]` is read as if the comma
/// were not there (see [`strip_trailing_commas`]).
pub fn decode(
    item: Raw,
    format: Format,
    headers: Option<&Arc<Headers>>,
    trailing_commas: bool,
) -> Result<Record, DecodeError> {
    match item {
        Raw::Csv(r) => {
            let Some(h) = headers else {
                return Err(DecodeError {
                    reason: "malformed_row",
                    message: "CSV row without a header".into(),
                    original: Map::new(),
                });
            };
            let n = h.names().len();
            if r.len != n {
                return Err(DecodeError {
                    reason: "malformed_row",
                    message: format!("the row has {} fields, the header has {n}", r.len),
                    original: lossy_row(h, &r),
                });
            }
            match Row::from_chunk(r.chunk, r.first, r.len) {
                Ok(row) => Ok(Record::Row {
                    headers: h.clone(),
                    row,
                }),
                Err((col, chunk)) => {
                    let name = h.names().get(col).map_or("?", String::as_str);
                    Err(DecodeError {
                        reason: "invalid_utf8",
                        message: format!("column `{name}` is not valid UTF-8 text"),
                        original: lossy_row(h, &CsvRow { chunk, ..r }),
                    })
                }
            }
        }
        Raw::Line(bytes) => decode_line(&bytes, format, trailing_commas),
        Raw::Value(Value::Object(m)) => Ok(Record::Object(m.into())),
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

/// `bytes` with every comma that is followed (after whitespace) by `}` or `]` and is outside a
/// string replaced by a space, so lines and columns stay where they were; None when there is no
/// such comma. Vendors publish samples like `{"a": "1",}` (Delacon's call-end push).
pub fn strip_trailing_commas(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' => {
                let next = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                if matches!(next, Some(b'}') | Some(b']')) {
                    out.get_or_insert_with(|| bytes.to_vec())[i] = b' ';
                }
            }
            _ => {}
        }
    }
    out
}

/// A JSON object read into a record's map made with room for a vendor's payload: an empty map
/// grows, and rehashes every key, several times on the way to 30 fields. The same map as
/// `Value`'s own (a repeated key keeps its first place and its last value).
struct PresizedObject(Fields);

impl<'de> serde::Deserialize<'de> for PresizedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PresizedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<PresizedObject, A::Error> {
                let mut m = fields_with_capacity(a.size_hint().unwrap_or(32));
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    m.insert(k, v);
                }
                Ok(PresizedObject(m))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// One line or body of `format` (JSON, a query string, a form) as a record.
pub fn decode_line(
    bytes: &[u8],
    format: Format,
    trailing_commas: bool,
) -> Result<Record, DecodeError> {
    decode_line_reusing(bytes, format, trailing_commas, Spare::default())
}

/// [`decode_line`] into `spare`, the fields of a record done with (see
/// [`crate::record::Record::into_spare`]): the usual record, a form or a flat JSON object,
/// reuses their room, and their names when the sender keeps its order (see
/// [`crate::record::Refill`]).
pub fn decode_line_reusing(
    bytes: &[u8],
    format: Format,
    trailing_commas: bool,
    spare: Spare,
) -> Result<Record, DecodeError> {
    let Spare {
        fields: mut spare,
        plain_keys,
    } = spare;
    let text = || String::from_utf8_lossy(bytes).into_owned();
    match format {
        Format::Query | Format::Form => match query::parse_into(bytes, &mut spare) {
            Ok(()) => Ok(Record::Object(spare.into())),
            Err(message) => Err(DecodeError {
                reason: "invalid_encoding",
                message,
                original: raw_original(&text()),
            }),
        },
        _ => {
            // The usual case first: one object, in text checked as UTF-8 once (`from_slice`
            // checks every string it reads again); a flat one without escapes by
            // [`flat::object`]. Anything else (another value, a syntax error, trailing commas,
            // bytes that are not UTF-8) is read again below, for its kind or its error.
            if let Ok(text) = std::str::from_utf8(bytes) {
                if flat::object_into(text, &mut spare, plain_keys) {
                    return Ok(Record::Object(Object::with_plain_keys(spare)));
                }
                if let Ok(PresizedObject(m)) = serde_json::from_str::<PresizedObject>(text) {
                    return Ok(Record::Object(m.into()));
                }
            }
            match serde_json::from_slice::<Value>(bytes).or_else(|e| {
                match strip_trailing_commas(bytes).filter(|_| trailing_commas) {
                    Some(fixed) => serde_json::from_slice::<Value>(&fixed),
                    None => Err(e),
                }
            }) {
                Ok(Value::Object(m)) => Ok(Record::Object(m.into())),
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
            }
        }
    }
}

fn raw_original(text: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_raw".into(), Value::String(text.to_owned()));
    m
}

fn lossy_row(h: &Headers, r: &CsvRow) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, f) in (r.first..r.first + r.len)
        .map(|i| r.chunk.field_bytes(i))
        .enumerate()
    {
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
    /// The output keys in order: CSV's columns; for the JSON formats the keys the plan is known
    /// to write (may be empty: records may hold others).
    pub columns: Vec<String>,
    /// `"key":` of each of `columns`, written once here instead of escaped for every record.
    keys: KeyTexts,
}

impl Encoder {
    /// An encoder of `format`. `columns`: see [`Encoder::columns`].
    pub fn new(format: Format, nulls: Nulls, delimiter: u8, columns: Vec<String>) -> Encoder {
        Encoder {
            format,
            nulls,
            delimiter,
            keys: KeyTexts::new(columns.iter().cloned()),
            columns,
        }
    }
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
        let mut next = 0;
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
            // Outputs usually come in column order, and the columns' JSON texts are ready
            // (comparing is much cheaper than escaping).
            self.keys.write(buf, k, &mut next);
            write_json(buf, v);
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

/// Write a JSON value with raw UTF-8: strings through [`write_str`], anything else through
/// serde_json.
pub fn write_json(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(buf, s),
        // Writing to a Vec cannot fail.
        other => {
            let _ = serde_json::to_writer(&mut *buf, other);
        }
    }
}

/// Write `s` as a JSON string: raw UTF-8, with `"`, `\\` and the control characters below U+0020
/// escaped exactly as serde_json escapes them. Most keys and values need no escape at all and are
/// copied in one piece; looking for the bytes to escape 8 (or 32) at a time instead of serde_json's
/// byte-by-byte loop is what makes this cheaper.
#[inline]
pub fn write_str(buf: &mut Vec<u8>, s: &str) {
    write_str_bytes(buf, s.as_bytes());
}

/// [`write_str`] of UTF-8 text given as bytes (JSON written by [`write_json`], to be embedded
/// as a string).
#[inline]
pub fn write_str_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    buf.reserve(b.len() + 2);
    buf.push(b'"');
    match find_escape(b) {
        None => buf.extend_from_slice(b),
        Some(first) => write_escaped(buf, b, first),
    }
    buf.push(b'"');
}

/// [`write_str`] of `s` into `buf`, and the same JSON text into `esc` escaped as the inside of
/// a JSON string: JSON that is also answered embedded in a string (the sidecar's `/transform`
/// answer gives the output, and the request body that is the same JSON) is written once each
/// way, instead of escaping the finished body, which has a quote every few bytes, afterwards.
#[inline]
pub fn write_str_twice(buf: &mut Vec<u8>, esc: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    match find_escape(b) {
        // `"s"` escaped is `\"s\"`.
        None => {
            buf.reserve(b.len() + 2);
            buf.push(b'"');
            buf.extend_from_slice(b);
            buf.push(b'"');
            esc.reserve(b.len() + 4);
            esc.extend_from_slice(b"\\\"");
            esc.extend_from_slice(b);
            esc.extend_from_slice(b"\\\"");
        }
        Some(first) => {
            let start = buf.len();
            buf.reserve(b.len() + 8);
            buf.push(b'"');
            write_escaped(buf, b, first);
            buf.push(b'"');
            escape_into(esc, &buf[start..]);
        }
    }
}

/// The keys an output is known to have, in order, with their JSON texts written once: `"key":`,
/// and the same escaped as the inside of a JSON string (a JSON body inside a JSON answer).
/// Writing them costs a copy instead of a scan for characters to escape, for every record.
#[derive(Debug, Default, Clone)]
pub struct KeyTexts {
    keys: Vec<KeyText>,
}

/// A key, `"key":`, and that escaped.
#[derive(Debug, Clone)]
struct KeyText {
    name: String,
    json: Box<[u8]>,
    escaped: Box<[u8]>,
}

impl KeyTexts {
    pub fn new(names: impl IntoIterator<Item = String>) -> KeyTexts {
        let keys = names
            .into_iter()
            .map(|name| {
                let json = json_key(&name);
                let mut escaped = Vec::with_capacity(json.len() + 4);
                escape_into(&mut escaped, &json);
                KeyText {
                    name,
                    json,
                    escaped: escaped.into_boxed_slice(),
                }
            })
            .collect();
        KeyTexts { keys }
    }

    /// `key`'s texts, looked for at `*next` first, and `*next` moved past it: an output's keys
    /// come in the order of its fields, some left out, so the place after the last key found
    /// is the likely one.
    #[inline(always)]
    fn find(&self, key: &str, next: &mut usize) -> Option<&KeyText> {
        let at = match self.keys.get(*next) {
            Some(k) if k.name == key => *next,
            _ => self.keys.iter().position(|k| k.name == key)?,
        };
        *next = at + 1;
        self.keys.get(at)
    }

    /// `"key":` into `buf`: the prepared text when `key` is one of these keys (see `find` for
    /// `next`), else written and escaped now.
    #[inline(always)]
    pub fn write(&self, buf: &mut Vec<u8>, key: &str, next: &mut usize) {
        match self.find(key, next) {
            Some(k) => buf.extend_from_slice(&k.json),
            None => {
                write_str(buf, key);
                buf.push(b':');
            }
        }
    }

    /// [`KeyTexts::write`] into `buf`, and the same escaped into `esc`, as [`write_str_twice`]
    /// does.
    #[inline(always)]
    pub fn write_twice(&self, buf: &mut Vec<u8>, esc: &mut Vec<u8>, key: &str, next: &mut usize) {
        match self.find(key, next) {
            Some(k) => {
                buf.extend_from_slice(&k.json);
                esc.extend_from_slice(&k.escaped);
            }
            None => {
                write_str_twice(buf, esc, key);
                buf.push(b':');
                esc.push(b':');
            }
        }
    }
}

/// [`write_json`] of `v` into `buf`, and escaped into `esc`, as [`write_str_twice`] does.
pub fn write_json_twice(buf: &mut Vec<u8>, esc: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str_twice(buf, esc, s),
        other => {
            let start = buf.len();
            write_json(buf, other);
            escape_into(esc, &buf[start..]);
        }
    }
}

/// `b` escaped as the inside of a JSON string (without the quotes around it).
fn escape_into(buf: &mut Vec<u8>, b: &[u8]) {
    match find_escape(b) {
        None => buf.extend_from_slice(b),
        Some(first) => write_escaped(buf, b, first),
    }
}

/// Copy `b`, escaping it, when its first byte to escape is at `first`. Text with one escape
/// tends to have many (a JSON body inside a JSON answer has a quote every few bytes), so the next
/// ones are looked for a word at a time, without [`find_escape`]'s blocks for long plain text.
fn write_escaped(buf: &mut Vec<u8>, b: &[u8], first: usize) {
    let needs = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
    let mut start = 0; // the first byte not written yet
    let mut at = Some(first);
    let mut i = first;
    loop {
        if let Some(e) = at.take() {
            buf.extend_from_slice(&b[start..e]);
            push_escape(buf, b[e]);
            start = e + 1;
            i = start;
        }
        match b.get(i..i + 8) {
            Some(word) => match escape_in_word(word) {
                Some(p) => at = Some(i + p),
                None => i += 8,
            },
            None => match b[i..].iter().position(|&c| needs(c)) {
                Some(p) => at = Some(i + p),
                None => break,
            },
        }
    }
    buf.extend_from_slice(&b[start..]);
}

/// The escape of one byte that needs one, as serde_json writes it.
fn push_escape(buf: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        b'"' => buf.extend_from_slice(b"\\\""),
        b'\\' => buf.extend_from_slice(b"\\\\"),
        b'\n' => buf.extend_from_slice(b"\\n"),
        b'\r' => buf.extend_from_slice(b"\\r"),
        b'\t' => buf.extend_from_slice(b"\\t"),
        0x08 => buf.extend_from_slice(b"\\b"),
        0x0c => buf.extend_from_slice(b"\\f"),
        c => buf.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(c >> 4)],
            HEX[usize::from(c & 0xf)],
        ]),
    }
}

/// The position of the first byte of `b` that must be escaped in a JSON string.
#[inline]
fn find_escape(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    // Long text (notes): 32 bytes per step, with a check the compiler turns into a few vector
    // instructions (bitwise `|` and no early exit), up to the first block holding something.
    while let Some(block) = b.get(i..i + 32) {
        let any = block.iter().fold(false, |acc, &c| {
            acc | (c < 0x20) | (c == b'"') | (c == b'\\')
        });
        if any {
            break;
        }
        i += 32;
    }
    escape_by_words(b, i)
}

/// The position of the first byte of `b` that must be escaped in a JSON string, looked for from
/// `i` on, 8 bytes at a time; the bytes before `i` must hold none. Short text (a payload's keys
/// and values) goes straight here, without [`find_escape`]'s blocks for long plain text.
pub(crate) fn escape_by_words(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(word) = b.get(i..i + 8) {
        if let Some(p) = escape_in_word(word) {
            return Some(i + p);
        }
        i += 8;
    }
    if i >= b.len() {
        return None;
    }
    // The last 1 to 7 bytes: as the word ending at the end (its first bytes were checked
    // already and hold nothing), or byte by byte when the whole text is shorter than a word.
    match b.len().checked_sub(8) {
        Some(start) => escape_in_word(&b[start..]).map(|p| start + p),
        None => b.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\'),
    }
}

/// The position of the first byte to escape in 8 bytes, checked at once as a u64 (SWAR).
#[inline]
fn escape_in_word(word: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `x` below `n` (n <= 0x80). A borrow in the subtraction can
    // only flag bytes *after* a real hit, so the lowest flagged byte is exact.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut w = [0u8; 8];
    w.copy_from_slice(word);
    let w = u64::from_le_bytes(w);
    let hit = below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1);
    (hit != 0).then(|| (hit.trailing_zeros() / 8) as usize)
}

/// What a rejected record held, as the rejects file shows it.
#[derive(Debug, Clone, Copy)]
pub enum Original<'a> {
    /// A decoded record: written from its fields as they are, without building a map first.
    Record(&'a Record),
    /// What could be recovered of an input that did not decode.
    Object(&'a Map<String, Value>),
}

/// Writes rejected records: the facts the mapping asks for, then the original record.
#[derive(Debug, Clone)]
pub struct RejectEncoder {
    pub include: Vec<RejectInfo>,
    pub csv: bool,
    /// The input columns (a CSV input's header): CSV rejects have them as columns, after the
    /// `_reject_*` ones; JSON rejects have their keys prepared once.
    pub input_columns: Option<Vec<String>>,
    /// `"name":` of each input column.
    keys: KeyTexts,
}

/// `"key":` as JSON.
fn json_key(k: &str) -> Box<[u8]> {
    let mut out = Vec::with_capacity(k.len() + 3);
    write_str(&mut out, k);
    out.push(b':');
    out.into_boxed_slice()
}

impl RejectEncoder {
    pub fn new(
        include: Vec<RejectInfo>,
        csv: bool,
        input_columns: Option<Vec<String>>,
    ) -> RejectEncoder {
        RejectEncoder {
            include,
            csv,
            keys: KeyTexts::new(input_columns.iter().flatten().cloned()),
            input_columns,
        }
    }

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

    fn fact(i: RejectInfo, pos: Position, f: &Failure) -> Value {
        match i {
            RejectInfo::Reason => Value::String(f.reason.to_string()),
            RejectInfo::Row => Value::from(pos.row),
            RejectInfo::Line => Value::from(pos.line),
            RejectInfo::Field => Value::String(f.field.clone()),
            RejectInfo::Rule => Value::String(f.rule.clone()),
            RejectInfo::Message => Value::String(f.message.clone()),
        }
    }

    pub fn encode(&self, pos: Position, f: &Failure, original: Original<'_>, buf: &mut Vec<u8>) {
        if self.csv {
            self.csv_row(pos, f, original, buf);
            return;
        }
        buf.push(b'{');
        let mut first = true;
        let mut sep = |buf: &mut Vec<u8>| {
            if !first {
                buf.push(b',');
            }
            first = false;
        };
        for &i in &self.include {
            sep(buf);
            write_str(buf, i.key());
            buf.push(b':');
            match i {
                RejectInfo::Reason => write_str(buf, &f.reason),
                RejectInfo::Field => write_str(buf, &f.field),
                RejectInfo::Rule => write_str(buf, &f.rule),
                RejectInfo::Message => write_str(buf, &f.message),
                RejectInfo::Row | RejectInfo::Line => write_json(buf, &Self::fact(i, pos, f)),
            }
        }
        match original {
            // A row as wide as its header (always so for rows that decoded): the columns in
            // order, the first of each name only (as `Record::to_object` has them).
            Original::Record(Record::Row { headers, row })
                if row.len() == headers.names().len() =>
            {
                for (i, (name, text)) in headers.names().iter().zip(row.iter()).enumerate() {
                    if !headers.is_first(i) {
                        continue;
                    }
                    sep(buf);
                    // The header is usually the input columns the encoder was made with.
                    let mut at = i;
                    self.keys.write(buf, name, &mut at);
                    write_str(buf, text);
                }
            }
            original => {
                let mut member = |k: &str, v: &Value| {
                    sep(buf);
                    write_str(buf, k);
                    buf.push(b':');
                    write_json(buf, v);
                };
                match original {
                    Original::Record(Record::Object(o)) => {
                        o.map().iter().for_each(|(k, v)| member(k, v))
                    }
                    Original::Object(m) => m.iter().for_each(|(k, v)| member(k, v)),
                    Original::Record(rec) => rec.to_object().iter().for_each(|(k, v)| member(k, v)),
                }
            }
        }
        buf.extend_from_slice(b"}\n");
    }

    fn csv_row(&self, pos: Position, f: &Failure, original: Original<'_>, buf: &mut Vec<u8>) {
        // CSV rejects of JSON records (rare): the record as a JSON object.
        let object;
        let original = match original {
            Original::Object(m) => m,
            Original::Record(rec) => {
                object = rec.to_object();
                &object
            }
        };
        let mut cells: Vec<String> = self
            .include
            .iter()
            .map(|&i| scalar_text(&Self::fact(i, pos, f)).into_owned())
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
        Encoder::new(
            format,
            nulls,
            b',',
            columns.iter().map(|s| s.to_string()).collect(),
        )
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
            "\u{8}\u{c}\r\u{1b}",
            "the first 32 bytes need nothing but\tthen",
            "ends in a quote after thirty-two bytes of text\"",
            "ÿ\u{80}\u{ff} high bytes near \"\\ and \u{1}",
        ];
        for s in samples {
            let mut fast = Vec::new();
            write_json(&mut fast, &Value::String(s.into()));
            assert_eq!(fast, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        // Dense escapes: JSON inside JSON, and two escapes at every pair of nearby offsets.
        let body =
            r#"{"SourceNumber":"+61412345678","CallNotes":"a \"quoted\" note\n","x":[1,"\\"]}"#;
        let mut fast = Vec::new();
        write_str(&mut fast, body);
        assert_eq!(fast, serde_json::to_vec(body).unwrap());
        for a in 0..20 {
            for b in a..a + 20 {
                let mut s: Vec<char> = "y".repeat(b + 3).chars().collect();
                s[a] = '"';
                s[b] = '\n';
                let s: String = s.into_iter().collect();
                let mut fast = Vec::new();
                write_str(&mut fast, &s);
                assert_eq!(fast, serde_json::to_vec(&s).unwrap(), "{s:?}");
            }
        }
        // Every byte that needs escaping, at every offset of a word and of a 32-byte block.
        for c in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..40 {
                let mut s = "x".repeat(at);
                s.push(char::from(c));
                s.push_str("tail");
                let mut fast = Vec::new();
                write_str(&mut fast, &s);
                assert_eq!(fast, serde_json::to_vec(&s).unwrap(), "{s:?}");
            }
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
    fn jsonl_prepared_keys_and_keys_out_of_column_order() {
        let e = enc(Format::Jsonl, Nulls::Null, &["a", "q\"k"]);
        let mut buf = Vec::new();
        e.encode(&output(json!({"a": 1, "q\"k": 2})), &mut buf)
            .unwrap();
        e.encode(&output(json!({"q\"k": 3, "x": 4, "a": 5})), &mut buf)
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"a\":1,\"q\\\"k\":2}\n{\"q\\\"k\":3,\"x\":4,\"a\":5}\n"
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
    fn trailing_commas_are_dropped_outside_strings_only() {
        let fixed = strip_trailing_commas(b"{\"a\": \"x,}\",\n \"b\": [1,2,],\n}").unwrap();
        assert_eq!(
            String::from_utf8(fixed).unwrap(),
            "{\"a\": \"x,}\",\n \"b\": [1,2 ] \n}"
        );
        assert_eq!(strip_trailing_commas(b"{\"a\": \"\\\",}\"}"), None);
        assert_eq!(strip_trailing_commas(b"{\"a\": 1}"), None);
    }

    #[test]
    fn a_trailing_comma_is_invalid_json_unless_allowed() {
        let line = b"{\"PLA_Call_Id\": \"1\",\n}".to_vec();
        let e = decode(Raw::Line(line.clone()), Format::Json, None, false).unwrap_err();
        assert_eq!(e.reason, "invalid_json");
        let rec = decode(Raw::Line(line), Format::Json, None, true).unwrap();
        assert_eq!(rec.to_object()["PLA_Call_Id"], json!("1"));
    }

    #[test]
    fn a_json_line_reads_as_serde_json_reads_it() {
        for text in [
            r#"{"b": 1, "a": {"x": [1, 2.5, null]}, "b": "last", "c": true}"#,
            r#"  {}  "#,
            r#"{"k": "\u00e9\n", "": ""}"#,
        ] {
            let rec = decode(Raw::Line(text.into()), Format::Json, None, false).unwrap();
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Value::Object(rec.to_object()), want, "{text}");
            // Key order too (a repeated key keeps its first place).
            let keys: Vec<&str> = rec.keys();
            let want_keys: Vec<&str> = want
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, want_keys, "{text}");
        }
        for (text, reason) in [
            ("[1]", "not_an_object"),
            ("\"x\"", "not_an_object"),
            ("{\"a\": 1} x", "invalid_json"),
            ("{\"a\": }", "invalid_json"),
        ] {
            let e = decode(Raw::Line(text.into()), Format::Json, None, false).unwrap_err();
            assert_eq!(e.reason, reason, "{text}");
        }
    }

    #[test]
    fn decode_csv_checks_width_and_utf8() {
        let h = Arc::new(Headers::new(vec!["a".into(), "b".into()]));
        let ok = decode(
            Raw::Csv(CsvRow::of_fields([&b"1"[..], b"2"])),
            Format::Csv,
            Some(&h),
            false,
        );
        assert!(ok.is_ok());
        let e = decode(
            Raw::Csv(CsvRow::of_fields([&b"1"[..]])),
            Format::Csv,
            Some(&h),
            false,
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.message.as_str()),
            ("malformed_row", "the row has 1 fields, the header has 2")
        );
        let e = decode(
            Raw::Csv(CsvRow::of_fields([&b"ok"[..], b"\xff"])),
            Format::Csv,
            Some(&h),
            false,
        )
        .unwrap_err();
        assert_eq!(e.reason, "invalid_utf8");
        assert!(e.message.contains("`b`"));
        assert_eq!(
            Value::Object(e.original),
            json!({"a": "ok", "b": "\u{fffd}"})
        );
    }

    #[test]
    fn rows_of_a_chunk_are_checked_each() {
        let h = Arc::new(Headers::new(vec!["a".into(), "b".into()]));
        let rows = |fields: &[&[u8]]| {
            let chunk = Arc::new(Chunk::of_fields(fields.iter().copied()));
            (0..fields.len() / 2)
                .map(|r| {
                    let raw = Raw::Csv(CsvRow {
                        chunk: chunk.clone(),
                        first: r * 2,
                        len: 2,
                    });
                    decode(raw, Format::Csv, Some(&h), false).map(|rec| rec.to_object())
                })
                .collect::<Vec<_>>()
        };
        // UTF-8 as a whole, but the second row's fields cut "é" (c3 a9) in two.
        let got = rows(&[b"x", "é".as_bytes(), b"y\xc3", b"\xa9z", b"", b"w"]);
        assert_eq!(
            got[0].clone().unwrap(),
            *json!({"a": "x", "b": "é"}).as_object().unwrap()
        );
        let e = got[1].clone().unwrap_err();
        assert_eq!(
            (e.reason, e.message.contains("`a`")),
            ("invalid_utf8", true)
        );
        assert_eq!(
            Value::Object(e.original),
            json!({"a": "y\u{fffd}", "b": "\u{fffd}z"})
        );
        assert_eq!(
            got[2].clone().unwrap(),
            *json!({"a": "", "b": "w"}).as_object().unwrap()
        );
        // Not UTF-8 as a whole: the rows that are still decode.
        let got = rows(&[b"x", b"\xff", "é".as_bytes(), b"2"]);
        assert_eq!(got[0].clone().unwrap_err().reason, "invalid_utf8");
        assert_eq!(
            got[1].clone().unwrap(),
            *json!({"a": "é", "b": "2"}).as_object().unwrap()
        );
    }

    #[test]
    fn decode_lines() {
        assert!(decode(Raw::Line(b"{\"a\":1}".to_vec()), Format::Jsonl, None, false).is_ok());
        assert_eq!(
            decode(Raw::Line(b"[1]".to_vec()), Format::Jsonl, None, false)
                .unwrap_err()
                .reason,
            "not_an_object"
        );
        let e = decode(Raw::Line(b"{\"a\":".to_vec()), Format::Jsonl, None, false).unwrap_err();
        assert_eq!(e.reason, "invalid_json");
        assert_eq!(Value::Object(e.original), json!({"_raw": "{\"a\":"}));
        assert_eq!(
            decode(Raw::Line(b"\"\xff\"".to_vec()), Format::Jsonl, None, false)
                .unwrap_err()
                .reason,
            "invalid_utf8"
        );
        assert!(decode(Raw::Line(b"a=1&b=2".to_vec()), Format::Query, None, false).is_ok());
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
        RejectEncoder::new(vec![RejectInfo::Reason], false, None).encode(
            pos,
            &f,
            Original::Object(&orig),
            &mut buf,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"_reject_reason\":\"invalid_phone\",\"phone\":\"12\",\"x\":\"y\"}\n"
        );
        let r = RejectEncoder::new(
            RejectInfo::all(),
            true,
            Some(vec!["phone".into(), "x".into()]),
        );
        let mut buf = r.begin();
        r.encode(pos, &f, Original::Object(&orig), &mut buf);
        let row = Record::Row {
            headers: Arc::new(Headers::new(vec!["phone".into(), "x".into()])),
            row: csv::StringRecord::from(vec!["12", "y"]).into(),
        };
        r.encode(pos, &f, Original::Record(&row), &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "_reject_reason,_reject_row,_reject_line,_reject_field,_reject_rule,_reject_message,phone,x\ninvalid_phone,3,4,P,phone,bad,12,y\ninvalid_phone,3,4,P,phone,bad,12,y\n"
        );
    }

    #[test]
    fn json_rejects_of_rows_are_the_rows_as_objects() {
        let f = Failure {
            field: "P".into(),
            rule: "phone".into(),
            reason: "invalid \"phone\"".into(),
            message: "bad\n".into(),
        };
        let pos = Position { row: 3, line: 4 };
        let headers = Arc::new(Headers::new(vec![
            "a".into(),
            "b\tc".into(),
            "a".into(),
            "d".into(),
        ]));
        let rows = [
            Record::Row {
                headers: headers.clone(),
                row: csv::StringRecord::from(vec!["1", "q\"", "3", ""]).into(),
            },
            // Narrower than the header: cannot come from the decoder, still written right.
            Record::Row {
                headers: headers.clone(),
                row: csv::StringRecord::from(vec!["1"]).into(),
            },
        ];
        // Prepared keys that match the header, that do not, and none.
        let columns = [
            Some(headers.names().to_vec()),
            Some(vec!["a".into(), "x".into()]),
            None,
        ];
        for cols in columns {
            let r = RejectEncoder::new(RejectInfo::all(), false, cols);
            for row in &rows {
                let (mut direct, mut via_map) = (Vec::new(), Vec::new());
                r.encode(pos, &f, Original::Record(row), &mut direct);
                r.encode(pos, &f, Original::Object(&row.to_object()), &mut via_map);
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(via_map).unwrap()
                );
            }
        }
        let r = RejectEncoder::new(vec![RejectInfo::Reason], false, None);
        let mut buf = Vec::new();
        r.encode(pos, &f, Original::Record(&rows[0]), &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"_reject_reason\":\"invalid \\\"phone\\\"\",\"a\":\"1\",\"b\\tc\":\"q\\\"\",\"d\":\"\"}\n"
        );
    }
}
