//! `to_int`: text to a JSON integer, optionally rounding and ignoring currency formatting.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, map_scalars, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, show};

/// How `to_int` turns a number with a fraction into an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Round {
    /// Down, toward minus infinity: 12.7 -> 12, -12.2 -> -13.
    Floor,
    /// Up, toward plus infinity: 12.2 -> 13, -12.7 -> -12.
    Ceil,
    /// To the nearest integer, halves away from zero: 12.5 -> 13, -12.5 -> -13.
    Nearest,
    /// Drop the fraction, toward zero: 12.7 -> 12, -12.7 -> -12.
    Truncate,
}

/// Options of `to_int`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How to round a number with a fraction: `floor`, `ceil`, `nearest` or `truncate`. Without
    /// it, `12.5` fails (`12.0` is accepted as 12).
    #[serde(default)]
    pub round: Option<Round>,
    /// First remove currency symbols `$ € £`, thousands separators `,` and spaces
    /// (`$250,000.00` -> 250000). Default false.
    #[serde(default)]
    pub lenient: bool,
}

/// Remove what `lenient` ignores: currency symbols `$ € £`, the thousands separator `,` and
/// whitespace (including the no-break spaces used as thousands separators). Shared with
/// `to_float`.
pub(crate) fn lenient_clean(t: &str) -> Cow<'_, str> {
    let drop = |c: char| matches!(c, '$' | '€' | '£' | ',') || c.is_whitespace();
    if t.contains(drop) {
        Cow::Owned(t.chars().filter(|&c| !drop(c)).collect())
    } else {
        Cow::Borrowed(t)
    }
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "to_int",
        summary: "Text to a JSON integer (optionally rounding, optionally ignoring $ and 1,000 separators).",
        description: "Reads an optional sign and decimal digits, with surrounding whitespace \
ignored: `42`, `-7`, `+3`, `007`. A fraction of zeros is accepted (`12.0`, `12.00` -> 12); \
any other fraction fails unless `round` says what to do: `floor`, `ceil`, `nearest` (halves \
away from zero) or `truncate`. The arithmetic is exact on the decimal text (no float \
rounding), so 19-digit numbers keep every digit. JSON numbers are accepted the same way.\n\n\
`lenient: true` (default false) first removes the currency symbols `$ € £`, every `,` \
(always taken as a thousands separator, so the European `1,5` becomes 15) and all spaces: \
`$250,000.00` -> 250000, `€ 1 200` -> 1200.\n\n\
Empty text, letters, exponents (`1e3`), several dots and numbers outside the 64-bit range \
(about ±9.2e18) fail with reason `invalid_number`. `null` passes through; lists are converted \
element by element.",
        examples: &[
            Example {
                step: "to_int",
                input: r#""42""#,
                output: Ok("42"),
            },
            Example {
                step: "to_int",
                input: r#"" -7 ""#,
                output: Ok("-7"),
            },
            Example {
                step: "to_int",
                input: r#""720.0""#,
                output: Ok("720"),
            },
            Example {
                step: "to_int",
                input: r#""12.5""#,
                output: Err("invalid_number"),
            },
            Example {
                step: "{to_int: {round: nearest}}",
                input: r#""12.5""#,
                output: Ok("13"),
            },
            Example {
                step: "{to_int: {round: floor}}",
                input: "12.9",
                output: Ok("12"),
            },
            Example {
                step: "{to_int: {lenient: true}}",
                input: r#""$250,000.00""#,
                output: Ok("250000"),
            },
            Example {
                step: "to_int",
                input: r#""$250,000.00""#,
                output: Err("invalid_number"),
            },
            Example {
                step: "to_int",
                input: r#""""#,
                output: Err("invalid_number"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(ToInt {
            round: self.round,
            lenient: self.lenient,
        }))
    }
}

#[derive(Debug)]
struct ToInt {
    round: Option<Round>,
    lenient: bool,
}

const ROUND_HINT: &str = "add `round: nearest` (or floor, ceil, truncate) to accept fractions";

/// Why a value is not an integer.
enum Why {
    NotANumber,
    Fraction,
    OutOfRange,
}

