//! `collapse_whitespace`: Trim and turn every run of whitespace into one space.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// `collapse_whitespace` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "collapse_whitespace",
        summary: "Trim and turn every run of whitespace into one space.",
        description: "Unicode whitespace (tabs, newlines, NBSP) inside the text becomes a single space; leading and trailing whitespace is removed.",
        examples: &[
            Example { step: "collapse_whitespace", input: r#""  Mary \t Ann\n Smith ""#, output: Ok(r#""Mary Ann Smith""#) },
            Example { step: "collapse_whitespace", input: r#""a\u00a0\u00a0b""#, output: Ok(r#""a b""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(CollapseWhitespace))
    }
}

#[derive(Debug)]
struct CollapseWhitespace;

impl Transform for CollapseWhitespace {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "collapse_whitespace", &|s| collapse(s))
    }

    /// A run of whitespace becomes at most one space: never longer than its input; known values
    /// are collapsed exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars)
    }
}

fn collapse(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    let mut prev_ws = false;
    let clean = t.chars().all(|c| {
        let ws = c.is_whitespace();
        let ok = !ws || (c == ' ' && !prev_ws);
        prev_ws = ws;
        ok
    });
    if clean {
        return t.into();
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;
    #[test]
    fn clean_text_unchanged_and_blank_empty() {
        assert_eq!(run("collapse_whitespace", r#""a b""#).unwrap(), json!("a b"));
        assert_eq!(run("collapse_whitespace", r#"" \t ""#).unwrap(), json!(""));
    }

    #[test]
    fn bound_keeps_length_and_collapses_known_values() {
        assert_eq!(bound("collapse_whitespace", Bound::at_most(8)), Bound::at_most(8));
        let got = bound("collapse_whitespace", Bound::exactly([" a \t b ", "a b"]));
        assert_eq!(got, Bound::exactly(["a b"]));
        assert_eq!(got.max_chars, Some(3));
    }
}
