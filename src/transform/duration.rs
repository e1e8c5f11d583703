//! `duration`: call durations (`1m 5s`, `00:01:05`, `65`) to whole seconds, minutes or `HH:MM:SS`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, as_text, map_scalars, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, show};

/// The output of `duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Whole seconds, a JSON integer.
    #[default]
    Seconds,
    /// Whole minutes rounded up (a 61-second call is 2 minutes), a JSON integer.
    Minutes,
    /// Text `HH:MM:SS` (hours grow past 99 when needed).
    Hms,
}

/// Options of `duration`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `seconds` (default), `minutes` (rounded up) or `hms`.
    #[serde(default)]
    pub to: Unit,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "duration",
        summary: "Call durations (`1m 5s`, `00:01:05`, `65`) to whole seconds, minutes or HH:MM:SS.",
        description: "Accepted inputs, with surrounding whitespace ignored:\n\
- a number of seconds: `65`, `065`, `12.5`, or a JSON number;\n\
- units: `50s`, `1m 5s`, `1m5s`, `2h 1m 5s`, `1h`, `1 min 5 sec`, `2 hrs` (units `h`/`hr`/`hrs`/\
`hour`/`hours`, `m`/`min`/`mins`/`minute`/`minutes`, `s`/`sec`/`secs`/`second`/`seconds`, in any \
letter case; each unit at most once, hours before minutes before seconds; a number may have a \
decimal fraction: `1.5h`);\n\
- clock forms: `00:01:05` (hours:minutes:seconds) and `01:05` (minutes:seconds); minutes and \
seconds after a colon are below 60, the first part is not limited (`90:00` is 90 minutes).\n\n\
Fractions of a second are rounded to the nearest whole second (halves up). Option `to`: \
`seconds` (default, a JSON integer), `minutes` (whole minutes rounded up, as billing counts \
them: 61 seconds is 2, 0 is 0) or `hms` (text `HH:MM:SS`).\n\n\
Negative durations, signs, unknown units, a number without a unit after a unit (`1m 5`), text \
around the duration, and empty text fail with reason `invalid_duration`. `null` passes \
through; lists are converted element by element.",
        examples: &[
            Example {
                step: "duration",
                input: r#""1m 5s""#,
                output: Ok("65"),
            },
            Example {
                step: "duration",
                input: r#""2h 1m 5s""#,
                output: Ok("7265"),
            },
            Example {
                step: "duration",
                input: r#""00:01:05""#,
                output: Ok("65"),
            },
            Example {
                step: "duration",
                input: r#""01:05""#,
                output: Ok("65"),
            },
            Example {
                step: "duration",
                input: r#"" 12 ""#,
                output: Ok("12"),
            },
            Example {
                step: "duration",
                input: "50",
                output: Ok("50"),
            },
            Example {
                step: "duration",
                input: r#""3 MIN 20 SEC""#,
                output: Ok("200"),
            },
            Example {
                step: "{duration: {to: minutes}}",
                input: r#""61""#,
                output: Ok("2"),
            },
            Example {
                step: "{duration: {to: hms}}",
                input: r#""1h 2m 3s""#,
                output: Ok(r#""01:02:03""#),
            },
            Example {
                step: "duration",
                input: r#""-5""#,
                output: Err("invalid_duration"),
            },
            Example {
                step: "duration",
                input: r#""5 parsecs""#,
                output: Err("invalid_duration"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Duration { to: self.to }))
    }
}

#[derive(Debug)]
struct Duration {
    to: Unit,
}

/// Microseconds per second: inputs are added up in microseconds, then rounded to seconds.
const MICROS: u128 = 1_000_000;

/// A non-negative decimal number (`12`, `12.5`) in millionths; `None` if it is not one.
fn decimal_micros(t: &str) -> Option<u128> {
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() || int.len() > 24 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if t.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut micros = int.parse::<u128>().ok()?.checked_mul(MICROS)?;
    let mut scale = MICROS;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        micros += u128::from(b - b'0') * scale;
    }
    Some(micros)
}

/// `h:m:s` or `m:s`.
fn clock(t: &str) -> Result<u128, &'static str> {
    let parts: Vec<&str> = t.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return Err("too many colons"),
    };
    let whole = |p: &str| -> Option<u128> {
        if p.is_empty() || p.len() > 20 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let (Some(h), Some(m), Some(s)) = (whole(h), whole(m), decimal_micros(s)) else {
        return Err("each part of a clock duration must be digits");
    };
    if s >= 60 * MICROS || (parts.len() == 3 && m >= 60) {
        return Err("minutes and seconds after a colon must be below 60");
    }
    h.checked_mul(3600)
        .and_then(|x| x.checked_add(m.checked_mul(60)?))
        .and_then(|x| x.checked_mul(MICROS))
        .and_then(|x| x.checked_add(s))
        .ok_or("too long")
}

