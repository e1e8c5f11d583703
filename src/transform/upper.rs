//! `upper`: Upper-case text.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, UPPER_CASE_GROWTH, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// `upper` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "upper",
        summary: "Upper-case text.",
        description: "Unicode upper case (`straße` becomes `STRASSE`). Numbers and booleans become text; null passes.",
        examples: &[
            Example { step: "upper", input: r#""ca""#, output: Ok(r#""CA""#) },
            Example { step: "upper", input: r#""straße""#, output: Ok(r#""STRASSE""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Upper))
    }
}

#[derive(Debug)]
struct Upper;

impl Transform for Upper {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "upper", &|s| if s.chars().any(char::is_lowercase) { s.to_uppercase().into() } else { s.into() })
    }
    /// Upper-casing can lengthen text (`straße` becomes `STRASSE`, `ﬃ` becomes `FFI`). Known
    /// values are upper-cased exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars.map(|n| n.saturating_mul(UPPER_CASE_GROWTH)))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;
    #[test]
    fn already_upper_unchanged() {
        assert_eq!(run("upper", r#""NY""#).unwrap(), json!("NY"));
        assert_eq!(run("upper", "null").unwrap(), json!(null));
    }

    #[test]
    fn bound_may_grow_unless_values_known() {
        assert_eq!(bound("upper", Bound::at_most(2)), Bound::at_most(6));
        assert_eq!(bound("upper", Bound::exactly(["ca", "CA", "straße"])), Bound::exactly(["CA", "STRASSE"]));
        assert_eq!(bound("upper", Bound::exactly(["straße"])).max_chars, Some(7));
    }
}
