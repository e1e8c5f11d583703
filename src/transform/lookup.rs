//! `lookup`: translate a value through a table.
//!
//! Vendors name the same thing differently: Delacon's `PLA_CallResult` says `Unanswered` or
//! `Busy` where LeadSquared's call log wants `Missed`; a lead's state decides which agents ring.
//! `lookup` holds such a table, written inline (`map`) or read from a CSV file once when the
//! mapping is compiled (`file`, `key`, `value`). A value that is not in the table is rejected by
//! default, naming the value and the accepted keys, because a silent wrong status is worse than
//! a rejected record; `default` or `on_missing` choose otherwise.
//!
//! With `all: true` a lookup returns every match as a list (every agent of a state), which
//! `sort_records`, `unzip_records` and `index_records` then shape into the CallerReady answer.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{Bound, CompileCtx, Example, Pairs, RuleConfig, RuleDoc, RuleError, Transform, as_text, kind, show};

/// What to do with a value that is not in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// Reject the record (reason `unknown_value`, or `reason`).
    Reject,
    /// Use the `default` value.
    Default,
    /// Pass the input through unchanged.
    Keep,
    /// Give `null` (the field is left empty).
    Null,
}

impl fmt::Display for OnMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnMissing::Reject => "reject",
            OnMissing::Default => "default",
            OnMissing::Keep => "keep",
            OnMissing::Null => "null",
        })
    }
}

/// Deserialize an option that is present, even when its value is `null` (`default: null`,
/// `on_missing: null`), so that it is told apart from an option left out.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn yes() -> bool {
    true
}

