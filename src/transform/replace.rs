//! `replace`: replace every occurrence of a literal text.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// Options of `replace`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The literal text to find (not a pattern; see `regex_replace`).
    pub find: String,
    /// What to put instead (may be empty).
    #[serde(default)]
    pub with: String,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "replace",
        summary: "Replace every occurrence of a literal text.",
        description: "`{replace: {find: \" \", with: \"__\"}}` replaces all occurrences, left to \
right, without overlaps. `find` is literal text: no pattern characters. `with` defaults to the empty \
text (deletes `find`).",
        examples: &[
            Example { step: "{replace: {find: \" \", with: \"__\"}}", input: r#""Loan Amount""#, output: Ok(r#""Loan__Amount""#) },
            Example { step: "{replace: {find: \"-\"}}", input: r#""949-265-1111""#, output: Ok(r#""9492651111""#) },
            Example { step: "{replace: {find: \"aa\", with: \"b\"}}", input: r#""aaa""#, output: Ok(r#""ba""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.find.is_empty() {
            return Err("`find` is empty: nothing to replace".into());
        }
        Ok(Box::new(self))
    }
}

impl Transform for Config {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "replace", &|s| {
            if s.contains(self.find.as_str()) { s.replace(self.find.as_str(), &self.with).into() } else { s.into() }
        })
    }
    /// Each replaced `find` becomes `with`: the text only grows when `with` is longer, by the
    /// difference at most once per `find`-long stretch of the input. Known values are replaced
    /// exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let find = self.find.chars().count();
        let with = self.with.chars().count();
        let max = input.max_chars.and_then(|n| {
            if with <= find { Some(n) } else { n.checked_div(find)?.checked_mul(with - find)?.checked_add(n) }
        });
        input.mapped_or(self, max)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn empty_find_refused_missing_find_located() {
        assert!(compile_err("{replace: {find: \"\"}}").contains("empty"));
        assert!(compile_err("{replace: {with: x}}").contains("missing field `find`"));
    }

    #[test]
    fn no_match_unchanged() {
        assert_eq!(run("{replace: {find: x, with: y}}", r#""abc""#).unwrap(), json!("abc"));
    }

    #[test]
    fn bound_grows_only_with_a_longer_replacement() {
        assert_eq!(bound("{replace: {find: \" \", with: \"__\"}}", Bound::at_most(5)), Bound::at_most(10));
        assert_eq!(bound("{replace: {find: ab, with: xyz}}", Bound::at_most(5)), Bound::at_most(7));
        assert_eq!(bound("{replace: {find: aa, with: b}}", Bound::at_most(5)), Bound::at_most(5));
        assert_eq!(bound("{replace: {find: \"-\"}}", Bound::at_most(12)), Bound::at_most(12));
        assert_eq!(bound("{replace: {find: \" \", with: \"__\"}}", Bound::unknown()), Bound::unknown());
        let got = bound("{replace: {find: \" \", with: \"__\"}}", Bound::exactly(["Loan Amount", "Id"]));
        assert_eq!(got, Bound::exactly(["Loan__Amount", "Id"]));
    }
}
