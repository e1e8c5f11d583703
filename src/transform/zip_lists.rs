//! `zip_lists`: parallel lists into a list of records.
//!
//! CallerReady (and other distribution APIs) carry a list of agents as several parallel
//! comma-separated fields: `AgentID=328290,328999&AgentPhones=8885551111,9492651111`. The n-th
//! value of every field belongs to the n-th agent. `zip_lists` turns such an object into one
//! record per agent, which the other list rules can sort, filter and pick from. When the lists
//! do not have the same number of values the agents cannot be matched up, and the record is
//! rejected with a message that says which field is short: guessing would ring the wrong phone.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::split::split_text;
use super::{CompileCtx, Example, Pairs, RuleConfig, RuleDoc, RuleError, Transform, kind, show};

fn comma() -> String {
    ",".to_owned()
}

/// Options of `zip_lists`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The separator of text values (default `,`). Elements are trimmed.
    #[serde(default = "comma")]
    pub sep: String,
    /// Input key -> record key, in the order the record keys should have. When given, input
    /// keys not listed are left out.
    #[serde(default)]
    pub names: Option<Pairs<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config { sep: comma(), names: None }
    }
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "zip_lists",
        summary: "Turn an object of parallel lists (`AgentID: \"1,2\"`, `AgentPhones: \"…,…\"`) into a list of records.",
        description: "The input is an object whose values are lists, or texts holding a list \
separated by `sep` (default `,`; elements are trimmed, empty elements keep their position). The \
n-th record takes the n-th value of every list: `{\"id\": \"1,2\", \"phone\": \"a,b\"}` gives \
`[{\"id\": \"1\", \"phone\": \"a\"}, {\"id\": \"2\", \"phone\": \"b\"}]`. A list value is used as it \
is; a number or boolean counts as a list of one; `null` and empty text count as no values.\n\n\
Option `names: {AgentID: id, AgentPhones: phone}` renames input keys to record keys, in the \
order written; input keys not listed are left out and a listed key that is absent counts as no \
values. Without `names` every key of the input is used, in its order. A bare `zip_lists` uses \
the defaults.\n\n\
When all lists are empty the result is `[]`. When the lists do not all have the same number of \
values the rule fails with reason `unequal_lengths` and a message naming the first list and \
every list that differs from it: `AgentPhones has 4 values but AgentID has 5`. A value that is \
an object, or an input that is not an object, fails with reason `wrong_type`; `null` passes \
through.",
        examples: &[
            Example {
                step: "{zip_lists: {names: {AgentEmailAddresses: email, AgentID: id, AgentPhones: phone}}}",
                input: r#"{"AgentEmailAddresses": "Anthony.Smith@xyz.com,Erin.Jones@xyz.com", "AgentID": "328290,328999", "AgentPhones": "8885551111,9492651111", "TrackingGUID": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}"#,
                output: Ok(
                    r#"[{"email": "Anthony.Smith@xyz.com", "id": "328290", "phone": "8885551111"}, {"email": "Erin.Jones@xyz.com", "id": "328999", "phone": "9492651111"}]"#,
                ),
            },
            Example {
                step: "zip_lists",
                input: r#"{"AgentTier": [1, 3], "AgentRow": "1, 2"}"#,
                output: Ok(r#"[{"AgentTier": 1, "AgentRow": "1"}, {"AgentTier": 3, "AgentRow": "2"}]"#),
            },
            Example {
                step: "{zip_lists: {sep: \"|\"}}",
                input: r#"{"AgentNames": "Smith, Anthony|Jones, Erin", "AgentNMLS": "848|352"}"#,
                output: Ok(
                    r#"[{"AgentNames": "Smith, Anthony", "AgentNMLS": "848"}, {"AgentNames": "Jones, Erin", "AgentNMLS": "352"}]"#,
                ),
            },
            Example { step: "zip_lists", input: r#"{"AgentID": "", "AgentPhones": null}"#, output: Ok("[]") },
            Example {
                step: "zip_lists",
                input: r#"{"AgentPhones": "8885551111,9492651111,7145550000,3105551234", "AgentID": "1,2,3,4,5"}"#,
                output: Err("unequal_lengths"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.sep.is_empty() {
            return Err("`sep` is empty: give the text that separates the values, e.g. `,`".into());
        }
        if let Some(names) = &self.names {
            if names.0.is_empty() {
                return Err("`names` is empty: list the input keys to keep and their record names, \
or leave `names` out to keep every key"
                    .into());
            }
            for (i, (from, to)) in names.0.iter().enumerate() {
                if to.is_empty() {
                    return Err(format!("`names`: `{from}` is renamed to an empty name"));
                }
                if let Some((other, _)) = names.0.iter().take(i).find(|(_, t)| t == to) {
                    return Err(format!("`names`: `{other}` and `{from}` are both renamed to `{to}`"));
                }
            }
        }
        Ok(Box::new(ZipLists { sep: self.sep, names: self.names.map(|n| n.0) }))
    }
}

#[derive(Debug)]
struct ZipLists {
    sep: String,
    names: Option<Vec<(String, String)>>,
}

/// One input list: its input key, its record key, its values, and whether the key was absent.
struct Column {
    from: String,
    to: String,
    values: Vec<Value>,
    missing: bool,
}

impl ZipLists {
    fn column(&self, from: String, to: String, v: Option<Value>) -> Result<Column, RuleError> {
        let missing = v.is_none();
        let values = match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(Value::String(s)) => split_text(&s, &self.sep, true, false),
            Some(Value::Number(n)) => split_text(&n.to_string(), &self.sep, true, false),
            Some(Value::Bool(b)) => vec![Value::String(b.to_string())],
            Some(other @ Value::Object(_)) => {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`zip_lists` needs lists or separated text, but {from} is {}: {}", kind(&other), show(&other)),
                ));
            }
        };
        Ok(Column { from, to, values, missing })
    }
}

