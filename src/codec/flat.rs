//! The usual JSON payload read without serde_json: one object whose values are strings,
//! numbers, `true`, `false` or `null`, with no escape in any string. That is the shape of
//! nearly every webhook push and JSON Lines export (Delacon's call end: 28 string fields), and
//! serde_json spends about 290 instructions on each key and each value of it, through its
//! generic `Deserializer` and `Visitor` calls, before the string is even copied; this reader
//! finds the end of each string a word at a time ([`super::escape_by_words`]) and copies it.
//!
//! It reads only what it is sure of. Anything else (a nested object or array, an escape, a
//! control character in a string, a trailing comma, any syntax error) gives `None`, and the
//! caller reads the text with serde_json, which then decides what it is and reports any error.
//! Numbers are handed to serde_json as they are, so they come out as serde_json reads them.
//! A repeated key keeps its first place and its last value, as in serde_json's map.
//!
//! The tests hold this reader to serde_json on generated texts, valid and broken.

use serde_json::Value;

use crate::record::{Fields, Refill, fields_with_capacity, put_str};

/// `text` as a record's fields when it is one flat object without escapes; `None` otherwise,
/// including when it is not valid JSON.
pub fn object(text: &str) -> Option<Fields> {
    let mut fields = fields_with_capacity(32);
    object_into(text, &mut fields, false).then_some(fields)
}

/// [`object`] into `fields`, which may hold an earlier record (its room is reused, see
/// [`Refill`]); false when `text` is not for this reader, and then `fields` holds no record.
/// `plain_keys`: every name in `fields` is plain JSON text (no quote, backslash or control
/// character), as this reader leaves them; then a name that the text has where the old record
/// had it is compared where it is, without reading it first.
pub fn object_into(text: &str, fields: &mut Fields, plain_keys: bool) -> bool {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return false;
    }
    i = skip_ws(b, i + 1);
    let mut fill = Refill::new(fields);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            // The old record's name at this place, when the text has it here too. A plain name
            // is written in JSON as it is, so the text between the quotes is the name.
            let kept = fill
                .expected()
                .filter(|k| {
                    let end = i + 1 + k.len();
                    plain_keys
                        && b.get(i) == Some(&b'"')
                        && b.get(i + 1..end) == Some(k.as_bytes())
                        && b.get(end) == Some(&b'"')
                })
                .map(str::len);
            let (key, next) = match kept {
                // The kept name and its two quotes.
                Some(len) => ("", i + len + 2),
                None => match string(text, i) {
                    Some(found) => found,
                    None => return false,
                },
            };
            i = skip_ws(b, next);
            if b.get(i) != Some(&b':') {
                return false;
            }
            let Some((value, next)) = scalar(text, skip_ws(b, i + 1)) else {
                return false;
            };
            // A repeated key keeps its first place and takes the last value.
            let slot = match kept {
                Some(_) => fill.keep(),
                None => fill.slot(key).0,
            };
            match value {
                Scalar::Text(s) => put_str(slot, s),
                Scalar::Other(v) => *slot = v,
            }
            i = skip_ws(b, next);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return false,
            }
        }
    }
    fill.finish();
    skip_ws(b, i) == b.len()
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The contents of the string whose opening quote is at `i`, and the index after its closing
/// quote; `None` when there is no string there, or it holds an escape or a control character.
fn string(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let end = start + super::escape_by_words(b.get(start..)?, 0)?;
    if b[end] != b'"' {
        return None;
    }
    // Both ends are ASCII quotes, so both are character boundaries.
    Some((text.get(start..end)?, end + 1))
}

/// A value read: a string's text (copied where it goes), or any other value.
enum Scalar<'a> {
    Text(&'a str),
    Other(Value),
}

