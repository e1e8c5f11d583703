//! `strip_prefix`: Remove a text from the start, if it is there.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// Options of `strip_prefix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text.
    pub text: String,
}

/// `strip_prefix: TEXT` or `strip_prefix: {text: TEXT}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |text| Options { text });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "strip_prefix",
        summary: "Remove a text from the start, if it is there.",
        description: "Removes `text` once from the start of the value; text that does not start with it is unchanged. Case-sensitive.",
        examples: &[
            Example { step: "{strip_prefix: \"adv_\"}", input: r#""adv_Loan__Amount""#, output: Ok(r#""Loan__Amount""#) },
            Example { step: "{strip_prefix: \"+1\"}", input: r#""9492651111""#, output: Ok(r#""9492651111""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.0.text.is_empty() {
            return Err("the text is empty: this step would do nothing".into());
        }
        Ok(Box::new(StripPrefix(self.0.text)))
    }
}

#[derive(Debug)]
struct StripPrefix(String);

impl Transform for StripPrefix {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        let t = self.0.as_str();
        edit_str(v, "strip_prefix", &|s| s.strip_prefix(t).unwrap_or(s).into())
    }

    /// Never longer than its input; known values are stripped exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn empty_text_refused() {
        assert!(compile_err("{strip_prefix: \"\"}").contains("empty"));
    }

    #[test]
    fn only_once() {
        assert_eq!(run("{strip_prefix: a}", r#""aab""#).unwrap(), json!("ab"));
    }

    #[test]
    fn bound_keeps_length_and_strips_known_values() {
        assert_eq!(bound("{strip_prefix: adv_}", Bound::at_most(5)), Bound::at_most(5));
        assert_eq!(bound("{strip_prefix: adv_}", Bound::exactly(["adv_x", "y"])), Bound::exactly(["x", "y"]));
    }
}
