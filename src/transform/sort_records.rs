//! `sort_records`: order a list of records by one or more keys.
//!
//! CallerReady rings agents tier by tier, and within a tier by row, so the agents chosen for a
//! call are sorted `by: [tier, row]` before they are sent. Values from CSV files and query
//! strings are text, so by default values that read as numbers are compared as numbers (tier
//! `10` after tier `9`, not between `1` and `2`). The sort is stable: records that tie keep
//! their input order. `limit` keeps the first N, for the most agents a call may ring.

use std::borrow::Cow;
use std::cmp::Ordering;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, kind, show};

/// One key or a list of keys.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Keys {
    /// One key.
    One(String),
    /// Keys in order of importance.
    Many(Vec<String>),
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

fn yes() -> bool {
    true
}

/// Options of `sort_records`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The record keys to sort by, most important first.
    pub by: Keys,
    /// `asc` (default) or `desc`, for all keys.
    #[serde(default)]
    pub order: Order,
    /// Compare values that read as numbers as numbers (default true).
    #[serde(default = "yes")]
    pub numeric: bool,
    /// Keep only the first N records after sorting.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `sort_records: [tier, row]` or `sort_records: {by: [tier, row], order: desc, limit: 5}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, Keys, |by| Options { by, order: Order::Asc, numeric: true, limit: None });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "sort_records",
        summary: "Sort a list of records by keys (numbers as numbers, missing last); optionally keep the first N.",
        description: "`{sort_records: [tier, row]}` is short for `{sort_records: {by: [tier, row]}}`; \
`by` may also be one key. Records are compared on the first key, ties on the next, and records \
that tie on every key keep their input order (stable sort). Options: `order` (`asc`, default, or \
`desc`, for all keys), `numeric` (default true: numbers, and texts that read as numbers such as \
`\"10\"` or `\" 2.5 \"`, compare as numbers, so tier 10 sorts after tier 9; false compares \
everything as text), `limit` (keep only the first N records after sorting, at least 1).\n\n\
Numbers come before texts, texts compare character by character (case matters), and a missing \
key, `null`, or empty text always sorts last, in both orders. A key whose value is an object or \
a list, an element that is not an object, or an input that is not a list fails with reason \
`wrong_type`; `null` passes through.",
        examples: &[
            Example {
                step: "{sort_records: [tier, row]}",
                input: r#"[{"id": "328999", "tier": "3", "row": "1"}, {"id": "328290", "tier": "1", "row": "2"}, {"id": "330012", "tier": "1", "row": "1"}]"#,
                output: Ok(
                    r#"[{"id": "330012", "tier": "1", "row": "1"}, {"id": "328290", "tier": "1", "row": "2"}, {"id": "328999", "tier": "3", "row": "1"}]"#,
                ),
            },
            Example {
                step: "{sort_records: tier}",
                input: r#"[{"id": "1", "tier": "10"}, {"id": "2", "tier": "9"}, {"id": "3"}]"#,
                output: Ok(r#"[{"id": "2", "tier": "9"}, {"id": "1", "tier": "10"}, {"id": "3"}]"#),
            },
            Example {
                step: "{sort_records: {by: tier, numeric: false}}",
                input: r#"[{"id": "1", "tier": "10"}, {"id": "2", "tier": "9"}]"#,
                output: Ok(r#"[{"id": "1", "tier": "10"}, {"id": "2", "tier": "9"}]"#),
            },
            Example {
                step: "{sort_records: {by: [tier, row], limit: 2}}",
                input: r#"[{"id": "a", "tier": 4, "row": 1}, {"id": "b", "tier": 1, "row": 2}, {"id": "c", "tier": 1, "row": 1}]"#,
                output: Ok(r#"[{"id": "c", "tier": 1, "row": 1}, {"id": "b", "tier": 1, "row": 2}]"#),
            },
            Example {
                step: "{sort_records: {by: duration, order: desc}}",
                input: r#"[{"call": "A", "duration": 50}, {"call": "B", "duration": 312}, {"call": "C"}]"#,
                output: Ok(r#"[{"call": "B", "duration": 312}, {"call": "A", "duration": 50}, {"call": "C"}]"#),
            },
            Example { step: "{sort_records: [tier]}", input: r#"["1", "2"]"#, output: Err("wrong_type") },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let by = match self.0.by {
            Keys::One(k) => vec![k],
            Keys::Many(ks) => ks,
        };
        if by.is_empty() {
            return Err("`by` is empty: name the record keys to sort by, e.g. `[tier, row]`".into());
        }
        if by.iter().any(String::is_empty) {
            return Err("`by` has an empty key name".into());
        }
        if self.0.limit == Some(0) {
            return Err("`limit: 0` would keep no records; leave `limit` out to keep them all".into());
        }
        Ok(Box::new(SortRecords { by, order: self.0.order, numeric: self.0.numeric, limit: self.0.limit }))
    }
}

#[derive(Debug)]
struct SortRecords {
    by: Vec<String>,
    order: Order,
    numeric: bool,
    limit: Option<usize>,
}

/// A record's value under one sort key.
#[derive(Debug, PartialEq)]
enum Key<'a> {
    Int(i128),
    Float(f64),
    Text(Cow<'a, str>),
    Missing,
}

/// A text as a number, when it reads as one (finite; `inf` and `NaN` are text).
fn parse_number(s: &str) -> Option<Key<'static>> {
    if let Ok(i) = s.parse::<i128>() {
        return Some(Key::Int(i));
    }
    // `f64::from_str` also reads "inf" and "nan": only digits-bearing finite values count.
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && s.bytes().any(|b| b.is_ascii_digit()) => Some(Key::Float(f)),
        _ => None,
    }
}

impl SortRecords {
    fn key<'a>(&self, v: Option<&'a Value>, at: usize, name: &str) -> Result<Key<'a>, RuleError> {
        Ok(match v {
            None | Some(Value::Null) => Key::Missing,
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.is_empty() {
                    Key::Missing
                } else if let Some(n) = self.numeric.then(|| parse_number(t)).flatten() {
                    n
                } else {
                    Key::Text(Cow::Borrowed(t))
                }
            }
            Some(Value::Number(n)) if self.numeric => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Key::Int(i128::from(i)),
                (None, Some(u), _) => Key::Int(i128::from(u)),
                (None, None, Some(f)) => Key::Float(f),
                (None, None, None) => Key::Text(Cow::Owned(n.to_string())),
            },
            Some(Value::Number(n)) => Key::Text(Cow::Owned(n.to_string())),
            Some(Value::Bool(b)) => Key::Text(Cow::Borrowed(if *b { "true" } else { "false" })),
            Some(other) => {
                return Err(RuleError::new(
                    "wrong_type",
                    format!(
                        "record {}: `{name}` is {}: {}; records sort by text or numbers",
                        at + 1,
                        kind(other),
                        show(other)
                    ),
                ));
            }
        })
    }
}

