//! `fail`: reject the record, with a reason and a message of the mapping's own.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform};

/// Options of `fail`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The reason code the rejection carries (`callback_needs_phone`).
    pub reason: String,
    /// What was wrong, for the person reading the rejects; `{value}` is replaced by the value.
    pub message: String,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "fail",
        summary: "Reject the record with a reason and a message of the mapping's own.",
        description: "Always fails, with `reason` and `message` (where `{value}` stands for \
the value the step got). Put it on a field with a `when` to refuse records in a situation no \
other rule describes: the last alternative of a field (`when: {from: callback_at, present: \
true}`, `steps: [{fail: {...}}]`) rejects exactly the records the earlier alternatives could \
not handle, with a message that says what to send instead. A field's `on_error` applies as \
to any failing step.",
        examples: &[
            Example {
                step: "{fail: {reason: callback_needs_phone, message: 'callback_at {value} has an offset and the update has no phone'}}",
                input: r#""2026-03-14T09:00:00Z""#,
                output: Err("callback_needs_phone"),
            },
            Example {
                step: "{fail: {reason: not_supported, message: 'not supported'}}",
                input: "null",
                output: Err("not_supported"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        None
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        if self.reason.trim().is_empty() {
            return Err("`reason` is empty: give a short code such as `callback_needs_phone`".into());
        }
        if self.message.trim().is_empty() {
            return Err("`message` is empty: say what was wrong and what to send instead".into());
        }
        Ok(Box::new(self))
    }
}

impl Transform for Config {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        Err(RuleError::new(
            self.reason.clone(),
            self.message.replace("{value}", &super::show(&v)),
        ))
    }

    /// Nothing passes: no value, no length.
    fn bound(&self, _: &Bound) -> Bound {
        Bound::exactly(std::iter::empty::<String>())
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;

    #[test]
    fn the_message_names_the_value_and_the_options_are_checked() {
        let e = run("{fail: {reason: r, message: 'got {value}'}}", r#""x""#).unwrap_err();
        assert_eq!((e.reason.as_ref(), e.message.as_str()), ("r", r#"got "x""#));
        assert!(compile_err("{fail: {reason: ' ', message: m}}").contains("`reason` is empty"));
        assert!(compile_err("{fail: {reason: r, message: ''}}").contains("`message` is empty"));
        assert!(compile_err("fail").contains("fail"));
        assert_eq!(
            bound("{fail: {reason: r, message: m}}", Bound::unknown()),
            Bound::exactly(std::iter::empty::<String>())
        );
    }
}