/// Options of `lookup`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The table written inline: input text -> output value (any JSON value).
    #[serde(default)]
    pub map: Option<Pairs<Value>>,
    /// A CSV file with a header row, relative to the mapping file's directory.
    #[serde(default)]
    pub file: Option<String>,
    /// With `file`: the column the input is matched against.
    #[serde(default)]
    pub key: Option<String>,
    /// With `file`: the column returned; without it the whole row is returned as an object.
    #[serde(default)]
    pub value: Option<String>,
    /// Return a list of every match, in table order; no match gives `[]` (default false).
    #[serde(default)]
    pub all: bool,
    /// Match regardless of upper/lower case (default false).
    #[serde(default)]
    pub case_insensitive: bool,
    /// Trim whitespace from the input and the table keys before matching (default true).
    #[serde(default = "yes")]
    pub trim: bool,
    /// The value to use when the input is not in the table.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Value>")]
    pub default: Option<Value>,
    /// `reject`, `default`, `keep` or `null` (default `reject`, or `default` when a `default` is given).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<OnMissing>")]
    pub on_missing: Option<OnMissing>,
    /// The reason code when a value is rejected (default `unknown_value`).
    #[serde(default)]
    pub reason: Option<String>,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "lookup",
        summary: "Translate a value through a table written inline or read from a CSV file.",
        description: "The table is either inline, `map: {Answered: Answered, Unanswered: Missed}` \
(keys are text, values any JSON value), or a CSV file with a header row: `file: agents.csv` \
(relative to the mapping file's directory, read once when the mapping is loaded), `key: state` \
(the column matched) and optionally `value: email` (the column returned; without it the whole \
row is returned as an object, columns in file order). A missing file or column, or a key that \
appears twice in the file, stops the mapping from loading with a message naming it.\n\n\
Matching: `trim` (default true) trims the input and the table keys; `case_insensitive` \
(default false) ignores upper/lower case. Numbers and booleans are matched through their text \
form. `all: true` returns a list of every matching row or value, in table order (keys may then \
repeat, to select every agent of a state), and no match gives `[]`.\n\n\
A value not in the table: `on_missing: reject` (the default) fails with reason `unknown_value` \
(or the code given in `reason`), the message naming the value and, for tables of up to 10 keys, \
the accepted keys; `default: X` (which implies `on_missing: default`) gives X; `keep` passes the \
input through unchanged; `null` gives `null`. `null` input passes through; a list is looked up \
element by element; an object fails with reason `wrong_type`.",
        examples: &[
            Example {
                step: "{lookup: {map: {Answered: Answered, Unanswered: Missed, Busy: Missed}}}",
                input: r#""Busy""#,
                output: Ok(r#""Missed""#),
            },
            Example {
                step: "{lookup: {map: {Answered: Answered, Unanswered: Missed, Busy: Missed}}}",
                input: r#""Transferred""#,
                output: Err("unknown_value"),
            },
            Example {
                step: "{lookup: {map: {Answered: Answered, Unanswered: Missed, Busy: Missed}, default: Missed}}",
                input: r#""Transferred""#,
                output: Ok(r#""Missed""#),
            },
            Example {
                step: "{lookup: {map: {answered: Answered, unanswered: Missed}, case_insensitive: true}}",
                input: r#"" ANSWERED ""#,
                output: Ok(r#""Answered""#),
            },
            Example {
                step: "{lookup: {map: {\"1\": Voicemail, \"0\": Missed}}}",
                input: "1",
                output: Ok(r#""Voicemail""#),
            },
            Example {
                step: "{lookup: {map: {CA: \"328290\", NV: \"328999\"}, on_missing: keep}}",
                input: r#"["CA", "TX"]"#,
                output: Ok(r#"["328290", "TX"]"#),
            },
            Example {
                step: "{lookup: {map: {CA: {id: \"328290\", phone: \"8885551111\", tier: 1}}, all: true}}",
                input: r#""CA""#,
                output: Ok(r#"[{"id": "328290", "phone": "8885551111", "tier": 1}]"#),
            },
            Example {
                step: "{lookup: {map: {CA: {id: \"328290\"}}, all: true}}",
                input: r#""WY""#,
                output: Ok("[]"),
            },
            Example {
                step: "{lookup: {map: {mortgage: M, refinance: R}, reason: unknown_plantype}}",
                input: r#""auto""#,
                output: Err("unknown_plantype"),
            },
        ],
    };
    fn compile(self, cx: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let mode = self.missing_mode()?;
        let reason = match self.reason {
            None => "unknown_value".to_owned(),
            Some(_) if mode != Mode::Reject => {
                return Err("`reason` is only used when values not in the table are rejected \
(`on_missing: reject`, without `default` or `all: true`)"
                    .into());
            }
            Some(r) if r.is_empty() || !r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') => {
                return Err(format!("`reason: {r}` must be a snake_case code such as `unknown_status`"));
            }
            Some(r) => r,
        };
        let norm = Norm { trim: self.trim, case_insensitive: self.case_insensitive };
        let table = match (self.map, self.file) {
            (Some(_), Some(_)) => {
                return Err("give the table either inline (`map`) or as a CSV file (`file`), not both".into());
            }
            (None, None) => {
                return Err("no table: give `map: {Answered: Answered, Busy: Missed}` or \
`file: agents.csv` with `key` (and optionally `value`)"
                    .into());
            }
            (Some(map), None) => {
                if self.key.is_some() || self.value.is_some() {
                    return Err("`key` and `value` name columns of a CSV `file`; with `map` leave them out".into());
                }
                Table::from_map(map, norm, self.all)?
            }
            (None, Some(file)) => {
                let Some(key) = self.key else {
                    return Err(format!("`file: {file}` needs `key`: the column the input is matched against"));
                };
                Table::from_csv(cx.base_dir, &file, &key, self.value.as_deref(), norm, self.all)?
            }
        };
        Ok(Box::new(Lookup { table, norm, all: self.all, mode, default: self.default.unwrap_or(Value::Null), reason }))
    }
}

/// What a miss gives, once the options are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reject,
    Default,
    Keep,
    Null,
    /// `all: true`: a miss is an empty list.
    Empty,
}

impl Config {
    fn missing_mode(&self) -> Result<Mode, String> {
        if self.all {
            if self.default.is_some() || self.on_missing.is_some() {
                return Err("with `all: true` a value not in the table gives `[]`: \
`default` and `on_missing` are never used, remove them"
                    .into());
            }
            return Ok(Mode::Empty);
        }
        Ok(match (self.on_missing, &self.default) {
            (None, None) | (Some(OnMissing::Reject), None) => Mode::Reject,
            (None, Some(_)) | (Some(OnMissing::Default), Some(_)) => Mode::Default,
            (Some(OnMissing::Default), None) => {
                return Err("`on_missing: default` needs a `default` value".into());
            }
            (Some(OnMissing::Keep), None) => Mode::Keep,
            (Some(OnMissing::Null), None) => Mode::Null,
            (Some(other), Some(_)) => {
                return Err(format!(
                    "`default` is given but `on_missing: {other}` means it is never used: remove one of them"
                ));
            }
        })
    }
}

/// How keys are compared.
#[derive(Debug, Clone, Copy)]
struct Norm {
    trim: bool,
    case_insensitive: bool,
}

impl Norm {
    fn apply<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        let s = if self.trim { s.trim() } else { s };
        if self.case_insensitive { s.to_lowercase().into() } else { s.into() }
    }
}

/// The compiled table.
#[derive(Debug)]
struct Table {
    /// Normalized key -> positions in `outputs`, in table order.
    /// foldhash rather than SipHash: the keys are the mapping's (or its table file's), not the
    /// sender's, so nobody can fill the table with colliding keys; a lookup hashes the value.
    index: HashMap<String, Vec<usize>, foldhash::quality::RandomState>,
    outputs: Vec<Value>,
    /// The distinct keys as written, in table order, for messages.
    keys: Vec<String>,
    /// Where the table comes from, for messages: `the map`, `agents.csv column state`.
    source: String,
}

impl Table {
    /// Add an entry; `dup` builds the message when a key repeats and repeats are not allowed.
    fn add(&mut self, key: String, out: Value, norm: Norm, all: bool, dup: impl Fn(usize) -> String) -> Result<(), String> {
        let n = norm.apply(&key).into_owned();
        let pos = self.outputs.len();
        match self.index.get_mut(&n) {
            Some(existing) if !all => return Err(dup(existing.first().copied().unwrap_or(0))),
            Some(existing) => existing.push(pos),
            None => {
                self.index.insert(n, vec![pos]);
                self.keys.push(key);
            }
        }
        self.outputs.push(out);
        Ok(())
    }

    fn from_map(map: Pairs<Value>, norm: Norm, all: bool) -> Result<Table, String> {
        if map.0.is_empty() {
            return Err("`map` is empty: write the table, e.g. `{Answered: Answered, Busy: Missed}`".into());
        }
        let mut t = Table { index: HashMap::default(), outputs: Vec::new(), keys: Vec::new(), source: "the map".into() };
        let written: Vec<String> = map.0.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in map.0 {
            let shown = k.clone();
            t.add(k, v, norm, all, |first| {
                let other = written.get(first).map(String::as_str).unwrap_or("");
                format!("`map` keys {other:?} and {shown:?} are the same key once trimmed or case-folded")
            })?;
        }
        Ok(t)
    }

    fn from_csv(
        base: &Path,
        file: &str,
        key: &str,
        value: Option<&str>,
        norm: Norm,
        all: bool,
    ) -> Result<Table, String> {
        let path = base.join(file);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .from_path(&path)
            .map_err(|e| format!("cannot read the lookup file `{file}` ({}): {}", path.display(), io_reason(&e)))?;
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| format!("cannot read the header row of `{file}`: {e}"))?
            .iter()
            .map(str::to_owned)
            .collect();
        let columns = || {
            if headers.iter().all(String::is_empty) {
                "it has no header row".to_owned()
            } else {
                format!("its columns are: {}", headers.join(", "))
            }
        };
        for (i, h) in headers.iter().enumerate() {
            if headers.iter().take(i).any(|x| x == h) {
                return Err(format!("`{file}` has two columns named `{h}`: rename one"));
            }
        }
        let column = |name: &str, what: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                format!("`{what}: {name}`: `{file}` has no column `{name}`; {}", columns())
            })
        };
        let kcol = column(key, "key")?;
        let vcol = value.map(|v| column(v, "value")).transpose()?;
        let source = match value {
            Some(v) => format!("`{file}` (key `{key}`, value `{v}`)"),
            None => format!("`{file}` (key `{key}`)"),
        };
        let mut t = Table { index: HashMap::default(), outputs: Vec::new(), keys: Vec::new(), source };
        let mut lines: Vec<u64> = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| format!("`{file}`: {e}"))?;
            let line = rec.position().map_or(0, |p| p.line());
            let k = rec.get(kcol).unwrap_or("").to_owned();
            let out = match vcol {
                Some(c) => Value::String(rec.get(c).unwrap_or("").to_owned()),
                None => Value::Object(
                    headers
                        .iter()
                        .enumerate()
                        .map(|(i, h)| (h.clone(), Value::String(rec.get(i).unwrap_or("").to_owned())))
                        .collect::<Map<String, Value>>(),
                ),
            };
            let shown = k.clone();
            t.add(k, out, norm, all, |first| {
                let at = lines.get(first).copied().unwrap_or(0);
                format!(
                    "`{file}` line {line}: the key {shown:?} (column `{key}`) is already on line {at}; \
keys must be unique, or set `all: true` to get every matching row"
                )
            })?;
            lines.push(line);
        }
        if t.outputs.is_empty() {
            return Err(format!("`{file}` has a header row but no rows"));
        }
        Ok(t)
    }
}