/// Seconds per unit word, and the unit's rank (hours 3, minutes 2, seconds 1).
fn unit(word: &str) -> Option<(u128, u8)> {
    const UNITS: [(&str, u128, u8); 15] = [
        ("h", 3600, 3),
        ("hr", 3600, 3),
        ("hrs", 3600, 3),
        ("hour", 3600, 3),
        ("hours", 3600, 3),
        ("m", 60, 2),
        ("min", 60, 2),
        ("mins", 60, 2),
        ("minute", 60, 2),
        ("minutes", 60, 2),
        ("s", 1, 1),
        ("sec", 1, 1),
        ("secs", 1, 1),
        ("second", 1, 1),
        ("seconds", 1, 1),
    ];
    UNITS
        .iter()
        .find(|(w, _, _)| w.eq_ignore_ascii_case(word))
        .map(|&(_, secs, rank)| (secs, rank))
}

/// `2h 1m 5s`, `1m5s`, `3 min 20 sec`.
fn with_units(t: &str) -> Result<u128, &'static str> {
    let mut rest = t;
    let mut total: u128 = 0;
    let mut last_rank = u8::MAX;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let Some(value) = decimal_micros(num) else {
            return Err("expected a number before each unit");
        };
        let after = after.trim_start();
        let word_len = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (word, after) = after.split_at(word_len);
        if word.is_empty() {
            return Err("a number without a unit (s, m or h)");
        }
        let Some((secs, rank)) = unit(word) else {
            return Err("unknown unit (use h, m or s; hr, min, sec...)");
        };
        if rank >= last_rank {
            return Err("each unit at most once, hours before minutes before seconds");
        }
        last_rank = rank;
        total = value
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or("too long")?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// The duration in microseconds.
fn parse(t: &str) -> Result<u128, &'static str> {
    if t.is_empty() {
        return Err("empty");
    }
    if t.starts_with('-') || t.starts_with('+') {
        return Err("a duration has no sign");
    }
    if let Some(m) = decimal_micros(t) {
        return Ok(m);
    }
    if t.contains(':') {
        return clock(t);
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return with_units(t);
    }
    Err("not a number of seconds, `1m 5s` or `00:01:05`")
}