/// `AgentID has 5`, `AgentTier has none`, `AgentRow is missing`.
fn count(c: &Column, unit: bool) -> String {
    match (c.missing, c.values.len()) {
        (true, _) => format!("{} is missing", c.from),
        (false, 0) => format!("{} has none", c.from),
        (false, 1) if unit => format!("{} has 1 value", c.from),
        (false, n) if unit => format!("{} has {n} values", c.from),
        (false, n) => format!("{} has {n}", c.from),
    }
}

fn unequal(first: &Column, rest: &[Column]) -> RuleError {
    let differ: Vec<String> =
        rest.iter().filter(|c| c.values.len() != first.values.len()).map(|c| count(c, false)).collect();
    let listed = match differ.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} and {last}", init.join(", ")),
        None => String::new(),
    };
    RuleError::new("unequal_lengths", format!("{} but {listed}", count(first, true)))
}

impl Transform for ZipLists {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let mut obj = match v {
            Value::Null => return Ok(Value::Null),
            Value::Object(m) => m,
            other => {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`zip_lists` works on an object of lists, got {}: {}", kind(&other), show(&other)),
                ));
            }
        };
        let columns = match &self.names {
            Some(names) => names
                .iter()
                .map(|(from, to)| self.column(from.clone(), to.clone(), obj.remove(from)))
                .collect::<Result<Vec<_>, _>>()?,
            None => obj.into_iter().map(|(k, v)| self.column(k.clone(), k, Some(v))).collect::<Result<Vec<_>, _>>()?,
        };
        let Some((first, rest)) = columns.split_first() else {
            return Ok(Value::Array(Vec::new()));
        };
        let n = first.values.len();
        if rest.iter().any(|c| c.values.len() != n) {
            return Err(unequal(first, rest));
        }
        let mut iters: Vec<(String, std::vec::IntoIter<Value>)> =
            columns.into_iter().map(|c| (c.to, c.values.into_iter())).collect();
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let mut rec = Map::with_capacity(iters.len());
            for (to, it) in &mut iters {
                rec.insert(to.clone(), it.next().unwrap_or(Value::Null));
            }
            records.push(Value::Object(rec));
        }
        Ok(Value::Array(records))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn message_names_first_and_every_differing_list() {
        let e = run("zip_lists", r#"{"AgentPhones": "1,2,3,4", "AgentID": "1,2,3,4,5"}"#).unwrap_err();
        assert_eq!(e.reason, "unequal_lengths");
        assert_eq!(e.message, "AgentPhones has 4 values but AgentID has 5");
        let e = run("zip_lists", r#"{"AgentEmailAddresses": "a,b", "AgentID": "1,2", "AgentTier": "1,1,3", "AgentRow": ""}"#)
            .unwrap_err();
        assert_eq!(e.message, "AgentEmailAddresses has 2 values but AgentTier has 3 and AgentRow has none");
        let e = run("zip_lists", r#"{"a": "x", "b": "1,2", "c": "1,2", "d": [1, 2]}"#).unwrap_err();
        assert_eq!(e.message, "a has 1 value but b has 2, c has 2 and d has 2");
    }

    #[test]
    fn missing_named_key_is_reported() {
        let step = "{zip_lists: {names: {AgentID: id, AgentTier: tier}}}";
        let e = run(step, r#"{"AgentID": "1,2"}"#).unwrap_err();
        assert_eq!(e.message, "AgentID has 2 values but AgentTier is missing");
        let e = run(step, r#"{"AgentTier": "1"}"#).unwrap_err();
        assert_eq!(e.message, "AgentID is missing but AgentTier has 1");
        assert_eq!(run(step, r#"{"Other": "1"}"#).unwrap(), json!([]));
    }

    #[test]
    fn names_order_the_record_keys() {
        let step = "{zip_lists: {names: {AgentPhones: phone, AgentID: id}}}";
        let got = run(step, r#"{"AgentID": "7", "AgentPhones": "8885551111", "Extra": "x,y"}"#).unwrap();
        assert_eq!(got.to_string(), r#"[{"phone":"8885551111","id":"7"}]"#);
    }

    #[test]
    fn empty_elements_keep_their_position() {
        let got = run("zip_lists", r#"{"id": "1,,3", "nmls": ", 352 ,"}"#).unwrap();
        assert_eq!(
            got,
            json!([{"id": "1", "nmls": ""}, {"id": "", "nmls": "352"}, {"id": "3", "nmls": ""}])
        );
    }

    #[test]
    fn scalars_and_mixed_values() {
        assert_eq!(run("zip_lists", r#"{"id": 328290, "ok": true}"#).unwrap(), json!([{"id": "328290", "ok": "true"}]));
        assert_eq!(
            run("zip_lists", r#"{"id": [1, null], "x": "a,b"}"#).unwrap(),
            json!([{"id": 1, "x": "a"}, {"id": null, "x": "b"}])
        );
        assert_eq!(run("zip_lists", "{}").unwrap(), json!([]));
        assert_eq!(run("zip_lists", "null").unwrap(), json!(null));
    }

    #[test]
    fn wrong_types() {
        assert_eq!(run("zip_lists", r#""1,2""#).unwrap_err().reason, "wrong_type");
        assert_eq!(run("zip_lists", "[[1], [2]]").unwrap_err().reason, "wrong_type");
        let e = run("zip_lists", r#"{"AgentID": {"a": 1}}"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("AgentID is an object"), "{}", e.message);
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{zip_lists: {sep: \"\"}}").contains("`sep` is empty"));
        assert!(compile_err("{zip_lists: {names: {}}}").contains("`names` is empty"));
        assert!(compile_err("{zip_lists: {names: {AgentID: id, Other: id}}}").contains("both renamed to `id`"));
        assert!(compile_err("{zip_lists: {names: {AgentID: \"\"}}}").contains("empty name"));
        assert!(compile_err("{zip_lists: {names: {AgentID: id, AgentID: x}}}").contains("AgentID"));
        assert!(compile_err("{zip_lists: {seperator: \",\"}}").contains("seperator"));
    }
}
