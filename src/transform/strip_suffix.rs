//! `strip_suffix`: Remove a text from the end, if it is there.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// Options of `strip_suffix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text.
    pub text: String,
}

/// `strip_suffix: TEXT` or `strip_suffix: {text: TEXT}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |text| Options { text });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "strip_suffix",
        summary: "Remove a text from the end, if it is there.",
        description: "Removes `text` once from the end of the value (Delacon durations: `50s` with `{strip_suffix: s}` gives `50`; see also `duration`). Text that does not end with it is unchanged. Case-sensitive.",
        examples: &[
            Example { step: "{strip_suffix: s}", input: r#""50s""#, output: Ok(r#""50""#) },
            Example { step: "{strip_suffix: \".0\"}", input: r#""92618.0""#, output: Ok(r#""92618""#) },
            Example { step: "{strip_suffix: s}", input: r#""50""#, output: Ok(r#""50""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.0.text.is_empty() {
            return Err("the text is empty: this step would do nothing".into());
        }
        Ok(Box::new(StripSuffix(self.0.text)))
    }
}

#[derive(Debug)]
struct StripSuffix(String);

impl Transform for StripSuffix {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        let t = self.0.as_str();
        edit_str(v, "strip_suffix", &|s| s.strip_suffix(t).unwrap_or(s).into())
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
        assert!(compile_err("{strip_suffix: \"\"}").contains("empty"));
    }

    #[test]
    fn only_once() {
        assert_eq!(run("{strip_suffix: s}", r#""ss""#).unwrap(), json!("s"));
    }

    #[test]
    fn bound_keeps_length_and_strips_known_values() {
        assert_eq!(bound("{strip_suffix: s}", Bound::at_most(5)), Bound::at_most(5));
        assert_eq!(bound("{strip_suffix: s}", Bound::exactly(["50s", "50", "ss"])), Bound::exactly(["50", "s"]));
    }
}