/// Round `magnitude.frac` (decimal digits of the fraction, not all zero) with `sign`.
fn round_decimal(negative: bool, magnitude: i128, first_frac_digit: u8, round: Round) -> i128 {
    let up = match round {
        Round::Truncate => false,
        Round::Floor => negative,
        Round::Ceil => !negative,
        Round::Nearest => first_frac_digit >= 5,
    };
    let m = magnitude + i128::from(up);
    if negative { -m } else { m }
}

impl ToInt {
    fn read_text(&self, t: &str) -> Result<i64, Why> {
        let cleaned = if self.lenient {
            lenient_clean(t)
        } else {
            Cow::Borrowed(t)
        };
        let t = cleaned.trim();
        let (negative, body) = match t.as_bytes().first() {
            Some(b'-') => (true, t.get(1..).unwrap_or("")),
            Some(b'+') => (false, t.get(1..).unwrap_or("")),
            _ => (false, t),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
            return Err(Why::NotANumber);
        }
        let int = int.trim_start_matches('0');
        if int.len() > 20 {
            return Err(Why::OutOfRange);
        }
        let magnitude: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| Why::NotANumber)?
        };
        let value = match frac.bytes().position(|b| b != b'0') {
            None if negative => -magnitude,
            None => magnitude,
            Some(_) => {
                let round = self.round.ok_or(Why::Fraction)?;
                let first = frac.bytes().next().map_or(0, |b| b - b'0');
                round_decimal(negative, magnitude, first, round)
            }
        };
        i64::try_from(value).map_err(|_| Why::OutOfRange)
    }

    fn read_number(&self, n: &serde_json::Number) -> Result<i64, Why> {
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        if n.is_u64() {
            return Err(Why::OutOfRange);
        }
        let f = n.as_f64().ok_or(Why::NotANumber)?;
        let r = if f.fract() == 0.0 {
            f
        } else {
            match self.round.ok_or(Why::Fraction)? {
                Round::Floor => f.floor(),
                Round::Ceil => f.ceil(),
                Round::Nearest => f.round(),
                Round::Truncate => f.trunc(),
            }
        };
        // i64::MIN is exactly -2^63; i64::MAX + 1 is exactly 2^63.
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
            Ok(r as i64)
        } else {
            Err(Why::OutOfRange)
        }
    }

    fn fail(v: &Value, why: Why) -> RuleError {
        let message = match why {
            Why::NotANumber => format!("{} is not a whole number", show(v)),
            Why::Fraction => format!("{} has a fraction: {ROUND_HINT}", show(v)),
            Why::OutOfRange => format!("{} is outside the integer range (about ±9.2e18)", show(v)),
        };
        RuleError::new("invalid_number", message)
    }
}

