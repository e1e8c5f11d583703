//! `default`: a value for when there is none.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, is_empty};

/// When the default applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// The value is missing (null), empty text, whitespace only, or an empty list.
    #[default]
    Empty,
    /// Only when the value is missing (null); an empty text is kept.
    Null,
}

/// Options of `default`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The value to use (any JSON value).
    pub value: Value,
    /// `empty` (default) or `null`.
    #[serde(default)]
    pub when: When,
}

/// `default: VALUE` or `default: {value: VALUE, when: null}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, Value, |value| Options { value, when: When::Empty });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "default",
        summary: "Use a fixed value when the value is missing or empty.",
        description: "`{default: Missed}` replaces a missing (null), empty or whitespace-only value \
by `Missed`; other values pass unchanged. With `{default: {value: X, when: null}}` only a missing \
value is replaced and an empty text is kept. As a step it can sit anywhere in `steps` (for example \
after a `lookup` with `on_missing: null`); a field's own `default` key applies before the steps.",
        examples: &[
            Example { step: "{default: Missed}", input: r#""""#, output: Ok(r#""Missed""#) },
            Example { step: "{default: Missed}", input: "null", output: Ok(r#""Missed""#) },
            Example { step: "{default: Missed}", input: r#""Answered""#, output: Ok(r#""Answered""#) },
            Example { step: "{default: {value: 0, when: null}}", input: r#""""#, output: Ok(r#""""#) },
            Example { step: "{default: 0}", input: r#""  ""#, output: Ok("0") },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(self.0))
    }
}

impl Transform for Options {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let replace = match self.when {
            When::Empty => is_empty(&v),
            When::Null => v.is_null(),
        };
        Ok(if replace { self.value.clone() } else { v })
    }
    /// The input, with the default instead of an empty value. Whether a value can be missing is
    /// not known, so the default is always among the results. Known values are replaced (when
    /// blank) exactly; a list or object default is not described.
    fn bound(&self, input: &Bound) -> Bound {
        if matches!(self.value, Value::Array(_) | Value::Object(_)) {
            return Bound::unknown();
        }
        input.mapped_or(self, input.max_chars).union(&Bound::of_value(&self.value))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn objects_and_lists() {
        assert_eq!(run("{default: {value: {a: 1}}}", "null").unwrap(), json!({"a": 1}));
        assert_eq!(run("{default: x}", "[]").unwrap(), json!("x"));
        assert_eq!(run("{default: x}", "false").unwrap(), json!(false));
    }

    #[test]
    fn bound_adds_the_default() {
        assert_eq!(bound("{default: Missed}", Bound::exactly(["Answered", "", " "])), Bound::exactly(["Answered", "Missed"]));
        assert_eq!(bound("{default: Missed}", Bound::at_most(3)), Bound::at_most(6));
        assert_eq!(bound("{default: Missed}", Bound::at_most(12)), Bound::at_most(12));
        assert_eq!(bound("{default: Missed}", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("{default: 0}", Bound::exactly(["12"])), Bound::exactly(["12", "0"]));
        // Only null is replaced: the empty text stays.
        let step = "{default: {value: X, when: null}}";
        assert_eq!(bound(step, Bound::exactly(["", "a"])), Bound::exactly(["", "a", "X"]));
        assert_eq!(bound("{default: {value: null}}", Bound::exactly(["a"])), Bound::exactly(["a"]));
        assert_eq!(bound("{default: [x]}", Bound::exactly(["a"])), Bound::unknown());
    }
}
