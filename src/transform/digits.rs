//! `digits`: Keep only the ASCII digits 0-9.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_text};

/// `digits` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "digits",
        summary: "Keep only the ASCII digits 0-9.",
        description: "Every character other than `0`-`9` is removed: `(949) 265-1111` becomes `9492651111`, `92618.0` becomes `926180`. Text without digits becomes empty. For phone numbers prefer `phone`, which validates.",
        examples: &[
            Example { step: "digits", input: r#""+1 (949) 265-1111""#, output: Ok(r#""19492651111""#) },
            Example { step: "digits", input: r#""02134-0001""#, output: Ok(r#""021340001""#) },
            Example { step: "digits", input: r#""N/A""#, output: Ok(r#""""#) },
            Example { step: "digits", input: "9492651111", output: Ok(r#""9492651111""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Digits))
    }
}

#[derive(Debug)]
struct Digits;

impl Transform for Digits {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_text(v, "digits", &|s: &mut String| {
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                s.retain(|c| c.is_ascii_digit());
            }
            Ok(())
        })
    }

    /// Only removes characters: never longer than its input; known values are mapped exactly.
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
    fn non_ascii_digits_removed() {
        assert_eq!(run("digits", r#""٣4""#).unwrap(), json!("4"));
    }

    #[test]
    fn bound_keeps_length_and_maps_known_values() {
        assert_eq!(bound("digits", Bound::at_most(14)), Bound::at_most(14));
        assert_eq!(bound("digits", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("digits", Bound::exactly(["(949) 265", "N/A"])), Bound::exactly(["949265", ""]));
    }
}
