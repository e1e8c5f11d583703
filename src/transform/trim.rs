//! `trim`: remove leading and trailing whitespace.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// Options of `trim`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Remove only these characters instead of Unicode whitespace.
    #[serde(default)]
    pub chars: Option<String>,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "trim",
        summary: "Remove leading and trailing whitespace (or the given characters).",
        description: "Removes Unicode White_Space at both ends: spaces, tabs, newlines and the \
non-breaking space U+00A0 that spreadsheets paste in. With `chars`, removes any of those \
characters instead. Inner whitespace is kept (see `collapse_whitespace`).",
        examples: &[
            Example { step: "trim", input: r#"" \u00a0José\t""#, output: Ok(r#""José""#) },
            Example { step: "trim", input: r#""   ""#, output: Ok(r#""""#) },
            Example { step: "{trim: {chars: \"*-\"}}", input: r#""**a-b--""#, output: Ok(r#""a-b""#) },
            Example { step: "trim", input: "null", output: Ok("null") },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        match self.chars {
            Some(c) if c.is_empty() => Err("`chars` is empty: leave it out to trim whitespace".into()),
            chars => Ok(Box::new(Trim { chars: chars.map(|c| c.chars().collect()) })),
        }
    }
}

#[derive(Debug)]
struct Trim {
    chars: Option<Vec<char>>,
}

impl Transform for Trim {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        match &self.chars {
            None => edit_str(v, "trim", &|s| s.trim().into()),
            Some(set) => edit_str(v, "trim", &|s| s.trim_matches(|c| set.contains(&c)).into()),
        }
    }

    /// Trimming never lengthens text; known values are trimmed exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;

    #[test]
    fn numbers_become_text_lists_elementwise() {
        assert_eq!(run("trim", "12").unwrap(), serde_json::json!("12"));
        assert_eq!(run("trim", r#"[" a ", "b "]"#).unwrap(), serde_json::json!(["a", "b"]));
        assert_eq!(run("trim", r#"{"a": 1}"#).unwrap_err().reason, "wrong_type");
    }

    #[test]
    fn empty_chars_refused() {
        assert!(compile_err("{trim: {chars: \"\"}}").contains("empty"));
    }

    #[test]
    fn bound_keeps_length_and_trims_known_values() {
        assert_eq!(bound("trim", Bound::at_most(10)), Bound::at_most(10));
        assert_eq!(bound("trim", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("trim", Bound::exactly([" CA ", "NV", "\t"])), Bound::exactly(["CA", "NV", ""]));
        assert_eq!(bound("{trim: {chars: \"*\"}}", Bound::exactly(["**a*"])), Bound::exactly(["a"]));
    }
}
