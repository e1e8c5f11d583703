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
    let b = t.as_bytes();
    let Some(first) = first_change(b) else {
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

fn ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The first whitespace of trimmed ASCII text that collapsing changes: one other than a space,
/// or a space before more. Most text (a template's notes) has none: it is looked for 8 bytes at
/// a time, and only a word that may hold one is checked byte by byte.
fn first_change(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The text is trimmed: its last byte is not whitespace, so the byte after a space exists.
    let changes = |i: usize| ws(b[i]) && (b[i] != b' ' || b.get(i + 1).copied().is_some_and(ws));
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let x = u64::from_le_bytes(w);
        // Flags (the high bit of a byte) with no false negatives, and false positives only
        // next to a real one: a byte below 0x20 (tab, line breaks, other controls), and a space.
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let y = x ^ (ONES * u64::from(b' '));
        let space = y.wrapping_sub(ONES) & !y & HIGH;
        // Two spaces in the word, or a space last (the next word's first byte decides).
        let suspect = control | (space & (space >> 8)) | (space >> 63 << 63);
        if suspect != 0
            && let Some(j) = (i..i + 8).find(|&j| changes(j))
        {
            return Some(j);
        }
        i += 8;
    }
    (i..b.len()).find(|&j| changes(j))
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

    /// Longer texts, read 8 bytes at a time: whitespace at every place in a word and across
    /// words is found.
    #[test]
    fn long_ascii_text_collapses_as_unicode_text_does() {
        let reference = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let alphabet = ['a', 'b', 'c', 'd', ' ', ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{1f}', '!'];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut changed = 0;
        for _ in 0..20_000 {
            let len = rng.next(64);
            let s: String = (0..len)
                .map(|_| {
                    // Mostly letters, as text is: a run of them, then a rarer character.
                    if rng.next(5) == 0 {
                        alphabet[4 + rng.next(9)]
                    } else {
                        alphabet[rng.next(4)]
                    }
                })
                .collect();
            let got = super::collapse(&s);
            assert_eq!(got, reference(&s), "{s:?}");
            changed += usize::from(got != s.as_str());
        }
        // Both kinds were seen often.
        assert!(changed > 2_000 && changed < 18_000, "{changed}");
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
