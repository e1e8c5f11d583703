//! Input records and the paths that read them.
//!
//! A record is either a CSV row (kept as the parsed row plus a shared header, so a file of a
//! million rows does not build a million maps) or a JSON object (JSON, JSONL, query strings and
//! forms). Paths read both the same way: `phone`, `Loan Amount`, `lead.phone`, `agents.0.id`,
//! `agents[0].id`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

/// The header of a CSV input: column names and their positions.
#[derive(Debug)]
pub struct Headers {
    names: Vec<String>,
    index: HashMap<String, usize>,
    /// Whether each column is the first of its name (a repeated name is read from its first).
    first: Vec<bool>,
    /// Unique for the life of the process: caches key on it (an address can be reused once a
    /// header is dropped, so it cannot tell two headers apart).
    id: u64,
}

static NEXT_HEADERS_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Headers {
    /// Build from the header row. A repeated name keeps its first position (`duplicates()` lists
    /// them so the caller can warn).
    pub fn new(names: Vec<String>) -> Headers {
        let mut index = HashMap::with_capacity(names.len());
        let mut first = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            first.push(*index.entry(n.clone()).or_insert(i) == i);
        }
        Headers {
            names,
            index,
            first,
            id: NEXT_HEADERS_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
    /// An id no other header of this process has.
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn names(&self) -> &[String] {
        &self.names
    }
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    /// Whether column `i` is the first of its name (false past the last column).
    pub fn is_first(&self, i: usize) -> bool {
        self.first.get(i).copied().unwrap_or(false)
    }
    pub fn duplicates(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.names
            .iter()
            .filter(|n| !seen.insert(n.as_str()))
            .map(String::as_str)
            .collect()
    }
}

/// One input record.
#[derive(Debug, Clone)]
pub enum Record {
    /// A CSV row.
    Row { headers: Arc<Headers>, row: Row },
    /// A JSON object (also query strings and forms).
    Object(Object),
}

/// The fields of a JSON record, in input order. Its hasher is foldhash's, not serde_json's
/// SipHash: every field name of every record is hashed when it is read and looked up, and
/// SipHash cost the sidecar a tenth of a request. foldhash is seeded at random per process and
/// per map, so a sender cannot choose field names that collide without seeing the hashes (and a
/// body is size-limited). Schemas read the map in place ([`crate::instance::View::Fields`]).
pub type Fields = indexmap::IndexMap<String, Value, foldhash::quality::RandomState>;

/// Where a name was found in the last record's fields. A sender lists its fields in the same
/// order in every record, so the next record most likely has the name at the same place: one
/// comparison there replaces hashing the name and probing the map. Never wrong: the name at that
/// place is compared, and a miss looks the name up and remembers where it was. Shared by the
/// threads running one plan; it is written only on a miss.
#[derive(Debug, Default)]
pub struct Hint(AtomicU32);

impl Clone for Hint {
    fn clone(&self) -> Hint {
        Hint(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

/// Hints are equal whatever they hold: a hint is a cache, not part of the meaning of what holds
/// it (a path, a template).
impl PartialEq for Hint {
    fn eq(&self, _: &Hint) -> bool {
        true
    }
}

impl Hint {
    /// The value of `name` in `m`.
    pub fn get<'m>(&self, m: &'m Fields, name: &str) -> Option<&'m Value> {
        let at = self.0.load(Ordering::Relaxed) as usize;
        if let Some((k, v)) = m.get_index(at)
            && k == name
        {
            return Some(v);
        }
        let (i, _, v) = m.get_full(name)?;
        self.0
            .store(u32::try_from(i).unwrap_or(u32::MAX), Ordering::Relaxed);
        Some(v)
    }
}

/// A new [`Fields`] with room for `n` fields.
pub fn fields_with_capacity(n: usize) -> Fields {
    Fields::with_capacity_and_hasher(n, Default::default())
}

/// Fills a map that held an earlier record with the next one, reusing what it can. A sender
/// writes its fields in the same order every time, so the name at each place is most likely the
/// name the last record had there: then the entry is kept, name, hash and all, and only its
/// value is written (a string value into the old string's room, see [`put_str`]). From the first
/// name that differs on, the old entries are dropped and the rest is inserted as into a new map.
/// The result is the map a new one would be: same names, same order, same values.
pub struct Refill<'m> {
    map: &'m mut Fields,
    /// Entries `..n` are this record's; those after it are the old record's, not yet replaced.
    n: usize,
}

impl<'m> Refill<'m> {
    pub fn new(map: &'m mut Fields) -> Refill<'m> {
        if map.capacity() == 0 {
            map.reserve(32);
        }
        Refill { map, n: 0 }
    }

    /// The value to write for `key`, and whether this record named `key` before. A new key's
    /// value is to be overwritten (it may hold the old record's value, whose room can be
    /// reused); a repeated key's value is the one this record gave it.
    pub fn slot(&mut self, key: &str) -> (&mut Value, bool) {
        // A name kept at place n cannot be one of this record's names before it: a map's names
        // are unique, and those are at places before n.
        if self.expected() == Some(key) {
            return (self.keep(), false);
        }
        self.map.truncate(self.n);
        let (i, old) = match self.map.get_index_of(key) {
            Some(i) => (i, true),
            None => (self.map.insert_full(key.to_owned(), Value::Null).0, false),
        };
        self.n = self.map.len();
        (&mut self.map[i], old)
    }

    /// The name the old record had at the place the next name goes.
    pub fn expected(&self) -> Option<&str> {
        self.map.get_index(self.n).map(|(k, _)| k.as_str())
    }

    /// The value to write for the next name, which the caller found to be [`Refill::expected`]:
    /// the entry is kept. `slot` with that name would do the same, comparing the names again.
    pub fn keep(&mut self) -> &mut Value {
        debug_assert!(self.n < self.map.len());
        self.n += 1;
        &mut self.map[self.n - 1]
    }

    /// Drop what is left of the old record.
    pub fn finish(self) {
        self.map.truncate(self.n);
    }
}

/// Set `v` to the string `s`, into the room of the string `v` holds when there is one that is
/// not much larger than needed (a long value once must not keep its room for ever).
pub fn put_str(v: &mut Value, s: &str) {
    match v {
        Value::String(old) if old.capacity() <= 256.max(2 * s.len()) => {
            old.clear();
            old.push_str(s);
        }
        _ => *v = Value::String(s.to_owned()),
    }
}

/// A JSON object (or a query string or a form) as a record.
#[derive(Debug, Clone)]
pub struct Object {
    fields: Fields,
    /// Every name is plain JSON text: no quote, backslash or control character, so a JSON text
    /// holds it as it is (see [`Spare::plain_keys`]).
    plain_keys: bool,
}

impl Object {
    /// Fields whose names are all plain JSON text (as [`crate::codec::flat`] reads them).
    pub fn with_plain_keys(fields: Fields) -> Object {
        Object {
            fields,
            plain_keys: true,
        }
    }

    pub fn map(&self) -> &Fields {
        &self.fields
    }

    pub fn into_map(self) -> Fields {
        self.fields
    }
}

impl From<Fields> for Object {
    fn from(fields: Fields) -> Object {
        Object {
            fields,
            plain_keys: false,
        }
    }
}

impl From<Map<String, Value>> for Object {
    fn from(m: Map<String, Value>) -> Object {
        let mut f = fields_with_capacity(m.len());
        f.extend(m);
        f.into()
    }
}

/// The fields of a record done with, to read the next record into (see
/// [`crate::codec::decode_line_reusing`] and [`Refill`]).
#[derive(Debug, Default)]
pub struct Spare {
    pub fields: Fields,
    /// Every name in `fields` is plain JSON text, so a JSON reader can compare a name with the
    /// text where it is, without reading it first.
    pub plain_keys: bool,
}

/// CSV rows read together: the bytes of their fields one after another, and where each field
/// ends. The rows of a batch share one chunk, so reading a row allocates nothing of its own, and
/// the text is checked as UTF-8 once per chunk instead of field by field.
#[derive(Debug)]
pub struct Chunk {
    data: ChunkData,
    /// The end of each field in `data`; a field starts where the one before it ends.
    ends: Vec<usize>,
}

#[derive(Debug)]
enum ChunkData {
    /// The fields are all UTF-8 as a whole (almost always).
    Text(String),
    /// Some are not: each field is checked on its own.
    Bytes(Vec<u8>),
}

impl Chunk {
    /// A chunk of `bytes`, the fields ending at `ends`. Checks the text as UTF-8.
    pub fn new(bytes: Vec<u8>, ends: Vec<usize>) -> Chunk {
        let data = match String::from_utf8(bytes) {
            Ok(t) => ChunkData::Text(t),
            Err(e) => ChunkData::Bytes(e.into_bytes()),
        };
        Chunk { data, ends }
    }

    /// A chunk of one row.
    pub fn of_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> Chunk {
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for f in fields {
            bytes.extend_from_slice(f);
            ends.push(bytes.len());
        }
        Chunk::new(bytes, ends)
    }

    /// The bytes of field `i`.
    pub fn field_bytes(&self, i: usize) -> &[u8] {
        let (start, end) = self.span(i);
        let all = match &self.data {
            ChunkData::Text(t) => t.as_bytes(),
            ChunkData::Bytes(b) => b,
        };
        all.get(start..end).unwrap_or_default()
    }

    /// Field `i` as text, or `None` when it is not UTF-8. (The whole chunk being UTF-8 is not
    /// enough: a field may end inside a character that the next field completes.)
    pub fn field_text(&self, i: usize) -> Option<&str> {
        let (start, end) = self.span(i);
        match &self.data {
            ChunkData::Text(t) => t.get(start..end),
            ChunkData::Bytes(b) => std::str::from_utf8(b.get(start..end)?).ok(),
        }
    }

    /// The buffers, to fill again.
    pub fn into_buffers(self) -> (Vec<u8>, Vec<usize>) {
        let bytes = match self.data {
            ChunkData::Text(t) => t.into_bytes(),
            ChunkData::Bytes(b) => b,
        };
        (bytes, self.ends)
    }

    /// The number of fields.
    pub fn fields(&self) -> usize {
        self.ends.len()
    }

    /// Whether the chunk is UTF-8 as a whole.
    fn is_text(&self) -> bool {
        matches!(self.data, ChunkData::Text(_))
    }

    /// The first of fields `first..first + len` that is not UTF-8, counted from `first`.
    fn bad_field(&self, first: usize, len: usize) -> Option<usize> {
        match &self.data {
            // Text as a whole: a field is text when it starts and ends between characters, so
            // only its ends are looked at (each field starts where the one before it ends).
            ChunkData::Text(t) => {
                let start_ok = t.is_char_boundary(self.span(first).0);
                let ends = self.ends.get(first..first + len).unwrap_or_default();
                match ends.iter().position(|&e| !t.is_char_boundary(e)) {
                    _ if !start_ok => Some(0),
                    bad => bad,
                }
            }
            ChunkData::Bytes(_) => (0..len).find(|i| self.field_text(first + i).is_none()),
        }
    }

    fn span(&self, i: usize) -> (usize, usize) {
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0),
            None => 0,
        };
        (start, self.ends.get(i).copied().unwrap_or(start))
    }
}

