//! `index_records`: a list of records into one object of numbered fields.
//!
//! CallerReady's second answer format numbers the agents instead of listing them in parallel:
//! `Agent1ID, Agent1Group, Agent1Phone, Agent1Press1, Agent2ID, ...`, with a rule of its own
//! for no agents at all (`Agent1ID=0` and null group, phone and press-1). `index_records`
//! writes that shape from the agents' records, and `when_empty` states the no-agent answer.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{CompileCtx, Example, Pairs, RuleConfig, RuleDoc, RuleError, Transform, kind, show};

/// What to output for an empty list.
#[derive(Debug, Clone, PartialEq)]
pub enum WhenEmpty {
    /// These fields, as written.
    Fields(Map<String, Value>),
    /// Reject the record (reason `no_records`).
    Reject,
}

impl Default for WhenEmpty {
    fn default() -> Self {
        WhenEmpty::Fields(Map::new())
    }
}

impl<'de> Deserialize<'de> for WhenEmpty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WhenEmpty;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`reject` or a mapping of the fields to output (`{Agent1ID: 0, Agent1Phone: null}`)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WhenEmpty, E> {
                match s {
                    "reject" => Ok(WhenEmpty::Reject),
                    other => Err(E::custom(format!(
                        "`when_empty: {other}` is not understood: write `reject`, or a mapping of the \
fields to output (`{{Agent1ID: 0, Agent1Phone: null}}`)"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<WhenEmpty, A::Error> {
                let fields = Map::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(WhenEmpty::Fields(fields))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for WhenEmpty {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WhenEmpty".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`reject`, or the fields to output when the list is empty.",
            "anyOf": [{ "const": "reject" }, { "type": "object" }]
        })
    }
}

fn agent_pattern() -> String {
    "Agent{n}{field}".to_owned()
}

fn one() -> u64 {
    1
}

/// Options of `index_records`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Field suffix -> record key, in output order (`{ID: id, Group: group, Phone: phone}`).
    pub fields: Pairs<String>,
    /// The output key: `{n}` is the record's number, `{field}` the suffix (default `Agent{n}{field}`).
    #[serde(default = "agent_pattern")]
    pub name: String,
    /// The number of the first record (default 1).
    #[serde(default = "one")]
    pub start: u64,
    /// For an empty list: the fields to output, or `reject` (default: an empty object).
    #[serde(default)]
    pub when_empty: WhenEmpty,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "index_records",
        summary: "Turn a list of records into numbered fields (`Agent1ID`, `Agent1Phone`, `Agent2ID`, ...).",
        description: "Option `fields: {ID: id, Group: group, Phone: phone, Press1: press1}` \
(required) lists the field suffixes, in output order, each with the record key it is copied \
from. `name` (default `Agent{n}{field}`) is the output key: `{n}` is the record's number and \
`{field}` the suffix; both must appear. `start` (default 1) is the number of the first record. \
The output holds record 1's fields, then record 2's, and so on; values are copied as they are \
(a missing key gives `null`).\n\n\
`when_empty` says what an empty list gives: a mapping of the fields to output as written (the \
CallerReady no-agent answer `{Agent1ID: 0, Agent1Group: null, Agent1Phone: null, \
Agent1Press1: null}`), or `reject` to fail with reason `no_records`; by default an empty object. \
An element that is not an object, or an input that is not a list, fails with reason \
`wrong_type`; `null` passes through. If two records would produce the same key (possible only \
with suffixes that start or end with a digit) the rule fails with reason `name_collision`.",
        examples: &[
            Example {
                step: "{index_records: {fields: {ID: id, Group: tier, Phone: phone, Press1: press1}}}",
                input: r#"[{"id": 328290, "tier": 1, "phone": "8885551111", "press1": 1}, {"id": 328999, "tier": 2, "phone": "9492651111", "press1": 0}]"#,
                output: Ok(
                    r#"{"Agent1ID": 328290, "Agent1Group": 1, "Agent1Phone": "8885551111", "Agent1Press1": 1, "Agent2ID": 328999, "Agent2Group": 2, "Agent2Phone": "9492651111", "Agent2Press1": 0}"#,
                ),
            },
            Example {
                step: "{index_records: {fields: {ID: id, Group: tier, Phone: phone, Press1: press1}, when_empty: {Agent1ID: 0, Agent1Group: null, Agent1Phone: null, Agent1Press1: null}}}",
                input: "[]",
                output: Ok(r#"{"Agent1ID": 0, "Agent1Group": null, "Agent1Phone": null, "Agent1Press1": null}"#),
            },
            Example {
                step: "{index_records: {fields: {ID: id, Phone: phone}}}",
                input: r#"[{"id": "328290"}]"#,
                output: Ok(r#"{"Agent1ID": "328290", "Agent1Phone": null}"#),
            },
            Example {
                step: "{index_records: {fields: {email: email}, name: \"lo_{n}_{field}\", start: 0}}",
                input: r#"[{"email": "Anthony.Smith@xyz.com"}, {"email": "Erin.Jones@xyz.com"}]"#,
                output: Ok(r#"{"lo_0_email": "Anthony.Smith@xyz.com", "lo_1_email": "Erin.Jones@xyz.com"}"#),
            },
            Example {
                step: "{index_records: {fields: {ID: id}, when_empty: reject}}",
                input: "[]",
                output: Err("no_records"),
            },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.fields.0.is_empty() {
            return Err("`fields` is empty: list the field suffixes and the record key each is copied from, \
e.g. `{ID: id, Phone: phone}`"
                .into());
        }
        let pattern = Pattern::parse(&self.name)?;
        Ok(Box::new(IndexRecords {
            fields: self.fields.0,
            pattern,
            start: self.start,
            when_empty: self.when_empty,
        }))
    }
}

/// A piece of the output key pattern.
#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    N,
    Field,
}

#[derive(Debug)]
struct Pattern(Vec<Part>);

impl Pattern {
    fn parse(p: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = p;
        while let Some(open) = rest.find('{') {
            let (lit, after) = rest.split_at(open);
            if !lit.is_empty() {
                parts.push(Part::Text(lit.to_owned()));
            }
            let Some(close) = after.find('}') else {
                return Err(format!("`name: {p}` has a `{{` without its `}}`"));
            };
            let (ph, tail) = after.split_at(close + 1);
            match ph {
                "{n}" => parts.push(Part::N),
                "{field}" => parts.push(Part::Field),
                other => {
                    return Err(format!(
                        "`name: {p}` has the unknown placeholder `{other}`: use `{{n}}` for the number and `{{field}}` for the suffix"
                    ));
                }
            }
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if !parts.contains(&Part::N) || !parts.contains(&Part::Field) {
            return Err(format!(
                "`name: {p}` must contain both `{{n}}` (the record's number) and `{{field}}` (the suffix), e.g. `Agent{{n}}{{field}}`"
            ));
        }
        Ok(Pattern(parts))
    }

    fn key(&self, n: &str, field: &str) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::N => out.push_str(n),
                Part::Field => out.push_str(field),
            }
        }
        out
    }
}

#[derive(Debug)]
struct IndexRecords {
    fields: Vec<(String, String)>,
    pattern: Pattern,
    start: u64,
    when_empty: WhenEmpty,
}

impl Transform for IndexRecords {
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
                    format!("`index_records` works on a list of records, got {}: {}", kind(&other), show(&other)),
                ));
            }
        };
        if records.is_empty() {
            return match &self.when_empty {
                WhenEmpty::Fields(f) => Ok(Value::Object(f.clone())),
                WhenEmpty::Reject => Err(RuleError::new(
                    "no_records",
                    "the list is empty: there are no records to number (`when_empty: reject`)",
                )),
            };
        }
        let mut out = Map::with_capacity(records.len() * self.fields.len());
        for (i, rec) in records.into_iter().enumerate() {
            let Value::Object(mut rec) = rec else {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`index_records` needs records (objects); element {} is {}: {}", i + 1, kind(&rec), show(&rec)),
                ));
            };
            let n = u128::from(self.start) + i as u128;
            let n = n.to_string();
            for (j, (suffix, key)) in self.fields.iter().enumerate() {
                // The last use of a record key may move its value out; earlier uses copy it.
                let moved = !self.fields.iter().skip(j + 1).any(|(_, k)| k == key);
                let value = if moved { rec.remove(key) } else { rec.get(key).cloned() };
                let name = self.pattern.key(&n, suffix);
                if out.insert(name, value.unwrap_or(Value::Null)).is_some() {
                    return Err(RuleError::new(
                        "name_collision",
                        format!(
                            "record {}: the key {:?} was already written by an earlier record; change `name` \
so that numbers and suffixes cannot run together",
                            i + 1,
                            self.pattern.key(&n, suffix)
                        ),
                    ));
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    const CR: &str = "{index_records: {fields: {ID: id, Group: group, Phone: phone, Press1: press1}, \
when_empty: {Agent1ID: 0, Agent1Group: null, Agent1Phone: null, Agent1Press1: null}}}";

    #[test]
    fn output_order_is_record_then_field() {
        let got = run(CR, r#"[{"press1": 1, "phone": "8885551111", "group": 1, "id": 7}, {"id": 8}]"#).unwrap();
        assert_eq!(
            got.to_string(),
            r#"{"Agent1ID":7,"Agent1Group":1,"Agent1Phone":"8885551111","Agent1Press1":1,"Agent2ID":8,"Agent2Group":null,"Agent2Phone":null,"Agent2Press1":null}"#
        );
    }

    #[test]
    fn no_agent_answer_keeps_its_order() {
        assert_eq!(
            run(CR, "[]").unwrap().to_string(),
            r#"{"Agent1ID":0,"Agent1Group":null,"Agent1Phone":null,"Agent1Press1":null}"#
        );
        assert_eq!(run("{index_records: {fields: {ID: id}}}", "[]").unwrap(), json!({}));
        let e = run("{index_records: {fields: {ID: id}, when_empty: reject}}", "[]").unwrap_err();
        assert_eq!(e.reason, "no_records");
    }

    #[test]
    fn same_record_key_twice_and_values_as_they_are() {
        let step = "{index_records: {fields: {ID: id, RealID: id, Info: info}}}";
        let got = run(step, r#"[{"id": "5", "info": {"a": [1]}}]"#).unwrap();
        assert_eq!(got, json!({"Agent1ID": "5", "Agent1RealID": "5", "Agent1Info": {"a": [1]}}));
    }

    #[test]
    fn many_records_and_placeholders_anywhere() {
        let step = "{index_records: {fields: {x: v}, name: \"{field}[{n}]\"}}";
        let input: Vec<_> = (0..12).map(|i| json!({"v": i})).collect();
        let got = run(step, &serde_json::to_string(&input).unwrap()).unwrap();
        assert_eq!(got["x[12]"], json!(11));
        assert_eq!(got.as_object().unwrap().len(), 12);
        let step = "{index_records: {fields: {x: v}, start: 18446744073709551615}}";
        assert_eq!(run(step, r#"[{"v": 1}, {"v": 2}]"#).unwrap()["Agent18446744073709551616x"], json!(2));
    }

    #[test]
    fn collisions_are_caught() {
        // Agent1 + "1ID" and Agent11 + "ID" are the same key.
        let step = "{index_records: {fields: {ID: id, 1ID: other}}}";
        let input: Vec<_> = (0..11).map(|i| json!({"id": i, "other": i})).collect();
        let e = run(step, &serde_json::to_string(&input).unwrap()).unwrap_err();
        assert_eq!(e.reason, "name_collision");
        assert!(e.message.contains("record 11: the key \"Agent11ID\""), "{}", e.message);
    }

    #[test]
    fn wrong_types() {
        assert_eq!(run(CR, "null").unwrap(), json!(null));
        assert_eq!(run(CR, r#"{"id": 1}"#).unwrap_err().reason, "wrong_type");
        let e = run(CR, r#"[{"id": 1}, "328999"]"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("element 2 is text"), "{}", e.message);
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{index_records: {fields: {}}}").contains("`fields` is empty"));
        assert!(compile_err("{index_records: {fields: {ID: id}, name: \"Agent{field}\"}}").contains("both `{n}`"));
        assert!(compile_err("{index_records: {fields: {ID: id}, name: \"Agent{n}\"}}").contains("both `{n}`"));
        assert!(compile_err("{index_records: {fields: {ID: id}, name: \"A{N}{field}\"}}").contains("unknown placeholder `{N}`"));
        assert!(compile_err("{index_records: {fields: {ID: id}, name: \"A{n}{field\"}}").contains("without its"));
        assert!(compile_err("{index_records: {fields: {ID: id}, when_empty: empty}}").contains("not understood"));
        assert!(compile_err("{index_records: {fields: {ID: id}, when_empty: [1]}}").contains("reject"));
        assert!(compile_err("{index_records: {fields: {ID: id}, start: -1}}").contains("line"));
        assert!(compile_err("index_records").contains("needs options"));
    }
}
