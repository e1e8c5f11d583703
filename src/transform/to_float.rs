//! `to_float`: text to a JSON number (64-bit float).

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::to_int::lenient_clean;
use super::{map_scalars, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, show};

/// Options of `to_float`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// First remove currency symbols `$ € £`, thousands separators `,` and spaces
    /// (`$250,000.50` -> 250000.5). Default false.
    #[serde(default)]
    pub lenient: bool,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "to_float",
        summary: "Text to a JSON number (64-bit float), optionally ignoring $ and 1,000 separators.",
        description: "Reads a decimal number with surrounding whitespace ignored: `42`, `-7.25`, \
`+3`, `.5`, `5.`, `1.5e3`. The result is a 64-bit float (about 15-17 significant digits), \
written as a JSON number (`42` becomes `42.0`). JSON numbers pass through as floats.\n\n\
`lenient: true` (default false) first removes the currency symbols `$ € £`, every `,` \
(always taken as a thousands separator, so the European `1,5` becomes 15) and all spaces: \
`$250,000.50` -> 250000.5.\n\n\
Empty text, letters, `NaN`, `inf`, and numbers too large for a float (`1e400`) fail with reason \
`invalid_number`. `null` passes through; lists are converted element by element.",
        examples: &[
            Example {
                step: "to_float",
                input: r#""42.5""#,
                output: Ok("42.5"),
            },
            Example {
                step: "to_float",
                input: r#"" -0.25 ""#,
                output: Ok("-0.25"),
            },
            Example {
                step: "to_float",
                input: r#""720""#,
                output: Ok("720.0"),
            },
            Example {
                step: "{to_float: {lenient: true}}",
                input: r#""$250,000.50""#,
                output: Ok("250000.5"),
            },
            Example {
                step: "to_float",
                input: r#""$250,000.50""#,
                output: Err("invalid_number"),
            },
            Example {
                step: "to_float",
                input: r#""NaN""#,
                output: Err("invalid_number"),
            },
            Example {
                step: "to_float",
                input: r#""""#,
                output: Err("invalid_number"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(ToFloat {
            lenient: self.lenient,
        }))
    }
}

#[derive(Debug)]
struct ToFloat {
    lenient: bool,
}

impl ToFloat {
    fn read_text(&self, t: &str) -> Option<f64> {
        let cleaned = if self.lenient {
            lenient_clean(t)
        } else {
            Cow::Borrowed(t)
        };
        let t = cleaned.trim();
        // Rust's parser also reads `inf`, `infinity` and `nan`: only digits, signs, dots and
        // exponents are numbers here.
        if !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        {
            return None;
        }
        t.parse::<f64>().ok().filter(|f| f.is_finite())
    }
}

impl Transform for ToFloat {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_scalars(v, "to_float", &|scalar| {
            let got = match &scalar {
                Value::String(s) => self.read_text(s),
                Value::Number(n) => n.as_f64(),
                _ => None,
            };
            got.and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| {
                    RuleError::new(
                        "invalid_number",
                        format!("{} is not a number", show(&scalar)),
                    )
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn float(step: &str, input: &str) -> Value {
        run(step, input).unwrap_or_else(|e| panic!("{step} on {input}: {e}"))
    }

    #[test]
    fn accepted() {
        for (input, want) in [
            (r#""0""#, 0.0),
            (r#""42""#, 42.0),
            (r#""+3""#, 3.0),
            (r#""-7.25""#, -7.25),
            (r#"".5""#, 0.5),
            (r#""5.""#, 5.0),
            (r#""1.5e3""#, 1500.0),
            (r#""1E-2""#, 0.01),
            (r#""\t0.1\u00a0""#, 0.1),
            (r#""007.50""#, 7.5),
            ("42", 42.0),
            ("-0.5", -0.5),
            ("18446744073709551615", 18446744073709551615.0),
        ] {
            assert_eq!(float("to_float", input), json!(want), "{input}");
        }
    }

    #[test]
    fn refused() {
        for input in [
            r#""""#,
            r#""  ""#,
            r#""NaN""#,
            r#""nan""#,
            r#""inf""#,
            r#""-infinity""#,
            r#""1e400""#,
            r#""-1e400""#,
            r#""abc""#,
            r#""1.2.3""#,
            r#""1,5""#,
            r#""$5""#,
            r#""5 5""#,
            r#""0x10""#,
            r#""e5""#,
            r#""-""#,
            "true",
        ] {
            let e = run("to_float", input).unwrap_err();
            assert_eq!(e.reason, "invalid_number", "{input}");
        }
        assert_eq!(
            run("to_float", r#""n/a""#).unwrap_err().message,
            "\"n/a\" is not a number"
        );
    }

    #[test]
    fn lenient() {
        let step = "{to_float: {lenient: true}}";
        assert_eq!(float(step, r#""$250,000.50""#), json!(250000.5));
        assert_eq!(float(step, r#""-€1 200,5""#), json!(-12005.0));
        assert_eq!(float(step, r#""£ 0.99""#), json!(0.99));
        assert_eq!(run(step, r#""$""#).unwrap_err().reason, "invalid_number");
        assert_eq!(
            run(step, r#""USD 5""#).unwrap_err().reason,
            "invalid_number"
        );
    }

    #[test]
    fn null_lists_objects() {
        assert_eq!(float("to_float", "null"), Value::Null);
        assert_eq!(
            float("to_float", r#"["1.5", 2, null]"#),
            json!([1.5, 2.0, null])
        );
        assert_eq!(
            run("to_float", r#"{"a": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{to_float: {round: nearest}}").contains("round"));
    }
}
