//! `lower`: Lower-case text.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, LOWER_CASE_GROWTH, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// `lower` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "lower",
        summary: "Lower-case text.",
        description: "Unicode lower case (`ÉMILE` becomes `émile`). Numbers and booleans become text; null passes.",
        examples: &[
            Example { step: "lower", input: r#""Anthony.Smith@XYZ.com""#, output: Ok(r#""anthony.smith@xyz.com""#) },
            Example { step: "lower", input: r#""ÉMILE""#, output: Ok(r#""émile""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Lower))
    }
}

#[derive(Debug)]
struct Lower;

impl Transform for Lower {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "lower", &|s| if s.chars().any(char::is_uppercase) { s.to_lowercase().into() } else { s.into() })
    }
    /// Lower-casing can lengthen text: `İ` (U+0130) becomes `i̇`, two characters. Known values
    /// are lower-cased exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars.map(|n| n.saturating_mul(LOWER_CASE_GROWTH)))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;
    #[test]
    fn lists_and_null() {
        assert_eq!(run("lower", r#"["A", null]"#).unwrap(), json!(["a", null]));
        assert_eq!(run("lower", "true").unwrap(), json!("true"));
    }

    #[test]
    fn bound_may_grow_unless_values_known() {
        assert_eq!(bound("lower", Bound::at_most(5)), Bound::at_most(10));
        assert_eq!(bound("lower", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("lower", Bound::exactly(["CA", "ca", "İ"])), Bound::exactly(["ca", "i\u{307}"]));
        assert_eq!(bound("lower", Bound::exactly(["İ"])).max_chars, Some(2));
    }
}
