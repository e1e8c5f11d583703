//! `add_suffix`: Put a text after the value.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_str};

/// Options of `add_suffix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text.
    pub text: String,
}

/// `add_suffix: TEXT` or `add_suffix: {text: TEXT}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |text| Options { text });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "add_suffix",
        summary: "Put a text after the value.",
        description: "Appends `text`. Empty values get the suffix too; null stays null.",
        examples: &[
            Example { step: "{add_suffix: \"&mode=direct\"}", input: r#""https://pla.delaconcorp.com/rec?id=1""#, output: Ok(r#""https://pla.delaconcorp.com/rec?id=1&mode=direct""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.0.text.is_empty() {
            return Err("the text is empty: this step would do nothing".into());
        }
        Ok(Box::new(AddSuffix(self.0.text)))
    }
}

#[derive(Debug)]
struct AddSuffix(String);

impl Transform for AddSuffix {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let t = self.0.as_str();
        map_str(v, "add_suffix", &|s| format!("{s}{t}").into())
    }
    /// The input and the suffix: longer by its length. Known values get it exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let added = self.0.chars().count();
        input.mapped_or(self, input.max_chars.map(|n| n.saturating_add(added)))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn empty_text_refused() {
        assert!(compile_err("{add_suffix: \"\"}").contains("empty"));
    }

    #[test]
    fn numbers_as_text() {
        assert_eq!(run("{add_suffix: s}", "50").unwrap(), json!("50s"));
    }

    #[test]
    fn bound_adds_the_suffix() {
        assert_eq!(bound("{add_suffix: \"&mode=direct\"}", Bound::at_most(40)), Bound::at_most(52));
        assert_eq!(bound("{add_suffix: s}", Bound::exactly(["50", "1"])), Bound::exactly(["50s", "1s"]));
    }
}