/// The I/O part of a CSV open error, without the `CSV error:` wrapping.
fn io_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

#[derive(Debug)]
struct Lookup {
    table: Table,
    norm: Norm,
    all: bool,
    mode: Mode,
    default: Value,
    reason: String,
}

impl Lookup {
    fn one(&self, v: Value) -> Result<Value, RuleError> {
        let hits = match &v {
            Value::Null => return Ok(Value::Null),
            Value::Array(_) | Value::Object(_) => {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`lookup` matches text, numbers or booleans, got {}: {}", kind(&v), show(&v)),
                ));
            }
            scalar => {
                let text = as_text(scalar).unwrap_or_default();
                self.table.index.get(self.norm.apply(&text).as_ref())
            }
        };
        let out = |i: &usize| self.table.outputs.get(*i).cloned().unwrap_or(Value::Null);
        match hits {
            Some(positions) if self.all => Ok(Value::Array(positions.iter().map(out).collect())),
            Some(positions) => Ok(positions.first().map(out).unwrap_or(Value::Null)),
            None => match self.mode {
                Mode::Empty => Ok(Value::Array(Vec::new())),
                Mode::Default => Ok(self.default.clone()),
                Mode::Keep => Ok(v),
                Mode::Null => Ok(Value::Null),
                Mode::Reject => Err(self.reject(&v)),
            },
        }
    }

    fn reject(&self, v: &Value) -> RuleError {
        let keys = &self.table.keys;
        let message = if keys.len() <= 10 {
            let list: Vec<String> = keys.iter().map(|k| show(&Value::String(k.clone()))).collect();
            format!("unknown value {}; expected one of: {}", show(v), list.join(", "))
        } else {
            format!("unknown value {}: not among the {} keys of {}", show(v), keys.len(), self.table.source)
        };
        RuleError::new(self.reason.clone(), message)
    }
}

