//! `unzip_records`: a list of records into parallel separator-joined texts.
//!
//! The reverse of `zip_lists`: the agents chosen for a call, one record each, become the
//! parallel comma-separated fields CallerReady expects (`AgentID=328290,328999&AgentPhones=
//! 8885551111,9492651111`). Every field gets exactly one element per record, so the lists stay
//! aligned: a missing value is an empty element, and a value that itself contains the separator
//! is refused, since it would silently shift every later agent by one position.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CompileCtx, Example, Pairs, RuleConfig, RuleDoc, RuleError, Transform, as_text, kind, show};

fn comma() -> String {
    ",".to_owned()
}

/// Options of `unzip_records`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Output key -> record key, in the order of the output (`{AgentID: id, AgentPhones: phone}`).
    pub fields: Pairs<String>,
    /// The text put between the elements (default `,`).
    #[serde(default = "comma")]
    pub sep: String,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "unzip_records",
        summary: "Turn a list of records into an object of parallel separator-joined texts (CallerReady `AgentID=1,2`).",
        description: "Option `fields: {AgentID: id, AgentPhones: phone}` (required) lists the \
output keys, in the order of the output, each with the record key it is made of; `sep` \
(default `,`) goes between the elements. Each output text has exactly one element per record, \
in the order of the list, so the texts stay parallel.\n\n\
A record without the key (or with `null`) gives an empty element; numbers and booleans are \
written in their text form. An empty list gives every field as `\"\"`. A value that contains \
the separator fails with reason `separator_in_value` (it would break the parallel lists). A \
value that is an object or a list, an element that is not an object, or an input that is not \
a list fails with reason `wrong_type`; `null` passes through.",
        examples: &[
            Example {
                step: "{unzip_records: {fields: {AgentEmailAddresses: email, AgentID: id, AgentPhones: phone, AgentTier: tier, AgentRow: row}}}",
                input: r#"[{"id": "328290", "email": "Anthony.Smith@xyz.com", "phone": "8885551111", "tier": 1, "row": 1}, {"id": "328999", "email": "Erin.Jones@xyz.com", "phone": "9492651111", "tier": 1, "row": 2}]"#,
                output: Ok(
                    r#"{"AgentEmailAddresses": "Anthony.Smith@xyz.com,Erin.Jones@xyz.com", "AgentID": "328290,328999", "AgentPhones": "8885551111,9492651111", "AgentTier": "1,1", "AgentRow": "1,2"}"#,
                ),
            },
            Example {
                step: "{unzip_records: {fields: {AgentID: id, AgentNMLS: nmls}}}",
                input: r#"[{"id": "328290", "nmls": "848"}, {"id": "328999"}]"#,
                output: Ok(r#"{"AgentID": "328290,328999", "AgentNMLS": "848,"}"#),
            },
            Example {
                step: "{unzip_records: {fields: {AgentID: id, AgentPhones: phone}}}",
                input: "[]",
                output: Ok(r#"{"AgentID": "", "AgentPhones": ""}"#),
            },
            Example {
                step: "{unzip_records: {fields: {AgentNames: name}}}",
                input: r#"[{"name": "Smith, Anthony"}]"#,
                output: Err("separator_in_value"),
            },
            Example {
                step: "{unzip_records: {fields: {AgentNames: name}, sep: \"|\"}}",
                input: r#"[{"name": "Smith, Anthony"}, {"name": "Jones, Erin"}]"#,
                output: Ok(r#"{"AgentNames": "Smith, Anthony|Jones, Erin"}"#),
            },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.sep.is_empty() {
            return Err("`sep` is empty: give the text that separates the values, e.g. `,`".into());
        }
        if self.fields.0.is_empty() {
            return Err("`fields` is empty: list the output keys and the record key each is made of, \
e.g. `{AgentID: id, AgentPhones: phone}`"
                .into());
        }
        Ok(Box::new(UnzipRecords { fields: self.fields.0, sep: self.sep }))
    }
}

#[derive(Debug)]
struct UnzipRecords {
    fields: Vec<(String, String)>,
    sep: String,
}

impl Transform for UnzipRecords {
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
                    format!("`unzip_records` works on a list of records, got {}: {}", kind(&other), show(&other)),
                ));
            }
        };
        let mut texts: Vec<String> = vec![String::new(); self.fields.len()];
        for (i, rec) in records.iter().enumerate() {
            let Value::Object(rec) = rec else {
                return Err(RuleError::new(
                    "wrong_type",
                    format!("`unzip_records` needs records (objects); element {} is {}: {}", i + 1, kind(rec), show(rec)),
                ));
            };
            for ((out, key), text) in self.fields.iter().zip(texts.iter_mut()) {
                if i > 0 {
                    text.push_str(&self.sep);
                }
                let value = rec.get(key).unwrap_or(&Value::Null);
                if value.is_null() {
                    continue;
                }
                let Some(t) = as_text(value) else {
                    return Err(RuleError::new(
                        "wrong_type",
                        format!(
                            "record {}: `{key}` (for {out}) is {}: {}; only text, numbers and booleans can be joined",
                            i + 1,
                            kind(value),
                            show(value)
                        ),
                    ));
                };
                if t.contains(self.sep.as_str()) {
                    return Err(RuleError::new(
                        "separator_in_value",
                        format!(
                            "record {}: `{key}` {} contains the separator {:?}, which would break the {out} list",
                            i + 1,
                            show(value),
                            self.sep
                        ),
                    ));
                }
                text.push_str(&t);
            }
        }
        let mut out = Map::with_capacity(self.fields.len());
        for ((name, _), text) in self.fields.iter().zip(texts) {
            out.insert(name.clone(), Value::String(text));
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn output_keeps_field_order() {
        let step = "{unzip_records: {fields: {AgentTier: tier, AgentID: id, AgentRow: row}}}";
        let got = run(step, r#"[{"id": 1, "row": 2, "tier": 3}]"#).unwrap();
        assert_eq!(got.to_string(), r#"{"AgentTier":"3","AgentID":"1","AgentRow":"2"}"#);
    }

    #[test]
    fn missing_and_null_values_keep_positions() {
        let step = "{unzip_records: {fields: {AgentNMLS: nmls, AgentFiveMinApps: apps}}}";
        let got = run(step, r#"[{"nmls": null, "apps": true}, {}, {"nmls": 352, "apps": false}]"#).unwrap();
        assert_eq!(got, json!({"AgentNMLS": ",,352", "AgentFiveMinApps": "true,,false"}));
    }

    #[test]
    fn one_key_used_twice() {
        let step = "{unzip_records: {fields: {AgentID: id, AgentRealID: id}}}";
        assert_eq!(run(step, r#"[{"id": 5}]"#).unwrap(), json!({"AgentID": "5", "AgentRealID": "5"}));
    }

    #[test]
    fn separator_message_names_record_and_field() {
        let step = "{unzip_records: {fields: {AgentNames: name}}}";
        let e = run(step, r#"[{"name": "Ana"}, {"name": "Jones, Erin"}]"#).unwrap_err();
        assert_eq!(e.reason, "separator_in_value");
        assert_eq!(
            e.message,
            "record 2: `name` \"Jones, Erin\" contains the separator \",\", which would break the AgentNames list"
        );
        let step = "{unzip_records: {fields: {AgentNames: name}, sep: \" | \"}}";
        assert_eq!(run(step, r#"[{"name": "a|b"}, {"name": "c"}]"#).unwrap(), json!({"AgentNames": "a|b | c"}));
    }

    #[test]
    fn wrong_types() {
        let step = "{unzip_records: {fields: {AgentID: id}}}";
        assert_eq!(run(step, "null").unwrap(), json!(null));
        assert_eq!(run(step, r#"{"id": 1}"#).unwrap_err().reason, "wrong_type");
        assert_eq!(run(step, r#""1,2""#).unwrap_err().reason, "wrong_type");
        let e = run(step, r#"[{"id": 1}, "2"]"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("element 2 is text"), "{}", e.message);
        let e = run(step, r#"[{"id": [1, 2]}]"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("`id` (for AgentID) is a list"), "{}", e.message);
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{unzip_records: {fields: {}}}").contains("`fields` is empty"));
        assert!(compile_err("{unzip_records: {fields: {AgentID: id}, sep: \"\"}}").contains("`sep` is empty"));
        assert!(compile_err("{unzip_records: {sep: \",\"}}").contains("fields"));
        assert!(compile_err("{unzip_records: {fields: [id]}}").contains("line"));
        assert!(compile_err("unzip_records").contains("needs options"));
    }
}