/// The fields of one CSV row, all UTF-8.
#[derive(Debug, Clone)]
pub struct Row(RowFields);

#[derive(Debug, Clone)]
enum RowFields {
    /// Its own fields.
    Own(csv::StringRecord),
    /// Fields `first..first + len` of a chunk that is UTF-8 as a whole.
    Shared {
        chunk: Arc<Chunk>,
        first: usize,
        len: usize,
    },
}

impl From<csv::StringRecord> for Row {
    fn from(r: csv::StringRecord) -> Row {
        Row(RowFields::Own(r))
    }
}

impl Row {
    /// Fields `first..first + len` of `chunk`; `Err` gives back the chunk and the position in
    /// the row of the first field that is not UTF-8.
    pub fn from_chunk(
        chunk: Arc<Chunk>,
        first: usize,
        len: usize,
    ) -> Result<Row, (usize, Arc<Chunk>)> {
        if let Some(bad) = chunk.bad_field(first, len) {
            return Err((bad, chunk));
        }
        if chunk.is_text() {
            return Ok(Row(RowFields::Shared { chunk, first, len }));
        }
        // A rare chunk holding some bytes that are not text: this row is, so it gets its own.
        let fields = (first..first + len).filter_map(|i| chunk.field_text(i));
        Ok(Row(RowFields::Own(fields.collect())))
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            RowFields::Own(r) => r.len(),
            RowFields::Shared { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        match &self.0 {
            RowFields::Own(r) => r.get(i),
            RowFields::Shared { chunk, first, len } if i < *len => chunk.field_text(first + i),
            RowFields::Shared { .. } => None,
        }
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    /// A number: an index into a list, or a key of an object.
    Index(usize, String),
}

/// A compiled input path.
#[derive(Debug, Clone)]
pub struct Path {
    raw: String,
    segs: Vec<Seg>,
    /// The column this path names in the CSV header it was last used with, keyed by the header's
    /// id: a run has one header, so after the first row no lookup by name is needed.
    column: std::sync::OnceLock<(u64, Option<usize>)>,
    /// Where the whole path was last found as one field of a JSON record.
    hint: Hint,
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.raw == other.raw
    }
}

impl Path {
    /// Parse `a.b.0.c` or `a.b[0].c`. A key that itself contains dots or spaces is still found:
    /// the whole text is tried as one key first.
    pub fn parse(raw: &str) -> Result<Path, String> {
        if raw.is_empty() {
            return Err("empty path".into());
        }
        let mut segs = Vec::new();
        for part in raw.split('.') {
            let mut rest = part;
            let key_end = rest.find('[').unwrap_or(rest.len());
            let key = &rest[..key_end];
            if !key.is_empty() {
                segs.push(seg(key));
            } else if key_end == rest.len() {
                return Err(format!("empty segment in path `{raw}`"));
            }
            rest = &rest[key_end..];
            while let Some(r) = rest.strip_prefix('[') {
                let close = r
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in path `{raw}`"))?;
                let idx = &r[..close];
                let n: usize = idx
                    .parse()
                    .map_err(|_| format!("`[{idx}]` in path `{raw}` is not a list index"))?;
                segs.push(Seg::Index(n, idx.to_owned()));
                rest = &r[close + 1..];
            }
            if !rest.is_empty() {
                return Err(format!("unexpected `{rest}` in path `{raw}`"));
            }
        }
        Ok(Path {
            raw: raw.to_owned(),
            segs,
            column: std::sync::OnceLock::new(),
            hint: Hint::default(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The position of this path's column in `headers`.
    pub fn column(&self, headers: &Arc<Headers>) -> Option<usize> {
        let key = headers.id();
        let (k, col) = *self
            .column
            .get_or_init(|| (key, headers.position(&self.raw)));
        if k == key {
            col
        } else {
            headers.position(&self.raw)
        }
    }

    /// The first segment: the input field the path starts from.
    pub fn root(&self) -> &str {
        match self.segs.first() {
            Some(Seg::Key(k)) | Some(Seg::Index(_, k)) => k,
            None => &self.raw,
        }
    }
}

fn seg(s: &str) -> Seg {
    match s.parse::<usize>() {
        Ok(n) if !s.starts_with('+') => Seg::Index(n, s.to_owned()),
        _ => Seg::Key(s.to_owned()),
    }
}

fn step<'a>(v: &'a Value, s: &Seg) -> Option<&'a Value> {
    match (v, s) {
        (Value::Object(m), Seg::Key(k)) | (Value::Object(m), Seg::Index(_, k)) => m.get(k),
        (Value::Array(a), Seg::Index(i, _)) => a.get(*i),
        _ => None,
    }
}

impl Record {
    /// The fields of a JSON record, to read the next one into (see
    /// [`crate::codec::decode_line_reusing`]); `None` for a CSV row.
    pub fn into_spare(self) -> Option<Spare> {
        match self {
            Record::Object(o) => Some(Spare {
                fields: o.fields,
                plain_keys: o.plain_keys,
            }),
            Record::Row { .. } => None,
        }
    }

    /// The value at `path`, or `None` when the record has no such field.
    pub fn get(&self, path: &Path) -> Option<Cow<'_, Value>> {
        match self {
            Record::Row { headers, row } => {
                let i = path.column(headers)?;
                row.get(i).map(|s| Cow::Owned(Value::String(s.to_owned())))
            }
            Record::Object(o) => {
                let m = o.map();
                if let Some(v) = path.hint.get(m, &path.raw) {
                    return Some(Cow::Borrowed(v));
                }
                if path.segs.len() < 2 {
                    return None;
                }
                let (first, rest) = path.segs.split_first()?;
                let mut cur = match first {
                    Seg::Key(k) | Seg::Index(_, k) => m.get(k)?,
                };
                for s in rest {
                    cur = step(cur, s)?;
                }
                Some(Cow::Borrowed(cur))
            }
        }
    }

    /// Put the value at `path` into `v`; false (and `v` untouched) when there is none. For a
    /// CSV row the text goes straight into `v`, without a value made and then moved there.
    pub fn get_into(&self, path: &Path, v: &mut Value) -> bool {
        match self {
            Record::Row { headers, row } => match path.column(headers).and_then(|i| row.get(i)) {
                Some(s) => {
                    *v = Value::String(s.to_owned());
                    true
                }
                None => false,
            },
            Record::Object(_) => match self.get(path) {
                Some(x) => {
                    *v = x.into_owned();
                    true
                }
                None => false,
            },
        }
    }

    /// The input field names, in input order.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Record::Row { headers, .. } => headers.names().iter().map(String::as_str).collect(),
            Record::Object(o) => o.map().keys().map(String::as_str).collect(),
        }
    }