/// Ascending order of two present values: numbers before text.
fn cmp_present(a: &Key<'_>, b: &Key<'_>) -> Ordering {
    match (a, b) {
        (Key::Int(x), Key::Int(y)) => x.cmp(y),
        (Key::Int(x), Key::Float(y)) => (*x as f64).partial_cmp(y).unwrap_or(Ordering::Equal),
        (Key::Float(x), Key::Int(y)) => x.partial_cmp(&(*y as f64)).unwrap_or(Ordering::Equal),
        (Key::Float(x), Key::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
        (Key::Text(_), _) => Ordering::Greater,
        (_, Key::Text(_)) => Ordering::Less,
        // Missing is handled by the caller.
        _ => Ordering::Equal,
    }
}

fn cmp_keys(a: &Key<'_>, b: &Key<'_>, order: Order) -> Ordering {
    match (a, b) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Greater,
        (_, Key::Missing) => Ordering::Less,
        _ => match order {
            Order::Asc => cmp_present(a, b),
            Order::Desc => cmp_present(b, a),
        },
    }
}

impl Transform for SortRecords {
    /// Records are copied and compared field by field.
    fn costly(&self) -> bool {
        true
    }

    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let records = match v {
            Value::Null => return Ok(Value::Null),
            Value::Array(items) => items,
            other => {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`sort_records` works on a list of records, got {}: {}", kind(&other), show(&other)),
                ));
            }
        };
        let width = self.by.len();
        let mut order: Vec<usize> = (0..records.len()).collect();
        {
            let mut keys: Vec<Key<'_>> = Vec::with_capacity(records.len() * width);
            for (at, rec) in records.iter().enumerate() {
                let Value::Object(rec) = rec else {
                    return Err(RuleError::new(
                        "wrong_type",
                        format!("`sort_records` needs records (objects); element {} is {}: {}", at + 1, kind(rec), show(rec)),
                    ));
                };
                for name in &self.by {
                    keys.push(self.key(rec.get(name), at, name)?);
                }
            }
            let row = |i: usize| keys.get(i * width..(i + 1) * width).unwrap_or(&[]);
            order.sort_by(|&a, &b| {
                row(a)
                    .iter()
                    .zip(row(b))
                    .map(|(x, y)| cmp_keys(x, y, self.order))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
        }
        if let Some(limit) = self.limit {
            order.truncate(limit);
        }
        let mut slots: Vec<Option<Value>> = records.into_iter().map(Some).collect();
        let sorted = order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect();
        Ok(Value::Array(sorted))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn ids(v: Value) -> Vec<Value> {
        v.as_array().unwrap().iter().map(|r| r["id"].clone()).collect()
    }

    #[test]
    fn callerready_tiers_and_rows() {
        // The CallerReady document's example: AgentTier=1,1,3,3,4,... with rows in order.
        let input = json!([
            {"id": 5, "tier": "4", "row": "5"},
            {"id": 3, "tier": "3", "row": "3"},
            {"id": 2, "tier": "1", "row": "2"},
            {"id": 4, "tier": "3", "row": "4"},
            {"id": 1, "tier": "1", "row": "1"},
            {"id": 17, "tier": "4", "row": "17"},
            {"id": 6, "tier": "4", "row": "6"},
        ]);
        let got = run("{sort_records: [tier, row]}", &input.to_string()).unwrap();
        assert_eq!(ids(got), [1, 2, 3, 4, 5, 6, 17].map(|i| json!(i)));
    }

    #[test]
    fn stable_for_ties() {
        let input = r#"[{"id": "a", "t": 2}, {"id": "b", "t": 1}, {"id": "c", "t": 2}, {"id": "d", "t": 1}]"#;
        assert_eq!(ids(run("{sort_records: t}", input).unwrap()), ["b", "d", "a", "c"].map(|s| json!(s)));
        let desc = run("{sort_records: {by: t, order: desc}}", input).unwrap();
        assert_eq!(ids(desc), ["a", "c", "b", "d"].map(|s| json!(s)));
    }

    #[test]
    fn numbers_then_text_then_missing() {
        let input = r#"[{"id": 1, "t": "b"}, {"id": 2}, {"id": 3, "t": "10"}, {"id": 4, "t": null},
            {"id": 5, "t": 9.5}, {"id": 6, "t": "A"}, {"id": 7, "t": " "}, {"id": 8, "t": "-1"},
            {"id": 9, "t": "1e1"}, {"id": 10, "t": "NaN"}]"#;
        let asc = ids(run("{sort_records: t}", input).unwrap());
        assert_eq!(asc, [8, 5, 3, 9, 6, 10, 1, 2, 4, 7].map(|i| json!(i)));
        let desc = ids(run("{sort_records: {by: t, order: desc}}", input).unwrap());
        assert_eq!(desc, [1, 10, 6, 3, 9, 5, 8, 2, 4, 7].map(|i| json!(i)));
    }

    #[test]
    fn text_mode_and_booleans() {
        let input = r#"[{"id": 1, "t": 10}, {"id": 2, "t": "9"}, {"id": 3, "t": true}, {"id": 4, "t": false}]"#;
        let got = ids(run("{sort_records: {by: t, numeric: false}}", input).unwrap());
        assert_eq!(got, [1, 2, 4, 3].map(|i| json!(i)));
    }

    #[test]
    fn big_integers_compare_exactly() {
        let input = r#"[{"id": 1, "t": "9007199254740993"}, {"id": 2, "t": 9007199254740992}]"#;
        assert_eq!(ids(run("{sort_records: t}", input).unwrap()), [2, 1].map(|i| json!(i)));
        let input = r#"[{"id": 1, "t": 18446744073709551615}, {"id": 2, "t": -5}, {"id": 3, "t": 0.5}]"#;
        assert_eq!(ids(run("{sort_records: t}", input).unwrap()), [2, 3, 1].map(|i| json!(i)));
    }

    #[test]
    fn limit_after_sort() {
        let input = r#"[{"id": 1, "t": 3}, {"id": 2, "t": 1}, {"id": 3, "t": 2}]"#;
        assert_eq!(ids(run("{sort_records: {by: t, limit: 1}}", input).unwrap()), [json!(2)]);
        assert_eq!(run("{sort_records: {by: t, limit: 10}}", input).unwrap().as_array().unwrap().len(), 3);
        assert_eq!(run("{sort_records: {by: t, limit: 2}}", "[]").unwrap(), json!([]));
    }

    #[test]
    fn wrong_types() {
        assert_eq!(run("{sort_records: t}", "null").unwrap(), json!(null));
        assert_eq!(run("{sort_records: t}", r#"{"t": 1}"#).unwrap_err().reason, "wrong_type");
        let e = run("{sort_records: t}", r#"[{"t": 1}, {"t": [1]}]"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("record 2: `t` is a list"), "{}", e.message);
        let e = run("{sort_records: t}", r#"[{"t": 1}, 5]"#).unwrap_err();
        assert!(e.message.contains("element 2 is a number"), "{}", e.message);
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{sort_records: []}").contains("`by` is empty"));
        assert!(compile_err("{sort_records: {by: [tier, \"\"]}}").contains("empty key"));
        assert!(compile_err("{sort_records: {by: tier, limit: 0}}").contains("limit: 0"));
        assert!(compile_err("{sort_records: {by: tier, order: up}}").contains("up"));
        assert!(compile_err("{sort_records: {tier: asc}}").contains("tier"));
        assert!(compile_err("sort_records").contains("needs options"));
    }
}
