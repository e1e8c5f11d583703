//! `to_text`: turn any value into text.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform};

/// Options of `to_text`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Turn a missing value (null) into the empty text instead of leaving it missing. Default false.
    #[serde(default)]
    pub null_as_empty: bool,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "to_text",
        summary: "Turn numbers, booleans, lists and objects into text.",
        description: "Numbers and booleans become their usual text (`12`, `true`), lists and \
objects their compact JSON text; text is unchanged. Destinations that want every value as a \
string (LeadSquared's `CallDuration: \"12\"`) use it after `duration` or `to_int`. Null stays \
null unless `null_as_empty: true`.",
        examples: &[
            Example { step: "to_text", input: "12", output: Ok(r#""12""#) },
            Example { step: "to_text", input: "true", output: Ok(r#""true""#) },
            Example { step: "to_text", input: r#"["a",1]"#, output: Ok(r#""[\"a\",1]""#) },
            Example { step: "{to_text: {null_as_empty: true}}", input: "null", output: Ok(r#""""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(self))
    }
}

impl Transform for Config {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        Ok(match v {
            Value::Null if self.null_as_empty => Value::String(String::new()),
            Value::Null => Value::Null,
            Value::String(s) => Value::String(s),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            other => Value::String(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn floats_and_null() {
        assert_eq!(run("to_text", "1.5").unwrap(), json!("1.5"));
        assert_eq!(run("to_text", "null").unwrap(), json!(null));
        assert_eq!(run("to_text", r#""x""#).unwrap(), json!("x"));
    }
}
