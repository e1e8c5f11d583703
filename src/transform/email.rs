//! `email`: check the syntax of an email address and lower-case its domain.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, LOWER_CASE_GROWTH, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text, show};

/// Options of `email`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Also lower-case the part before the `@`. Default false: mail servers may treat the local
    /// part as case-sensitive, so it is kept as written.
    #[serde(default)]
    pub lower_local: bool,
}

/// Longest local part (RFC 5321), in characters.
const MAX_LOCAL: usize = 64;
/// Longest address (RFC 5321 path limit less the angle brackets), in characters.
const MAX_TOTAL: usize = 254;

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "email",
        summary: "Check an email address's syntax, trim it and lower-case its domain.",
        description: "Surrounding whitespace is removed and the domain is lower-cased \
(`John.Smith@Example.COM` -> `John.Smith@example.com`); with `lower_local: true` (default \
false) the part before the `@` is lower-cased too.\n\n\
The check is the practical syntax that mail systems accept, not the full RFC 5322 grammar: \
exactly one `@`; a local part of 1 to 64 characters made of letters, digits, non-ASCII \
letters and ``!#$%&'*+/=?^_`{|}~-``, with dots only between other characters (no leading, \
trailing or doubled dot; quoted local parts are not accepted); a domain of at least two \
dot-separated labels of letters, digits and hyphens (1 to 63 characters, not starting or ending \
with a hyphen; internationalized letters allowed), whose last label is at least 2 letters \
(or an `xn--` IDN label); at most 254 characters in all. Display names (`John <j@x.com>`), \
several addresses in one cell, spaces and control characters are refused.\n\n\
Failure reason: `invalid_email` (empty text included). It does not check that the mailbox \
exists. `null` passes through; lists are converted element by element.",
        examples: &[
            Example {
                step: "email",
                input: r#"" John.Smith@Example.COM ""#,
                output: Ok(r#""John.Smith@example.com""#),
            },
            Example {
                step: "{email: {lower_local: true}}",
                input: r#""John.Smith+leads@Gmail.com""#,
                output: Ok(r#""john.smith+leads@gmail.com""#),
            },
            Example {
                step: "email",
                input: r#""sarah@mail.co.uk""#,
                output: Ok(r#""sarah@mail.co.uk""#),
            },
            Example {
                step: "email",
                input: r#""john.smith@gmail""#,
                output: Err("invalid_email"),
            },
            Example {
                step: "email",
                input: r#""john smith@gmail.com""#,
                output: Err("invalid_email"),
            },
            Example {
                step: "email",
                input: r#""a@b.com; c@d.com""#,
                output: Err("invalid_email"),
            },
            Example {
                step: "email",
                input: r#""""#,
                output: Err("invalid_email"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(Email {
            lower_local: self.lower_local,
        }))
    }
}

#[derive(Debug)]
struct Email {
    lower_local: bool,
}

/// Characters allowed in a local part besides letters, digits and dots (RFC 5322 `atext`).
fn is_atext_symbol(c: char) -> bool {
    matches!(
        c,
        '!' | '#'
            | '$'
            | '%'
            | '&'
            | '\''
            | '*'
            | '+'
            | '/'
            | '='
            | '?'
            | '^'
            | '_'
            | '`'
            | '{'
            | '|'
            | '}'
            | '~'
            | '-'
    )
}

/// Why the local part is not acceptable, if it is not.
fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if local.chars().count() > MAX_LOCAL {
        return Err("more than 64 characters before the @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("a dot at the start or end of the name, or two dots in a row");
    }
    for c in local.chars() {
        if c.is_whitespace() {
            return Err("a space");
        }
        if c.is_control() {
            return Err("a control character");
        }
        let ok = c.is_ascii_alphanumeric()
            || c == '.'
            || is_atext_symbol(c)
            || (!c.is_ascii() && c.is_alphanumeric());
        if !ok {
            return Err("a character not allowed before the @");
        }
    }
    Ok(())
}

/// Why the domain is not acceptable, if it is not.
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("nothing after the @");
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(
                "an empty part in the domain (a dot at the start or end, or two dots in a row)",
            );
        }
        if label.chars().count() > 63 {
            return Err("a domain part longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a domain part starting or ending with a hyphen");
        }
        if !label.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
        }) {
            return Err("a character not allowed in a domain");
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err("no dot in the domain");
    }
    let idn = last.len() > 4
        && last
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"));
    if !idn && (last.chars().count() < 2 || !last.chars().all(char::is_alphabetic)) {
        return Err("the domain does not end with a name of at least 2 letters (such as .com)");
    }
    Ok(())
}

/// `s` lower-cased, borrowing when it already is.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        s.to_lowercase().into()
    } else {
        s.into()
    }
}

impl Email {
    fn convert(&self, s: String) -> Result<Value, RuleError> {
        let t = s.trim();
        let checked = (|| {
            if t.is_empty() {
                return Err("empty");
            }
            if t.chars().count() > MAX_TOTAL {
                return Err("more than 254 characters");
            }
            let (local, domain) = match t.split_once('@') {
                None => return Err("no @"),
                Some((_, d)) if d.contains('@') => return Err("more than one @"),
                Some(parts) => parts,
            };
            check_local(local)?;
            check_domain(domain)?;
            Ok((local, domain))
        })();
        let (local, domain) = match checked {
            Ok(parts) => parts,
            Err(why) => {
                return Err(RuleError::new(
                    "invalid_email",
                    format!(
                        "{} is not a valid email address: {why}",
                        show(&Value::String(s))
                    ),
                ));
            }
        };
        let local = if self.lower_local {
            lower(local)
        } else {
            local.into()
        };
        let domain = lower(domain);
        if local.len() + 1 + domain.len() == s.len()
            && s.starts_with(&*local)
            && s.ends_with(&*domain)
        {
            // Nothing changed: keep the string.
            return Ok(Value::String(s));
        }
        Ok(Value::String(format!("{local}@{domain}")))
    }
}

