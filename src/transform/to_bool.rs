//! `to_bool`: yes/no tokens to booleans (or to the output tokens a destination wants).

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, map_scalars, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, show};

/// A token as written in the mapping, as text: `1`, `true`, `Y` and `NO` are read as they are
/// spelled, whatever the YAML loader would make of them.
#[derive(Debug, Clone)]
pub struct Token(pub String);

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Token;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a token (text, a number or a boolean)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Token, E> {
                Ok(Token(v.to_owned()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

impl JsonSchema for Token {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BoolToken".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// The values written for true and false.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// The value written for true (any JSON scalar: `Y`, `1`, `"true"`...).
    #[serde(rename = "true")]
    pub yes: Value,
    /// The value written for false (any JSON scalar: `N`, `0`, `"false"`...).
    #[serde(rename = "false")]
    pub no: Value,
}

/// Options of `to_bool`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tokens read as true, compared without regard to case after trimming. Default
    /// `[true, yes, y, 1, on]`.
    #[serde(rename = "true", default)]
    pub true_tokens: Option<Vec<Token>>,
    /// Tokens read as false, compared without regard to case after trimming. Default
    /// `[false, no, n, 0, off]`.
    #[serde(rename = "false", default)]
    pub false_tokens: Option<Vec<Token>>,
    /// What to write instead of JSON `true`/`false`, e.g. `{true: "Y", false: "N"}`,
    /// `{true: 1, false: 0}` or `{true: "true", false: "false"}` (text).
    #[serde(default)]
    pub output: Option<Outputs>,
}

const DEFAULT_TRUE: [&str; 5] = ["true", "yes", "y", "1", "on"];
const DEFAULT_FALSE: [&str; 5] = ["false", "no", "n", "0", "off"];

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "to_bool",
        summary: "Yes/no tokens to booleans, or to the tokens a destination wants (Y/N, 1/0).",
        description: "Text is trimmed and compared without regard to case with the `true` tokens \
(default `[true, yes, y, 1, on]`) and the `false` tokens (default `[false, no, n, 0, off]`). \
Setting a list replaces its default. JSON booleans are taken as they are, and the numbers 1 and \
0 are true and false unless the token lists say otherwise. A token in both lists is an error \
when the mapping is loaded; an empty token (`\"\"`) may be listed to give empty cells a value.\n\n\
`output: {true: X, false: Y}` writes the given JSON scalars instead of booleans: \
`{true: \"Y\", false: \"N\"}`, `{true: 1, false: 0}` (numbers), `{true: \"true\", false: \"false\"}` \
(text, as LeadSquared and Delacon want). Quote text outputs: unquoted `true`/`false` are JSON \
booleans and unquoted digits are numbers. Tokens in the `true`/`false` lists are always read as \
text, quoted or not.\n\n\
Anything else, empty text included, fails with reason `invalid_bool`; the message lists the \
accepted tokens. `null` passes through; lists are converted element by element.",
        examples: &[
            Example {
                step: "to_bool",
                input: r#"" Yes ""#,
                output: Ok("true"),
            },
            Example {
                step: "to_bool",
                input: r#""0""#,
                output: Ok("false"),
            },
            Example {
                step: "to_bool",
                input: "1",
                output: Ok("true"),
            },
            Example {
                step: "{to_bool: {output: {true: \"Y\", false: \"N\"}}}",
                input: r#""TRUE""#,
                output: Ok(r#""Y""#),
            },
            Example {
                step: "{to_bool: {output: {true: \"true\", false: \"false\"}}}",
                input: "false",
                output: Ok(r#""false""#),
            },
            Example {
                step: "{to_bool: {output: {true: 1, false: 0}}}",
                input: r#""no""#,
                output: Ok("0"),
            },
            Example {
                step: "{to_bool: {true: [answered, connected], false: [missed, busy, \"\"]}}",
                input: r#""Missed""#,
                output: Ok("false"),
            },
            Example {
                step: "to_bool",
                input: r#""maybe""#,
                output: Err("invalid_bool"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let tokens = |option: &str,
                      list: Option<Vec<Token>>,
                      default: &[&str]|
         -> Result<Vec<String>, String> {
            let list: Vec<String> = match list {
                None => default.iter().map(|t| (*t).to_owned()).collect(),
                Some(l) if l.is_empty() => {
                    return Err(format!(
                        "`{option}` is empty: list the tokens read as {option}, or leave it out"
                    ));
                }
                Some(l) => l.into_iter().map(|t| t.0.trim().to_lowercase()).collect(),
            };
            Ok(list)
        };
        let yes = tokens("true", self.true_tokens, &DEFAULT_TRUE)?;
        let no = tokens("false", self.false_tokens, &DEFAULT_FALSE)?;
        if let Some(both) = yes.iter().find(|t| no.contains(t)) {
            return Err(format!(
                "the token `{both}` is listed in both `true` and `false`"
            ));
        }
        let (out_yes, out_no) = match self.output {
            None => (Value::Bool(true), Value::Bool(false)),
            Some(o) => {
                for (k, v) in [("true", &o.yes), ("false", &o.no)] {
                    if matches!(v, Value::Array(_) | Value::Object(_)) {
                        return Err(format!(
                            "`output.{k}` must be a single value (text, number or boolean)"
                        ));
                    }
                }
                (o.yes, o.no)
            }
        };
        let quote = |l: &[String]| {
            l.iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let accepted = format!("true: {}; false: {}", quote(&yes), quote(&no));
        Ok(Box::new(ToBool {
            yes,
            no,
            out_yes,
            out_no,
            accepted,
        }))
    }
}

#[derive(Debug)]
struct ToBool {
    /// Lower-cased, trimmed tokens.
    yes: Vec<String>,
    no: Vec<String>,
    out_yes: Value,
    out_no: Value,
    /// The accepted tokens, for messages.
    accepted: String,
}

/// Whether `input` equals the lower-cased `token` without regard to case.
fn same(input: &str, token: &str) -> bool {
    if input.is_ascii() && token.is_ascii() {
        input.eq_ignore_ascii_case(token)
    } else {
        input.chars().flat_map(char::to_lowercase).eq(token.chars())
    }
}

impl ToBool {
    fn lookup(&self, t: &str) -> Option<bool> {
        let t = t.trim();
        if self.yes.iter().any(|k| same(t, k)) {
            Some(true)
        } else if self.no.iter().any(|k| same(t, k)) {
            Some(false)
        } else {
            None
        }
    }

    fn out(&self, b: bool) -> Value {
        if b {
            self.out_yes.clone()
        } else {
            self.out_no.clone()
        }
    }
}

impl Transform for ToBool {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_scalars(v, "to_bool", &|scalar| {
            let got = match &scalar {
                Value::Bool(b) => Some(*b),
                Value::String(s) => self.lookup(s),
                Value::Number(n) => self.lookup(&n.to_string()).or_else(|| match n.as_f64() {
                    Some(1.0) => Some(true),
                    Some(0.0) => Some(false),
                    _ => None,
                }),
                _ => None,
            };
            match got {
                Some(b) => Ok(self.out(b)),
                None => Err(RuleError::new(
                    "invalid_bool",
                    format!(
                        "{} is not a yes/no value (accepted, in any letter case: {})",
                        show(&scalar),
                        self.accepted
                    ),
                )),
            }
        })
    }
    /// One of the two outputs: `true` and `false` (JSON booleans, whose text they are), or the
    /// `output` values (a null output is not a value). Known inputs are not narrowed: numbers
    /// are read differently from their text.
    fn bound(&self, input: &Bound) -> Bound {
        let _ = input;
        Bound::of_value(&self.out_yes).union(&Bound::of_value(&self.out_no))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn ok(step: &str, input: &str) -> Value {
        run(step, input).unwrap_or_else(|e| panic!("{step} on {input}: {e}"))
    }

    #[test]
    fn default_tokens() {
        for t in [
            "true", "TRUE", "True", "yes", "YES", "y", "Y", "1", "on", "On", " yes\t", "\u{a0}y",
        ] {
            assert_eq!(ok("to_bool", &json!(t).to_string()), json!(true), "{t}");
        }
        for t in [
            "false", "FALSE", "no", "No", "n", "N", "0", "off", "OFF", " no ",
        ] {
            assert_eq!(ok("to_bool", &json!(t).to_string()), json!(false), "{t}");
        }
        assert_eq!(ok("to_bool", "true"), json!(true));
        assert_eq!(ok("to_bool", "false"), json!(false));
        assert_eq!(ok("to_bool", "1"), json!(true));
        assert_eq!(ok("to_bool", "0"), json!(false));
        assert_eq!(ok("to_bool", "1.0"), json!(true));
        assert_eq!(ok("to_bool", "0.0"), json!(false));
    }

    #[test]
    fn refused() {
        for input in [
            r#""""#,
            r#""  ""#,
            r#""maybe""#,
            r#""yess""#,
            r#""2""#,
            "2",
            "-1",
            r#""t""#,
        ] {
            assert_eq!(
                run("to_bool", input).unwrap_err().reason,
                "invalid_bool",
                "{input}"
            );
        }
        let e = run("to_bool", r#""maybe""#).unwrap_err();
        assert_eq!(
            e.message,
            "\"maybe\" is not a yes/no value (accepted, in any letter case: true: \"true\", \"yes\", \"y\", \"1\", \"on\"; \
             false: \"false\", \"no\", \"n\", \"0\", \"off\")"
        );
    }

    #[test]
    fn custom_tokens_replace_defaults() {
        let step = "{to_bool: {true: [Sí, Answered, 1], false: [NO, \"\"]}}";
        assert_eq!(ok(step, r#""sí""#), json!(true));
        assert_eq!(ok(step, r#""SÍ""#), json!(true));
        assert_eq!(ok(step, r#""answered""#), json!(true));
        assert_eq!(ok(step, r#""No""#), json!(false));
        assert_eq!(ok(step, r#""""#), json!(false));
        assert_eq!(ok(step, r#""   ""#), json!(false));
        assert_eq!(run(step, r#""yes""#).unwrap_err().reason, "invalid_bool");
        // The numbers 0 and 1 still work when not listed.
        assert_eq!(ok(step, "0"), json!(false));
        // YAML booleans and numbers in the lists are their text.
        let step = "{to_bool: {true: [true, 1, 2.5], false: [false, 0]}}";
        assert_eq!(ok(step, r#""2.5""#), json!(true));
        assert_eq!(ok(step, "2.5"), json!(true));
        assert_eq!(ok(step, r#""FALSE""#), json!(false));
        // A listed number wins over the 0/1 fallback.
        let step = "{to_bool: {true: [\"0\"], false: [\"1\"]}}";
        assert_eq!(ok(step, "0"), json!(true));
        assert_eq!(ok(step, "1"), json!(false));
    }

    #[test]
    fn outputs() {
        let yn = "{to_bool: {output: {true: \"Y\", false: \"N\"}}}";
        assert_eq!(ok(yn, r#""yes""#), json!("Y"));
        assert_eq!(ok(yn, "false"), json!("N"));
        let num = "{to_bool: {output: {true: 1, false: 0}}}";
        assert_eq!(ok(num, r#""on""#), json!(1));
        assert_eq!(ok(num, r#""off""#), json!(0));
        let text = "{to_bool: {output: {true: \"true\", false: \"false\"}}}";
        assert_eq!(ok(text, r#""Y""#), json!("true"));
        assert_eq!(ok(text, "true"), json!("true"));
        let b = "{to_bool: {output: {true: true, false: false}}}";
        assert_eq!(ok(b, r#""y""#), json!(true));
        assert_eq!(ok(yn, r#"["y", null, 0]"#), json!(["Y", null, "N"]));
        assert_eq!(ok(yn, "null"), Value::Null);
        assert_eq!(run(yn, r#"{"a": 1}"#).unwrap_err().reason, "wrong_type");
    }

    #[test]
    fn compile_errors() {
        let e = compile_err("{to_bool: {true: [yes, Y], false: [y, n]}}");
        assert!(
            e.contains("the token `y` is listed in both `true` and `false`"),
            "{e}"
        );
        // Against the defaults too.
        let e = compile_err("{to_bool: {true: [yes, no]}}");
        assert!(e.contains("`no` is listed in both"), "{e}");
        assert!(compile_err("{to_bool: {true: []}}").contains("`true` is empty"));
        assert!(
            compile_err("{to_bool: {output: {true: [1], false: 0}}}")
                .contains("`output.true` must be a single value")
        );
        assert!(compile_err("{to_bool: {output: {true: \"Y\"}}}").contains("false"));
        assert!(compile_err("{to_bool: {yes: [y]}}").contains("yes"));
    }

    #[test]
    fn bound_is_the_two_outputs() {
        assert_eq!(bound("to_bool", Bound::unknown()), Bound::exactly(["true", "false"]));
        let yn = "{to_bool: {output: {true: \"Y\", false: \"N\"}}}";
        assert_eq!(bound(yn, Bound::at_most(40)), Bound::exactly(["Y", "N"]));
        let num = "{to_bool: {output: {true: 1, false: 0}}}";
        assert_eq!(bound(num, Bound::unknown()), Bound::exactly(["1", "0"]));
        let text = "{to_bool: {output: {true: \"Yes\", false: null}}}";
        assert_eq!(bound(text, Bound::unknown()), Bound::exactly(["Yes"]));
    }
}
