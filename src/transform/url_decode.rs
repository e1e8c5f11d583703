//! `url_decode`: Decode URL percent-encoding (%2b becomes +).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text, show};

/// `url_decode` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "url_decode",
        summary: "Decode URL percent-encoding (%2b becomes +).",
        description: "Decodes `%XX` escapes (case-insensitive), as in LeadSquared's sample call log where phones arrive as `%2b919611795983`. A `+` is kept as it is (use `replace` for form-style `+` spaces: the codecs already decode query strings and forms). A `%` not followed by two hex digits is kept literally. Bytes that do not form UTF-8 fail with reason `invalid_encoding`.",
        examples: &[
            Example { step: "url_decode", input: r#""%2b919611795983""#, output: Ok(r#""+919611795983""#) },
            Example { step: "url_decode", input: r#""a%20b%2Fc""#, output: Ok(r#""a b/c""#) },
            Example { step: "url_decode", input: r#""100%""#, output: Ok(r#""100%""#) },
            Example { step: "url_decode", input: r#""%ff""#, output: Err("invalid_encoding") },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(UrlDecode))
    }
}

#[derive(Debug)]
struct UrlDecode;

impl Transform for UrlDecode {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "url_decode", &|s: String| {
            if !s.contains('%') {
                return Ok(Value::String(s));
            }
            match percent_encoding::percent_decode_str(&s).decode_utf8() {
                Ok(d) => Ok(Value::String(d.into_owned())),
                Err(_) => Err(RuleError::new(
                    "invalid_encoding",
                    format!("{} does not decode to UTF-8 text", show(&Value::String(s.clone()))),
                )),
            }
        })
    }

    /// An escape (`%XX`, three characters) decodes to at most one character: never longer than
    /// its input. Known values are decoded exactly (those that fail are dropped).
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
    fn plus_kept_and_unicode() {
        assert_eq!(run("url_decode", r#""a+b""#).unwrap(), json!("a+b"));
        assert_eq!(run("url_decode", r#""Jos%C3%A9""#).unwrap(), json!("José"));
    }

    #[test]
    fn bound_keeps_length_and_decodes_known_values() {
        assert_eq!(bound("url_decode", Bound::at_most(9)), Bound::at_most(9));
        // `%ff` cannot be decoded: that value never comes out.
        assert_eq!(bound("url_decode", Bound::exactly(["%2b1", "%ff", "a"])), Bound::exactly(["+1", "a"]));
    }
}