impl Transform for Lookup {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        match v {
            Value::Array(items) => items.into_iter().map(|x| self.one(x)).collect::<Result<Vec<_>, _>>().map(Value::Array),
            Value::Object(_) => Err(RuleError::new(
                "wrong_type",
                format!("`lookup` matches text, numbers or booleans, got an object: {}", show(&v)),
            )),
            other => self.one(other),
        }
    }

    /// Copying whole rows (`all`, or a table that gives rows) costs more than remembering.
    fn costly(&self) -> bool {
        self.all || self.table.outputs.iter().any(|v| matches!(v, Value::Array(_) | Value::Object(_)))
    }

    /// Known input values are looked up exactly. Otherwise: every output of the table, and what
    /// a miss gives (the `default`, the input itself with `on_missing: keep`, nothing when it is
    /// rejected or null). Not described: `all: true` (a list) and tables or defaults that give
    /// lists or objects (whole CSV rows).
    fn bound(&self, input: &Bound) -> Bound {
        if self.all {
            return Bound::unknown();
        }
        if let Some(b) = input.map_values(self) {
            return b;
        }
        if self.table.outputs.iter().any(|v| matches!(v, Value::Array(_) | Value::Object(_))) {
            return Bound::unknown();
        }
        let table = Bound::exactly(self.table.outputs.iter().filter_map(as_text).map(|t| t.into_owned()));
        let miss = match self.mode {
            Mode::Reject | Mode::Null => return table,
            Mode::Default => Bound::of_value(&self.default),
            Mode::Keep => input.clone(),
            Mode::Empty => Bound::unknown(),
        };
        table.union(&miss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::compile_yaml_step;
    use crate::transform::testing::*;
    use serde_json::json;

    const AGENTS: &str = "\u{feff}id, name ,email,phone,state,tier,row
328290,Anthony Smith,Anthony.Smith@xyz.com,8885551111,CA,1,1
328999,Erin Jones,Erin.Jones@xyz.com,9492651111,CA,1,2
330012,Maria Lopez,Maria.Lopez@xyz.com,7025550199,NV,3,1
";

    /// Compile `step` with `file` written as `name` into a temporary directory.
    fn with_file(name: &str, content: &str, step: &str) -> Result<Box<dyn Transform>, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(name), content).expect("write csv");
        compile_yaml_step(step, &CompileCtx { base_dir: dir.path() })
    }

    fn apply(t: &dyn Transform, input: Value) -> Result<Value, RuleError> {
        t.apply(input)
    }

    #[test]
    fn file_value_column() {
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: id, value: email}}").unwrap();
        assert_eq!(apply(&*t, json!("328999")).unwrap(), json!("Erin.Jones@xyz.com"));
        assert_eq!(apply(&*t, json!(328290)).unwrap(), json!("Anthony.Smith@xyz.com"));
        assert_eq!(apply(&*t, json!(" 330012 ")).unwrap(), json!("Maria.Lopez@xyz.com"));
        let e = apply(&*t, json!("1")).unwrap_err();
        assert_eq!(e.reason, "unknown_value");
        assert_eq!(e.message, "unknown value \"1\"; expected one of: \"328290\", \"328999\", \"330012\"");
    }

    #[test]
    fn file_whole_rows_and_all_matches() {
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: state, all: true}}").unwrap();
        let got = apply(&*t, json!("CA")).unwrap();
        assert_eq!(got.as_array().map(Vec::len), Some(2));
        // Columns in file order; the BOM and the spaces around the header are gone.
        assert_eq!(
            got[1].to_string(),
            r#"{"id":"328999","name":"Erin Jones","email":"Erin.Jones@xyz.com","phone":"9492651111","state":"CA","tier":"1","row":"2"}"#
        );
        assert_eq!(apply(&*t, json!("TX")).unwrap(), json!([]));
        assert_eq!(apply(&*t, json!(["NV", "TX"])).unwrap()[0][0]["id"], json!("330012"));
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: state, value: phone, all: true}}")
            .unwrap();
        assert_eq!(apply(&*t, json!("CA")).unwrap(), json!(["8885551111", "9492651111"]));
    }

    /// The CallerReady flow end to end: the agents of the caller's state, ordered by tier and
    /// row, limited, and answered in both CallerReady formats.
    #[test]
    fn callerready_agents_of_a_state() {
        let roster = "id,email,phone,state,tier,row,press1
330012,Maria.Lopez@xyz.com,7025550199,CA,10,1,1
328999,Erin.Jones@xyz.com,9492651111,CA,1,2,0
328290,Anthony.Smith@xyz.com,8885551111,CA,1,1,1
331000,Sam.Lee@xyz.com,3105551234,CA,9,1,1
";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agents.csv"), roster).unwrap();
        let cx = CompileCtx { base_dir: dir.path() };
        let steps = [
            "{lookup: {file: agents.csv, key: state, all: true}}",
            "{sort_records: {by: [tier, row], limit: 3}}",
        ]
        .map(|s| compile_yaml_step(s, &cx).unwrap());
        // Case matters by default: " ca " is trimmed, but not found.
        assert_eq!(steps.iter().try_fold(json!(" ca "), |v, t| t.apply(v)).unwrap(), json!([]));
        let agents = steps.iter().try_fold(json!("CA"), |v, t| t.apply(v)).unwrap();

        let parallel = compile_yaml_step(
            "{unzip_records: {fields: {AgentEmailAddresses: email, AgentID: id, AgentPhones: phone, AgentTier: tier, AgentRow: row}}}",
            &cx,
        )
        .unwrap();
        assert_eq!(
            parallel.apply(agents.clone()).unwrap().to_string(),
            r#"{"AgentEmailAddresses":"Anthony.Smith@xyz.com,Erin.Jones@xyz.com,Sam.Lee@xyz.com","AgentID":"328290,328999,331000","AgentPhones":"8885551111,9492651111,3105551234","AgentTier":"1,1,9","AgentRow":"1,2,1"}"#
        );

        let indexed = compile_yaml_step(
            "{index_records: {fields: {ID: id, Group: tier, Phone: phone, Press1: press1}, \
when_empty: {Agent1ID: 0, Agent1Group: null, Agent1Phone: null, Agent1Press1: null}}}",
            &cx,
        )
        .unwrap();
        let got = indexed.apply(agents).unwrap();
        assert_eq!(got["Agent1ID"], json!("328290"));
        assert_eq!(got["Agent3Phone"], json!("3105551234"));
        assert_eq!(got.as_object().map(|m| m.len()), Some(12));
        // A state without agents: the no-agent answer.
        let none = steps.iter().try_fold(json!("WY"), |v, t| t.apply(v)).unwrap();
        assert_eq!(indexed.apply(none).unwrap(), json!({"Agent1ID": 0, "Agent1Group": null, "Agent1Phone": null, "Agent1Press1": null}));
    }

    #[test]
    fn file_row_without_value() {
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: id}}").unwrap();
        assert_eq!(apply(&*t, json!("330012")).unwrap()["phone"], json!("7025550199"));
    }

    #[test]
    fn file_duplicate_key_names_the_lines() {
        let e = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: state, value: email}}").unwrap_err();
        assert_eq!(
            e,
            "`agents.csv` line 3: the key \"CA\" (column `state`) is already on line 2; keys must be unique, \
or set `all: true` to get every matching row"
        );
        let csv = "code,status\nbusy,Missed\nBUSY,Missed\n";
        let e = with_file("s.csv", csv, "{lookup: {file: s.csv, key: code, value: status, case_insensitive: true}}")
            .unwrap_err();
        assert!(e.contains("line 3") && e.contains("line 2"), "{e}");
        assert!(with_file("s.csv", csv, "{lookup: {file: s.csv, key: code, value: status}}").is_ok());
    }

    #[test]
    fn file_missing_file_and_columns() {
        let e = with_file("agents.csv", AGENTS, "{lookup: {file: nope.csv, key: id}}").unwrap_err();
        assert!(e.starts_with("cannot read the lookup file `nope.csv` ("), "{e}");
        assert!(e.contains("nope.csv): "), "{e}");
        let e = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: State}}").unwrap_err();
        assert_eq!(
            e,
            "`key: State`: `agents.csv` has no column `State`; its columns are: id, name, email, phone, state, tier, row"
        );
        let e = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: id, value: mail}}").unwrap_err();
        assert!(e.starts_with("`value: mail`: `agents.csv` has no column `mail`"), "{e}");
        let e = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv}}").unwrap_err();
        assert!(e.contains("needs `key`"), "{e}");
    }

    #[test]
    fn file_odd_contents() {
        let e = with_file("e.csv", "", "{lookup: {file: e.csv, key: id}}").unwrap_err();
        assert!(e.contains("no column `id`; it has no header row"), "{e}");
        let e = with_file("e.csv", "id,email\n", "{lookup: {file: e.csv, key: id}}").unwrap_err();
        assert!(e.contains("no rows"), "{e}");
        let e = with_file("e.csv", "id,id\n1,2\n", "{lookup: {file: e.csv, key: id}}").unwrap_err();
        assert!(e.contains("two columns named `id`"), "{e}");
        let e = with_file("e.csv", "id,email\n1,a\n2\n", "{lookup: {file: e.csv, key: id, value: email}}")
            .unwrap_err();
        assert!(e.starts_with("`e.csv`: ") && e.contains("line: 3"), "{e}");
        // Quoted cells with commas and a sub-directory path.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tables")).unwrap();
        std::fs::write(dir.path().join("tables/s.csv"), "code,label\n\"A,1\",\"Smith, Anthony\"\n").unwrap();
        let t = compile_yaml_step(
            "{lookup: {file: tables/s.csv, key: code, value: label}}",
            &CompileCtx { base_dir: dir.path() },
        )
        .unwrap();
        assert_eq!(t.apply(json!("A,1")).unwrap(), json!("Smith, Anthony"));
    }

    #[test]
    fn trim_and_case_options() {
        let step = "{lookup: {map: {Answered: A}, trim: false}}";
        assert_eq!(run(step, r#"" Answered""#).unwrap_err().reason, "unknown_value");
        assert_eq!(run(step, r#""Answered""#).unwrap(), json!("A"));
        assert_eq!(run("{lookup: {map: {Answered: A}}}", r#""answered""#).unwrap_err().reason, "unknown_value");
        assert_eq!(run("{lookup: {map: {\" Answered \": A}}}", r#""Answered""#).unwrap(), json!("A"));
        assert_eq!(run("{lookup: {map: {STRASSE: s}, case_insensitive: true}}", r#""Straße""#).unwrap_err().reason, "unknown_value");
        assert_eq!(run("{lookup: {map: {ÉTÉ: s}, case_insensitive: true}}", r#""été""#).unwrap(), json!("s"));
    }

    #[test]
    fn misses() {
        let map = "map: {Answered: Answered, Busy: Missed}";
        assert_eq!(run(&format!("{{lookup: {{{map}, on_missing: null}}}}"), r#""x""#).unwrap(), json!(null));
        assert_eq!(run(&format!("{{lookup: {{{map}, on_missing: keep}}}}"), "12").unwrap(), json!(12));
        assert_eq!(run(&format!("{{lookup: {{{map}, default: null}}}}"), r#""x""#).unwrap(), json!(null));
        assert_eq!(run(&format!("{{lookup: {{{map}, default: 0}}}}"), r#""x""#).unwrap(), json!(0));
        assert_eq!(run(&format!("{{lookup: {{{map}, on_missing: default, default: M}}}}"), r#""x""#).unwrap(), json!("M"));
        assert_eq!(run(&format!("{{lookup: {{{map}, on_missing: reject}}}}"), r#""x""#).unwrap_err().reason, "unknown_value");
        assert_eq!(run(&format!("{{lookup: {{{map}}}}}"), "null").unwrap(), json!(null));
        assert_eq!(run(&format!("{{lookup: {{{map}}}}}"), "[null, \"Busy\"]").unwrap(), json!([null, "Missed"]));
    }

    #[test]
    fn reject_messages() {
        let e = run("{lookup: {map: {Answered: Answered, Busy: Missed}}}", r#""Voicemail""#).unwrap_err();
        assert_eq!(e.message, "unknown value \"Voicemail\"; expected one of: \"Answered\", \"Busy\"");
        let keys: Vec<String> = (0..11).map(|i| format!("k{i}: v")).collect();
        let step = format!("{{lookup: {{map: {{{}}}}}}}", keys.join(", "));
        let e = run(&step, "7").unwrap_err();
        assert_eq!(e.message, "unknown value 7: not among the 11 keys of the map");
        let e = run("{lookup: {map: {CA: x}, reason: unknown_state}}", r#""TX""#).unwrap_err();
        assert_eq!(e.reason, "unknown_state");
    }

    #[test]
    fn map_values_any_json_and_numeric_keys() {
        assert_eq!(run("{lookup: {map: {1: Gold, 2: Silver}}}", "2").unwrap(), json!("Silver"));
        assert_eq!(run("{lookup: {map: {true: \"Y\", false: \"N\"}}}", "false").unwrap(), json!("N"));
        assert_eq!(run("{lookup: {map: {CA: [1, 2]}}}", r#""CA""#).unwrap(), json!([1, 2]));
        assert_eq!(run("{lookup: {map: {CA: null}, on_missing: keep}}", r#""CA""#).unwrap(), json!(null));
    }

    #[test]
    fn wrong_types() {
        assert_eq!(run("{lookup: {map: {a: b}}}", r#"{"a": 1}"#).unwrap_err().reason, "wrong_type");
        assert_eq!(run("{lookup: {map: {a: b}}}", r#"[["a"]]"#).unwrap_err().reason, "wrong_type");
    }

    #[test]
    fn bad_options() {
        for (step, want) in [
            ("{lookup: {}}", "no table"),
            ("{lookup: {map: {}}}", "`map` is empty"),
            ("{lookup: {map: {a: b}, file: x.csv, key: id}}", "not both"),
            ("{lookup: {map: {a: b}, key: id}}", "leave them out"),
            ("{lookup: {map: {a: b}, on_missing: default}}", "needs a `default`"),
            ("{lookup: {map: {a: b}, on_missing: keep, default: x}}", "`on_missing: keep` means it is never used"),
            ("{lookup: {map: {a: b}, on_missing: null, default: x}}", "`on_missing: null`"),
            ("{lookup: {map: {a: b}, all: true, default: x}}", "never used"),
            ("{lookup: {map: {a: b}, all: true, reason: r}}", "`reason` is only used"),
            ("{lookup: {map: {a: b}, default: x, reason: r}}", "`reason` is only used"),
            ("{lookup: {map: {a: b}, reason: Bad-Code}}", "snake_case"),
            ("{lookup: {map: {a: b, \" a\": c}}}", "same key"),
            ("{lookup: {map: {A: b, a: c}, case_insensitive: true}}", "same key"),
            ("{lookup: {map: {a: b}, on_missing: drop}}", "drop"),
            ("{lookup: {map: {a: b}, mapp: 1}}", "mapp"),
            ("lookup", "needs options"),
        ] {
            let e = compile_err(step);
            assert!(e.contains(want), "{step}: {e}");
        }
        // Same keys are fine with `all: true` in a map too.
        assert_eq!(run("{lookup: {map: {A: b, a: c}, case_insensitive: true, all: true}}", r#""A""#).unwrap(), json!(["b", "c"]));
    }

    #[test]
    fn bound_is_the_table_outputs() {
        let map = "map: {Answered: Answered, Unanswered: Missed, Busy: Missed}";
        let b = bound(&format!("{{lookup: {{{map}}}}}"), Bound::unknown());
        assert_eq!(b, Bound::exactly(["Answered", "Missed"]));
        assert_eq!(b.max_chars, Some(8));
        assert_eq!(bound(&format!("{{lookup: {{{map}, on_missing: null}}}}"), Bound::at_most(3)), b);
        // Known inputs: only what they give; a value not in the table is rejected.
        let got = bound(&format!("{{lookup: {{{map}}}}}"), Bound::exactly(["Busy", " Unanswered", "Transferred"]));
        assert_eq!(got, Bound::exactly(["Missed"]));
        // Numbers and booleans are their text.
        assert_eq!(bound("{lookup: {map: {a: 1, b: true, c: null}}}", Bound::unknown()), Bound::exactly(["1", "true"]));
    }

    #[test]
    fn bound_with_default() {
        let map = "map: {Answered: Answered, Busy: Missed}";
        let b = bound(&format!("{{lookup: {{{map}, default: Voicemail}}}}"), Bound::unknown());
        assert_eq!(b, Bound::exactly(["Answered", "Missed", "Voicemail"]));
        assert_eq!(b.max_chars, Some(9));
        let b = bound(&format!("{{lookup: {{{map}, default: 0}}}}"), Bound::unknown());
        assert_eq!(b, Bound::exactly(["Answered", "Missed", "0"]));
        let b = bound(&format!("{{lookup: {{{map}, default: 0}}}}"), Bound::exactly(["Busy", "x"]));
        assert_eq!(b, Bound::exactly(["Missed", "0"]));
        assert_eq!(bound(&format!("{{lookup: {{{map}, default: [1]}}}}"), Bound::unknown()), Bound::unknown());
    }

    #[test]
    fn bound_keep_adds_the_input() {
        let step = "{lookup: {map: {CA: \"328290\", NV: \"328999\"}, on_missing: keep}}";
        assert_eq!(bound(step, Bound::unknown()), Bound::unknown());
        assert_eq!(bound(step, Bound::at_most(2)), Bound::at_most(6));
        assert_eq!(bound(step, Bound::at_most(30)), Bound::at_most(30));
        assert_eq!(bound(step, Bound::exactly(["CA", "TX"])), Bound::exactly(["328290", "TX"]));
    }

    #[test]
    fn bound_of_lists_and_rows_is_unknown() {
        assert_eq!(bound("{lookup: {map: {CA: x}, all: true}}", Bound::exactly(["CA"])), Bound::unknown());
        assert_eq!(bound("{lookup: {map: {CA: {id: x}}}}", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("{lookup: {map: {CA: [x]}}}", Bound::exactly(["CA"])), Bound::unknown());
    }

    #[test]
    fn bound_of_a_file_column() {
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: id, value: email}}").unwrap();
        let b = t.bound(&Bound::unknown());
        assert_eq!(b, Bound::exactly(["Anthony.Smith@xyz.com", "Erin.Jones@xyz.com", "Maria.Lopez@xyz.com"]));
        assert_eq!(b.max_chars, Some(21));
        let t = with_file("agents.csv", AGENTS, "{lookup: {file: agents.csv, key: id}}").unwrap();
        assert_eq!(t.bound(&Bound::unknown()), Bound::unknown());
    }
}