    /// The value of a top-level input field; `hint` remembers where a JSON record had it.
    pub fn field(&self, name: &str, hint: &Hint) -> Option<Cow<'_, Value>> {
        match self {
            Record::Row { headers, row } => headers
                .position(name)
                .and_then(|i| row.get(i))
                .map(|s| Cow::Owned(Value::String(s.to_owned()))),
            Record::Object(o) => hint.get(o.map(), name).map(Cow::Borrowed),
        }
    }

    /// The whole record as a JSON object (for templates, rejects and explain).
    pub fn to_object(&self) -> Map<String, Value> {
        match self {
            Record::Row { headers, row } => {
                let mut m = Map::with_capacity(row.len());
                for (i, v) in row.iter().enumerate() {
                    let key = match headers.names().get(i) {
                        Some(k) => k.clone(),
                        None => format!("_extra_{}", i + 1 - headers.names().len()),
                    };
                    m.entry(key).or_insert_with(|| Value::String(v.to_owned()));
                }
                m
            }
            Record::Object(o) => o
                .map()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `pairs` written into `map` with a [`Refill`], the way the readers do (a repeated key
    /// takes the last value).
    fn refill(map: &mut Fields, pairs: &[(&str, &str)]) {
        let mut fill = Refill::new(map);
        for (k, v) in pairs {
            put_str(fill.slot(k).0, v);
        }
        fill.finish();
    }

    #[test]
    fn refill_gives_the_map_a_new_one_would_be() {
        let cases: &[&[(&str, &str)]] = &[
            &[("a", "1"), ("b", "2"), ("c", "3")],
            // Same names, same order: every entry kept.
            &[("a", "4"), ("b", "5"), ("c", "6")],
            // Fewer names: the rest dropped.
            &[("a", "7")],
            &[("a", "8"), ("b", "9"), ("c", "10"), ("d", "11")],
            // Another order, a name missing, a new one.
            &[("c", "1"), ("a", "2"), ("e", "3")],
            // A repeated name: its first place, its last value; also when the old map has
            // it at the place where it comes again.
            &[("c", "x"), ("a", "y"), ("c", "z")],
            &[("c", "x"), ("c", "y"), ("a", "z")],
            &[("a", "x"), ("c", "y"), ("a", "z"), ("c", "w")],
            &[],
            &[("z", "1")],
        ];
        let mut map = Fields::default();
        for pairs in cases {
            refill(&mut map, pairs);
            let mut fresh = Fields::default();
            for (k, v) in pairs.iter() {
                fresh.insert((*k).to_owned(), Value::from(*v));
            }
            assert_eq!(map, fresh, "{pairs:?}");
            // The hash table agrees with the order: every name is found where it is.
            for (i, (k, _)) in map.iter().enumerate() {
                assert_eq!(map.get_index_of(k), Some(i), "{pairs:?}");
            }
        }
    }

    #[test]
    fn refill_reuses_names_and_room_but_not_too_much() {
        let mut map = Fields::default();
        refill(&mut map, &[("name", "a value of some length"), ("b", "")]);
        let key = map.get_index(0).map(|(k, _)| k.as_ptr());
        let room = |m: &Fields| match m.get_index(0) {
            Some((_, Value::String(s))) => (s.as_ptr(), s.capacity()),
            other => panic!("{other:?}"),
        };
        let (at, cap) = room(&map);
        refill(&mut map, &[("name", "short"), ("b", "x")]);
        assert_eq!(map.get_index(0).map(|(k, _)| k.as_ptr()), key);
        assert_eq!(room(&map), (at, cap));
        // A long value once does not keep its room when the next is short.
        refill(&mut map, &[("name", &"x".repeat(10_000))]);
        refill(&mut map, &[("name", "short")]);
        assert!(room(&map).1 < 1_000, "{}", room(&map).1);
        // A value that was not a string is replaced.
        let mut v = Value::Bool(true);
        put_str(&mut v, "t");
        assert_eq!(v, json!("t"));
    }

    fn obj(v: Value) -> Record {
        match v {
            Value::Object(m) => Record::Object(m.into()),
            _ => unreachable!(),
        }
    }

    #[test]
    fn paths_parse() {
        assert!(Path::parse("a.b[0].c").is_ok());
        assert!(Path::parse("").is_err());
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("a[x]").is_err());
        assert!(Path::parse("a[0").is_err());
        assert!(Path::parse("a[0]x").is_err());
        assert_eq!(Path::parse("lead.phone").unwrap().root(), "lead");
    }

    #[test]
    fn object_lookup() {
        let r =
            obj(json!({"lead": {"phone": "1", "tags": ["x", "y"]}, "a.b": 2, "Loan Amount": "3"}));
        let get = |p: &str| r.get(&Path::parse(p).unwrap()).map(|v| v.into_owned());
        assert_eq!(get("lead.phone"), Some(json!("1")));
        assert_eq!(get("lead.tags.1"), Some(json!("y")));
        assert_eq!(get("lead.tags[0]"), Some(json!("x")));
        assert_eq!(get("a.b"), Some(json!(2)));
        assert_eq!(get("Loan Amount"), Some(json!("3")));
        assert_eq!(get("lead.nope"), None);
        assert_eq!(get("lead.phone.x"), None);
        assert_eq!(get("lead.tags.5"), None);
    }

    #[test]
    fn hints_follow_records_whose_fields_move() {
        // One path and one hint used on records that list their fields in different orders,
        // lack the field, or have fewer fields than the place the hint remembers.
        let records = [
            json!({"a": "1", "b": "2", "c": "3"}),
            json!({"c": "4", "a": "5"}),
            json!({"b": "6"}),
            json!({"x": "7", "y": "8", "z": "9", "b": "10", "a": "11"}),
            json!({}),
            json!({"a": null, "b": "12"}),
        ];
        let paths = ["a", "b", "c", "z"].map(|p| Path::parse(p).unwrap());
        let hints = [(); 4].map(|()| Hint::default());
        for round in 0..3 {
            for (n, v) in records.iter().enumerate() {
                let r = obj(v.clone());
                for (i, p) in paths.iter().enumerate() {
                    let want = v.get(p.as_str());
                    assert_eq!(
                        r.get(p).as_deref(),
                        want,
                        "round {round}, record {n}, {p:?}"
                    );
                    assert_eq!(
                        r.field(p.as_str(), &hints[i]).as_deref(),
                        want,
                        "round {round}, record {n}, {p:?}"
                    );
                }
            }
        }
        // After a record in one order, the hint points where that record had the name.
        let m = match obj(records[3].clone()) {
            Record::Object(o) => o.into_map(),
            Record::Row { .. } => unreachable!(),
        };
        let h = Hint::default();
        assert_eq!(h.get(&m, "a"), Some(&json!("11")));
        assert_eq!(h.0.load(Ordering::Relaxed), 4);
        assert_eq!(h.get(&m, "nope"), None);
        assert_eq!(h.0.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn row_lookup_and_object() {
        let h = Arc::new(Headers::new(vec!["a".into(), "b c".into(), "a".into()]));
        assert_eq!(h.duplicates(), vec!["a"]);
        let r = Record::Row {
            headers: h,
            row: csv::StringRecord::from(vec!["1", "2", "3"]).into(),
        };
        assert_eq!(
            r.get(&Path::parse("b c").unwrap()).unwrap().into_owned(),
            json!("2")
        );
        assert_eq!(
            r.get(&Path::parse("a").unwrap()).unwrap().into_owned(),
            json!("1")
        );
        assert_eq!(Value::Object(r.to_object()), json!({"a": "1", "b c": "2"}));
    }

    #[test]
    fn a_path_used_with_one_header_then_another_reads_the_right_column() {
        // A header freed and another allocated often share an address: the column cache must
        // not mistake one for the other.
        let p = Path::parse("phone").unwrap();
        for round in 0..50 {
            let names: Vec<String> = if round % 2 == 0 {
                vec!["phone".into(), "x".into()]
            } else {
                vec!["x".into(), "y".into(), "phone".into()]
            };
            let col = names.iter().position(|n| n == "phone");
            let h = Arc::new(Headers::new(names));
            assert_eq!(p.column(&h), col, "round {round}");
        }
    }
}
