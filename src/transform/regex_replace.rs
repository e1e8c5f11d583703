//! `regex_replace`: replace matches of a regular expression.

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// Options of `regex_replace`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The pattern, in the syntax of the Rust `regex` crate (no look-around, no backreferences).
    pub pattern: String,
    /// The replacement: `$1`, `${name}` insert capture groups; `$$` is a literal `$`.
    #[serde(default)]
    pub with: String,
    /// Replace only the first match instead of all. Default false.
    #[serde(default)]
    pub first_only: bool,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "regex_replace",
        summary: "Replace matches of a regular expression, with capture groups.",
        description: "Patterns use the Rust `regex` syntax and run in linear time. `with` may refer \
to groups as `$1` or `${name}`; write `${1}0` when a digit follows. All matches are replaced unless \
`first_only: true`. A bad pattern is refused when the mapping is loaded.",
        examples: &[
            Example { step: "{regex_replace: {pattern: \"^1(\\\\d{10})$\", with: \"$1\"}}", input: r#""19492651111""#, output: Ok(r#""9492651111""#) },
            Example { step: "{regex_replace: {pattern: \"^1(\\\\d{10})$\", with: \"$1\"}}", input: r#""29492651111""#, output: Ok(r#""29492651111""#) },
            Example { step: "{regex_replace: {pattern: \"[^0-9]\"}}", input: r#""(949) 265-1111""#, output: Ok(r#""9492651111""#) },
            Example { step: "{regex_replace: {pattern: \"\\\\s+\", with: \" \", first_only: true}}", input: r#""a  b  c""#, output: Ok(r#""a b  c""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let re = Regex::new(&self.pattern).map_err(|e| format!("bad pattern: {e}"))?;
        Ok(Box::new(RegexReplace { re, with: self.with, first_only: self.first_only }))
    }
}

#[derive(Debug)]
struct RegexReplace {
    re: Regex,
    with: String,
    first_only: bool,
}

impl Transform for RegexReplace {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "regex_replace", &|s| {
            // Most texts do not match: asking only whether one does is several times cheaper
            // than the search for capture groups that `replace` starts with.
            if !self.re.is_match(s) {
                s.into()
            } else if self.first_only {
                self.re.replace(s, self.with.as_str())
            } else {
                self.re.replace_all(s, self.with.as_str())
            }
        })
    }
    /// The replacement (with its capture groups) can make the text any length: known only when
    /// the input values are, which are replaced exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, None)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn bad_pattern_refused() {
        assert!(compile_err("{regex_replace: {pattern: \"(\"}}").contains("bad pattern"));
    }

    #[test]
    fn named_groups() {
        let step = r#"{regex_replace: {pattern: "(?P<d>\\d{2})/(?P<m>\\d{2})", with: "${m}-${d}"}}"#;
        assert_eq!(run(step, r#""14/03""#).unwrap(), json!("03-14"));
    }

    #[test]
    fn bound_only_from_known_values() {
        let step = "{regex_replace: {pattern: \"^1(\\\\d{10})$\", with: \"$1\"}}";
        assert_eq!(bound(step, Bound::at_most(11)), Bound::unknown());
        assert_eq!(bound(step, Bound::exactly(["19492651111", "x"])), Bound::exactly(["9492651111", "x"]));
    }
}