impl Transform for ToInt {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_scalars(v, "to_int", &|scalar| {
            let got = match &scalar {
                Value::String(s) => self.read_text(s),
                Value::Number(n) => self.read_number(n),
                _ => Err(Why::NotANumber),
            };
            got.map(Value::from).map_err(|why| Self::fail(&scalar, why))
        })
    }
    /// A 64-bit integer: at most 20 characters (`-9223372036854775808`). Values are not listed.
    fn bound(&self, input: &Bound) -> Bound {
        let _ = input;
        Bound::at_most(i64::MIN.to_string().len())
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn int(step: &str, input: &str) -> Value {
        run(step, input).unwrap_or_else(|e| panic!("{step} on {input}: {e}"))
    }

    #[test]
    fn plain() {
        for (input, want) in [
            (r#""0""#, 0_i64),
            (r#""-0""#, 0),
            (r#""+3""#, 3),
            (r#""007""#, 7),
            (r#""\t42\u00a0""#, 42),
            (r#""12.""#, 12),
            (r#""12.000""#, 12),
            (r#""-12.0""#, -12),
            (r#"".0""#, 0),
            (r#""9223372036854775807""#, i64::MAX),
            (r#""-9223372036854775808""#, i64::MIN),
            (r#""0000000000000000000000042""#, 42),
            ("42", 42),
            ("-42", -42),
            ("42.0", 42),
        ] {
            assert_eq!(int("to_int", input), json!(want), "{input}");
        }
    }

    #[test]
    fn refused() {
        for input in [
            r#""""#,
            r#""  ""#,
            r#""-""#,
            r#""+""#,
            r#"".""#,
            r#""abc""#,
            r#""12a""#,
            r#""1e3""#,
            r#""1.2.3""#,
            r#""--1""#,
            r#""1 000""#,
            r#""1,000""#,
            r#""$5""#,
            r#""٤٢""#,
            r#""12.5""#,
            r#""9223372036854775808""#,
            r#""-9223372036854775809""#,
            r#""123456789012345678901234""#,
            "12.5",
            "18446744073709551615",
            "1e19",
            "true",
        ] {
            assert_eq!(
                run("to_int", input).unwrap_err().reason,
                "invalid_number",
                "{input}"
            );
        }
        let e = run("to_int", r#""12.5""#).unwrap_err();
        assert_eq!(
            e.message,
            "\"12.5\" has a fraction: add `round: nearest` (or floor, ceil, truncate) to accept fractions"
        );
        let e = run("to_int", r#""9223372036854775808""#).unwrap_err();
        assert!(
            e.message.contains("outside the integer range"),
            "{}",
            e.message
        );
        let e = run("to_int", r#""n/a""#).unwrap_err();
        assert_eq!(e.message, "\"n/a\" is not a whole number");
    }

    #[test]
    fn rounding_modes() {
        let cases = [
            // input, floor, ceil, nearest, truncate
            ("12.5", 12, 13, 13, 12),
            ("12.4", 12, 13, 12, 12),
            ("12.7", 12, 13, 13, 12),
            ("-12.5", -13, -12, -13, -12),
            ("-12.2", -13, -12, -12, -12),
            ("-12.7", -13, -12, -13, -12),
            ("0.01", 0, 1, 0, 0),
            ("-0.01", -1, 0, 0, 0),
        ];
        for (input, floor, ceil, nearest, truncate) in cases {
            for (mode, want) in [
                ("floor", floor),
                ("ceil", ceil),
                ("nearest", nearest),
                ("truncate", truncate),
            ] {
                let step = format!("{{to_int: {{round: {mode}}}}}");
                assert_eq!(
                    int(&step, &format!("\"{input}\"")),
                    json!(want),
                    "{mode} {input} text"
                );
                assert_eq!(int(&step, input), json!(want), "{mode} {input} number");
            }
        }
        // Exact on text: no float rounding of long fractions.
        assert_eq!(
            int("{to_int: {round: nearest}}", r#""2.4999999999999999999""#),
            json!(2)
        );
        assert_eq!(
            int("{to_int: {round: ceil}}", r#""9223372036854775806.1""#),
            json!(i64::MAX)
        );
        assert_eq!(
            run("{to_int: {round: ceil}}", r#""9223372036854775807.1""#)
                .unwrap_err()
                .reason,
            "invalid_number"
        );
    }

    #[test]
    fn lenient() {
        let step = "{to_int: {lenient: true}}";
        for (input, want) in [
            (r#""$250,000.00""#, 250000_i64),
            (r#""$ 1,200""#, 1200),
            (r#""-$1,200""#, -1200),
            (r#""$-1,200""#, -1200),
            (r#""€1 200""#, 1200),
            (r#""1\u202f200 €""#, 1200),
            (r#""£99""#, 99),
            (r#""1,000,000""#, 1000000),
            ("720", 720),
        ] {
            assert_eq!(int(step, input), json!(want), "{input}");
        }
        for input in [r#""$""#, r#""USD 5""#, r#""$12.50""#, r#""¥100""#] {
            assert_eq!(
                run(step, input).unwrap_err().reason,
                "invalid_number",
                "{input}"
            );
        }
        assert_eq!(
            int("{to_int: {lenient: true, round: floor}}", r#""$12.50""#),
            json!(12)
        );
    }

    #[test]
    fn null_lists_objects() {
        assert_eq!(int("to_int", "null"), Value::Null);
        assert_eq!(int("to_int", r#"["1", 2, null]"#), json!([1, 2, null]));
        assert_eq!(
            run("to_int", r#"{"a": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{to_int: {round: up}}").contains("up"));
        assert!(compile_err("{to_int: {strict: true}}").contains("strict"));
    }

    #[test]
    fn bound_is_twenty() {
        assert_eq!(bound("to_int", Bound::unknown()), Bound::at_most(20));
        assert_eq!(bound("{to_int: {lenient: true}}", Bound::exactly(["1"])), Bound::at_most(20));
        assert_eq!(int("to_int", r#""-9223372036854775808""#).to_string().len(), 20);
    }
}
