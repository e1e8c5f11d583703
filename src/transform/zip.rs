//! `zip`: US ZIP codes to 5 digits or ZIP+4, repairing what spreadsheets did to them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text, show};

/// The output form of `zip`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The 5-digit ZIP code (`02134`); a +4 part is dropped.
    #[default]
    Zip5,
    /// `02134-0001` when the input has 9 digits, else the 5 digits.
    Zip9,
}

/// Options of `zip`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `zip5` (default) or `zip9`.
    #[serde(default)]
    pub format: Format,
    /// Left-pad 3 or 4 digits with zeros to 5 (Excel drops the leading zeros of New England and
    /// New Jersey ZIPs: `2134` was `02134`). Default true; with false, 3 or 4 digits fail.
    #[serde(default = "yes")]
    pub pad: bool,
}

fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            format: Format::Zip5,
            pad: true,
        }
    }
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "zip",
        summary: "US ZIP codes to 5 digits (or ZIP+4), repairing spreadsheet damage.",
        description: "Surrounding whitespace is ignored. A spreadsheet float suffix is removed \
(`92618.0`, `92618.00`), so ZIPs exported as numbers work. A ZIP+4 may be written \
`02134-0001`, `02134 0001` or `021340001`.\n\n\
Options: `format: zip5` (default) outputs the 5-digit code and drops any +4 part; \
`format: zip9` outputs `02134-0001` when 9 digits are present and the 5 digits otherwise. \
`pad: true` (default) takes 3 or 4 digits as a ZIP5 whose leading zeros were dropped by Excel \
and left-pads it with zeros (`2134` -> `02134`, `501` -> `00501`); with `pad: false` they fail.\n\n\
The output is always text. Anything else (letters, 1-2 or 6-8 digits, more than 9 digits, other \
separators, empty text) fails with reason `invalid_zip`. `null` passes through; lists are \
converted element by element.",
        examples: &[
            Example {
                step: "zip",
                input: r#""92618""#,
                output: Ok(r#""92618""#),
            },
            Example {
                step: "zip",
                input: "92618",
                output: Ok(r#""92618""#),
            },
            Example {
                step: "zip",
                input: r#""92618.0""#,
                output: Ok(r#""92618""#),
            },
            Example {
                step: "zip",
                input: r#""2134""#,
                output: Ok(r#""02134""#),
            },
            Example {
                step: "zip",
                input: r#"" 02134-0001 ""#,
                output: Ok(r#""02134""#),
            },
            Example {
                step: "{zip: {format: zip9}}",
                input: r#""021340001""#,
                output: Ok(r#""02134-0001""#),
            },
            Example {
                step: "{zip: {format: zip9}}",
                input: r#""02134 0001""#,
                output: Ok(r#""02134-0001""#),
            },
            Example {
                step: "{zip: {format: zip9}}",
                input: r#""92618""#,
                output: Ok(r#""92618""#),
            },
            Example {
                step: "{zip: {pad: false}}",
                input: r#""2134""#,
                output: Err("invalid_zip"),
            },
            Example {
                step: "zip",
                input: r#""K1A 0B1""#,
                output: Err("invalid_zip"),
            },
            Example {
                step: "zip",
                input: r#""926181""#,
                output: Err("invalid_zip"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Zip {
            format: self.format,
            pad: self.pad,
        }))
    }
}

#[derive(Debug)]
struct Zip {
    format: Format,
    pad: bool,
}

/// A recognized ZIP: the 5-digit code (zero-padded) and the +4 part if present.
#[derive(Debug, PartialEq)]
struct Parsed {
    zip5: [u8; 5],
    plus4: Option<[u8; 4]>,
}

fn all_digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

/// Recognize a ZIP in trimmed text; `None` when it is not one.
fn parse(t: &str, pad: bool) -> Option<Parsed> {
    // A float suffix from a spreadsheet export: "92618.0", "92618.00".
    let t = match t.split_once('.') {
        Some((head, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => head,
        Some(_) => return None,
        None => t,
    };
    let b = t.as_bytes();
    let (five, four): (&[u8], Option<&[u8]>) = match b.len() {
        3 | 4 if pad => (b, None),
        5 => (b, None),
        9 => (b.get(..5)?, Some(b.get(5..)?)),
        10 if matches!(b.get(5), Some(b'-' | b' ')) => (b.get(..5)?, Some(b.get(6..)?)),
        _ => return None,
    };
    if !all_digits(five) || !four.is_none_or(all_digits) {
        return None;
    }
    let mut zip5 = [b'0'; 5];
    zip5.get_mut(5 - five.len()..)?.copy_from_slice(five);
    let plus4 = match four {
        Some(f) => Some(<[u8; 4]>::try_from(f).ok()?),
        None => None,
    };
    Some(Parsed { zip5, plus4 })
}

impl Transform for Zip {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "zip", &|s: String| {
            let Some(p) = parse(s.trim(), self.pad) else {
                let expected = if self.pad {
                    "a US ZIP code: 5 digits (3 or 4 are zero-padded) or ZIP+4 such as \"02134-0001\""
                } else {
                    "a US ZIP code: 5 digits or ZIP+4 such as \"02134-0001\""
                };
                return Err(RuleError::new(
                    "invalid_zip",
                    format!("{} is not {expected}", show(&Value::String(s))),
                ));
            };
            let zip5 = String::from_utf8_lossy(&p.zip5);
            let out = match (self.format, p.plus4) {
                (Format::Zip9, Some(four)) => format!("{zip5}-{}", String::from_utf8_lossy(&four)),
                _ if s.as_bytes() == p.zip5 => return Ok(Value::String(s)),
                _ => zip5.into_owned(),
            };
            Ok(Value::String(out))
        })
    }
    /// 5 digits, or `02134-0001` (10 characters) with `format: zip9`. Known values are
    /// converted exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let n = match self.format {
            Format::Zip5 => 5,
            Format::Zip9 => 10,
        };
        input.mapped_or(self, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn accepted_forms() {
        for (input, zip5, zip9) in [
            (r#""90210""#, "90210", "90210"),
            ("90210", "90210", "90210"),
            ("92618.0", "92618", "92618"),
            (r#""92618.00""#, "92618", "92618"),
            (r#""\t92618 ""#, "92618", "92618"),
            (r#""00501""#, "00501", "00501"),
            (r#""501""#, "00501", "00501"),
            ("501", "00501", "00501"),
            ("2134.0", "02134", "02134"),
            (r#""02134-0001""#, "02134", "02134-0001"),
            (r#""02134 0001""#, "02134", "02134-0001"),
            (r#""021340001""#, "02134", "02134-0001"),
            ("921340001", "92134", "92134-0001"),
        ] {
            assert_eq!(run("zip", input).unwrap(), json!(zip5), "{input}");
            assert_eq!(
                run("{zip: {format: zip9}}", input).unwrap(),
                json!(zip9),
                "{input}"
            );
        }
    }

    #[test]
    fn refused_forms() {
        for input in [
            r#""""#,
            r#""   ""#,
            r#""1""#,
            r#""12""#,
            r#""926181""#,
            r#""9261812""#,
            r#""92618123""#,
            r#""9261812345""#,
            r#""92618-12345""#,
            r#""92618-123""#,
            r#""92618--1234""#,
            r#""92618_1234""#,
            r#""9261 81234""#,
            r#""92618-""#,
            r#""9261A""#,
            r#""SW1A 1AA""#,
            r#""92618.5""#,
            r#""92618.""#,
            r#""92618.0.0""#,
            r#""-9261""#,
            r#""９２６１８""#,
            "-2134",
            "true",
        ] {
            assert_eq!(
                run("zip", input).unwrap_err().reason,
                "invalid_zip",
                "{input}"
            );
        }
    }

    #[test]
    fn pad_false() {
        assert_eq!(
            run("{zip: {pad: false}}", r#""02134""#).unwrap(),
            json!("02134")
        );
        assert_eq!(
            run("{zip: {pad: false}}", "501").unwrap_err().reason,
            "invalid_zip"
        );
        let e = run("{zip: {pad: false}}", r#""2134""#).unwrap_err();
        assert!(
            e.message.starts_with("\"2134\" is not a US ZIP code"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("zero-padded"), "{}", e.message);
    }

    #[test]
    fn null_list_objects() {
        assert_eq!(run("zip", "null").unwrap(), Value::Null);
        assert_eq!(
            run("zip", r#"["2134", 92618]"#).unwrap(),
            json!(["02134", "92618"])
        );
        assert_eq!(
            run("zip", r#"{"zip": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{zip: {format: zip4}}").contains("zip4"));
        assert!(compile_err("{zip: {padding: true}}").contains("padding"));
    }

    #[test]
    fn bound_is_five_or_ten() {
        assert_eq!(bound("zip", Bound::unknown()), Bound::at_most(5));
        assert_eq!(bound("{zip: {format: zip9}}", Bound::at_most(40)), Bound::at_most(10));
        assert_eq!(bound("zip", Bound::exactly(["2134", "92618.0", "x"])), Bound::exactly(["02134", "92618"]));
    }
}
