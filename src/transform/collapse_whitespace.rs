//! `collapse_whitespace`: Trim and turn every run of whitespace into one space.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_str};

/// `collapse_whitespace` takes no options.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "collapse_whitespace",
        summary: "Trim and turn every run of whitespace into one space.",
        description: "Unicode whitespace (tabs, newlines, NBSP) inside the text becomes a single space; leading and trailing whitespace is removed.",
        examples: &[
            Example { step: "collapse_whitespace", input: r#""  Mary \t Ann\n Smith ""#, output: Ok(r#""Mary Ann Smith""#) },
            Example { step: "collapse_whitespace", input: r#""a\u00a0\u00a0b""#, output: Ok(r#""a b""#) },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config {})
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(CollapseWhitespace))
    }
}

#[derive(Debug)]
struct CollapseWhitespace;

impl Transform for CollapseWhitespace {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_str(v, "collapse_whitespace", &|s| collapse(s))
    }

    /// A run of whitespace becomes at most one space: never longer than its input; known values
    /// are collapsed exactly.
    fn bound(&self, input: &Bound) -> Bound {
        input.mapped_or(self, input.max_chars)
    }
}

fn collapse(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if t.is_ascii() {
        return collapse_ascii(t);
    }
    let mut prev_ws = false;
    let clean = t.chars().all(|c| {
        let ws = c.is_whitespace();
        let ok = !ws || (c == ' ' && !prev_ws);
        prev_ws = ws;
        ok
    });
    if clean {
        return t.into();
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.into()
}

/// [`collapse`] of trimmed ASCII text, byte by byte (notes and addresses are mostly ASCII, and
/// decoding characters cost more than the check). The ASCII whitespace of `char::is_whitespace`
/// includes the vertical tab, which `u8::is_ascii_whitespace` does not.
fn collapse_ascii(t: &str) -> std::borrow::Cow<'_, str> {
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let b = t.as_bytes();
    // The first whitespace that changes: one other than a space, or a space before more. The
    // text is trimmed, so its last byte is not whitespace.
    let first = b
        .windows(2)
        .position(|w| ws(w[0]) && (w[0] != b' ' || ws(w[1])));
    let Some(first) = first else {
        return t.into();
    };
    let mut out = String::with_capacity(t.len());
    out.push_str(&t[..first]);
    let mut prev_ws = false;
    for &c in &b[first..] {
        if ws(c) {
            if !prev_ws {
                out.push(' ');
            }
            prev_ws = true;
        } else {
            out.push(char::from(c));
            prev_ws = false;
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::json;
    #[test]
    fn clean_text_unchanged_and_blank_empty() {
        assert_eq!(run("collapse_whitespace", r#""a b""#).unwrap(), json!("a b"));
        assert_eq!(run("collapse_whitespace", r#"" \t ""#).unwrap(), json!(""));
    }

    /// ASCII text, collapsed byte by byte, gives what collapsing by characters gives.
    #[test]
    fn ascii_text_collapses_as_unicode_text_does() {
        let reference = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let pieces = ["a", "bc", " ", "  ", "\t", "\n", "\r\n", "\u{b}", "\u{c}", "\u{1f}", "x y"];
        let mut n = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in ["", " ", "z", "\u{b}"] {
                        let s = format!("{d}{a}{b}{c}{d}");
                        assert_eq!(super::collapse(&s), reference(&s), "{s:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 5000);
        // Text with other characters keeps Unicode's whitespace: no-break space, line separator.
        assert_eq!(super::collapse("a\u{a0}\u{a0}b\u{2028}c é"), "a b c é");
    }

    #[test]
    fn bound_keeps_length_and_collapses_known_values() {
        assert_eq!(bound("collapse_whitespace", Bound::at_most(8)), Bound::at_most(8));
        let got = bound("collapse_whitespace", Bound::exactly([" a \t b ", "a b"]));
        assert_eq!(got, Bound::exactly(["a b"]));
        assert_eq!(got.max_chars, Some(3));
    }
}
