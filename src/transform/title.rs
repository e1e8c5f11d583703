//! `title`: capitalise the first letter of each word.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, UPPER_CASE_GROWTH, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_str};

/// Options of `title`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keep letters after the first of each word as they are (`McDonald` stays `McDonald`) instead of
    /// lower-casing them. Default false.
    #[serde(default)]
    pub keep_rest: bool,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "title",
        summary: "Title-case text: first letter of each word upper, the rest lower.",
        description: "A word starts after whitespace, a hyphen or an apostrophe, so `mary-ann o'brien` \
becomes `Mary-Ann O'Brien`. The rest of each word is lower-cased unless `keep_rest: true`, which \
keeps names like `McDonald` intact when only the first letter may be wrong.",
        examples: &[
            Example { step: "title", input: r#""JOHN SMITH""#, output: Ok(r#""John Smith""#) },
            Example { step: "title", input: r#""mary-ann o'brien""#, output: Ok(r#""Mary-Ann O'Brien""#) },
            Example { step: "{title: {keep_rest: true}}", input: r#""mcDonald""#, output: Ok(r#""McDonald""#) },
            Example { step: "title", input: r#""élodie""#, output: Ok(r#""Élodie""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Title { keep_rest: self.keep_rest }))
    }
}

#[derive(Debug)]
struct Title {
    keep_rest: bool,
}

impl Transform for Title {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let keep_rest = self.keep_rest;
        map_str(v, "title", &|s| {
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else if keep_rest {
                    out.push(c);
                } else {
                    out.extend(c.to_lowercase());
                }
                start = c.is_whitespace() || c == '-' || c == '\'' || c == '’';
            }
            out.into()
        })
    }
    /// The first letter of a word is upper-cased, which can lengthen it (`ß` becomes `SS`); the
    /// rest is lower-cased, which grows less. Known values are title-cased exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars.map(|n| n.saturating_mul(UPPER_CASE_GROWTH)))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn spaces_kept_and_empty() {
        assert_eq!(run("title", r#""  ann  lee ""#).unwrap(), json!("  Ann  Lee "));
        assert_eq!(run("title", r#""""#).unwrap(), json!(""));
        assert_eq!(run("title", r#""st. john""#).unwrap(), json!("St. John"));
    }

    #[test]
    fn bound_may_grow_unless_values_known() {
        assert_eq!(bound("title", Bound::at_most(4)), Bound::at_most(12));
        assert_eq!(bound("title", Bound::exactly(["JOHN", "john", "ßa"])), Bound::exactly(["John", "SSa"]));
    }
}
