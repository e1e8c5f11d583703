//! `join`: turn a list into one text.
//!
//! The reverse of `split`, and the way to build one field out of several parts (first, middle
//! and last names gathered into a list). Empty parts are left out by default, so a missing
//! middle name does not leave a double space.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, as_text, kind, show};

fn comma() -> String {
    ",".to_owned()
}

fn yes() -> bool {
    true
}

/// Options of `join`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text put between elements (default `,`; may be empty to glue them together).
    #[serde(default = "comma")]
    pub sep: String,
    /// Leave out null, empty and whitespace-only elements (default true).
    #[serde(default = "yes")]
    pub skip_empty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { sep: comma(), skip_empty: true }
    }
}

/// `join: " "` or `join: {sep: " ", skip_empty: true}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |sep| Options { sep, ..Options::default() });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "join",
        summary: "Join a list into one text with a separator (default `,`), leaving out empty elements.",
        description: "`{join: \" \"}` is short for `{join: {sep: \" \"}}`; a bare `join` joins \
with commas. Options: `sep` (any text, may be empty; default `,`), `skip_empty` (default true: \
null, empty and whitespace-only elements are left out, so joining first, middle and last names \
gives no double spaces; false keeps them as empty elements, which keeps positions in \
comma-separated parallel lists).\n\n\
Numbers and booleans in the list are written in their text form. An element that is an object \
or a list fails with reason `wrong_type`. A text, number or boolean input is returned as text \
(a list of one); `null` passes through; an object input fails with reason `wrong_type`.",
        examples: &[
            Example { step: "{join: \" \"}", input: r#"["Erin", null, "Jones"]"#, output: Ok(r#""Erin Jones""#) },
            Example { step: "{join: \" \"}", input: r#"["Erin", "  ", "Jones"]"#, output: Ok(r#""Erin Jones""#) },
            Example { step: "join", input: r#"[328290, 328999]"#, output: Ok(r#""328290,328999""#) },
            Example {
                step: "{join: {sep: \",\", skip_empty: false}}",
                input: r#"["848", null, "352"]"#,
                output: Ok(r#""848,,352""#),
            },
            Example { step: "{join: \", \"}", input: "[]", output: Ok(r#""""#) },
            Example { step: "{join: \",\"}", input: "8885551111", output: Ok(r#""8885551111""#) },
            Example { step: "{join: \",\"}", input: "null", output: Ok("null") },
            Example { step: "{join: \",\"}", input: r#"[{"AgentID": 1}]"#, output: Err("wrong_type") },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config(Options::default()))
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(self.0))
    }
}

impl Transform for Options {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let items = match v {
            Value::Array(items) => items,
            Value::Null => return Ok(Value::Null),
            Value::String(_) => return Ok(v),
            Value::Number(n) => return Ok(Value::String(n.to_string())),
            Value::Bool(b) => return Ok(Value::String(b.to_string())),
            Value::Object(_) => {
                return Err(RuleError::new("wrong_type", "`join` works on a list, got an object"));
            }
        };
        let mut out = String::new();
        let mut first = true;
        for (i, item) in items.iter().enumerate() {
            let text = match item {
                Value::Null => None,
                Value::Array(_) | Value::Object(_) => {
                    return Err(RuleError::new(
                        "wrong_type",
                        format!(
                            "`join` joins text, numbers and booleans; element {} is {}: {}",
                            i + 1,
                            kind(item),
                            show(item)
                        ),
                    ));
                }
                other => as_text(other),
            };
            if self.skip_empty && text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                continue;
            }
            if !first {
                out.push_str(&self.sep);
            }
            first = false;
            if let Some(t) = text {
                out.push_str(&t);
            }
        }
        Ok(Value::String(out))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn keeps_empty_positions_when_asked() {
        let step = "{join: {sep: \",\", skip_empty: false}}";
        assert_eq!(run(step, r#"[null, "", "a", null]"#).unwrap(), json!(",,a,"));
        assert_eq!(run(step, "[null]").unwrap(), json!(""));
        assert_eq!(run(step, "[]").unwrap(), json!(""));
    }

    #[test]
    fn skips_leading_and_trailing_empties() {
        assert_eq!(run("{join: \" \"}", r#"[null, "", "Ana", "", "Bo", null]"#).unwrap(), json!("Ana Bo"));
        assert_eq!(run("{join: \" \"}", r#"[null, ""]"#).unwrap(), json!(""));
    }

    #[test]
    fn mixed_scalars_and_empty_separator() {
        assert_eq!(run("{join: \"\"}", r#"["A", 1, true, 2.5]"#).unwrap(), json!("A1true2.5"));
        assert_eq!(run("{join: \"-\"}", "false").unwrap(), json!("false"));
        assert_eq!(run("{join: \"-\"}", r#""a,b""#).unwrap(), json!("a,b"));
    }

    #[test]
    fn nested_values_refused_with_position() {
        let e = run("{join: \",\"}", r#"["a", ["b"]]"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("element 2 is a list"), "{}", e.message);
        let e = run("{join: \",\"}", r#"{"a": "b"}"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{join: {sep: \",\", skip: true}}").contains("skip"));
    }
}
