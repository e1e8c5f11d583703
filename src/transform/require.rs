//! `require`: reject the record unless the value passes checks.

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, as_text, is_empty, show};

/// Options of `require`. All given checks must pass.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The whole text must match this pattern (anchored at both ends).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Exact length in characters.
    #[serde(default)]
    pub len: Option<usize>,
    /// Minimum length in characters.
    #[serde(default)]
    pub min_len: Option<usize>,
    /// Maximum length in characters.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// The value must be one of these (compared as text, case-sensitive).
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// The reason code written to the rejects file (default `missing` for an empty value,
    /// `invalid_value` for a failed check).
    #[serde(default)]
    pub reason: Option<String>,
    /// Accept an empty value (missing, null or blank) without checking it. Default false.
    #[serde(default)]
    pub allow_empty: bool,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "require",
        summary: "Reject the record unless the value is present and passes checks (pattern, length, one-of).",
        description: "Bare `require` rejects a missing or blank value. Options add checks on the \
value's text: `pattern` (must match the whole text), `len`, `min_len`, `max_len` (characters), \
`one_of` (a list of allowed values). `reason` names the failure in the rejects file and the run \
summary, so you can tell `invalid_phone` from `invalid_state`; by default it is `missing` for an \
empty value and `invalid_value` otherwise. `allow_empty: true` lets empty values through unchecked. \
The value itself passes unchanged.",
        examples: &[
            Example { step: "{require: {len: 10, reason: invalid_phone}}", input: r#""9492651111""#, output: Ok(r#""9492651111""#) },
            Example { step: "{require: {len: 10, reason: invalid_phone}}", input: r#""949265111""#, output: Err("invalid_phone") },
            Example { step: "require", input: r#""  ""#, output: Err("missing") },
            Example { step: "{require: {one_of: [Inbound, Outbound]}}", input: r#""inbound""#, output: Err("invalid_value") },
            Example { step: "{require: {pattern: \"[0-9]{5}\", allow_empty: true}}", input: r#""""#, output: Ok(r#""""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let pattern = match &self.pattern {
            Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("bad pattern: {e}"))?),
            None => None,
        };
        if let (Some(min), Some(max)) = (self.min_len, self.max_len)
            && min > max
        {
            return Err(format!("min_len {min} is greater than max_len {max}: nothing can pass"));
        }
        if matches!(&self.one_of, Some(v) if v.is_empty()) {
            return Err("`one_of` is empty: nothing can pass".into());
        }
        Ok(Box::new(Require { pattern, cfg: self }))
    }
}

#[derive(Debug)]
struct Require {
    pattern: Option<Regex>,
    cfg: Config,
}

impl Require {
    fn fail(&self, default_reason: &'static str, message: String) -> RuleError {
        match &self.cfg.reason {
            Some(r) => RuleError::new(r.clone(), message),
            None => RuleError::new(default_reason, message),
        }
    }
}

impl Transform for Require {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    /// A check: the value is never changed, so it is only looked at.
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        let v = &*v;
        if is_empty(v) {
            return if self.cfg.allow_empty { Ok(()) } else { Err(self.fail("missing", "a value is required".into())) };
        }
        let Some(text) = as_text(v) else {
            return Err(self.fail("invalid_value", format!("expected text, got {}", super::kind(v))));
        };
        let c = &self.cfg;
        let n = text.chars().count();
        let bad = |what: String| Err(self.fail("invalid_value", format!("{} {what}", show(v))));
        if let Some(len) = c.len
            && n != len
        {
            return bad(format!("has {n} characters, {len} required"));
        }
        if let Some(min) = c.min_len
            && n < min
        {
            return bad(format!("has {n} characters, at least {min} required"));
        }
        if let Some(max) = c.max_len
            && n > max
        {
            return bad(format!("has {n} characters, at most {max} allowed"));
        }
        if let Some(re) = &self.pattern
            && !re.is_match(&text)
        {
            return bad(format!("does not match the pattern {}", c.pattern.as_deref().unwrap_or_default()));
        }
        if let Some(list) = &c.one_of
            && !list.iter().any(|x| x == text.as_ref())
        {
            return bad(format!("is not one of: {}", list.join(", ")));
        }
        Ok(())
    }
    /// The value passes unchanged, so the output is the input narrowed by the checks: `one_of`
    /// gives the listed values that pass the other checks and fit the input, `len` and `max_len`
    /// a length. With `allow_empty`, blank text of any length also passes unchecked. Known
    /// values are checked exactly.
    fn bound(&self, input: &Bound) -> Bound {
        if let Some(b) = input.map_values(self) {
            return b;
        }
        if self.cfg.allow_empty {
            return Bound { max_chars: input.max_chars, values: None };
        }
        let limit = [input.max_chars, self.cfg.len, self.cfg.max_len].into_iter().flatten().min();
        match &self.cfg.one_of {
            Some(list) => Bound::exactly(
                list.iter()
                    .filter(|x| limit.is_none_or(|n| x.chars().count() <= n))
                    .filter(|x| self.apply(Value::String((*x).clone())).is_ok())
                    .cloned(),
            ),
            None => Bound { max_chars: limit, values: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn checks_and_messages() {
        let e = run("{require: {len: 10}}", r#""123""#).unwrap_err();
        assert_eq!(e.message, r#""123" has 3 characters, 10 required"#);
        assert_eq!(run("{require: {min_len: 2, max_len: 3}}", r#""ab""#).unwrap(), json!("ab"));
        assert!(run("{require: {max_len: 3}}", r#""abcd""#).is_err());
        assert!(run("{require: {pattern: \"a|b\"}}", r#""ab""#).is_err(), "pattern is anchored");
        assert_eq!(run("{require: {one_of: [\"1\", \"0\"]}}", "1").unwrap(), json!(1));
        assert_eq!(run("require", "[]").unwrap_err().reason, "missing");
        assert_eq!(run("require", "{}").unwrap_err().reason, "invalid_value");
    }

    #[test]
    fn impossible_options_refused() {
        assert!(compile_err("{require: {min_len: 3, max_len: 2}}").contains("nothing can pass"));
        assert!(compile_err("{require: {one_of: []}}").contains("empty"));
        assert!(compile_err("{require: {pattern: \"[\"}}").contains("bad pattern"));
    }

    #[test]
    fn bound_one_of() {
        let step = "{require: {one_of: [Inbound, Outbound]}}";
        assert_eq!(bound(step, Bound::unknown()), Bound::exactly(["Inbound", "Outbound"]));
        // Intersected with what can come in.
        assert_eq!(bound(step, Bound::exactly(["Inbound", "inbound", "Missed"])), Bound::exactly(["Inbound"]));
        assert_eq!(bound(step, Bound::at_most(7)), Bound::exactly(["Inbound"]));
        // And with the other checks.
        let step = "{require: {one_of: [\"1\", \"22\", \"333\"], max_len: 2, pattern: \"[0-9]+\"}}";
        assert_eq!(bound(step, Bound::unknown()), Bound::exactly(["1", "22"]));
    }

    #[test]
    fn bound_lengths_and_patterns() {
        assert_eq!(bound("{require: {len: 10}}", Bound::unknown()), Bound::at_most(10));
        assert_eq!(bound("{require: {len: 10}}", Bound::at_most(40)), Bound::at_most(10));
        assert_eq!(bound("{require: {min_len: 2, max_len: 5}}", Bound::at_most(3)), Bound::at_most(3));
        assert_eq!(bound("{require: {pattern: \"[0-9]{5}\"}}", Bound::at_most(9)), Bound::at_most(9));
        assert_eq!(bound("require", Bound::unknown()), Bound::unknown());
        assert_eq!(bound("require", Bound::exactly(["a", " "])), Bound::exactly(["a"]));
    }

    #[test]
    fn bound_allow_empty_lets_blanks_through() {
        let step = "{require: {one_of: [a, bb], allow_empty: true}}";
        assert_eq!(bound(step, Bound::unknown()), Bound::unknown());
        assert_eq!(bound(step, Bound::at_most(4)), Bound::at_most(4));
        assert_eq!(bound(step, Bound::exactly(["", "  ", "bb", "c"])), Bound::exactly(["", "  ", "bb"]));
    }
}
