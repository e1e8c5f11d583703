//! `regex_extract`: take the part of the text that a regular expression matches.

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text, show};

/// What to do when the pattern does not match.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoMatch {
    /// Reject the record (reason `no_match`).
    #[default]
    Reject,
    /// Give the empty text.
    Empty,
    /// Give null (the field is left out of the output).
    Null,
    /// Keep the input as it is.
    Keep,
}

/// Options of `regex_extract`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The pattern, in the syntax of the Rust `regex` crate.
    pub pattern: String,
    /// Which capture group to return: a number or a group name. Default: group 1 if the pattern has
    /// groups, else the whole match.
    #[serde(default)]
    pub group: Option<GroupRef>,
    /// `reject` (default), `empty`, `null` or `keep`.
    #[serde(default)]
    pub no_match: NoMatch,
}

/// A capture group by number or by name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum GroupRef {
    Index(usize),
    Name(String),
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "regex_extract",
        summary: "Keep the part of the text matched by a regular expression (or one of its groups).",
        description: "Returns capture group `group` (a number or a name) of the first match; by \
default group 1 when the pattern has groups, else the whole match. When nothing matches: `no_match` \
decides (`reject` with reason `no_match`, `empty`, `null`, `keep`). A group that did not take part \
in the match gives the empty text.",
        examples: &[
            Example { step: "{regex_extract: {pattern: \"x(\\\\d+)$\"}}", input: r#""(949) 265-1111 x12""#, output: Ok(r#""12""#) },
            Example { step: "{regex_extract: {pattern: \"[A-Z]{2}\"}}", input: r#""Irvine, CA 92618""#, output: Ok(r#""CA""#) },
            Example { step: "{regex_extract: {pattern: \"(?P<zip>\\\\d{5})\", group: zip}}", input: r#""Irvine, CA 92618""#, output: Ok(r#""92618""#) },
            Example { step: "{regex_extract: {pattern: \"\\\\d{5}\"}}", input: r#""no zip""#, output: Err("no_match") },
            Example { step: "{regex_extract: {pattern: \"\\\\d{5}\", no_match: empty}}", input: r#""no zip""#, output: Ok(r#""""#) },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let re = Regex::new(&self.pattern).map_err(|e| format!("bad pattern: {e}"))?;
        let group = match self.group {
            None => usize::from(re.captures_len() > 1),
            Some(GroupRef::Index(i)) if i < re.captures_len() => i,
            Some(GroupRef::Index(i)) => {
                return Err(format!("group {i} does not exist: the pattern has {} group(s)", re.captures_len() - 1));
            }
            Some(GroupRef::Name(n)) => re
                .capture_names()
                .position(|x| x == Some(n.as_str()))
                .ok_or_else(|| format!("the pattern has no group named `{n}`"))?,
        };
        Ok(Box::new(RegexExtract { re, group, no_match: self.no_match }))
    }
}

#[derive(Debug)]
struct RegexExtract {
    re: Regex,
    group: usize,
    no_match: NoMatch,
}

impl Transform for RegexExtract {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "regex_extract", &|s: String| match self.re.captures(&s) {
            Some(c) => Ok(Value::String(c.get(self.group).map_or("", |m| m.as_str()).to_owned())),
            None => match self.no_match {
                NoMatch::Reject => Err(RuleError::new(
                    "no_match",
                    format!("{} does not match /{}/", show(&Value::String(s.clone())), self.re.as_str()),
                )),
                NoMatch::Empty => Ok(Value::String(String::new())),
                NoMatch::Null => Ok(Value::Null),
                NoMatch::Keep => Ok(Value::String(s)),
            },
        })
    }

    /// A part of the input, the input itself (`no_match: keep`), empty text or null: never longer
    /// than its input. Known values are extracted exactly (those rejected are dropped).
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
    fn bad_groups_refused() {
        assert!(compile_err("{regex_extract: {pattern: \"a(b)\", group: 2}}").contains("group 2"));
        assert!(compile_err("{regex_extract: {pattern: \"a(b)\", group: x}}").contains("named `x`"));
    }

    #[test]
    fn optional_group_and_null_choice() {
        assert_eq!(run("{regex_extract: {pattern: \"a(b)?\"}}", r#""a""#).unwrap(), json!(""));
        assert_eq!(run("{regex_extract: {pattern: \"z\", no_match: null}}", r#""a""#).unwrap(), json!(null));
        assert_eq!(run("{regex_extract: {pattern: \"z\", no_match: keep}}", r#""a""#).unwrap(), json!("a"));
    }

    #[test]
    fn bound_keeps_length_and_extracts_known_values() {
        let step = "{regex_extract: {pattern: \"\\\\d{5}\"}}";
        assert_eq!(bound(step, Bound::at_most(20)), Bound::at_most(20));
        assert_eq!(bound(step, Bound::unknown()), Bound::unknown());
        assert_eq!(bound(step, Bound::exactly(["CA 92618", "none"])), Bound::exactly(["92618"]));
        let keep = "{regex_extract: {pattern: \"\\\\d{5}\", no_match: keep}}";
        assert_eq!(bound(keep, Bound::exactly(["CA 92618", "none"])), Bound::exactly(["92618", "none"]));
        // Null is not a value: nothing is left.
        let null = "{regex_extract: {pattern: z, no_match: null}}";
        assert_eq!(bound(null, Bound::exactly(["abc"])), Bound::exactly(Vec::<String>::new()));
    }
}