/// The string, number, `true`, `false` or `null` at `i`, and the index after it.
fn scalar(text: &str, i: usize) -> Option<(Scalar<'_>, usize)> {
    let b = text.as_bytes();
    let word = |w: &str, v: Value| {
        b.get(i..)?
            .starts_with(w.as_bytes())
            .then_some((Scalar::Other(v), i + w.len()))
    };
    match *b.get(i)? {
        b'"' => string(text, i).map(|(s, next)| (Scalar::Text(s), next)),
        b't' => word("true", Value::Bool(true)),
        b'f' => word("false", Value::Bool(false)),
        b'n' => word("null", Value::Null),
        b'-' | b'0'..=b'9' => {
            // The run of characters a number can hold, read by serde_json, which rejects a
            // malformed one (`01`, `1.`, `-`, `1e+`).
            let len = b[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(b.len() - i);
            let number = serde_json::from_str::<serde_json::Number>(text.get(i..i + len)?).ok()?;
            Some((Scalar::Other(Value::Number(number)), i + len))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::testing::Rng;

    fn pairs(f: &Fields) -> Vec<(&str, &Value)> {
        f.iter().map(|(k, v)| (k.as_str(), v)).collect()
    }

    #[test]
    fn reads_flat_objects() {
        let f = object(" {\"a\": \"x y/z é\", \"n\":-1.5e3 ,\"b\":true,\"c\":false,\"d\":null,\"e\":\"\",\"i\":42}\n")
            .expect("a flat object");
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"a":"x y/z é","n":-1500.0,"b":true,"c":false,"d":null,"e":"","i":42}"#
        );
        assert_eq!(object("{}").map(|f| f.len()), Some(0));
        assert_eq!(object(" { } ").map(|f| f.len()), Some(0));
        // A repeated key: its first place, its last value.
        let f = object(r#"{"a":"1","b":"2","a":"3"}"#).unwrap();
        assert_eq!(
            pairs(&f),
            [("a", &Value::from("3")), ("b", &Value::from("2"))]
        );
    }

    #[test]
    fn names_compared_where_they_are_only_when_plain() {
        // A name read from a form can hold a quote: the text `"x""` is not that name (it is not
        // JSON at all), which only reading it tells.
        let mut m = fields_with_capacity(0);
        m.insert("x\"".into(), Value::Null);
        assert!(!object_into("{\"x\"\":1}", &mut m, false));
        // Plain names are kept, and the rest of the old record dropped.
        let mut m = fields_with_capacity(0);
        assert!(object_into(r#"{"a":"1","b":2,"c":null}"#, &mut m, false));
        let a = m.get_index(0).map(|(k, _)| k.as_ptr());
        assert!(object_into(r#"{"a":"3","b":"4"}"#, &mut m, true));
        assert_eq!(m.get_index(0).map(|(k, _)| k.as_ptr()), a);
        assert_eq!(
            pairs(&m),
            [("a", &Value::from("3")), ("b", &Value::from("4"))]
        );
        // A name that only starts like the old one is not it.
        assert!(object_into(r#"{"ab":"5","b":"6"}"#, &mut m, true));
        assert_eq!(
            pairs(&m),
            [("ab", &Value::from("5")), ("b", &Value::from("6"))]
        );
    }

    #[test]
    fn leaves_everything_else_to_serde_json() {
        for text in [
            "",
            " ",
            "[]",
            "\"a\"",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1}}",
            "{\"a\":1} x",
            "{\"a\\n\":1}",
            "{\"a\":\"b\\\"c\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":{}}",
            "{\"a\":[1]}",
            "{\"a\":tru}",
            "{\"a\":truex}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":1e}",
            "{a:1}",
            "{\"a\":\"unterminated}",
            "{\"a\"\u{b}:1}",
        ] {
            assert!(object(text).is_none(), "{text:?}");
        }
    }

    /// A random piece of JSON text or near-JSON text for the property test.
    fn piece(rng: &mut Rng, out: &mut String) {
        const PIECES: &[&str] = &[
            "\"a\"",
            "\"PLA_Call_Id\"",
            "\"\"",
            "\"x y\"",
            "\"é€😀\"",
            "\"a\\\"b\"",
            "\"\\u0041\"",
            "\"tab\t\"",
            "\"nl\n\"",
            "\"/\"",
            "\"a\\\\\"",
            "0",
            "-0",
            "12",
            "-7",
            "1.5",
            "1e3",
            "-2.5E-3",
            "18446744073709551616",
            "01",
            "1.",
            "-",
            "+1",
            "1e",
            ".5",
            "true",
            "false",
            "null",
            "tru",
            "nul",
            "{}",
            "[]",
            "[1,\"a\"]",
            "{\"k\":\"v\"}",
            ":",
            ",",
            "{",
            "}",
            " ",
            "\n",
            "\t",
            "\r",
            "\u{b}",
            "\u{a0}",
            "x",
        ];
        match rng.next(4) {
            0 => long_string(rng, out),
            _ => out.push_str(PIECES[rng.next(PIECES.len())]),
        }
    }

    /// A string of 0 to 40 characters, mostly plain, sometimes with an escape, a raw control
    /// character or multi-byte characters at any offset: every place in a word and every tail
    /// length of the word-at-a-time scan.
    fn long_string(rng: &mut Rng, out: &mut String) {
        const PLAIN: &[&str] = &["a", "Z", "0", " ", "/", "-", "é", "€", "😀"];
        const ODD: &[&str] = &["\\n", "\\\"", "\\\\", "\t", "\u{1}", "\u{1f}"];
        out.push('"');
        for _ in 0..rng.next(41) {
            match rng.next(30) {
                0 => out.push_str(ODD[rng.next(ODD.len())]),
                _ => out.push_str(PLAIN[rng.next(PLAIN.len())]),
            }
        }
        out.push('"');
    }

    /// Valid objects, and objects with one thing wrong or unusual.
    fn text(rng: &mut Rng) -> String {
        let mut t = String::new();
        let ws = |rng: &mut Rng, t: &mut String| {
            for _ in 0..rng.next(3) {
                t.push([' ', '\n', '\t', '\r'][rng.next(4)]);
            }
        };
        ws(rng, &mut t);
        t.push('{');
        let n = rng.next(6);
        for k in 0..n {
            ws(rng, &mut t);
            if k > 0 {
                t.push(',');
                ws(rng, &mut t);
            }
            if rng.next(8) == 0 {
                piece(rng, &mut t);
            } else {
                t.push_str(["\"a\"", "\"b\"", "\"PLA_Caller_Phone_Number\"", "\"é\""][rng.next(4)]);
            }
            ws(rng, &mut t);
            t.push(':');
            ws(rng, &mut t);
            piece(rng, &mut t);
            ws(rng, &mut t);
        }
        if rng.next(10) == 0 {
            piece(rng, &mut t);
        }
        t.push('}');
        ws(rng, &mut t);
        if rng.next(20) == 0 {
            piece(rng, &mut t);
        }
        t
    }

    #[test]
    fn agrees_with_serde_json() {
        let mut rng = Rng(0x5eed_f1a7);
        let (mut fast, mut valid) = (0, 0);
        // One map filled again and again, as the sidecar does: it must read each text as a new
        // map does, whatever the texts before it left in it (read or not).
        let mut reused = fields_with_capacity(0);
        let mut reused_plain = false;
        for _ in 0..50_000 {
            let t = text(&mut rng);
            let theirs = serde_json::from_str::<Value>(&t);
            if let Ok(Value::Object(_)) = theirs {
                valid += 1;
            }
            let again = object_into(&t, &mut reused, reused_plain);
            reused_plain = again;
            let Some(ours) = object(&t) else {
                assert!(!again, "{t:?}");
                continue;
            };
            assert!(again, "{t:?}");
            assert_eq!(pairs(&reused), pairs(&ours), "{t:?}");
            fast += 1;
            match theirs {
                Ok(Value::Object(m)) => assert_eq!(
                    pairs(&ours),
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect::<Vec<_>>(),
                    "{t:?}"
                ),
                other => panic!("{t:?}: we read an object, serde_json {other:?}"),
            }
        }
        // Most valid texts take the fast path: the test is not vacuous.
        assert!(fast > valid / 2, "{fast} fast of {valid} valid");
    }
}