impl Duration {
    fn output(&self, micros: u128) -> Result<Value, &'static str> {
        let secs = u64::try_from((micros + MICROS / 2) / MICROS).map_err(|_| "too long")?;
        if i64::try_from(secs).is_err() {
            return Err("too long");
        }
        Ok(match self.to {
            Unit::Seconds => Value::from(secs),
            Unit::Minutes => Value::from(secs.div_ceil(60)),
            Unit::Hms => Value::String(format!(
                "{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )),
        })
    }

    fn fail(v: &Value, why: &str) -> RuleError {
        RuleError::new(
            "invalid_duration",
            format!(
                "{} is not a duration ({why}): expected seconds (`65`), `1m 5s` or `00:01:05`",
                show(v)
            ),
        )
    }
}

impl Transform for Duration {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_scalars(v, "duration", &|scalar| {
            let micros = match &scalar {
                Value::String(s) => parse(s.trim()),
                Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                    (Some(u), _) => Ok(u128::from(u) * MICROS),
                    (None, Some(f)) if (0.0..1e18).contains(&f) => {
                        Ok((f * MICROS as f64).round() as u128)
                    }
                    _ => Err("negative or too large"),
                },
                _ => Err("not a number or text"),
            };
            micros
                .and_then(|m| self.output(m))
                .map_err(|why| Self::fail(&scalar, why))
        })
    }
    /// As long as the longest duration accepted (`i64::MAX` seconds) is written: 19 characters
    /// in seconds, 18 in minutes, 22 as `HH:MM:SS`. Values are not listed.
    fn bound(&self, input: &Bound) -> Bound {
        let _ = input;
        let longest = u128::from(i64::MAX.unsigned_abs()) * MICROS;
        let max_chars = self.output(longest).ok().as_ref().and_then(as_text).map(|t| t.chars().count());
        Bound { max_chars, values: None }
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn secs(input: &str) -> Value {
        run("duration", input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn accepted_forms() {
        for (input, want) in [
            (r#""50s""#, 50),
            (r#""1m 5s""#, 65),
            (r#""1m5s""#, 65),
            (r#""2h 1m 5s""#, 7265),
            (r#""2h1m5s""#, 7265),
            (r#""1h""#, 3600),
            (r#""1H 5S""#, 3605),
            (r#""1 hr 2 min 3 sec""#, 3723),
            (r#""2 hrs""#, 7200),
            (r#""1 hour 1 minute 1 second""#, 3661),
            (r#""3 minutes 20 seconds""#, 200),
            (r#""5 mins 1 secs""#, 301),
            (r#""1h 5s""#, 3605),
            (r#""1.5h""#, 5400),
            (r#""0.5m""#, 30),
            (r#""00:01:05""#, 65),
            (r#""1:01:05""#, 3665),
            (r#""100:00:00""#, 360000),
            (r#""01:05""#, 65),
            (r#""90:00""#, 5400),
            (r#""0:59""#, 59),
            (r#""00:00:05.4""#, 5),
            (r#""12""#, 12),
            (r#""012""#, 12),
            (r#""0""#, 0),
            (r#""\t 12 \u00a0""#, 12),
            (r#""12.5""#, 13),
            (r#""12.49""#, 12),
            (r#""12.0""#, 12),
            ("12", 12),
            ("12.5", 13),
            ("0", 0),
        ] {
            assert_eq!(secs(input), json!(want), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        for input in [
            r#""""#,
            r#""   ""#,
            r#""-5""#,
            r#""+5""#,
            r#""-1m""#,
            "-5",
            "-0.5",
            r#""12.5abc""#,
            r#""12.""#,
            r#""12.5.1""#,
            r#""1m 5""#,
            r#""5s 1m""#,
            r#""1m 1m""#,
            r#""1m 2min""#,
            r#""5 parsecs""#,
            r#""5 d""#,
            r#""m5""#,
            r#""abc""#,
            r#""1:2:3:4""#,
            r#""01:60""#,
            r#""1:60:00""#,
            r#""1::05""#,
            r#""1:05:""#,
            r#""a:05""#,
            r#""about 5s""#,
            r#""5s!""#,
            r#""5s, 3m""#,
            r#""99999999999999999999999999h""#,
            "true",
        ] {
            let e = run("duration", input).unwrap_err();
            assert_eq!(e.reason, "invalid_duration", "{input}");
        }
        let e = run("duration", r#""5 parsecs""#).unwrap_err();
        assert_eq!(
            e.message,
            "\"5 parsecs\" is not a duration (unknown unit (use h, m or s; hr, min, sec...)): expected seconds (`65`), `1m 5s` or `00:01:05`"
        );
    }

    #[test]
    fn outputs() {
        assert_eq!(
            run("{duration: {to: minutes}}", r#""0""#).unwrap(),
            json!(0)
        );
        assert_eq!(
            run("{duration: {to: minutes}}", r#""1""#).unwrap(),
            json!(1)
        );
        assert_eq!(
            run("{duration: {to: minutes}}", r#""60""#).unwrap(),
            json!(1)
        );
        assert_eq!(
            run("{duration: {to: minutes}}", r#""1m 1s""#).unwrap(),
            json!(2)
        );
        assert_eq!(
            run("{duration: {to: hms}}", "0").unwrap(),
            json!("00:00:00")
        );
        assert_eq!(
            run("{duration: {to: hms}}", "3599").unwrap(),
            json!("00:59:59")
        );
        assert_eq!(
            run("{duration: {to: hms}}", r#""100:00:01""#).unwrap(),
            json!("100:00:01")
        );
        assert_eq!(
            run("{duration: {to: seconds}}", r#""01:05""#).unwrap(),
            json!(65)
        );
    }

    #[test]
    fn null_lists_objects() {
        assert_eq!(secs("null"), Value::Null);
        assert_eq!(secs(r#"["1m", 5, null]"#), json!([60, 5, null]));
        assert_eq!(
            run("duration", r#"{"s": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{duration: {to: hours}}").contains("hours"));
    }

    #[test]
    fn bound_of_the_longest_duration() {
        assert_eq!(bound("duration", Bound::unknown()), Bound::at_most(19));
        assert_eq!(bound("{duration: {to: minutes}}", Bound::at_most(3)), Bound::at_most(18));
        assert_eq!(bound("{duration: {to: hms}}", Bound::unknown()), Bound::at_most(22));
        // The longest is accepted, and one second more is not.
        assert_eq!(run("{duration: {to: hms}}", "9223372036854775807").unwrap(), json!("2562047788015215:30:07"));
        assert!(run("duration", "9223372036854775808").is_err());
    }
}
