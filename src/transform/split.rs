//! `split`: cut text into a list on a separator.
//!
//! CallerReady and many dialers carry lists as comma-separated text (`AgentID=328290,328999`);
//! `split` turns such a field into a list that the list rules (`sort_records`, `get`, `join`...)
//! work on. Elements are trimmed by default because hand-typed lists often read `a, b, c`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform};

fn comma() -> String {
    ",".to_owned()
}

fn yes() -> bool {
    true
}

/// Options of `split`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The separator, any text (default `,`).
    #[serde(default = "comma")]
    pub sep: String,
    /// Trim whitespace around each element (default true).
    #[serde(default = "yes")]
    pub trim: bool,
    /// Leave out empty (or whitespace-only) elements (default false: positions are kept, so
    /// parallel lists stay aligned).
    #[serde(default)]
    pub skip_empty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { sep: comma(), trim: true, skip_empty: false }
    }
}

/// `split: ","` or `split: {sep: ",", trim: true, skip_empty: false}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |sep| Options { sep, ..Options::default() });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "split",
        summary: "Cut text into a list on a separator (default `,`), trimming each element.",
        description: "`{split: \",\"}` is short for `{split: {sep: \",\"}}`; a bare `split` \
splits on commas. Options: `sep` (any text, default `,`), `trim` (default true: whitespace \
around each element is removed), `skip_empty` (default false: empty elements are kept so that \
parallel lists keep their positions; true leaves out empty and whitespace-only elements).\n\n\
Empty or whitespace-only text gives an empty list `[]`, never `[\"\"]`. A number or boolean is \
split through its text form. A list is already split and passes through unchanged; `null` \
passes through. An object fails with reason `wrong_type`.",
        examples: &[
            Example {
                step: "{split: \",\"}",
                input: r#""Anthony.Smith@xyz.com, Erin.Jones@xyz.com""#,
                output: Ok(r#"["Anthony.Smith@xyz.com", "Erin.Jones@xyz.com"]"#),
            },
            Example { step: "split", input: r#""1,1,3,3""#, output: Ok(r#"["1", "1", "3", "3"]"#) },
            Example {
                step: "{split: {sep: \";\", skip_empty: true}}",
                input: r#""sales; ;support;""#,
                output: Ok(r#"["sales", "support"]"#),
            },
            Example {
                step: "{split: {sep: \"|\", trim: false}}",
                input: r#""Smith | Jones""#,
                output: Ok(r#"["Smith ", " Jones"]"#),
            },
            Example { step: "{split: \",\"}", input: r#""  ""#, output: Ok("[]") },
            Example { step: "{split: \",\"}", input: r#"["328290", "328999"]"#, output: Ok(r#"["328290", "328999"]"#) },
            Example { step: "{split: \",\"}", input: "null", output: Ok("null") },
            Example { step: "{split: \",\"}", input: r#"{"AgentID": "1,2"}"#, output: Err("wrong_type") },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config(Options::default()))
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.0.sep.is_empty() {
            return Err("`sep` is empty: give the text that separates the elements, e.g. `,`".into());
        }
        Ok(Box::new(self.0))
    }
}

/// Split `s` on `sep` into text values. Empty or whitespace-only text gives no elements.
pub(crate) fn split_text(s: &str, sep: &str, trim: bool, skip_empty: bool) -> Vec<Value> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    s.split(sep)
        .map(|part| if trim { part.trim() } else { part })
        .filter(|part| !skip_empty || !part.trim().is_empty())
        .map(|part| Value::String(part.to_owned()))
        .collect()
}

impl Transform for Options {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let parts = match &v {
            Value::Null | Value::Array(_) => return Ok(v),
            Value::String(s) => split_text(s, &self.sep, self.trim, self.skip_empty),
            Value::Number(n) => split_text(&n.to_string(), &self.sep, self.trim, self.skip_empty),
            Value::Bool(b) => split_text(if *b { "true" } else { "false" }, &self.sep, self.trim, self.skip_empty),
            Value::Object(_) => {
                return Err(RuleError::new("wrong_type", "`split` works on text, got an object"));
            }
        };
        Ok(Value::Array(parts))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn keeps_empty_positions_by_default() {
        assert_eq!(run("{split: \",\"}", r#""a,,b,""#).unwrap(), json!(["a", "", "b", ""]));
        assert_eq!(run("{split: \",\"}", r#""a, ,b""#).unwrap(), json!(["a", "", "b"]));
        assert_eq!(run("{split: {sep: \",\", trim: false}}", r#""a, ,b""#).unwrap(), json!(["a", " ", "b"]));
        assert_eq!(
            run("{split: {sep: \",\", trim: false, skip_empty: true}}", r#""a, ,b""#).unwrap(),
            json!(["a", "b"])
        );
    }

    #[test]
    fn multi_character_separator_and_no_separator() {
        assert_eq!(run("{split: \" / \"}", r#""a / b/c""#).unwrap(), json!(["a", "b/c"]));
        assert_eq!(run("{split: \",\"}", r#""single""#).unwrap(), json!(["single"]));
        assert_eq!(run("{split: \",\"}", r#""""#).unwrap(), json!([]));
        assert_eq!(run("{split: \",\"}", r#"" \t\n""#).unwrap(), json!([]));
        assert_eq!(run("{split: \",\"}", r#"",""#).unwrap(), json!(["", ""]));
    }

    #[test]
    fn scalars_through_text() {
        assert_eq!(run("{split: \",\"}", "328290").unwrap(), json!(["328290"]));
        assert_eq!(run("{split: \".\"}", "1.5").unwrap(), json!(["1", "5"]));
        assert_eq!(run("{split: \",\"}", "true").unwrap(), json!(["true"]));
        assert_eq!(run("split", "[1, null]").unwrap(), json!([1, null]));
    }

    #[test]
    fn unicode_whitespace_trimmed() {
        assert_eq!(run("split", "\"Ana\u{a0},\u{a0}Bo\"").unwrap(), json!(["Ana", "Bo"]));
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{split: \"\"}").contains("`sep` is empty"));
        assert!(compile_err("{split: {sep: \",\", trimm: true}}").contains("trimm"));
        assert!(compile_err("{split: {sep: \",\", trim: maybe}}").contains("line"));
    }
}
