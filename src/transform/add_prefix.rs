//! `add_prefix`: Put a text in front of the value.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_str};

/// Options of `add_prefix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text.
    pub text: String,
}

/// `add_prefix: TEXT` or `add_prefix: {text: TEXT}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, String, |text| Options { text });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "add_prefix",
        summary: "Put a text in front of the value.",
        description: "Prepends `text`. Used on field names for ChaseData custom fields (`adv_` + name) in `extras.rename`. Empty values get the prefix too; null stays null.",
        examples: &[
            Example { step: "{add_prefix: adv_}", input: r#""Loan__Amount""#, output: Ok(r#""adv_Loan__Amount""#) },
            Example { step: "{add_prefix: \"+\"}", input: r#""919611795983""#, output: Ok(r#""+919611795983""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.0.text.is_empty() {
            return Err("the text is empty: this step would do nothing".into());
        }
        Ok(Box::new(AddPrefix(self.0.text)))
    }
}

#[derive(Debug)]
struct AddPrefix(String);

impl Transform for AddPrefix {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let t = self.0.as_str();
        map_str(v, "add_prefix", &|s| format!("{t}{s}").into())
    }
    /// The input and the prefix: longer by its length. Known values get it exactly.
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
        assert!(compile_err("{add_prefix: \"\"}").contains("empty"));
    }

    #[test]
    fn null_stays() {
        assert_eq!(run("{add_prefix: x}", "null").unwrap(), json!(null));
    }

    #[test]
    fn bound_adds_the_prefix() {
        assert_eq!(bound("{add_prefix: adv_}", Bound::at_most(6)), Bound::at_most(10));
        assert_eq!(bound("{add_prefix: adv_}", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("{add_prefix: \"é\"}", Bound::exactly(["a", "bc"])), Bound::exactly(["éa", "ébc"]));
    }
}
