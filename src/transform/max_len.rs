//! `max_len`: cut text to a maximum number of characters, or reject it.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_text};

/// What to do with text longer than the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Keep the first `len` characters.
    #[default]
    Truncate,
    /// Reject the record (reason `too_long`).
    Reject,
}

/// Options of `max_len`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The maximum length in characters (Unicode code points, not bytes).
    pub len: usize,
    /// `truncate` (default) or `reject`.
    #[serde(default)]
    pub overflow: Overflow,
}

/// `max_len: N` or `max_len: {len: N, overflow: reject}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, usize, |len| Options { len, overflow: Overflow::Truncate });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "max_len",
        summary: "Limit text to N characters: truncate (default) or reject.",
        description: "Counts Unicode code points (`é` is one character, as destination field \
limits are usually meant), never bytes. `max_len: 100` keeps the first 100 characters; \
`{max_len: {len: 100, overflow: reject}}` rejects the record instead (reason `too_long`). \
Text is not re-trimmed after cutting.",
        examples: &[
            Example { step: "{max_len: 3}", input: r#""abcdef""#, output: Ok(r#""abc""#) },
            Example { step: "{max_len: 3}", input: r#""Ñéü!""#, output: Ok(r#""Ñéü""#) },
            Example { step: "{max_len: 3}", input: r#""ab""#, output: Ok(r#""ab""#) },
            Example { step: "{max_len: {len: 2, overflow: reject}}", input: r#""CAL""#, output: Err("too_long") },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(self.0))
    }
}

impl Transform for Options {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        let len = self.len;
        let overflow = self.overflow;
        edit_text(v, "max_len", &|s: &mut String| {
            // Fast path: byte length bounds the character count.
            if s.len() <= len {
                return Ok(());
            }
            match s.char_indices().nth(len) {
                None => Ok(()),
                Some((cut, _)) => match overflow {
                    Overflow::Truncate => {
                        s.truncate(cut);
                        Ok(())
                    }
                    Overflow::Reject => Err(RuleError::new(
                        "too_long",
                        format!("{} characters, the limit is {len}", s.chars().count()),
                    )),
                },
            }
        })
    }
    /// At most `len` characters (in both modes: `reject` lets only shorter text through), and
    /// never more than the input. Known values are cut (or dropped) exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let n = input.max_chars.map_or(self.len, |m| m.min(self.len));
        input.mapped_or(self, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn zero_and_exact() {
        assert_eq!(run("{max_len: 0}", r#""abc""#).unwrap(), json!(""));
        assert_eq!(run("{max_len: 3}", r#""abc""#).unwrap(), json!("abc"));
        assert_eq!(run("{max_len: 1}", r#""👍x""#).unwrap(), json!("👍"));
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{max_len: -1}").contains("line"));
        assert!(compile_err("{max_len: {len: 3, overflow: explode}}").contains("explode"));
    }

    #[test]
    fn reject_message_names_lengths() {
        let e = run("{max_len: {len: 2, overflow: reject}}", r#""abc""#).unwrap_err();
        assert_eq!(e.message, "3 characters, the limit is 2");
    }

    #[test]
    fn bound_is_the_smaller_limit() {
        assert_eq!(bound("{max_len: 3}", Bound::unknown()), Bound::at_most(3));
        assert_eq!(bound("{max_len: 3}", Bound::at_most(2)), Bound::at_most(2));
        assert_eq!(bound("{max_len: {len: 3, overflow: reject}}", Bound::at_most(80)), Bound::at_most(3));
        assert_eq!(bound("{max_len: 2}", Bound::exactly(["abc", "x", "ab"])), Bound::exactly(["ab", "x"]));
        // Rejected values never come out.
        assert_eq!(bound("{max_len: {len: 2, overflow: reject}}", Bound::exactly(["abc", "x"])), Bound::exactly(["x"]));
    }

    #[test]
    fn bound_after_add_prefix() {
        use crate::transform::{Transform, bound_of_steps, compile_yaml_step};
        let steps = ["{add_prefix: \"+1\"}", "{max_len: 10}"].map(|s| compile_yaml_step(s, &cx()).unwrap());
        let steps: Vec<&dyn Transform> = steps.iter().map(|b| &**b).collect();
        assert_eq!(bound_of_steps(&steps, Bound::at_most(10)), Bound::at_most(10));
        assert_eq!(bound_of_steps(&steps, Bound::at_most(7)), Bound::at_most(9));
        assert_eq!(bound_of_steps(&steps, Bound::exactly(["9492651111"])), Bound::exactly(["+194926511"]));
    }
}