impl Transform for Email {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "email", &|s: String| self.convert(s))
    }
    /// An accepted address has at most 254 characters (and no more than its input), but
    /// lower-casing can lengthen it: `İ` (U+0130), allowed as a letter, becomes two characters.
    /// Known values are checked exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let n = input.max_chars.map_or(MAX_TOTAL, |n| n.min(MAX_TOTAL));
        input.mapped_or(self, Some(n.saturating_mul(LOWER_CASE_GROWTH)))
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn ok(step: &str, input: &str) -> String {
        match run(step, &json!(input).to_string()) {
            Ok(Value::String(s)) => s,
            other => panic!("{step} on {input:?}: {other:?}"),
        }
    }

    fn err(input: &str) -> String {
        match run("email", &json!(input).to_string()) {
            Err(e) => {
                assert_eq!(e.reason, "invalid_email");
                e.message
            }
            Ok(v) => panic!("{input:?} accepted as {v}"),
        }
    }

    #[test]
    fn accepted() {
        for (input, want) in [
            ("john@example.com", "john@example.com"),
            ("John@EXAMPLE.com", "John@example.com"),
            ("\tjohn@example.com \u{a0}", "john@example.com"),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "first.last+tag@sub.example.co.uk",
                "first.last+tag@sub.example.co.uk",
            ),
            ("a_b-c@my-domain.io", "a_b-c@my-domain.io"),
            ("x@a.b.museum", "x@a.b.museum"),
            ("1234@123.example", "1234@123.example"),
            ("josé@correo.es", "josé@correo.es"),
            ("user@Bücher.DE", "user@bücher.de"),
            ("user@xn--bcher-kva.xn--p1ai", "user@xn--bcher-kva.xn--p1ai"),
            (
                "{weird}|~!#$%&*=?^`@example.com",
                "{weird}|~!#$%&*=?^`@example.com",
            ),
        ] {
            assert_eq!(ok("email", input), want, "{input}");
        }
        assert_eq!(
            ok("{email: {lower_local: true}}", "JOSÉ.García@Correo.ES"),
            "josé.garcía@correo.es"
        );
    }

    #[test]
    fn refused_with_reasons() {
        for (input, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("john.example.com", "no @"),
            ("a@b@example.com", "more than one @"),
            ("@example.com", "nothing before the @"),
            ("john@", "nothing after the @"),
            ("john smith@example.com", "a space"),
            ("john@exa mple.com", "not allowed in a domain"),
            ("jo\u{1}hn@example.com", "a control character"),
            (".john@example.com", "dot"),
            ("john.@example.com", "dot"),
            ("jo..hn@example.com", "dot"),
            ("john@example", "no dot in the domain"),
            ("john@.example.com", "empty part"),
            ("john@example.com.", "empty part"),
            ("john@example..com", "empty part"),
            ("john@-example.com", "hyphen"),
            ("john@example-.com", "hyphen"),
            ("john@example.c", "at least 2 letters"),
            ("john@example.c0m", "at least 2 letters"),
            ("john@192.168.0.1", "at least 2 letters"),
            ("john@[192.168.0.1]", "not allowed in a domain"),
            ("john@exam_ple.com", "not allowed in a domain"),
            ("John Smith <john@example.com>", "a space"),
            ("<john@example.com>", "not allowed before the @"),
            ("\"john\"@example.com", "not allowed before the @"),
            ("a@b.com, c@d.com", "more than one @"),
            ("john,smith@example.com", "not allowed before the @"),
            ("mailto:john@example.com", "not allowed before the @"),
        ] {
            let m = err(input);
            assert!(m.contains(why), "{input:?}: {m}");
        }
        let m = err("john@example");
        assert_eq!(
            m,
            "\"john@example\" is not a valid email address: no dot in the domain"
        );
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert_eq!(
            ok("email", &format!("{local64}@example.com")),
            format!("{local64}@example.com")
        );
        assert!(err(&format!("a{local64}@example.com")).contains("64"));
        let label63 = "b".repeat(63);
        assert_eq!(
            ok("email", &format!("x@{label63}.com")),
            format!("x@{label63}.com")
        );
        assert!(err(&format!("x@b{label63}.com")).contains("63"));
        // 254 characters in all is the limit.
        let long_domain = format!(
            "{}.{}.{}.com",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(57)
        );
        let at254 = format!("{}@{long_domain}", "a".repeat(64));
        assert_eq!(at254.len(), 254);
        assert_eq!(ok("email", &at254), at254);
        assert!(err(&format!("a{at254}")).contains("254"));
    }

    #[test]
    fn null_lists_other_types() {
        assert_eq!(run("email", "null").unwrap(), Value::Null);
        assert_eq!(
            run("email", r#"["A@B.CO", null]"#).unwrap(),
            json!(["A@b.co", null])
        );
        assert_eq!(run("email", "12").unwrap_err().reason, "invalid_email");
        assert_eq!(
            run("email", r#"{"a": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{email: {lower_domain: true}}").contains("lower_domain"));
    }

    #[test]
    fn bound_limit_and_known_values() {
        assert_eq!(bound("email", Bound::unknown()), Bound::at_most(508));
        assert_eq!(bound("email", Bound::at_most(40)), Bound::at_most(80));
        let known = Bound::exactly([" John@X.COM ", "bad", "a@İ.com"]);
        assert_eq!(bound("email", known), Bound::exactly(["John@x.com", "a@i\u{307}.com"]));
    }
}
